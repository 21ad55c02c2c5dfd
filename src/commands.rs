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
            ui.note(&format!(
                "next: fill in role and domain-id in {}, then `sm-kernel plan --config {}`",
                w.dir.join("kernel.toml").display(),
                w.dir.join("kernel.toml").display()
            ));
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
        Command::Build(args) => run_pipeline(cli, ui, args, true),
        Command::Publish(args) if args.dry_run => {
            let plan_args = PlanArgs {
                kernels: args.run.kernels.clone(),
                out: args.out.clone(),
                kernel: args.run.kernel.clone(),
            };
            plan_command(cli, ui, &plan_args)
        }
        Command::Publish(args) => run_pipeline(cli, ui, &args.run, false),
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
    let mut t = target(cli);
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

/// Resolves, validates and plans (all before any AWS call), then runs the pipeline.
fn run_pipeline(cli: &Cli, ui: &Ui, args: &RunArgs, build_only: bool) -> Result<(), Error> {
    let (scanned, plan) = planned(cli, &args.kernels, &args.kernel)?;
    for kp in &plan.kernels {
        for w in &kp.warnings {
            ui.warn(&format!("{}: {w}", kp.name));
        }
    }
    let opts = RunOptions {
        keep_project: args.keep_project,
        no_logs: args.no_logs,
        build_only,
    };
    let reporter = UiReporter::new(&cli.global, ui);
    let rt = aws::runtime()?;
    let result = rt.block_on(async {
        let cancel = Cancel::new();
        cancel.listen();
        pipeline::run_all(
            &plan_target(cli, &plan),
            &scanned,
            &plan,
            !args.skip_preflight,
            &opts,
            &reporter,
            &cancel,
        )
        .await
    });
    reporter.finish();
    let summary = result?;
    match ui.format {
        OutputFormat::Json => ui.json(&summary),
        OutputFormat::Text => ui.data(&summary.text()),
    }
    Ok(())
}

fn check_run(cli: &Cli, ui: &Ui, args: &RunCheckArgs) -> Result<(), Error> {
    let (_, plan) = planned(cli, &args.kernels, &args.kernel)?;
    let reporter = UiReporter::new(&cli.global, ui);
    let rt = aws::runtime()?;
    let t = plan_target(cli, &plan);
    let result = rt.block_on(async {
        let cfg = aws::load(&t).await;
        let clients = aws::Clients::new(&cfg, t.endpoint_overridden());
        pipeline::preflight::run(&cfg, &clients, &plan, args.strict, false, &reporter).await
    });
    reporter.finish();
    let pre = result?;
    ui.data(&permissions::render_check(&pre.permissions, ui.format));
    Ok(())
}

fn display_dir(p: &Path) -> String {
    p.display().to_string()
}
