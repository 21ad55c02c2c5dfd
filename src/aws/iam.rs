//! IAM and STS reads for the permission check, and the two writes of `permissions apply`.

use aws_config::SdkConfig;
use aws_sdk_iam::Client as IamClient;
use aws_sdk_sts::Client as StsClient;

use super::{describe, is_access_denied};
use crate::error::Error;

/// A read that may be refused: the check names a refused source instead of failing.
pub enum Read<T> {
    Ok(T),
    Denied(String),
}

pub struct Iam {
    iam: IamClient,
    sts: StsClient,
}

pub struct Role {
    pub arn: String,
    pub name: String,
    pub trust_policy: Option<String>,
    pub boundary_arn: Option<String>,
}

/// An error that stops the check (not a permission refusal).
pub type Failure = crate::error::Error;

impl Iam {
    pub fn new(cfg: &SdkConfig) -> Iam {
        Iam {
            iam: IamClient::new(cfg),
            sts: StsClient::new(cfg),
        }
    }

    /// The caller's ARN; needs no permission.
    pub async fn caller_arn(&self) -> Result<String, Failure> {
        let out =
            self.sts.get_caller_identity().send().await.map_err(|e| {
                Error::aws("sts:GetCallerIdentity (are your AWS credentials set?)", &e)
            })?;
        out.arn()
            .map(str::to_string)
            .ok_or_else(|| Error::failed("sts:GetCallerIdentity returned no ARN"))
    }

    pub async fn get_role(&self, name: &str) -> Result<Read<Role>, Failure> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(out) => {
                let role = out
                    .role()
                    .ok_or_else(|| Error::failed("iam:GetRole returned no role"))?;
                Ok(Read::Ok(Role {
                    arn: role.arn().to_string(),
                    name: role.role_name().to_string(),
                    trust_policy: role.assume_role_policy_document().map(str::to_string),
                    boundary_arn: role
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_string),
                }))
            }
            Err(e) if is_access_denied(&e) => Ok(Read::Denied(describe("iam:GetRole", &e))),
            Err(e) => {
                let no_such = e
                    .as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception());
                if no_such {
                    Err(Error::input(format!(
                        "role: {name:?} does not exist in this account; check role / --role (the execution role's ARN)"
                    )))
                } else {
                    Err(Error::aws("iam:GetRole", &e))
                }
            }
        }
    }

    /// The role's inline policies as (name, document).
    pub async fn inline_policies(
        &self,
        role: &str,
    ) -> Result<Read<Vec<(String, String)>>, Failure> {
        let names = match self
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(n) => n,
            Err(e) if is_access_denied(&e) => {
                return Ok(Read::Denied(describe("iam:ListRolePolicies", &e)))
            }
            Err(e) => return Err(Error::aws("iam:ListRolePolicies", &e)),
        };
        let mut docs = Vec::new();
        for name in names {
            match self
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await
            {
                Ok(o) => docs.push((name, o.policy_document().to_string())),
                Err(e) if is_access_denied(&e) => {
                    return Ok(Read::Denied(describe("iam:GetRolePolicy", &e)))
                }
                Err(e) => return Err(Error::aws("iam:GetRolePolicy", &e)),
            }
        }
        Ok(Read::Ok(docs))
    }

    /// ARNs of the managed policies attached to the role.
    pub async fn attached_policies(&self, role: &str) -> Result<Read<Vec<String>>, Failure> {
        let attached = match self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(a) => a,
            Err(e) if is_access_denied(&e) => {
                return Ok(Read::Denied(describe("iam:ListAttachedRolePolicies", &e)))
            }
            Err(e) => return Err(Error::aws("iam:ListAttachedRolePolicies", &e)),
        };
        let arns = attached
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        Ok(Read::Ok(arns))
    }

    /// The default version's document of a managed policy.
    pub async fn managed_policy(&self, arn: &str) -> Result<Read<String>, Failure> {
        let version = match self.iam.get_policy().policy_arn(arn).send().await {
            Ok(o) => o
                .policy()
                .and_then(|p| p.default_version_id())
                .map(str::to_string)
                .ok_or_else(|| Error::failed(format!("iam:GetPolicy {arn}: no default version")))?,
            Err(e) if is_access_denied(&e) => {
                return Ok(Read::Denied(describe("iam:GetPolicy", &e)))
            }
            Err(e) => return Err(Error::aws(&format!("iam:GetPolicy {arn}"), &e)),
        };
        match self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await
        {
            Ok(o) => Ok(Read::Ok(
                o.policy_version()
                    .and_then(|v| v.document())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::failed(format!("iam:GetPolicyVersion {arn}: no document"))
                    })?,
            )),
            Err(e) if is_access_denied(&e) => {
                Ok(Read::Denied(describe("iam:GetPolicyVersion", &e)))
            }
            Err(e) => Err(Error::aws(&format!("iam:GetPolicyVersion {arn}"), &e)),
        }
    }

    pub async fn update_trust(&self, role: &str, document: &str) -> Result<(), Failure> {
        self.iam
            .update_assume_role_policy()
            .role_name(role)
            .policy_document(document)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::aws("iam:UpdateAssumeRolePolicy", &e))
    }

    pub async fn put_inline(&self, role: &str, name: &str, document: &str) -> Result<(), Failure> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::aws("iam:PutRolePolicy", &e))
    }
}

