//! Runs a Plan's steps against AWS, one module per step. Steps report through [`Reporter`]
//! and never print; the runner orders them, times them, and makes sure a temporary project
//! is deleted on success, failure and Ctrl-C alike.

pub mod app_image_config;
pub mod attach;
pub mod build;
pub mod cancel;
pub mod image;
pub mod package;
pub mod preflight;
pub mod project;
pub mod upload;
pub mod verify;
pub mod version;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::{KernelPlan, Scanned, StepId};
pub use cancel::Cancel;

/// Progress and log output of a running publish. Implemented by `ui.rs`.
pub trait Reporter: Send + Sync {
    fn step(&self, kernel: &str, step: StepId, message: &str);
    fn skipped(&self, kernel: &str, step: StepId, why: &str);
    fn bytes(&self, sent: u64, total: u64);
    fn phase(&self, kernel: &str, phase: &str);
    fn log_line(&self, line: &str);
    fn warn(&self, message: &str);
}

/// Options of `build` and `publish` that are not part of a kernel's configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub keep_project: bool,
    pub no_logs: bool,
    /// Stop after the image is in ECR (`sm-kernel build`).
    pub build_only: bool,
}

/// What one kernel's publish did; `--output json` prints a list of these.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    /// `URI@sha256:…`, the pushed image.
    pub image_uri: String,
    pub image_version: Option<i32>,
    pub app_image_config: Option<String>,
    pub domain_id: Option<String>,
    pub build_id: Option<String>,
    pub skipped: Vec<&'static str>,
    pub seconds: BTreeMap<&'static str, f64>,
}

pub(crate) struct Timer {
    seconds: BTreeMap<&'static str, f64>,
    skipped: Vec<&'static str>,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            seconds: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    fn record(&mut self, step: StepId, started: Instant) {
        *self.seconds.entry(step.as_str()).or_default() +=
            (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    }

    fn skip(&mut self, step: StepId) {
        self.skipped.push(step.as_str());
    }
}

