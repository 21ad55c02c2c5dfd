//! Evaluates a Plan's needs against what is known of the role's policies: exactly the needs
//! the Plan declares, so the check can never drift from what publish does.
//!
//! Needs are split by principal: the caller (whoever runs sm-kernel), the execution role
//! while CodeBuild runs the build, the same role when SageMaker reads the image, and the
//! service principals that must be able to assume the role (its trust policy).

use std::collections::BTreeMap;

use serde::Serialize;

use super::documents::NEEDS_NO_PERMISSION;
use super::policy::{PolicyDocument, Principal as PolicyPrincipal};
use super::trust::{check_trust_request, TrustRequest};
use super::{evaluate, Decision, Evaluation, PolicySet, Request};
use crate::plan::steps::CODEBUILD_SERVICE;
use crate::plan::{Call, KernelPlan, Plan, Principal};

/// What is known about the role's trust policy.
#[derive(Debug, Clone)]
pub enum TrustSource {
    /// The whole trust policy, read from IAM: a service it does not name cannot assume.
    Whole(PolicyDocument),
    /// Documents given with `--trust-file`. They may be fragments (the published
    /// codebuild-trust.json is a statement to *add* to an execution role's trust), so a
    /// service they never mention is unknown rather than denied.
    Files(PolicyDocument),
    /// Could not be read; the reason.
    Unavailable(String),
}

/// A request as IAM's policy simulator is asked about it.
pub type SimKey = (String, String, Vec<(String, String)>);

