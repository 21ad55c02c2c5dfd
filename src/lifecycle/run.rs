//! Dispatch of the lifecycle commands: plan first (bad input exits 2 with no AWS call), then
//! one runtime, the clients of each kernel's region, and the command's own module.

use super::cmd::{self, RegionClients};
use super::{delete, prune, rollback, smoke, status};
use crate::aws;
use crate::cli::{Cli, Command, OutputFormat};
use crate::error::Error;
use crate::pipeline::Cancel;
use crate::ui::Ui;

pub fn run(cli: &Cli, ui: &Ui) -> Result<(), Error> {
    match &cli.command {
        Command::Status(a) => {
            let p = cmd::planned(cli, "status", &a.kernels, &a.kernel)?;
            let rt = aws::runtime()?;
            let report = rt.block_on(async {
                let clients = RegionClients::open(cli, &p).await;
                let mut kernels = Vec::new();
                for (c, s, kp) in clients.each(&p) {
                    kernels.push(status::kernel_status(c, &s.kernel, kp).await?);
                }
                Ok::<_, Error>(status::Report { kernels })
            })?;
            match ui.format {
                OutputFormat::Json => ui.json(&report),
                OutputFormat::Text => ui.data(&report.text()),
            }
            if a.exit_code && !report.all_up_to_date() {
                let behind: Vec<String> = report
                    .kernels
                    .iter()
                    .filter(|k| k.verdict != status::Verdict::UpToDate)
                    .map(|k| format!("{} ({})", k.name, k.verdict.as_str()))
                    .collect();
                return Err(Error::NotUpToDate(format!(
                    "not up to date: {}",
                    behind.join(", ")
                )));
            }
            Ok(())
        }
        Command::Rollback(a) => {
            let p = cmd::planned(cli, "rollback", std::slice::from_ref(&a.target), &a.kernel)?;
            let rt = aws::runtime()?;
            let done = rt.block_on(async {
                let cancel = Cancel::new();
                cancel.listen();
                let clients = RegionClients::open(cli, &p).await;
                let mut out = Vec::new();
                for (c, s, _) in clients.each(&p) {
                    out.push(rollback::run(c, &s.kernel, &a.to, a.yes, &cancel).await?);
                }
                Ok::<_, Error>(out)
            })?;
            match ui.format {
                OutputFormat::Json => ui.json(&serde_json::json!({ "kernels": done })),
                OutputFormat::Text => ui.data(&rollback::text(&done)),
            }
            Ok(())
        }
        Command::Delete(a) => {
            let p = cmd::planned(cli, "delete", std::slice::from_ref(&a.target), &a.kernel)?;
            let opts = delete::Options {
                delete_repository: a.delete_repository,
                yes: a.yes,
                force: a.force,
            };
            let rt = aws::runtime()?;
            let done = rt.block_on(async {
                let cancel = Cancel::new();
                cancel.listen();
                let clients = RegionClients::open(cli, &p).await;
                let mut out = Vec::new();
                for (c, s, kp) in clients.each(&p) {
                    out.push(delete::run(c, &s.kernel, &kp.resources, &opts, &cancel).await?);
                }
                Ok::<_, Error>(out)
            })?;
            match ui.format {
                OutputFormat::Json => ui.json(&serde_json::json!({ "kernels": done })),
                OutputFormat::Text => ui.data(&delete::text(&done)),
            }
            Ok(())
        }
        Command::Prune(a) => {
            let p = cmd::planned(cli, "prune", std::slice::from_ref(&a.target), &a.kernel)?;
            let rt = aws::runtime()?;
            let done = rt.block_on(async {
                let clients = RegionClients::open(cli, &p).await;
                let mut out = Vec::new();
                for (c, s, kp) in clients.each(&p) {
                    out.push(prune::run(c, &s.kernel, &kp.resources, a.keep, a.yes).await?);
                }
                Ok::<_, Error>(out)
            })?;
            match ui.format {
                OutputFormat::Json => ui.json(&serde_json::json!({ "kernels": done })),
                OutputFormat::Text => ui.data(&prune::text(&done)),
            }
            Ok(())
        }
        Command::SmokeTest(a) => {
            let p = cmd::planned(
                cli,
                "smoke-test",
                std::slice::from_ref(&a.target),
                &a.kernel,
            )?;
            let (s, kp) = (&p.scanned[0], &p.plan.kernels[0]);
            let Some(profile) = s.kernel.user_profile.clone() else {
                return Err(Error::input(
                    "--user-profile: missing; the smoke test starts its throwaway space or app as a user profile of the domain (--user-profile NAME)",
                ));
            };
            let rt = aws::runtime()?;
            let timeout = std::time::Duration::from_secs(a.timeout_seconds);
            let done = rt.block_on(async {
                let cancel = Cancel::new();
                cancel.listen();
                let clients = RegionClients::open(cli, &p).await;
                let (c, _, _) = clients.each(&p).next().expect("one kernel selected");
                smoke::run(c, &s.kernel, &kp.resources, &profile, timeout, &cancel).await
            })?;
            match ui.format {
                OutputFormat::Json => ui.json(&done),
                OutputFormat::Text => ui.data(&smoke::text(&done)),
            }
            if !done.passed {
                return Err(Error::failed(format!(
                    "the smoke test of {} failed: {} ({})",
                    done.name,
                    done.failure_reason
                        .as_deref()
                        .unwrap_or("no FailureReason given"),
                    done.status
                )));
            }
            Ok(())
        }
        _ => unreachable!("lifecycle::run is dispatched only for lifecycle commands"),
    }
}
