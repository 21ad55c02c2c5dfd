//! The preflight shared by `check`, `build` and `publish`: the Plan's permission needs
//! (online), the role and its trust, and the domain. It changes nothing, and a publish
//! creates nothing when it fails.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_sagemaker::types::DomainStatus;

use super::Reporter;
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::permissions::check::{check_plan_steps, CheckReport};
use crate::permissions::command::{check_outcome, online_sources};
use crate::plan::steps::{Builder, Principal, Step, CODEBUILD_SERVICE, SAGEMAKER_SERVICE};
use crate::plan::Resources;
use crate::plan::{Plan, StepId};

/// What the preflight found, for `check`'s output.
pub struct Preflight {
    pub permissions: CheckReport,
    pub domains: Vec<(String, String)>,
    /// Exit 3 with the missing permissions, when the check failed. Kept beside the report so
    /// `check` prints the report (text or JSON) before it exits.
    pub verdict: Option<Error>,
}

/// `cfg` serves IAM and STS (global); `clients` holds one set per region of the plan, so
/// each domain is looked up where its kernels are.
pub async fn run(
    cfg: &SdkConfig,
    clients: &BTreeMap<String, Clients>,
    plan: &Plan,
    strict: bool,
    build_only: bool,
    reporter: &dyn Reporter,
) -> Result<Preflight, Error> {
    let sources = online_sources(plan, cfg).await?;
    // `build` stops once the image is in ECR: it needs neither SageMaker nor the domain.
    let runs = |s: StepId| {
        !build_only
            || !matches!(
                s,
                StepId::Image
                    | StepId::ImageVersion
                    | StepId::AppImageConfig
                    | StepId::DomainAttach
            )
    };
    let report = check_plan_steps(plan, &sources, runs);
    let mut domains = Vec::new();
    for kp in plan.kernels.iter().filter(|_| !build_only) {
        let id = &kp.resources.domain_id;
        if domains.iter().any(|(d, _)| d == id) {
            continue;
        }
        let Some(clients) = clients.get(&kp.resources.region) else {
            continue;
        };
        let d = clients
            .sagemaker
            .describe_domain()
            .domain_id(id)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_resource_not_found()) {
                    Error::input(format!(
                        "domain-id: Studio domain {id} does not exist in {}; `aws sagemaker list-domains` shows yours",
                        kp.resources.region
                    ))
                } else {
                    Error::aws("sagemaker:DescribeDomain", &e)
                }
            })?;
        let status = d.status().cloned();
        let label = status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        match status {
            Some(DomainStatus::InService) => {}
            Some(DomainStatus::Pending) | Some(DomainStatus::Updating) => reporter.warn(&format!(
                "domain {id} is {label}; publish will wait for it to be InService before attaching"
            )),
            _ => {
                return Err(Error::failed(format!(
                    "domain {id} is {label}; it must be InService to attach images (see the SageMaker console)"
                )))
            }
        }
        reporter.step(
            &kp.name,
            StepId::Preflight,
            &format!("domain {id} is {label}"),
        );
        domains.push((id.clone(), label));
    }
    reporter.step(
        "",
        StepId::Preflight,
        &format!(
            "permissions: {} allowed, {} denied, {} unknown",
            report.allowed, report.denied, report.unknown
        ),
    );
    if let Err(e) = check_outcome(&report, strict) {
        let missing: Vec<String> = report
            .results
            .iter()
            .filter(|r| {
                !r.optional && r.evaluation.decision == crate::permissions::Decision::Denied
            })
            .map(|r| {
                format!(
                    "  - {} on {} ({}): {}",
                    r.action,
                    r.resource,
                    r.principal_label(),
                    r.evaluation.reason
                )
            })
            .collect();
        let verdict = Error::Permissions(format!(
            "{e}\n{}\nnothing was created; `sm-kernel permissions apply --role ROLE` adds what is missing, or run with --skip-preflight if you know better",
            missing.join("\n")
        ));
        return Ok(Preflight {
            permissions: report,
            domains,
            verdict: Some(verdict),
        });
    }
    Ok(Preflight {
        permissions: report,
        domains,
        verdict: None,
    })
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(_k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller("sts", "GetCallerIdentity", "sts:GetCallerIdentity", "*")
        .needs_permission = false;
    b.caller("iam", "GetRole", "iam:GetRole", &r.role_arn);
    // The execution role's policies, and the caller's when the caller is another role.
    let roles = format!("arn:{}:iam::{}:role/*", r.partition, r.account);
    for (op, action) in [
        ("ListRolePolicies", "iam:ListRolePolicies"),
        ("GetRolePolicy", "iam:GetRolePolicy"),
        ("ListAttachedRolePolicies", "iam:ListAttachedRolePolicies"),
        ("SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy"),
    ] {
        b.caller("iam", op, action, &roles).optional = true;
    }
    let policies = format!("arn:{}:iam::*:policy/*", r.partition);
    b.caller("iam", "GetPolicy", "iam:GetPolicy", &policies)
        .optional = true;
    b.caller("iam", "GetPolicyVersion", "iam:GetPolicyVersion", &policies)
        .optional = true;
    b.caller(
        "sagemaker",
        "DescribeDomain",
        "sagemaker:DescribeDomain",
        &r.domain_arn,
    );
    b.caller("ecr", "DescribeImages", "ecr:DescribeImages", &r.repository_arn)
        .when("looks for an image already built from this context; if found, upload, project and build are skipped");
    for service in [CODEBUILD_SERVICE, SAGEMAKER_SERVICE] {
        b.push(
            Principal::Trust(service.to_string()),
            "sts",
            "AssumeRole",
            "sts:AssumeRole",
            &r.role_arn,
        )
        .context
        .insert("aws:SourceAccount".to_string(), r.account.clone());
    }
    b.done(
        StepId::Preflight,
        "check names, the Dockerfile, permissions, the role's trust and the domain; changes nothing",
    )
}
