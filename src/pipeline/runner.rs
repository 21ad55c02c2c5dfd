//! Executes a release's Plan as a dependency graph. Per kernel: upload → project → build →
//! verify-image → image-version, with the SageMaker image and the app-image-config (which
//! need no built image) created while the build runs. Kernels run concurrently, at most
//! `jobs` builds at once, each with the clients of its own region. Once the versions are
//! CREATED, every kernel bound for one domain (or user profile) joins ONE update of it.
//!
//! A kernel that fails does not stop the others (unless `--fail-fast`); the ones that
//! succeeded are attached, and the release reports each kernel's state. Ctrl-C stops every
//! build, removes every temporary project, and reports what each kernel was left as.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::attach::attach_group;
use super::settings::{AttachKey, Place, Section};
use super::{
    app_image_config, build, image, preflight, project, scan, upload, verify, version, Cancel,
    Reporter, RunOptions,
};
use crate::aws::{self, CallAudit, Clients, Target};
use crate::config::Kernel;
use crate::error::{AwsError, Error};
use crate::plan::{KernelPlan, Plan, Scanned, StepId};

/// Where a kernel's release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Built, registered and attached (or already all three).
    Published,
    /// `sm-kernel build`: the image is in ECR.
    Built,
    /// Its image version exists but the release stopped before the domain update.
    Registered,
    Failed,
    /// Ctrl-C, or `--fail-fast` after another kernel failed.
    Stopped,
}

/// Why a kernel failed: the step, the message, and what AWS said when AWS refused.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub step: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsError>,
}

impl Failure {
    fn new(step: StepId, e: &Error) -> Failure {
        Failure {
            step: step.as_str(),
            message: e.to_string(),
            aws: match e {
                Error::Aws(a) => Some((**a).clone()),
                _ => None,
            },
        }
    }
}

/// What one kernel's release did; `--output json` prints a list of these.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub status: Status,
    pub region: String,
    /// `URI@sha256:…`, the pushed image.
    pub image_uri: Option<String>,
    pub image_version: Option<i32>,
    pub app_image_config: Option<String>,
    pub domain_id: Option<String>,
    pub user_profile: Option<String>,
    /// Every settings list the kernel is in, once attached (e.g. `domain d-… default space
    /// settings`).
    pub attached_to: Vec<String>,
    pub build_id: Option<String>,
    pub skipped: Vec<&'static str>,
    pub seconds: BTreeMap<&'static str, f64>,
    /// The scan gate's verdict, when `scan` is set and ECR's scan finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<scan::ScanSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// One merged domain (or user-profile) update of the release.
#[derive(Debug, Clone, Serialize)]
pub struct DomainUpdate {
    pub region: String,
    pub domain_id: String,
    pub user_profile: Option<String>,
    /// The request members it writes: `DefaultUserSettings`, `DefaultSpaceSettings` (one
    /// UpdateDomain) or `UserSettings` (an UpdateUserProfile).
    pub settings: Vec<&'static str>,
    pub kernels: Vec<String>,
    /// False when every entry was already there.
    pub sent: bool,
}

/// What `build`/`publish` print on stdout, success or not.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub kernels: Vec<Outcome>,
    pub domain_updates: Vec<DomainUpdate>,
    /// `publish --smoke-test`: each published kernel started in a throwaway space or app.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke_tests: Vec<crate::lifecycle::smoke::Smoke>,
}

struct Timer {
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

    fn merge(&mut self, other: Timer) {
        for (k, v) in other.seconds {
            *self.seconds.entry(k).or_default() += v;
        }
        self.skipped.extend(other.skipped);
    }
}

/// Everything the kernels of a release share.
struct Ctx<'a> {
    clients: BTreeMap<String, Clients>,
    opts: &'a RunOptions,
    reporter: &'a dyn Reporter,
    cancel: &'a Cancel,
    builds: Semaphore,
}

impl Ctx<'_> {
    fn clients(&self, region: &str) -> &Clients {
        &self.clients[region]
    }
}

type StepResult<T> = Result<T, (StepId, Error)>;

fn at<T>(step: StepId, r: Result<T, Error>) -> StepResult<T> {
    r.map_err(|e| (step, e))
}

