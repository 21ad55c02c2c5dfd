//! What every lifecycle command does before its first AWS call: resolve and validate the
//! kernels, build their Plan with the command's own steps (names, ARNs, the context digest,
//! the calls it declares), and open one set of clients per region that refuses any other call.

use std::collections::BTreeMap;

use crate::aws::{self, Clients, Target};
use crate::cli::{Cli, KernelArgs};
use crate::config::{self, Inputs};
use crate::error::Error;
use crate::plan::{self, artifacts, KernelPlan, Scanned};

pub struct Planned {
    pub scanned: Vec<plan::Scanned>,
    pub plan: plan::Plan,
}

/// Bad input exits 2 here, having touched nothing. The Plan's steps are those `command`
/// declares (see `needs.rs`).
pub fn planned(
    cli: &Cli,
    command: &str,
    selected: &[String],
    flags: &KernelArgs,
) -> Result<Planned, Error> {
    let resolved = config::resolve(&Inputs {
        global: &cli.global,
        selected,
        flags,
    })?;
    let scanned = plan::scan_all(resolved.kernels)?;
    let mut plan = artifacts::plan_all(&scanned, None)?;
    super::needs::use_command(command, &scanned, &mut plan)?;
    Ok(Planned { scanned, plan })
}

/// The clients of each region the selected kernels are in; the manifest's endpoint-url
/// applies unless the flag or AWS_ENDPOINT_URL says otherwise. Each client names its calls
/// with `--verbose` and refuses a call the command did not declare.
pub struct RegionClients(BTreeMap<String, Clients>);

impl RegionClients {
    pub async fn open(cli: &Cli, p: &Planned) -> RegionClients {
        let audit = aws::CallAudit::new(crate::ui::call_log(&cli.global)).enforcing(&p.plan);
        let mut map = BTreeMap::new();
        for kp in &p.plan.kernels {
            let region = &kp.resources.region;
            if map.contains_key(region) {
                continue;
            }
            let t = Target {
                region: Some(region.clone()),
                profile: cli.global.profile.clone(),
                endpoint_url: cli.global.endpoint_url.clone(),
            }
            .with_manifest_endpoint(&p.plan);
            let cfg = aws::load(&t).await;
            map.insert(
                region.clone(),
                Clients::new(&cfg, t.endpoint_overridden(), &audit),
            );
        }
        RegionClients(map)
    }

    /// The selected kernels, in order, each with the clients of its region.
    pub fn each<'a>(
        &'a self,
        p: &'a Planned,
    ) -> impl Iterator<Item = (&'a Clients, &'a Scanned, &'a KernelPlan)> {
        p.scanned
            .iter()
            .zip(&p.plan.kernels)
            .map(|(s, kp)| (&self.0[&kp.resources.region], s, kp))
    }
}
