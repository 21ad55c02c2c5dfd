//! What every lifecycle command does before its first AWS call: resolve and validate the
//! kernels, build their Plan (names, ARNs, the context digest), and open the clients.

use crate::aws::{self, Clients, Target};
use crate::cli::{Cli, KernelArgs};
use crate::config::{self, Inputs};
use crate::error::Error;
use crate::plan::{self, artifacts};

pub struct Planned {
    pub scanned: Vec<plan::Scanned>,
    pub plan: plan::Plan,
}

/// Bad input exits 2 here, having touched nothing.
pub fn planned(cli: &Cli, selected: &[String], flags: &KernelArgs) -> Result<Planned, Error> {
    let resolved = config::resolve(&Inputs {
        global: &cli.global,
        selected,
        flags,
    })?;
    let scanned = plan::scan_all(resolved.kernels)?;
    let plan = artifacts::plan_all(&scanned, None)?;
    Ok(Planned { scanned, plan })
}

/// The kernels' region (the manifest's, or --region, which the plan already applied), and
/// the manifest's endpoint-url unless the flag or AWS_ENDPOINT_URL says otherwise.
pub fn target(cli: &Cli, p: &Planned) -> Target {
    Target {
        region: p
            .plan
            .kernels
            .first()
            .map(|k| k.resources.region.clone())
            .or_else(|| cli.global.region.clone()),
        profile: cli.global.profile.clone(),
        endpoint_url: cli.global.endpoint_url.clone(),
    }
    .with_manifest_endpoint(&p.plan)
}

/// The clients of a lifecycle command; `--verbose` names each call (the commands' own
/// sandbox tests check their calls against their declarations).
pub async fn clients(t: &Target, verbose: Option<aws::audit::CallLog>) -> Clients {
    let cfg = aws::load(t).await;
    Clients::new(&cfg, t.endpoint_overridden(), &aws::CallAudit::new(verbose))
}
