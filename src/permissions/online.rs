//! Reads what the check needs from IAM: the caller, the role's trust policy, boundary,
//! inline and attached policies. Every read that is refused is named, and what it would
//! have shown becomes "unknown", never "allowed".

use std::collections::BTreeMap;

use super::check::{sim_key, SimKey, Sources, TrustSource};
use super::{Decision, Evaluation, NamedPolicy, PolicyDocument, PolicySet};
use crate::aws::iam::{Iam, Read, SimAnswer, SimRequest};
use crate::error::Error;
use crate::plan::{Call, Principal};

/// Without the policy simulator, SCPs are invisible: an explicit Deny in one would still
/// refuse a call, so an allowed need is reported unknown.
const SCPS_UNSEEN: &str = "service control policies (AWS Organizations), which only iam:SimulatePrincipalPolicy accounts for";

fn sim_evaluation(answer: &SimAnswer) -> Evaluation {
    let matched = if answer.matched.is_empty() {
        String::new()
    } else {
        format!(" (matching: {})", answer.matched.join(", "))
    };
    let (decision, reason) = match answer.decision.as_str() {
        "allowed" => (
            Decision::Allowed,
            format!("IAM's policy simulator allows it, counting identity policies, the permissions boundary and service control policies{matched}"),
        ),
        "explicitDeny" if answer.allowed_by_organizations == Some(false) => (
            Decision::Denied,
            "IAM's policy simulator: a service control policy denies it".to_string(),
        ),
        "explicitDeny" => (
            Decision::Denied,
            format!("IAM's policy simulator: explicitly denied{matched}"),
        ),
        "implicitDeny" => (
            Decision::Denied,
            "IAM's policy simulator: no policy allows it (implicitly denied)".to_string(),
        ),
        other => (
            Decision::Unknown,
            format!("IAM's policy simulator answered {other:?}"),
        ),
    };
    Evaluation {
        decision,
        reason,
        statement: None,
    }
}