/// One simulated request: the action, the resource and the string context keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimRequest {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
}

/// IAM's policy simulator's answer for one request.
#[derive(Debug, Clone)]
pub struct SimAnswer {
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
    /// Policies whose statements matched, as IAM names them.
    pub matched: Vec<String>,
    /// False when an SCP denied (the decision is then a deny).
    pub allowed_by_organizations: Option<bool>,
}

impl Iam {
    /// Runs `iam:SimulatePrincipalPolicy` for `principal` (a role ARN) over `requests`,
    /// grouped by resource and context (the API takes one resource list and one context for
    /// many actions). Returns `Denied` when the simulator may not be used or is not
    /// available (e.g. an emulator), so the caller falls back to reading policies. A failed
    /// call is not retried: the fallback is as good an answer as a slow one.
    pub async fn simulate(
        &self,
        principal: &str,
        requests: &[SimRequest],
    ) -> Result<Read<Vec<(SimRequest, SimAnswer)>>, Failure> {
        use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
        use std::collections::BTreeMap;
        // (resource, context) -> actions: one simulator call each.
        type Group = (String, Vec<(String, String)>);
        let mut groups: BTreeMap<Group, Vec<String>> = BTreeMap::new();
        for r in requests {
            let actions = groups
                .entry((r.resource.clone(), r.context.clone()))
                .or_default();
            if !actions.contains(&r.action) {
                actions.push(r.action.clone());
            }
        }
        let no_retry = aws_sdk_iam::config::Builder::default()
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1));
        let mut out = Vec::new();
        for ((resource, context), actions) in groups {
            let mut call = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(principal)
                .set_action_names(Some(actions))
                .resource_arns(&resource);
            for (k, v) in &context {
                call = call.context_entries(
                    ContextEntry::builder()
                        .context_key_name(k)
                        .context_key_values(v)
                        .context_key_type(ContextKeyTypeEnum::String)
                        .build(),
                );
            }
            let result = call
                .customize()
                .config_override(no_retry.clone())
                .send()
                .await;
            let page = match result {
                Ok(p) => p,
                Err(e) => {
                    return Ok(Read::Denied(describe("iam:SimulatePrincipalPolicy", &e)));
                }
            };
            for r in page.evaluation_results() {
                out.push((
                    SimRequest {
                        action: r.eval_action_name().to_string(),
                        resource: r.eval_resource_name().unwrap_or(&resource).to_string(),
                        context: context.clone(),
                    },
                    SimAnswer {
                        decision: r.eval_decision().as_str().to_string(),
                        matched: r
                            .matched_statements()
                            .iter()
                            .filter_map(|m| m.source_policy_id().map(str::to_string))
                            .collect(),
                        allowed_by_organizations: r
                            .organizations_decision_detail()
                            .map(|d| d.allowed_by_organizations()),
                    },
                ));
            }
        }
        Ok(Read::Ok(out))
    }
}
