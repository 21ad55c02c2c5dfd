//! The steps each lifecycle command declares, so `permissions check --command NAME` evaluates
//! exactly the calls that command makes (the default, publish, evaluates the Plan's own steps).

use crate::config::Kernel;
use crate::error::Error;
use crate::plan::{Plan, Resources, Scanned, Step};

pub const COMMANDS: &[&str] = &[
    "publish",
    "status",
    "rollback",
    "delete",
    "prune",
    "smoke-test",
];

/// The steps `command` runs for one kernel; None for publish (the Plan's steps).
pub fn steps(command: &str, k: &Kernel, r: &Resources) -> Result<Option<Vec<Step>>, Error> {
    Ok(Some(match command {
        "publish" => return Ok(None),
        "status" => vec![super::status::needs(k, r)],
        "rollback" => vec![super::rollback::needs(k, r)],
        "delete" => vec![super::delete::needs(k, r)],
        "prune" => vec![super::prune::needs(k, r)],
        "smoke-test" => vec![super::smoke::needs(k, r)],
        other => {
            return Err(Error::input(format!(
                "--command: {other:?} is not a command with declared calls; use one of {}",
                COMMANDS.join(", ")
            )))
        }
    }))
}

/// Replaces every kernel's steps in `plan` with those of `command`.
pub fn use_command(command: &str, scanned: &[Scanned], plan: &mut Plan) -> Result<(), Error> {
    for (s, kp) in scanned.iter().zip(plan.kernels.iter_mut()) {
        if let Some(steps) = steps(command, &s.kernel, &kp.resources)? {
            kp.steps = steps;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_declares_calls_and_unknown_is_bad_input() {
        let k = crate::plan::tests::sample_kernel();
        let r = Resources::derive(&k, "sha256:00", "bs");
        for c in &COMMANDS[1..] {
            let steps = steps(c, &k, &r).unwrap().unwrap();
            assert!(!steps[0].calls.is_empty(), "{c}");
        }
        assert!(steps("publish", &k, &r).unwrap().is_none());
        assert_eq!(steps("deploy", &k, &r).unwrap_err().exit_code(), 2);
    }
}
