//! Runs a Plan's steps against AWS, one module per step; each step module also declares, in
//! its `needs()`, the calls it makes. Steps report through [`Reporter`] and never print; the
//! [`runner`] orders them as a graph, runs kernels concurrently, and makes sure temporary
//! projects are deleted on success, failure and Ctrl-C alike.

pub mod app_image_config;
pub mod attach;
pub mod build;
pub mod cancel;
pub mod image;
pub mod package;
pub mod preflight;
pub mod project;
pub mod runner;
pub mod scan;
pub mod settings;
pub mod upload;
pub mod verify;
pub mod version;

use std::time::Duration;

use crate::plan::StepId;
pub use cancel::Cancel;
pub use runner::{run_release, Outcome, Release, Status, Summary};

/// Progress and log output of a running publish. Implemented by `ui.rs`.
pub trait Reporter: Send + Sync {
    fn step(&self, kernel: &str, step: StepId, message: &str);
    fn skipped(&self, kernel: &str, step: StepId, why: &str);
    fn bytes(&self, kernel: &str, sent: u64, total: u64);
    fn phase(&self, kernel: &str, phase: &str);
    /// One line of a build's log; kernels build concurrently, so each line says whose it is.
    fn log_line(&self, kernel: &str, line: &str);
    fn warn(&self, message: &str);
}

/// Options of `build` and `publish` that are not part of a kernel's configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub keep_project: bool,
    pub no_logs: bool,
    /// Stop after the image is in ECR (`sm-kernel build`).
    pub build_only: bool,
    /// Run the preflight (permissions, domains) before anything is created.
    pub preflight: bool,
    /// At most this many kernels upload and build at once.
    pub jobs: usize,
    /// Stop every other kernel at the first failure.
    pub fail_fast: bool,
}

/// A polling backoff: starts fast, grows by half each time, capped.
pub(crate) struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    pub(crate) fn new(start_ms: u64, cap_ms: u64) -> Backoff {
        Backoff {
            next: Duration::from_millis(start_ms),
            cap: Duration::from_millis(cap_ms),
        }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 3 / 2).min(self.cap);
        d
    }

    pub(crate) fn reset(&mut self, start_ms: u64) {
        self.next = Duration::from_millis(start_ms);
    }
}

/// A retry delay that grows with the attempt, randomised so concurrent writers spread out.
pub(crate) fn jitter(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = 250u64 * 2u64.pow(attempt.min(5));
    Duration::from_millis(base + u64::from(nanos) % base)
}