/// The build half of a kernel: skipped when the content-addressed tag is already in ECR.
/// Returns (digest, build id when a build ran).
async fn build_half(
    ctx: &Ctx<'_>,
    k: &Kernel,
    kp: &KernelPlan,
    zip: &std::path::Path,
    t: &mut Timer,
) -> StepResult<(String, Option<String>)> {
    let clients = ctx.clients(&k.region);
    let res = &kp.resources;
    let started = Instant::now();
    let existing = at(StepId::VerifyImage, verify::find_image(clients, res).await)?;
    t.record(StepId::VerifyImage, started);
    if let Some(digest) = existing {
        for step in [
            StepId::Upload,
            StepId::Project,
            StepId::Build,
            StepId::Cleanup,
        ] {
            t.skip(step);
        }
        ctx.reporter.skipped(
            &k.name,
            StepId::Build,
            &format!(
                "{} is already in ECR (same context and buildspec)",
                res.image_uri
            ),
        );
        return Ok((digest, None));
    }

    // At most `jobs` kernels upload and build at once; the rest wait here.
    let _permit = ctx.builds.acquire().await.expect("semaphore open");
    at(
        StepId::Upload,
        ctx.cancel
            .check("before the upload; nothing was created for this kernel"),
    )?;
    let started = Instant::now();
    let sent = at(
        StepId::Upload,
        upload::upload(clients, zip, kp, ctx.reporter, ctx.cancel).await,
    )?;
    if sent == 0 {
        t.skip(StepId::Upload);
    }
    t.record(StepId::Upload, started);
    at(
        StepId::Project,
        ctx.cancel
            .check("after the upload; the context is in S3 and a re-run will reuse it"),
    )?;

    let started = Instant::now();
    let created = at(
        StepId::Project,
        project::ensure(clients, k, kp, ctx.reporter).await,
    )?;
    t.record(StepId::Project, started);

    let started = Instant::now();
    let result = build::run(clients, k, kp, created, ctx.opts, ctx.reporter, ctx.cancel).await;
    t.record(StepId::Build, started);

    // Cleanup never hides the build's own result: its error is only a warning.
    if ctx.opts.keep_project {
        t.skip(StepId::Cleanup);
    } else {
        let started = Instant::now();
        if let Err(e) = project::delete(clients, kp, ctx.reporter).await {
            ctx.reporter.warn(&format!("{}: {e}", k.name));
        }
        t.record(StepId::Cleanup, started);
    }
    let build_id = at(StepId::Build, result)?;

    let started = Instant::now();
    let digest = at(StepId::VerifyImage, verify::find_image(clients, res).await)?.ok_or_else(|| {
        (
            StepId::VerifyImage,
            Error::failed(format!(
                "the build {build_id} succeeded but {} is not in ECR; the buildspec's push did not reach the repository",
                res.image_uri
            )),
        )
    })?;
    t.record(StepId::VerifyImage, started);
    Ok((digest, Some(build_id)))
}

/// The SageMaker image and the app-image-config: neither needs the built image.
async fn register_half(ctx: &Ctx<'_>, k: &Kernel, t: &mut Timer) -> StepResult<()> {
    let clients = ctx.clients(&k.region);
    let started = Instant::now();
    if !at(
        StepId::Image,
        image::ensure_image(clients, k, ctx.reporter, ctx.cancel).await,
    )? {
        t.skip(StepId::Image);
    }
    t.record(StepId::Image, started);
    let started = Instant::now();
    if !at(
        StepId::AppImageConfig,
        app_image_config::ensure_app_image_config(clients, k, ctx.reporter).await,
    )? {
        t.skip(StepId::AppImageConfig);
    }
    t.record(StepId::AppImageConfig, started);
    Ok(())
}

