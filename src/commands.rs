//! The commands: each resolves and plans (before any AWS call), then does its work and hands
//! what to print to the [`Ui`]. Kept out of `main.rs`, which only parses and maps errors.

use std::path::Path;

use clap::CommandFactory;

use crate::aws::{self, Target};
use crate::cli::{
    CheckArgs, Cli, Command, KernelArgs, OutputFormat, PermissionsCommand, PlanArgs, RunArgs,
    RunCheckArgs,
};
use crate::config::{self, Inputs};
use crate::error::Error;
use crate::init;
use crate::permissions::{check, command as permissions};
use crate::pipeline::{self, Cancel, RunOptions};
use crate::plan::{self, artifacts, render};
use crate::ui::Ui;
use crate::ui::UiReporter;

pub fn run(cli: &Cli, ui: &Ui) -> Result<(), Error> {
    match &cli.command {
        Command::Init(args) => {
            let w = init::run(args, cli.global.region.as_deref())?;
            for f in &w.files {
                ui.note(&format!("wrote {}", f.display()));
            }
            ui.note(&w.next);
            if ui.format == OutputFormat::Json {
                ui.json(&serde_json::json!({
                    "image_name": w.image_name,
                    "files": w.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                }));
            }
            Ok(())
        }
        Command::Plan(args) => plan_command(cli, ui, args),
        Command::Check(args) => check_run(cli, ui, args),
        Command::Build(args) => run_pipeline(cli, ui, args, true, None),
        Command::Publish(args) if args.dry_run => {
            let plan_args = PlanArgs {
                kernels: args.run.kernels.clone(),
                out: args.out.clone(),
                kernel: args.run.kernel.clone(),
            };
            plan_command(cli, ui, &plan_args)
        }
        Command::Publish(args) => run_pipeline(
            cli,
            ui,
            &args.run,
            false,
            args.smoke_test.then(|| SmokeOptions {
                user_profile: args.smoke_user_profile.clone(),
                timeout: std::time::Duration::from_secs(args.smoke_timeout_seconds),
            }),
        ),
        Command::Permissions(p) => permissions_command(cli, ui, p),
        Command::Status(_)
        | Command::Rollback(_)
        | Command::Delete(_)
        | Command::Prune(_)
        | Command::SmokeTest(_) => crate::lifecycle::run(cli, ui),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "sm-kernel",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

fn plan_command(cli: &Cli, ui: &Ui, args: &PlanArgs) -> Result<(), Error> {
    let resolved = config::resolve(&Inputs {
        global: &cli.global,
        selected: &args.kernels,
        flags: &args.kernel,
    })?;
    let scanned = plan::scan_all(resolved.kernels)?;
    if let Some(out) = &args.out {
        artifacts::check_out_outside_contexts(out, &scanned)?;
        artifacts::check_out_dir(out)?;
    }
    let plan = artifacts::plan_all(&scanned, args.out.as_deref())?;
    match ui.format {
        OutputFormat::Json => ui.json(&plan),
        OutputFormat::Text => ui.data(&render::text(&plan)),
    }
    if let Some(out) = &args.out {
        ui.note(&format!(
            "wrote the plan and its artifacts to {}",
            display_dir(out)
        ));
    }
    Ok(())
}

/// Resolves and validates the kernels, then builds their Plan: all before any AWS call, so
/// bad input exits 2 having touched nothing.
fn planned(
    cli: &Cli,
    selected: &[String],
    flags: &KernelArgs,
) -> Result<(Vec<plan::Scanned>, plan::Plan), Error> {
    let resolved = config::resolve(&Inputs {
        global: &cli.global,
        selected,
        flags,
    })?;
    let scanned = plan::scan_all(resolved.kernels)?;
    let plan = artifacts::plan_all(&scanned, None)?;
    Ok((scanned, plan))
}

/// The default `jobs`: every kernel of the release at once, up to 8.
const DEFAULT_MAX_JOBS: usize = 8;

fn target(cli: &Cli) -> Target {
    Target {
        region: cli.global.region.clone(),
        profile: cli.global.profile.clone(),
        endpoint_url: cli.global.endpoint_url.clone(),
    }
}

/// The AWS target for a plan: its kernels' region unless --region says otherwise (the plan
/// already fell back to AWS_REGION; the SDK would not read kernel.toml).
fn plan_target(cli: &Cli, plan: &plan::Plan) -> Target {
    let mut t = target(cli).with_manifest_endpoint(plan);
    if t.region.is_none() {
        t.region = plan.kernels.first().map(|k| k.resources.region.clone());
    }
    t
}

fn permissions_command(cli: &Cli, ui: &Ui, cmd: &PermissionsCommand) -> Result<(), Error> {
    match cmd {
        PermissionsCommand::Show(args) => {
            ui.data(&permissions::show(
                args,
                cli.global.region.as_deref(),
                ui.format,
            )?);
            Ok(())
        }
        PermissionsCommand::Evaluate(args) => {
            ui.data(&permissions::evaluate_one(args, ui.format)?);
            Ok(())
        }
        PermissionsCommand::Check(args) => check_command(cli, ui, args),
        PermissionsCommand::Apply(args) => {
            ui.data(&permissions::apply(args, &target(cli))?);
            Ok(())
        }
    }
}

fn check_command(cli: &Cli, ui: &Ui, args: &CheckArgs) -> Result<(), Error> {
    let (scanned, mut plan) = planned(cli, &args.kernels, &args.kernel)?;
    if let Some(c) = &args.command {
        crate::lifecycle::needs::use_command(c, &scanned, &mut plan)?;
    }
    let sources = if args.policy_files.is_empty() {
        if !args.trust_files.is_empty() {
            return Err(Error::input(
                "--trust-file goes with --policy-file (offline check); without them the role's policies are read from IAM",
            ));
        }
        permissions::online_sources_blocking(&plan, &plan_target(cli, &plan))?
    } else {
        permissions::file_sources(&args.policy_files, &args.trust_files)?
    };
    let report = check::check_plan(&plan, &sources);
    ui.data(&permissions::render_check(&report, ui.format));
    permissions::check_outcome(&report, args.strict)
}

/// `publish --smoke-test`: who the throwaway apps run as, and how long to wait for them.
struct SmokeOptions {
    user_profile: Option<String>,
    timeout: std::time::Duration,
}

/// Resolves, validates and plans (all before any AWS call; each context is packed here,
/// once), then runs the release.
fn run_pipeline(
    cli: &Cli,
    ui: &Ui,
    args: &RunArgs,
    build_only: bool,
    smoke: Option<SmokeOptions>,
) -> Result<(), Error> {
    let resolved = config::resolve(&Inputs {
        global: &cli.global,
        selected: &args.kernels,
        flags: &args.kernel,
    })?;
    let manifest_jobs = resolved.jobs;
    let scanned = plan::scan_all(resolved.kernels)?;
    let (mut plan, zips) = artifacts::plan_all_packed(&scanned)?;
    // The smoke test's calls join the Plan, so the preflight checks them and the call audit
    // admits them; a kernel without a user profile to run as is bad input, found here.
    let mut smoke_profiles = Vec::new();
    if let Some(sm) = &smoke {
        for (s, kp) in scanned.iter().zip(plan.kernels.iter_mut()) {
            let Some(p) = sm
                .user_profile
                .clone()
                .or_else(|| s.kernel.user_profile.clone())
            else {
                return Err(Error::input(format!(
                    "--smoke-user-profile: missing for kernel {:?}; the smoke test starts its throwaway app as a user profile of the domain (--smoke-user-profile NAME, or user-profile in kernel.toml)",
                    s.kernel.name
                )));
            };
            crate::names::user_profile_name("--smoke-user-profile", &p)?;
            kp.steps
                .push(crate::lifecycle::smoke::needs(&s.kernel, &kp.resources));
            smoke_profiles.push(p);
        }
    }
    for kp in &plan.kernels {
        for w in &kp.warnings {
            ui.warn(&format!("{}: {w}", kp.name));
        }
    }
    let jobs = args
        .jobs
        .map(usize::from)
        .or(manifest_jobs)
        .unwrap_or_else(|| scanned.len().clamp(1, DEFAULT_MAX_JOBS));
    let opts = RunOptions {
        keep_project: args.keep_project,
        no_logs: args.no_logs,
        build_only,
        preflight: !args.skip_preflight,
        jobs,
        fail_fast: args.fail_fast,
    };
    let reporter = UiReporter::new(&cli.global, ui);
    let rt = aws::runtime()?;
    let paths: Vec<std::path::PathBuf> = zips.iter().map(|z| z.0.clone()).collect();
    let audit = aws::CallAudit::new(crate::ui::call_log(&cli.global)).enforcing(&plan);
    let result = rt.block_on(async {
        let cancel = Cancel::new();
        cancel.listen();
        let summary = pipeline::run_release(
            &plan_target(cli, &plan),
            pipeline::Release {
                scanned: &scanned,
                plan: &plan,
                zips: &paths,
            },
            &opts,
            &audit,
            &reporter,
            &cancel,
        )
        .await;
        let Some(sm) = &smoke else {
            return summary;
        };
        let mut summary = summary?;
        // Every kernel is published: start each in a throwaway space or app, all at once.
        let base = plan_target(cli, &plan);
        let tests =
            scanned
                .iter()
                .zip(&plan.kernels)
                .zip(&smoke_profiles)
                .map(|((s, kp), profile)| {
                    let t = Target {
                        region: Some(kp.resources.region.clone()),
                        ..base.clone()
                    };
                    let (audit, cancel) = (&audit, &cancel);
                    async move {
                        let cfg = aws::load(&t).await;
                        let clients = aws::Clients::new(&cfg, t.endpoint_overridden(), audit);
                        crate::lifecycle::smoke::run(
                            &clients,
                            &s.kernel,
                            &kp.resources,
                            profile,
                            sm.timeout,
                            cancel,
                        )
                        .await
                    }
                });
        let mut failed = Vec::new();
        for r in futures_util::future::join_all(tests).await {
            match r {
                Ok(done) => {
                    if !done.passed {
                        failed.push(format!(
                            "{}: {} ({})",
                            done.name,
                            done.failure_reason
                                .as_deref()
                                .unwrap_or("no FailureReason given"),
                            done.status
                        ));
                    }
                    summary.smoke_tests.push(done);
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        if failed.is_empty() {
            Ok(summary)
        } else {
            let e = Error::failed(format!(
                "the smoke test failed (the kernels are published):\n  {}",
                failed.join("\n  ")
            ));
            Err((Some(summary), e))
        }
    });
    reporter.finish();
    drop(zips);
    let (summary, error) = match result {
        Ok(s) => (Some(s), None),
        Err((s, e)) => (s, Some(e)),
    };
    // The per-kernel report is printed whatever happened: a CI job reads it to see which
    // kernel failed, in which step, and why.
    if let Some(summary) = &summary {
        match ui.format {
            OutputFormat::Json => ui.json(summary),
            OutputFormat::Text => ui.data(&summary.text()),
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn check_run(cli: &Cli, ui: &Ui, args: &RunCheckArgs) -> Result<(), Error> {
    let (_, plan) = planned(cli, &args.kernels, &args.kernel)?;
    let reporter = UiReporter::new(&cli.global, ui);
    let rt = aws::runtime()?;
    let t = plan_target(cli, &plan);
    let audit = aws::CallAudit::new(crate::ui::call_log(&cli.global)).enforcing(&plan);
    let result = rt.block_on(async {
        let mut clients = std::collections::BTreeMap::new();
        let mut first = None;
        for kp in &plan.kernels {
            let region = &kp.resources.region;
            if clients.contains_key(region) {
                continue;
            }
            let rt = Target {
                region: Some(region.clone()),
                ..t.clone()
            };
            let cfg = aws::load(&rt).await;
            clients.insert(
                region.clone(),
                aws::Clients::new(&cfg, rt.endpoint_overridden(), &audit),
            );
            first.get_or_insert(cfg);
        }
        let cfg = match first {
            Some(c) => c,
            None => aws::load(&t).await,
        };
        pipeline::preflight::run(&cfg, &clients, &plan, args.strict, false, &reporter).await
    });
    reporter.finish();
    let pre = result?;
    ui.data(&permissions::render_check(&pre.permissions, ui.format));
    match pre.verdict {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn display_dir(p: &Path) -> String {
    p.display().to_string()
}