/// Asks the simulator about `calls` as `principal`; `None` when it may not be used.
async fn simulate(
    iam: &Iam,
    principal: &str,
    calls: &[&Call],
    described: &mut Vec<String>,
) -> Result<Option<BTreeMap<SimKey, Evaluation>>, Error> {
    if calls.is_empty() {
        return Ok(Some(BTreeMap::new()));
    }
    let requests: Vec<SimRequest> = calls
        .iter()
        .map(|c| {
            let (action, resource, context) = sim_key(c);
            SimRequest {
                action,
                resource,
                context,
            }
        })
        .collect();
    match iam.simulate(principal, &requests).await? {
        Read::Ok(answers) => {
            described.push(format!("{principal}: decided by IAM's policy simulator"));
            let mut out = BTreeMap::new();
            for (req, answer) in answers {
                out.insert(
                    (req.action, req.resource, req.context),
                    sim_evaluation(&answer),
                );
            }
            Ok(Some(out))
        }
        Read::Denied(why) => {
            described.push(format!(
                "{principal}: policy simulator not available ({why}); policies read and evaluated locally"
            ));
            Ok(None)
        }
    }
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/NAME` → `NAME`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Maps the caller to a role name when it is a role or an assumed-role session.
pub fn caller_role(caller_arn: &str) -> Option<&str> {
    let resource = caller_arn.splitn(6, ':').nth(5)?;
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest.split('/').next();
    }
    if resource.starts_with("role/") {
        return Some(role_name(caller_arn));
    }
    None
}

async fn read_policies(
    iam: &Iam,
    role: &str,
    described: &mut Vec<String>,
) -> Result<PolicySet, Error> {
    let mut set = PolicySet::default();
    let parse = |name: &str, text: &str| {
        NamedPolicy::parse(name, text).map_err(|e| {
            Error::failed(format!(
                "policy {name} of role {role} could not be parsed: {e}"
            ))
        })
    };
    match iam.inline_policies(role).await? {
        Read::Ok(docs) => {
            described.push(format!(
                "role {role}: {} inline polic{} read",
                docs.len(),
                if docs.len() == 1 { "y" } else { "ies" }
            ));
            for (name, text) in docs {
                set.identity.push(parse(&format!("{role}/{name}"), &text)?);
            }
        }
        Read::Denied(why) => {
            described.push(format!("role {role}: inline policies not readable ({why})"));
            set.unseen
                .push(format!("the inline policies of role {role} (not readable)"));
        }
    }
    match iam.attached_policies(role).await? {
        Read::Ok(arns) => {
            for arn in arns {
                match iam.managed_policy(&arn).await? {
                    Read::Ok(text) => {
                        described.push(format!("role {role}: managed policy {arn} read"));
                        set.identity.push(parse(&arn, &text)?);
                    }
                    Read::Denied(why) => {
                        described.push(format!(
                            "role {role}: managed policy {arn} not readable ({why})"
                        ));
                        set.unseen
                            .push(format!("managed policy {arn} (not readable)"));
                    }
                }
            }
        }
        Read::Denied(why) => {
            described.push(format!(
                "role {role}: attached policies not readable ({why})"
            ));
            set.unseen.push(format!(
                "the managed policies attached to role {role} (not readable)"
            ));
        }
    }
    Ok(set)
}

/// Builds the check's sources for the execution role `role_arn` and the Plan's `calls`.
pub async fn sources(iam: &Iam, role_arn: &str, calls: &[&Call]) -> Result<Sources, Error> {
    let mut described = Vec::new();
    let caller = iam.caller_arn().await?;
    described.push(format!("caller: {caller}"));
    let name = role_name(role_arn);
    let (trust, boundary_arn) = match iam.get_role(name).await? {
        Read::Ok(role) => {
            described.push(format!("execution role: {}", role.arn));
            let trust = match role.trust_policy.as_deref().map(PolicyDocument::parse) {
                Some(Ok(doc)) => TrustSource::Whole(doc),
                Some(Err(e)) => TrustSource::Unavailable(format!("it could not be parsed: {e}")),
                None => TrustSource::Unavailable("iam:GetRole returned no trust policy".into()),
            };
            (trust, role.boundary_arn)
        }
        Read::Denied(why) => (TrustSource::Unavailable(why), None),
    };
    let mut role = read_policies(iam, name, &mut described).await?;
    if let Some(arn) = boundary_arn {
        match iam.managed_policy(&arn).await? {
            Read::Ok(text) => {
                described.push(format!("permissions boundary {arn} read"));
                role.boundary = Some(NamedPolicy::parse(arn.clone(), &text).map_err(|e| {
                    Error::failed(format!(
                        "permissions boundary {arn} could not be parsed: {e}"
                    ))
                })?);
            }
            Read::Denied(why) => {
                described.push(format!("permissions boundary {arn} not readable ({why})"));
                role.unseen
                    .push(format!("permissions boundary {arn} (not readable)"));
            }
        }
    }
    let (caller_set, caller_unknown) = match caller_role(&caller) {
        Some(r) if r == name => (role.clone(), None),
        Some(r) => {
            let set = read_policies(iam, r, &mut described).await?;
            (set, None)
        }
        None => (
            PolicySet::default(),
            Some(format!(
                "the caller {caller} is not a role; sm-kernel reads only roles' policies — pass the caller's policies with --policy-file, or run as a role"
            )),
        ),
    };
    let needs = |pred: fn(&Principal) -> bool| -> Vec<&Call> {
        calls
            .iter()
            .copied()
            .filter(|c| c.needs_permission && pred(&c.principal))
            .collect()
    };
    let same_role = caller_role(&caller) == Some(name);
    let role_calls = needs(if same_role {
        |p| !matches!(p, Principal::Trust(_))
    } else {
        |p| matches!(p, Principal::BuildRole | Principal::ImageRole)
    });
    let simulated_role = simulate(iam, role_arn, &role_calls, &mut described).await?;
    let mut role = role;
    if simulated_role.is_none() {
        role.unseen.push(SCPS_UNSEEN.to_string());
    }
    let (mut caller_set, simulated_caller) = if same_role {
        (role.clone(), simulated_role.clone())
    } else if caller_unknown.is_none() {
        let caller_role_arn = caller_role_arn(&caller);
        let s = simulate(
            iam,
            &caller_role_arn,
            &needs(|p| matches!(p, Principal::Caller)),
            &mut described,
        )
        .await?;
        (caller_set, s)
    } else {
        (caller_set, None)
    };
    if simulated_caller.is_none() && !caller_set.unseen.iter().any(|u| u == SCPS_UNSEEN) {
        caller_set.unseen.push(SCPS_UNSEEN.to_string());
    }
    Ok(Sources {
        caller: caller_set,
        role,
        trust,
        described,
        caller_unknown,
        simulated_caller: simulated_caller.unwrap_or_default(),
        simulated_role: simulated_role.unwrap_or_default(),
        resource_policies_unseen: true,
    })
}

/// The role ARN for a role or assumed-role caller (the simulator takes roles, not sessions).
fn caller_role_arn(caller: &str) -> String {
    let mut parts = caller.splitn(6, ':');
    let partition = parts.nth(1).unwrap_or("aws");
    let account = parts.nth(2).unwrap_or_default();
    match caller_role(caller) {
        Some(name) if caller.contains(":assumed-role/") => {
            format!("arn:{partition}:iam::{account}:role/{name}")
        }
        _ => caller.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_map_back_to_roles() {
        assert_eq!(
            caller_role("arn:aws:sts::123456789012:assumed-role/Exec/SageMaker"),
            Some("Exec")
        );
        assert_eq!(
            caller_role("arn:aws:iam::123456789012:role/service-role/Exec"),
            Some("Exec")
        );
        assert_eq!(caller_role("arn:aws:iam::123456789012:user/bob"), None);
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/Name"), "Name");
        assert_eq!(
            caller_role_arn("arn:aws:sts::123456789012:assumed-role/Exec/s"),
            "arn:aws:iam::123456789012:role/Exec"
        );
    }
}