/// Runs one kernel up to its image version (or, for `build`, up to ECR).
async fn run_kernel(ctx: &Ctx<'_>, s: &Scanned, kp: &KernelPlan, zip: &std::path::Path) -> Outcome {
    let k = &s.kernel;
    let mut t = Timer::new();
    let mut out = Outcome {
        name: k.name.clone(),
        status: Status::Failed,
        region: k.region.clone(),
        image_uri: None,
        image_version: None,
        app_image_config: None,
        domain_id: None,
        user_profile: None,
        attached_to: Vec::new(),
        build_id: None,
        skipped: Vec::new(),
        seconds: BTreeMap::new(),
        scan: None,
        error: None,
    };
    let result: StepResult<()> = async {
        let mut t_reg = Timer::new();
        let (built, registered) = if ctx.opts.build_only {
            (build_half(ctx, k, kp, zip, &mut t).await, Ok(()))
        } else {
            tokio::join!(
                build_half(ctx, k, kp, zip, &mut t),
                register_half(ctx, k, &mut t_reg)
            )
        };
        t.merge(t_reg);
        let (digest, build_id) = built?;
        out.build_id = build_id;
        let res = &kp.resources;
        let uri = format!("{}/{}@{}", res.registry, res.repository, digest);
        ctx.reporter
            .step(&k.name, StepId::VerifyImage, &format!("image {uri}"));
        out.image_uri = Some(uri);
        // The scan gate: the image is in ECR (built now, or found unchanged), nothing is
        // registered yet; `build` gates too, so CI can stop before a later publish.
        if k.build.scan.is_some() {
            let started = Instant::now();
            let verdict = at(
                StepId::ImageScan,
                scan::run(
                    ctx.clients(&k.region),
                    k,
                    kp,
                    &digest,
                    ctx.reporter,
                    ctx.cancel,
                )
                .await,
            )?;
            t.record(StepId::ImageScan, started);
            out.scan = Some(verdict.summary);
            if let Some(e) = verdict.refusal {
                return Err((StepId::ImageScan, e));
            }
        }
        if ctx.opts.build_only {
            out.status = Status::Built;
            return Ok(());
        }
        registered?;
        at(
            StepId::ImageVersion,
            ctx.cancel.check(
                "after the build; the image is in ECR and a re-run will register it without building",
            ),
        )?;
        let started = Instant::now();
        let (v, created) = at(
            StepId::ImageVersion,
            version::ensure_version(ctx.clients(&k.region), kp, &digest, ctx.reporter, ctx.cancel)
                .await,
        )?;
        if !created {
            t.skip(StepId::ImageVersion);
        }
        // Each alias moves to the new version once it is CREATED, so a failed version never
        // takes `stable` away from the one that works.
        let wanted = crate::lifecycle::aliases::wanted(&kp.requests.create_image_version);
        at(
            StepId::ImageVersion,
            crate::lifecycle::aliases::move_to(ctx.clients(&k.region), &res.image_name, &wanted, v)
                .await,
        )?;
        t.record(StepId::ImageVersion, started);
        out.image_version = Some(v);
        out.app_image_config = Some(k.app_image_config.clone());
        out.status = Status::Registered;
        Ok(())
    }
    .await;
    if let Err((step, e)) = result {
        out.status = if matches!(e, Error::Interrupted(_)) {
            Status::Stopped
        } else {
            if ctx.opts.fail_fast && !ctx.cancel.is_set() {
                ctx.reporter.warn(&format!(
                    "{} failed; --fail-fast stops the other kernels",
                    k.name
                ));
                ctx.cancel.fail_fast();
            }
            Status::Failed
        };
        out.error = Some(Failure::new(step, &e));
    }
    out.seconds = t.seconds;
    out.skipped = t.skipped;
    out
}

/// Runs `build` or `publish` for every kernel of the plan.
/// What a release runs: the scanned kernels, their Plan, and each context packed once.
pub struct Release<'a> {
    pub scanned: &'a [Scanned],
    pub plan: &'a Plan,
    pub zips: &'a [PathBuf],
}