pub fn sim_key(call: &Call) -> SimKey {
    (
        call.action.to_string(),
        call.resource.clone(),
        call.context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Everything the check evaluates against.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub caller: PolicySet,
    /// The execution role's policies (the build and the image use the role).
    pub role: PolicySet,
    pub trust: TrustSource,
    /// Human-readable list of what was read and what could not be, for the report header.
    pub described: Vec<String>,
    /// When set, every caller need is unknown with this reason (e.g. the caller is an IAM
    /// user whose policies sm-kernel does not read).
    pub caller_unknown: Option<String>,
    /// Answers of IAM's policy simulator, when it could be used (online only). They account
    /// for boundaries and service control policies, which reading policies cannot.
    pub simulated_caller: BTreeMap<SimKey, Evaluation>,
    pub simulated_role: BTreeMap<SimKey, Evaluation>,
    /// Online, bucket and repository policies are not read: an explicit Deny there would
    /// still refuse, so S3 and ECR needs cannot be reported allowed.
    pub resource_policies_unseen: bool,
}

impl Default for TrustSource {
    fn default() -> Self {
        TrustSource::Unavailable("not read".into())
    }
}

/// One row: a need of one kernel's step, and its decision.
#[derive(Debug, Clone, Serialize)]
pub struct NeedResult {
    pub kernel: String,
    pub steps: Vec<&'static str>,
    pub operations: Vec<&'static str>,
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
    /// Reads the preflight makes only where permitted: a denial here does not fail the check.
    pub optional: bool,
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub sources: Vec<String>,
    pub results: Vec<NeedResult>,
    pub allowed: usize,
    pub denied: usize,
    pub unknown: usize,
}

impl NeedResult {
    pub fn principal_label(&self) -> String {
        match &self.principal {
            Principal::Trust(s) => format!("assumed by {s}"),
            other => other.label(),
        }
    }
}

impl CheckReport {
    /// Needs whose denial stops a publish (optional reads excluded).
    pub fn blocking_denied(&self) -> usize {
        self.results
            .iter()
            .filter(|r| !r.optional && r.evaluation.decision == Decision::Denied)
            .count()
    }

    pub fn any_unknown(&self) -> bool {
        self.results
            .iter()
            .any(|r| !r.optional && r.evaluation.decision == Decision::Unknown)
    }
}

/// The IAM request for a need: the Plan's context keys, and nothing claimed about the rest
/// (AWS adds keys such as aws:SourceIp that sm-kernel cannot know).
pub fn request_for(call: &Call) -> Request {
    let mut r = Request::new(call.action, call.resource.clone());
    for (k, v) in &call.context {
        r = r.with_context(k.clone(), [v.clone()]);
    }
    r
}

fn names_service(doc: &PolicyDocument, service: &str) -> bool {
    doc.statements.iter().any(|s| match &s.principal {
        None => false,
        Some(p) => match &p.principal {
            PolicyPrincipal::Any => true,
            PolicyPrincipal::Typed(kinds) => kinds.iter().any(|(kind, ids)| {
                (kind == "Service" && ids.iter().any(|id| id.eq_ignore_ascii_case(service)))
                    || (kind == "AWS" && ids.iter().any(|id| id == "*"))
            }),
        },
    })
}

fn trust_evaluation(kp: &KernelPlan, call: &Call, service: &str, src: &TrustSource) -> Evaluation {
    let account = kp.resources.account.clone();
    let mut req = TrustRequest::new(service, account);
    if service == CODEBUILD_SERVICE {
        // CodeBuild names the project it assumes the role for.
        req.source_arn = Some(kp.resources.project_arn.clone());
    }
    for (k, v) in &call.context {
        if k != "aws:SourceAccount" {
            req.context.insert(k.clone(), vec![v.clone()]);
        }
    }
    match src {
        TrustSource::Unavailable(why) => Evaluation {
            decision: Decision::Unknown,
            reason: format!("the role's trust policy could not be read: {why}"),
            statement: None,
        },
        TrustSource::Whole(doc) => check_trust_request(doc, &req),
        TrustSource::Files(doc) => {
            let e = check_trust_request(doc, &req);
            if e.decision == Decision::Denied
                && e.statement.is_none()
                && !names_service(doc, service)
            {
                Evaluation {
                    decision: Decision::Unknown,
                    reason: format!(
                        "the trust file(s) do not mention {service}; they may be a fragment (policies/codebuild-trust.json is a statement to add to an execution role's trust policy, which already trusts sagemaker.amazonaws.com) — pass the role's whole trust policy, or run the check online to read it"
                    ),
                    statement: None,
                }
            } else {
                e
            }
        }
    }
}

fn evaluate_call(kp: &KernelPlan, call: &Call, sources: &Sources) -> Evaluation {
    if !call.needs_permission {
        return Evaluation {
            decision: Decision::Allowed,
            reason: NEEDS_NO_PERMISSION.to_string(),
            statement: None,
        };
    }
    match &call.principal {
        Principal::Trust(service) => trust_evaluation(kp, call, service, &sources.trust),
        Principal::Caller => match &sources.caller_unknown {
            Some(why) => Evaluation {
                decision: Decision::Unknown,
                reason: why.clone(),
                statement: None,
            },
            None => resource_policy_caveat(
                call,
                sources,
                sources
                    .simulated_caller
                    .get(&sim_key(call))
                    .cloned()
                    .unwrap_or_else(|| evaluate(&sources.caller, &request_for(call))),
            ),
        },
        Principal::BuildRole | Principal::ImageRole => resource_policy_caveat(
            call,
            sources,
            sources
                .simulated_role
                .get(&sim_key(call))
                .cloned()
                .unwrap_or_else(|| evaluate(&sources.role, &request_for(call))),
        ),
    }
}

/// S3 buckets and ECR repositories can carry resource policies that sm-kernel does not
/// read online; an allowed need on them is only as good as that unseen policy. A KMS key's
/// policy matters even more: KMS refuses unless it allows the principal (directly, or by
/// delegating to IAM as a key's default policy does).
fn resource_policy_caveat(call: &Call, sources: &Sources, e: Evaluation) -> Evaluation {
    let why = if call.action.starts_with("kms:") {
        Some(format!(
            "but the key policy of {} was not read, and KMS refuses unless it allows this principal (directly, or by delegating to IAM as a key's default policy does)",
            call.resource
        ))
    } else if matches!(call.service, "s3" | "ecr") && call.resource != "*" {
        Some(format!(
            "but the {} policy of {} was not read, and an explicit Deny there would refuse it",
            if call.service == "s3" {
                "bucket"
            } else {
                "repository"
            },
            call.resource
        ))
    } else {
        None
    };
    match why {
        Some(why) if sources.resource_policies_unseen && e.decision == Decision::Allowed => {
            Evaluation {
                decision: Decision::Unknown,
                reason: format!("{}; {why}", e.reason),
                statement: e.statement,
            }
        }
        _ => e,
    }
}

/// Evaluates every need of every kernel, merging needs that are the same request
/// (e.g. four multipart calls that all need s3:PutObject on one object).
pub fn check_plan(plan: &Plan, sources: &Sources) -> CheckReport {
    check_plan_steps(plan, sources, |_| true)
}

/// [`check_plan`] for the steps a command runs (`build` stops after the image is in ECR).
pub fn check_plan_steps(
    plan: &Plan,
    sources: &Sources,
    runs: impl Fn(crate::plan::StepId) -> bool,
) -> CheckReport {
    let mut results: Vec<NeedResult> = Vec::new();
    for kp in &plan.kernels {
        let mut index: BTreeMap<(Principal, String, String, String), usize> = BTreeMap::new();
        for step in kp.steps.iter().filter(|s| runs(s.id)) {
            for call in &step.calls {
                let ctx_key = format!("{:?}", call.context);
                let key = (
                    call.principal.clone(),
                    call.action.to_string(),
                    call.resource.clone(),
                    ctx_key,
                );
                if let Some(&i) = index.get(&key) {
                    let r = &mut results[i];
                    if !r.steps.contains(&step.id.as_str()) {
                        r.steps.push(step.id.as_str());
                    }
                    if !r.operations.contains(&call.operation) {
                        r.operations.push(call.operation);
                    }
                    r.optional &= call.optional;
                    continue;
                }
                index.insert(key, results.len());
                results.push(NeedResult {
                    kernel: kp.name.clone(),
                    steps: vec![step.id.as_str()],
                    operations: vec![call.operation],
                    principal: call.principal.clone(),
                    action: call.action.to_string(),
                    resource: call.resource.clone(),
                    context: call.context.clone(),
                    optional: call.optional,
                    evaluation: evaluate_call(kp, call, sources),
                });
            }
        }
    }
    let count = |d: Decision| {
        results
            .iter()
            .filter(|r| r.evaluation.decision == d)
            .count()
    };
    CheckReport {
        sources: sources.described.clone(),
        allowed: count(Decision::Allowed),
        denied: count(Decision::Denied),
        unknown: count(Decision::Unknown),
        results,
    }
}

/// The report as a table per kernel and principal, then the needs to fix.
pub fn render_text(report: &CheckReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Permission check of the Plan's needs");
    for src in &report.sources {
        let _ = writeln!(s, "  {src}");
    }
    let mut last: Option<(&str, String)> = None;
    for r in &report.results {
        let group = (r.kernel.as_str(), principal_heading(&r.principal));
        if last.as_ref() != Some(&(group.0, group.1.clone())) {
            if last.as_ref().map(|l| l.0) != Some(group.0) {
                let _ = writeln!(s, "\nkernel {:?}", r.kernel);
            }
            let _ = writeln!(s, "  {}", group.1);
            last = Some((group.0, group.1.clone()));
        }
        let subject = match &r.principal {
            Principal::Trust(service) => format!("sts:AssumeRole by {service}"),
            _ => format!("{} {}", r.action, r.resource),
        };
        let _ = writeln!(
            s,
            "    {:<8} {:<16} {}{}",
            r.evaluation.decision.to_string(),
            r.steps.join(","),
            subject,
            if r.optional { " (optional)" } else { "" }
        );
    }
    let _ = writeln!(
        s,
        "\n{} allowed, {} denied, {} unknown",
        report.allowed, report.denied, report.unknown
    );
    let problems: Vec<&NeedResult> = report
        .results
        .iter()
        .filter(|r| r.evaluation.decision != Decision::Allowed)
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(s, "\nNot allowed, and why:");
        for r in problems {
            let who = principal_heading(&r.principal);
            let subject = match &r.principal {
                Principal::Trust(service) => format!("sts:AssumeRole by {service}"),
                _ => format!("{} on {}", r.action, r.resource),
            };
            let _ = writeln!(
                s,
                "  - [{}] {subject} ({who}, {}{}): {}",
                r.evaluation.decision,
                r.steps.join(","),
                if r.optional {
                    "; optional: a denial here only makes the online check less complete"
                } else {
                    ""
                },
                r.evaluation.reason
            );
        }
    }
    s
}

