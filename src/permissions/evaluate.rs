//! Combining statements and policies into one decision.
//!
//! AWS's rules for one account: an explicit `Deny` anywhere wins; otherwise the identity
//! policies must `Allow`, and so must the permissions boundary if there is one (a boundary
//! only limits, it never grants); nothing allowing is an implicit deny.
//!
//! With undecidable statements the same rules are applied in three-valued logic, so the
//! answer is `Unknown` exactly when the undecided parts could change it:
//! 1. a `Deny` that certainly applies → **denied** (explicit);
//! 2. nothing in the identity policies (or the boundary) could allow → **denied**
//!    (implicit) — even if some `Deny` is undecided, since the request is denied either way;
//! 3. a `Deny` that might apply → **unknown**, even when an `Allow` matched;
//! 4. no `Allow` certainly applies but one might → **unknown**;
//! 5. otherwise **allowed** — unless some policy kind was not seen (SCPs, an unreadable
//!    boundary, session or resource policies): those can only deny, so the answer becomes
//!    **unknown**, naming them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::condition;
use super::glob;
use super::policy::{Effect, PolicyDocument, PolicyError, Statement};
use super::request::Request;
use super::tri::Tri;
use super::variables;

/// The three outcomes. Serialized as `"allowed"`, `"denied"`, `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allowed,
    Denied,
    Unknown,
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::Unknown => "unknown",
        })
    }
}

/// The statement a decision rests on, so the user can see (and fix) it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedStatement {
    /// The policy's name as given (file name, inline policy name, managed policy ARN).
    pub policy: String,
    /// Zero-based index in the policy's `Statement` list.
    pub index: usize,
    pub sid: Option<String>,
    /// The statement's JSON as written.
    pub statement: Value,
}

/// A decision with its reason and the statement it rests on (none for an implicit deny).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub decision: Decision,
    pub reason: String,
    pub statement: Option<MatchedStatement>,
}

impl Evaluation {
    pub(crate) fn new(
        decision: Decision,
        reason: impl Into<String>,
        statement: Option<MatchedStatement>,
    ) -> Evaluation {
        Evaluation {
            decision,
            reason: reason.into(),
            statement,
        }
    }
}

/// A named identity or boundary policy.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    pub name: String,
    pub document: PolicyDocument,
}

impl NamedPolicy {
    /// Parses an identity policy (plain or URL-encoded); trust policies are refused with a
    /// pointer to `--trust-file`.
    pub fn parse(name: impl Into<String>, text: &str) -> Result<NamedPolicy, PolicyError> {
        let name = name.into();
        let document = PolicyDocument::parse_identity(text).map_err(|e| match e {
            PolicyError::Json(message) => PolicyError::Json(format!("{name}: {message}")),
            PolicyError::Invalid { path, message } => PolicyError::Invalid {
                path: format!("{name}: {path}"),
                message,
            },
            PolicyError::TrustPolicyAsIdentity { path, element } => {
                PolicyError::TrustPolicyAsIdentity {
                    path: format!("{name}: {path}"),
                    element,
                }
            }
            other => other,
        })?;
        Ok(NamedPolicy { name, document })
    }
}

/// Everything that governs the principal's request, as far as the tool could see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySet {
    /// Inline and attached managed policies of the role (or user).
    pub identity: Vec<NamedPolicy>,
    /// The permissions boundary, when there is one and it could be read.
    pub boundary: Option<NamedPolicy>,
    /// Policy kinds that apply but could not be seen, e.g. "service control policies",
    /// "permissions boundary arn:... (not readable)", "session policy". They can only deny,
    /// so an otherwise allowed request is reported unknown, naming them.
    pub unseen: Vec<String>,
}

/// A statement's outcome, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) matched: MatchedStatement,
    /// Why it is undecided (only for unknown outcomes).
    pub(crate) reason: Option<String>,
}

/// The first statement of each kind in a group of policies.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) deny: Option<Found>,
    pub(crate) deny_unknown: Option<Found>,
    pub(crate) allow: Option<Found>,
    pub(crate) allow_unknown: Option<Found>,
}

impl Outcome {
    fn could_allow(&self) -> bool {
        self.allow.is_some() || self.allow_unknown.is_some()
    }
}

/// Runs `applies` over every statement of `policies` and records the first certain and
/// first undecided `Allow` and `Deny`.
pub(crate) fn collect<'a>(
    policies: impl IntoIterator<Item = (&'a str, &'a PolicyDocument)>,
    applies: impl Fn(&Statement, &PolicyDocument) -> Tri,
) -> Outcome {
    let mut outcome = Outcome::default();
    for (name, document) in policies {
        for (index, statement) in document.statements.iter().enumerate() {
            let result = applies(statement, document);
            let slot = match (statement.effect, &result) {
                (_, Tri::False) => continue,
                (Effect::Deny, Tri::True) => &mut outcome.deny,
                (Effect::Deny, Tri::Unknown(_)) => &mut outcome.deny_unknown,
                (Effect::Allow, Tri::True) => &mut outcome.allow,
                (Effect::Allow, Tri::Unknown(_)) => &mut outcome.allow_unknown,
            };
            if slot.is_none() {
                *slot = Some(Found {
                    matched: MatchedStatement {
                        policy: name.to_string(),
                        index,
                        sid: statement.sid.clone(),
                        statement: statement.raw.clone(),
                    },
                    reason: match result {
                        Tri::Unknown(reason) => Some(reason),
                        _ => None,
                    },
                });
            }
        }
    }
    outcome
}

/// Human-readable location of a statement: `statement 2 (Sid "X") of "policy"`.
pub(crate) fn describe(m: &MatchedStatement) -> String {
    match &m.sid {
        Some(sid) => format!("statement {} (Sid {sid:?}) of {:?}", m.index, m.policy),
        None => format!("statement {} of {:?}", m.index, m.policy),
    }
}

