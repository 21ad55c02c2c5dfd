//! Stopping a release. The first Ctrl-C (or SIGTERM) asks the run to stop: every running
//! build is stopped and its project deleted; any other step finishes its current call and
//! the run says, per kernel, what state it left. A second Ctrl-C exits at once. `--fail-fast`
//! stops the release the same way when a kernel fails.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::error::Error;

const REASON_INTERRUPT: u8 = 1;
const REASON_FAIL_FAST: u8 = 2;

#[derive(Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    reason: Arc<AtomicU8>,
    notify: Arc<Notify>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Installs the Ctrl-C (SIGINT) and SIGTERM handlers.
    pub fn listen(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let term = async {
                #[cfg(unix)]
                {
                    if let Ok(mut s) =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        s.recv().await;
                        return;
                    }
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            me.trigger();
            eprintln!("sm-kernel: stopping builds and removing temporary projects; press Ctrl-C again to exit at once");
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("sm-kernel: exiting without cleanup; running builds may go on (aws codebuild list-builds)");
                std::process::exit(crate::error::exit::INTERRUPTED);
            }
        });
    }

    /// Ctrl-C or SIGTERM: the user asked to stop.
    pub fn trigger(&self) {
        self.stop(REASON_INTERRUPT);
    }

    /// `--fail-fast`: a kernel failed, so the others are stopped.
    pub fn fail_fast(&self) {
        self.stop(REASON_FAIL_FAST);
    }

    fn stop(&self, reason: u8) {
        let _ = self
            .reason
            .compare_exchange(0, reason, Ordering::SeqCst, Ordering::SeqCst);
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// True when the stop came from the user (Ctrl-C), not from --fail-fast.
    pub fn interrupted(&self) -> bool {
        self.reason.load(Ordering::SeqCst) == REASON_INTERRUPT
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Returns the interruption error, saying what state the run leaves, if Ctrl-C came.
    pub fn check(&self, state: &str) -> Result<(), Error> {
        if self.is_set() {
            let why = if self.interrupted() {
                "interrupted"
            } else {
                "stopped (another kernel failed and --fail-fast is set)"
            };
            Err(Error::Interrupted(format!("{why} {state}")))
        } else {
            Ok(())
        }
    }

    /// Sleeps, waking early on Ctrl-C; true when interrupted.
    pub async fn sleep(&self, d: std::time::Duration) -> bool {
        if self.is_set() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_set(),
            _ = self.notify.notified() => true,
        }
    }
}

/// A point in time a wait must not pass: every poll loop has one, so a resource stuck in a
/// transitional state ends the run with a message instead of hanging it.
#[derive(Clone, Copy)]
pub struct Deadline {
    at: std::time::Instant,
    limit: std::time::Duration,
}

impl Deadline {
    pub fn after(limit: std::time::Duration) -> Deadline {
        Deadline {
            at: std::time::Instant::now() + limit,
            limit,
        }
    }

    /// The timeout error once the deadline has passed.
    pub fn check(&self, waiting_for: &str) -> Result<(), Error> {
        if std::time::Instant::now() >= self.at {
            Err(Error::failed(format!(
                "gave up after {} min waiting for {waiting_for}; a re-run continues from there",
                self.limit.as_secs().div_ceil(60)
            )))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_fast_is_not_an_interrupt_and_the_first_reason_sticks() {
        let c = Cancel::new();
        c.fail_fast();
        c.trigger();
        assert!(c.is_set());
        assert!(!c.interrupted());
        let msg = c.check("x").unwrap_err().to_string();
        assert!(msg.contains("--fail-fast"), "{msg}");
    }

    #[test]
    fn a_passed_deadline_says_what_it_waited_for() {
        let d = Deadline::after(std::time::Duration::ZERO);
        let msg = d.check("image version 3").unwrap_err().to_string();
        assert!(msg.contains("image version 3"), "{msg}");
        assert!(Deadline::after(std::time::Duration::from_secs(60))
            .check("x")
            .is_ok());
    }
}