fn principal_heading(p: &Principal) -> String {
    match p {
        Principal::Caller => "caller (the identity running sm-kernel)".into(),
        Principal::BuildRole => "build role (the execution role while CodeBuild builds)".into(),
        Principal::ImageRole => {
            "image role (the execution role when SageMaker reads the image)".into()
        }
        Principal::Trust(_) => "trust (services that must be able to assume the role)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn call(service: &'static str, action: &'static str, resource: &str) -> Call {
        Call {
            service,
            operation: "Op",
            action,
            resource: resource.into(),
            context: BTreeMap::new(),
            principal: Principal::Caller,
            when: None,
            needs_permission: true,
            optional: false,
        }
    }

    fn allowed() -> Evaluation {
        Evaluation {
            decision: Decision::Allowed,
            reason: "allowed by x".into(),
            statement: None,
        }
    }

    #[test]
    fn online_an_allowed_need_on_a_key_bucket_or_repository_is_unknown_naming_its_policy() {
        let online = Sources {
            resource_policies_unseen: true,
            ..Default::default()
        };
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let e = resource_policy_caveat(&call("s3", "kms:GenerateDataKey", key), &online, allowed());
        assert_eq!(e.decision, Decision::Unknown);
        assert!(
            e.reason.contains("key policy of") && !e.reason.contains("bucket"),
            "{}",
            e.reason
        );
        let e = resource_policy_caveat(
            &call("s3", "s3:PutObject", "arn:aws:s3:::b/k"),
            &online,
            allowed(),
        );
        assert!(e.reason.contains("bucket policy"), "{}", e.reason);
        let e = resource_policy_caveat(
            &call(
                "sagemaker",
                "sagemaker:CreateImage",
                "arn:aws:sagemaker:::image/x",
            ),
            &online,
            allowed(),
        );
        assert_eq!(e.decision, Decision::Allowed);
        // Offline (policy files), the decision is relative to the files: no caveat.
        let e = resource_policy_caveat(
            &call("s3", "kms:Decrypt", key),
            &Sources::default(),
            allowed(),
        );
        assert_eq!(e.decision, Decision::Allowed);
    }
}