/// Runs one kernel end to end.
pub async fn run_kernel(
    clients: &Clients,
    scanned: &Scanned,
    kp: &KernelPlan,
    opts: &RunOptions,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Outcome, Error> {
    let k: &Kernel = &scanned.kernel;
    let res = &kp.resources;
    let mut t = Timer::new();

    let started = Instant::now();
    let existing = verify::find_image(clients, res).await?;
    t.record(StepId::VerifyImage, started);
    cancel.check("before the upload; nothing was created")?;

    let (digest, build_id) = match existing {
        Some(digest) => {
            for step in [
                StepId::Upload,
                StepId::Project,
                StepId::Build,
                StepId::Cleanup,
            ] {
                t.skip(step);
            }
            reporter.skipped(
                &k.name,
                StepId::Build,
                &format!(
                    "{} is already in ECR (same context and buildspec)",
                    res.image_uri
                ),
            );
            (digest, None)
        }
        None => {
            let started = Instant::now();
            let sent = upload::upload(clients, scanned, kp, reporter, cancel).await?;
            if sent == 0 {
                t.skip(StepId::Upload);
            }
            t.record(StepId::Upload, started);
            cancel.check("after the upload; the context is in S3 and a re-run will reuse it")?;

            let started = Instant::now();
            let created = project::ensure(clients, k, kp, reporter).await?;
            t.record(StepId::Project, started);

            let started = Instant::now();
            let result = build::run(clients, k, kp, created, opts, reporter, cancel).await;
            t.record(StepId::Build, started);

            let started = Instant::now();
            if opts.keep_project {
                t.skip(StepId::Cleanup);
            } else {
                project::delete(clients, kp, reporter).await?;
                t.record(StepId::Cleanup, started);
            }
            let build_id = result?;
            let started = Instant::now();
            let digest = verify::find_image(clients, res).await?.ok_or_else(|| {
                Error::failed(format!(
                    "the build {build_id} succeeded but {} is not in ECR; the buildspec's push did not reach the repository",
                    res.image_uri
                ))
            })?;
            t.record(StepId::VerifyImage, started);
            (digest, Some(build_id))
        }
    };
    let image_uri = format!("{}/{}@{}", res.registry, res.repository, digest);
    reporter.step(&k.name, StepId::VerifyImage, &format!("image {image_uri}"));

    if opts.build_only {
        return Ok(Outcome {
            name: k.name.clone(),
            image_uri,
            image_version: None,
            app_image_config: None,
            domain_id: None,
            build_id,
            skipped: t.skipped,
            seconds: t.seconds,
        });
    }

    cancel.check(
        "after the build; the image is in ECR and a re-run will register it without building",
    )?;
    let started = Instant::now();
    if !image::ensure_image(clients, k, reporter).await? {
        t.skip(StepId::Image);
    }
    t.record(StepId::Image, started);

    cancel.check("after creating the SageMaker image; a re-run will continue from there")?;
    let started = Instant::now();
    let (version, created) =
        version::ensure_version(clients, kp, &digest, reporter, cancel).await?;
    if !created {
        t.skip(StepId::ImageVersion);
    }
    t.record(StepId::ImageVersion, started);
    let wanted = crate::lifecycle::aliases::wanted(&kp.requests.create_image_version);
    crate::lifecycle::aliases::move_to(clients, &res.image_name, &wanted, version).await?;

    cancel.check("after the image version; a re-run will continue from there")?;
    let started = Instant::now();
    if !app_image_config::ensure_app_image_config(clients, k, reporter).await? {
        t.skip(StepId::AppImageConfig);
    }
    t.record(StepId::AppImageConfig, started);

    cancel.check("after the app image config; a re-run will attach it to the domain")?;
    let started = Instant::now();
    if !attach::attach(clients, k, reporter, cancel).await? {
        t.skip(StepId::DomainAttach);
    }
    t.record(StepId::DomainAttach, started);

    Ok(Outcome {
        name: k.name.clone(),
        image_uri,
        image_version: Some(version),
        app_image_config: Some(k.app_image_config.clone()),
        domain_id: Some(k.domain_id.clone()),
        build_id,
        skipped: t.skipped,
        seconds: t.seconds,
    })
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

/// What `build`/`publish` print on stdout.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub kernels: Vec<Outcome>,
}

impl Summary {
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for o in &self.kernels {
            let _ = writeln!(s, "{}", o.name);
            let _ = writeln!(s, "  image             {}", o.image_uri);
            if let Some(v) = o.image_version {
                let _ = writeln!(s, "  image version     {v}");
            }
            if let Some(c) = &o.app_image_config {
                let _ = writeln!(s, "  app image config  {c}");
            }
            if let Some(d) = &o.domain_id {
                let _ = writeln!(s, "  domain            {d}");
            }
            let _ = writeln!(
                s,
                "  build             {}",
                o.build_id
                    .as_deref()
                    .unwrap_or("skipped (image already built)")
            );
            let times: Vec<String> = o
                .seconds
                .iter()
                .map(|(k, v)| format!("{k} {v:.1}s"))
                .collect();
            let _ = writeln!(s, "  time              {}", times.join(", "));
            if !o.skipped.is_empty() {
                let _ = writeln!(s, "  skipped           {}", o.skipped.join(", "));
            }
        }
        s
    }
}

/// Runs `check`, `build` or `publish` for every kernel of the plan, one after another.
pub async fn run_all(
    target: &crate::aws::Target,
    scanned: &[Scanned],
    plan: &crate::plan::Plan,
    preflight_first: bool,
    opts: &RunOptions,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Summary, Error> {
    let cfg = crate::aws::load(target).await;
    let clients = Clients::new(&cfg, target.endpoint_overridden());
    if preflight_first {
        preflight::run(&cfg, &clients, plan, false, opts.build_only, reporter).await?;
    }
    let mut kernels = Vec::new();
    for (s, kp) in scanned.iter().zip(&plan.kernels) {
        cancel.check("between kernels; the ones before are published")?;
        kernels.push(run_kernel(&clients, s, kp, opts, reporter, cancel).await?);
    }
    Ok(Summary { kernels })
}