pub async fn run_release(
    target: &Target,
    release: Release<'_>,
    opts: &RunOptions,
    audit: &CallAudit,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Summary, (Option<Summary>, Error)> {
    let Release {
        scanned,
        plan,
        zips,
    } = release;
    // One set of clients per region: each kernel's calls go to its own region.
    let mut clients = BTreeMap::new();
    let mut first_cfg = None;
    for kp in &plan.kernels {
        let region = &kp.resources.region;
        if clients.contains_key(region) {
            continue;
        }
        let t = Target {
            region: Some(region.clone()),
            ..target.clone()
        };
        let cfg = aws::load(&t).await;
        clients.insert(
            region.clone(),
            Clients::new(&cfg, t.endpoint_overridden(), audit),
        );
        first_cfg.get_or_insert(cfg);
    }
    let Some(cfg) = first_cfg else {
        return Ok(Summary {
            kernels: Vec::new(),
            domain_updates: Vec::new(),
            smoke_tests: Vec::new(),
        });
    };
    if opts.preflight {
        let pre = preflight::run(&cfg, &clients, plan, false, opts.build_only, reporter)
            .await
            .map_err(|e| (None, e))?;
        if let Some(e) = pre.verdict {
            return Err((None, e));
        }
    }
    let jobs = opts.jobs.max(1);
    let ctx = Ctx {
        clients,
        opts,
        reporter,
        cancel,
        builds: Semaphore::new(jobs),
    };

    let mut outcomes: Vec<Outcome> = join_all(
        scanned
            .iter()
            .zip(&plan.kernels)
            .zip(zips)
            .map(|((s, kp), zip)| run_kernel(&ctx, s, kp, zip)),
    )
    .await;

    // One update per domain (or user profile), once its kernels' versions are CREATED. A
    // kernel with a user profile and space settings joins two; it is published when both
    // succeed.
    let mut domain_updates = Vec::new();
    if !opts.build_only && !cancel.is_set() {
        let mut groups: BTreeMap<AttachKey, Vec<(usize, Section)>> = BTreeMap::new();
        for (i, o) in outcomes.iter().enumerate() {
            if o.status == Status::Registered {
                for place in Place::of(&scanned[i].kernel) {
                    groups
                        .entry(place.key)
                        .or_default()
                        .push((i, place.section));
                }
            }
        }
        let results = join_all(groups.iter().map(|(key, members)| {
            let members: Vec<(&Kernel, Section)> = members
                .iter()
                .map(|&(i, s)| (&scanned[i].kernel, s))
                .collect();
            let ctx = &ctx;
            async move {
                let started = Instant::now();
                let r =
                    attach_group(ctx.clients(&key.region), key, &members, reporter, cancel).await;
                (r, started.elapsed().as_secs_f64())
            }
        }))
        .await;
        let mut attached: BTreeMap<usize, Vec<bool>> = BTreeMap::new();
        for ((key, members), (result, secs)) in groups.iter().zip(results) {
            let mut kernels: Vec<usize> = members.iter().map(|&(i, _)| i).collect();
            kernels.dedup();
            let mut settings: Vec<&'static str> =
                members.iter().map(|&(_, s)| key.member(s)).collect();
            settings.sort_unstable();
            settings.dedup();
            domain_updates.push(DomainUpdate {
                region: key.region.clone(),
                domain_id: key.domain_id.clone(),
                user_profile: key.user_profile.clone(),
                settings,
                kernels: kernels.iter().map(|&i| outcomes[i].name.clone()).collect(),
                sent: *result.as_ref().unwrap_or(&false),
            });
            for &i in &kernels {
                let o = &mut outcomes[i];
                let secs = (secs * 100.0).round() / 100.0;
                let slot = o.seconds.entry(StepId::DomainAttach.as_str()).or_default();
                *slot = slot.max(secs);
                match &result {
                    Ok(sent) => {
                        attached.entry(i).or_default().push(*sent);
                        o.domain_id = Some(key.domain_id.clone());
                        if key.user_profile.is_some() {
                            o.user_profile = key.user_profile.clone();
                        }
                    }
                    Err(e) => {
                        o.status = if matches!(e, Error::Interrupted(_)) {
                            Status::Stopped
                        } else {
                            Status::Failed
                        };
                        o.error = Some(Failure::new(StepId::DomainAttach, e));
                    }
                }
            }
        }
        for (i, sent) in attached {
            let o = &mut outcomes[i];
            if o.error.is_some() {
                continue;
            }
            if !sent.iter().any(|s| *s) {
                o.skipped.push(StepId::DomainAttach.as_str());
            }
            o.attached_to = Place::of(&scanned[i].kernel)
                .iter()
                .map(Place::label)
                .collect();
            o.status = Status::Published;
        }
    }

    let summary = Summary {
        kernels: outcomes,
        domain_updates,
        smoke_tests: Vec::new(),
    };
    match verdict(&summary, cancel) {
        None => Ok(summary),
        Some(e) => Err((Some(summary), e)),
    }
}

/// The release's exit: 130 after Ctrl-C, 1 when any kernel failed, else success.
fn verdict(summary: &Summary, cancel: &Cancel) -> Option<Error> {
    let states = || {
        summary
            .kernels
            .iter()
            .map(|o| {
                let what = match (&o.status, &o.error) {
                    (Status::Registered, _) => format!(
                        "version {} created, not attached (a re-run attaches it)",
                        o.image_version.unwrap_or_default()
                    ),
                    (Status::Published, _) => "published".to_string(),
                    (Status::Built, _) => "built".to_string(),
                    (_, Some(f)) => {
                        let mut lines = f.message.lines();
                        let mut m = format!("{}: {}", f.step, lines.next().unwrap_or_default());
                        for l in lines {
                            m.push_str("\n    ");
                            m.push_str(l);
                        }
                        m
                    }
                    (s, None) => format!("{s:?}").to_lowercase(),
                };
                format!("  {}: {what}", o.name)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    if cancel.interrupted() {
        return Some(Error::Interrupted(format!(
            "interrupted; every running build was stopped and every temporary project removed. Per kernel:\n{}",
            states()
        )));
    }
    let failed = summary
        .kernels
        .iter()
        .filter(|o| o.status == Status::Failed)
        .count();
    if failed > 0 || summary.kernels.iter().any(|o| o.status == Status::Stopped) {
        return Some(Error::failed(format!(
            "{failed} of {} kernels failed:\n{}",
            summary.kernels.len(),
            states()
        )));
    }
    None
}

impl Summary {
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for o in &self.kernels {
            let _ = writeln!(s, "{} ({:?})", o.name, o.status);
            if let Some(u) = &o.image_uri {
                let _ = writeln!(s, "  image             {u}");
            }
            if let Some(sc) = &o.scan {
                let _ = writeln!(
                    s,
                    "  scan              {} (scan = {}: {})",
                    scan::counts_text(&sc.severity_counts),
                    sc.threshold,
                    if sc.passed { "passed" } else { "refused" }
                );
            }
            if let Some(v) = o.image_version {
                let _ = writeln!(s, "  image version     {v}");
            }
            if let Some(c) = &o.app_image_config {
                let _ = writeln!(s, "  app image config  {c}");
            }
            for place in &o.attached_to {
                let _ = writeln!(s, "  attached to       {place}");
            }
            if o.error.is_none() {
                let _ = writeln!(
                    s,
                    "  build             {}",
                    o.build_id
                        .as_deref()
                        .unwrap_or("skipped (image already built)")
                );
            }
            if !o.seconds.is_empty() {
                let times: Vec<String> = o
                    .seconds
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.1}s"))
                    .collect();
                let _ = writeln!(s, "  time              {}", times.join(", "));
            }
            if !o.skipped.is_empty() {
                let _ = writeln!(s, "  skipped           {}", o.skipped.join(", "));
            }
            // The message itself goes to stderr with the release's error.
            if let Some(f) = &o.error {
                let _ = writeln!(s, "  stopped in        {}", f.step);
            }
        }
        for t in &self.smoke_tests {
            let _ = writeln!(
                s,
                "smoke test {}: {} ({}{})",
                t.name,
                if t.passed { "passed" } else { "FAILED" },
                t.status,
                t.failure_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
        for d in &self.domain_updates {
            let _ = writeln!(
                s,
                "{} {}{} {}: {}",
                if d.sent { "updated" } else { "unchanged" },
                d.domain_id,
                d.user_profile
                    .as_deref()
                    .map(|p| format!(" (user profile {p})"))
                    .unwrap_or_default(),
                d.settings.join(" + "),
                d.kernels.join(", ")
            );
        }
        s
    }
}