pub(crate) fn undecided(found: Found, effect: &str) -> Evaluation {
    let reason = format!(
        "{} ({effect}) could not be decided: {}",
        describe(&found.matched),
        found.reason.as_deref().unwrap_or("unknown")
    );
    Evaluation::new(Decision::Unknown, reason, Some(found.matched))
}

/// Does the statement's `Action`/`NotAction` cover `action`? Case-insensitive globs.
pub(crate) fn action_matches(statement: &Statement, action: &str) -> bool {
    let hit = statement
        .actions
        .patterns
        .iter()
        .any(|p| glob::glob_match_ignore_case(p, action));
    hit != statement.actions.negated
}

/// Does the statement's `Resource`/`NotResource` cover the request's resource?
fn resource_matches(statement: &Statement, request: &Request, variables_on: bool) -> Tri {
    let Some(list) = &statement.resources else {
        return Tri::unknown("the statement has no Resource element");
    };
    let hit = Tri::any(list.patterns.iter().map(|pattern| {
        match variables::resolve(pattern, variables_on, request, true) {
            Ok(tokens) => glob::match_resource(&tokens, &request.resource),
            Err(reason) => Tri::Unknown(reason),
        }
    }));
    if list.negated {
        hit.not()
    } else {
        hit
    }
}

/// Whether one identity-policy statement applies to the request.
pub(crate) fn statement_applies(
    statement: &Statement,
    document: &PolicyDocument,
    request: &Request,
) -> Tri {
    let variables_on = document.variables_enabled();
    Tri::from_bool(action_matches(statement, &request.action))
        .and(|| resource_matches(statement, request, variables_on))
        .and(|| condition::evaluate_block(&statement.conditions, request, variables_on))
}

/// Decides one request against the identity policies, the boundary and the unseen kinds.
///
/// Never returns `Allowed` on a guess: see the module documentation for the rules.
pub fn evaluate(set: &PolicySet, request: &Request) -> Evaluation {
    if let Err(e) = request.validate() {
        return Evaluation::new(Decision::Unknown, e.to_string(), None);
    }
    for policy in set.identity.iter().chain(set.boundary.iter()) {
        if let Err(e) = policy.document.ensure_identity() {
            return Evaluation::new(Decision::Unknown, format!("{:?}: {e}", policy.name), None);
        }
    }
    let applies = |s: &Statement, d: &PolicyDocument| statement_applies(s, d, request);
    let identity = collect(
        set.identity.iter().map(|p| (p.name.as_str(), &p.document)),
        applies,
    );
    let boundary = set.boundary.as_ref().map(|b| {
        (
            b.name.as_str(),
            collect([(b.name.as_str(), &b.document)], applies),
        )
    });
    let what = format!("{} on {}", request.action, request.resource);

    // 1. A certain Deny anywhere.
    let certain_deny = identity
        .deny
        .clone()
        .or_else(|| boundary.as_ref().and_then(|(_, b)| b.deny.clone()));
    if let Some(found) = certain_deny {
        let reason = format!(
            "{what} is explicitly denied by {}",
            describe(&found.matched)
        );
        return Evaluation::new(Decision::Denied, reason, Some(found.matched));
    }
    let deny_unknown = identity
        .deny_unknown
        .clone()
        .or_else(|| boundary.as_ref().and_then(|(_, b)| b.deny_unknown.clone()));
    let either_way = if deny_unknown.is_some() {
        " (whatever the undecided Deny statement would decide)"
    } else {
        ""
    };

    // 2. Nothing could allow: denied regardless of any undecided Deny.
    if !identity.could_allow() {
        let reason = if set.identity.is_empty() {
            format!("no identity policy was given, so {what} is implicitly denied")
        } else {
            format!("no statement in the identity policies allows {what}: implicitly denied{either_way}")
        };
        return Evaluation::new(Decision::Denied, reason, None);
    }
    if let Some((name, b)) = &boundary {
        if !b.could_allow() {
            let reason = format!(
                "the permissions boundary {name:?} does not allow {what} (a boundary only limits what the \
                 identity policies grant): implicitly denied{either_way}"
            );
            return Evaluation::new(Decision::Denied, reason, None);
        }
    }

    // 3. A Deny that might apply.
    if let Some(found) = deny_unknown {
        return with_unseen(undecided(found, "Deny"), &set.unseen);
    }

    // 4. An Allow that only might apply.
    let Some(allow) = identity.allow else {
        let found = identity.allow_unknown.expect("could_allow checked above");
        return with_unseen(undecided(found, "Allow"), &set.unseen);
    };
    if let Some((_, b)) = boundary {
        if b.allow.is_none() {
            let found = b.allow_unknown.expect("could_allow checked above");
            return with_unseen(
                undecided(found, "Allow in the permissions boundary"),
                &set.unseen,
            );
        }
    }

    // 5. Allowed, unless some policy kind was not seen.
    let mut reason = format!("{what} is allowed by {}", describe(&allow.matched));
    if set.boundary.is_some() {
        reason.push_str(" and by the permissions boundary");
    }
    if set.unseen.is_empty() {
        return Evaluation::new(Decision::Allowed, reason, Some(allow.matched));
    }
    reason.push_str(&format!(
        ", but these policies were not seen and could deny it: {}",
        set.unseen.join(", ")
    ));
    Evaluation::new(Decision::Unknown, reason, Some(allow.matched))
}

fn with_unseen(mut evaluation: Evaluation, unseen: &[String]) -> Evaluation {
    if !unseen.is_empty() {
        evaluation.reason.push_str(&format!(
            "; also not seen, and able to deny: {}",
            unseen.join(", ")
        ));
    }
    evaluation
}
