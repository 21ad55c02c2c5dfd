//! Ctrl-C handling. The first Ctrl-C asks the run to stop: a running build is stopped and
//! its project deleted; any other step finishes its current call and the run says what
//! state it left. Nothing is ever abandoned half-made.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::error::Error;

#[derive(Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
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
        });
    }

    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Returns the interruption error, saying what state the run leaves, if Ctrl-C came.
    pub fn check(&self, state: &str) -> Result<(), Error> {
        if self.is_set() {
            Err(Error::Interrupted(format!("interrupted {state}")))
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
