//! Does a role's trust policy let a service assume it?
//!
//! The build runs as the execution role, so its trust policy must let
//! `codebuild.amazonaws.com` call `sts:AssumeRole`; `CreateImage` passes the same role to
//! `sagemaker.amazonaws.com`. This evaluates the trust policy for that one request:
//! `Principal` as `"*"`, `{"Service": ...}`, `{"AWS": ...}` (`"*"` included), conditions
//! with `aws:SourceAccount` set to the real account and `aws:PrincipalServiceName` to the
//! service; `aws:SourceArn` only when the caller knows it. Same three outcomes and the
//! same combination rules as [`super::evaluate`].

use std::collections::BTreeMap;

use super::condition;
use super::evaluate::{self, describe, undecided, Decision, Evaluation};
use super::policy::{PolicyDocument, Principal, Statement};
use super::request::Request;
use super::tri::Tri;

/// The assume-role request made by a service principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustRequest {
    /// Service principal, e.g. `codebuild.amazonaws.com`.
    pub service: String,
    /// The account the role lives in; the service acts for it (`aws:SourceAccount`).
    pub account: String,
    /// `aws:SourceArn` when known (e.g. the CodeBuild project ARN); unknowable otherwise.
    pub source_arn: Option<String>,
    /// More context keys known to be present.
    pub context: BTreeMap<String, Vec<String>>,
    /// Keys known to be absent.
    pub absent: Vec<String>,
}

impl TrustRequest {
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> TrustRequest {
        TrustRequest {
            service: service.into(),
            account: account.into(),
            ..TrustRequest::default()
        }
    }

    fn to_request(&self) -> Request {
        let mut request = Request::new("sts:AssumeRole", "*")
            .with_context("aws:SourceAccount", [self.account.clone()])
            .with_context("aws:PrincipalServiceName", [self.service.clone()]);
        if let Some(arn) = &self.source_arn {
            request = request.with_context("aws:SourceArn", [arn.clone()]);
        }
        for (key, values) in &self.context {
            request = request.with_context(key.clone(), values.clone());
        }
        request.absent = self.absent.clone();
        request
    }
}

/// Can `service` assume the role whose trust policy is `trust`, in `account`?
pub fn check_trust(trust: &PolicyDocument, service: &str, account: &str) -> Evaluation {
    check_trust_request(trust, &TrustRequest::new(service, account))
}

/// [`check_trust`] with more context (source ARN, extra keys).
pub fn check_trust_request(trust: &PolicyDocument, request: &TrustRequest) -> Evaluation {
    if let Err(e) = trust.ensure_trust() {
        return Evaluation::new(Decision::Unknown, e.to_string(), None);
    }
    let context = request.to_request();
    let service = request.service.as_str();
    let outcome = evaluate::collect([("trust policy", trust)], |statement, document| {
        Tri::from_bool(evaluate::action_matches(statement, "sts:AssumeRole"))
            .and(|| principal_matches(statement, service))
            .and(|| {
                condition::evaluate_block(
                    &statement.conditions,
                    &context,
                    document.variables_enabled(),
                )
            })
    });
    let what = format!("{service} to assume the role (sts:AssumeRole)");
    if let Some(found) = outcome.deny {
        let reason = format!(
            "the trust policy explicitly denies {what}: {}",
            describe(&found.matched)
        );
        return Evaluation::new(Decision::Denied, reason, Some(found.matched));
    }
    if outcome.allow.is_none() && outcome.allow_unknown.is_none() {
        return Evaluation::new(
            Decision::Denied,
            format!("no statement of the trust policy allows {what}"),
            None,
        );
    }
    if let Some(found) = outcome.deny_unknown {
        return undecided(found, "Deny");
    }
    match outcome.allow {
        Some(found) => {
            let reason = format!(
                "the trust policy allows {what}: {}",
                describe(&found.matched)
            );
            Evaluation::new(Decision::Allowed, reason, Some(found.matched))
        }
        None => undecided(outcome.allow_unknown.expect("checked above"), "Allow"),
    }
}

/// Whether `Principal`/`NotPrincipal` covers the service principal.
fn principal_matches(statement: &Statement, service: &str) -> Tri {
    let Some(element) = &statement.principal else {
        return Tri::unknown("the statement has no Principal");
    };
    let hit = match &element.principal {
        Principal::Any => Tri::True,
        Principal::Typed(kinds) => Tri::any(kinds.iter().flat_map(|(kind, ids)| {
            ids.iter().map(move |id| match kind.as_str() {
                // `{"AWS": "*"}` is documented as equivalent to `"*"`.
                "AWS" => Tri::from_bool(id == "*"),
                "Service" if id == service => Tri::True,
                "Service" if id.eq_ignore_ascii_case(service) => Tri::unknown(format!(
                    "service principal {id:?} differs from {service:?} only in letter case"
                )),
                _ => Tri::False,
            })
        })),
    };
    if element.negated {
        hit.not()
    } else {
        hit
    }
}
