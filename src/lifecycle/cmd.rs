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

/// The kernels' region unless --region says otherwise.
pub fn target(cli: &Cli, p: &Planned) -> Target {
    Target {
        region: cli
            .global
            .region
            .clone()
            .or_else(|| p.plan.kernels.first().map(|k| k.resources.region.clone())),
        profile: cli.global.profile.clone(),
        endpoint_url: cli.global.endpoint_url.clone(),
    }
}

pub async fn clients(t: &Target) -> Clients {
    let cfg = aws::load(t).await;
    Clients::new(&cfg, t.endpoint_overridden())
}
