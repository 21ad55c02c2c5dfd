//! IAM policy model, evaluator and trust check for the prerequisite policies.
//!
//! The tool must tell a user *before* a publish whether their role can do what the Plan
//! needs. It answers with one of three outcomes — allowed, denied, unknown — and never
//! guesses: whenever a decision depends on something it cannot see (a condition key it
//! cannot know, an operator it does not implement, a policy it could not read) the answer
//! is [`Decision::Unknown`] with the reason, so a "yes" from this module can be trusted.
//!
//! Layout: [`policy`] parses documents, [`glob`] matches `*`/`?` patterns (ARN-aware),
//! [`variables`] resolves `${...}` policy variables, [`condition`] evaluates `Condition`
//! blocks, [`request`] describes one request and what is known about its context,
//! [`evaluate`] combines statements and policies, [`trust`] checks a role's trust policy,
//! and [`documents`] embeds the prerequisite policies shipped in `policies/`.
//!
//! Sibling modules are referred to through `super::`/`self::` only, so this directory can
//! be compiled on its own (the scratch crate used while the main crate is being built).

pub mod check;
pub mod command;
pub mod condition;
pub mod documents;
pub mod evaluate;
pub mod glob;
pub mod online;
pub mod policy;
pub mod request;
pub mod trust;
pub mod variables;

mod tri;

#[cfg(test)]
mod tests;

pub use self::documents::{substitute_account_region, PolicyFile, PolicyKind, POLICY_FILES};
pub use self::evaluate::{
    evaluate, Decision, Evaluation, MatchedStatement, NamedPolicy, PolicySet,
};
pub use self::policy::{Effect, PolicyDocument, PolicyError, Statement};
pub use self::request::Request;
pub use self::trust::{check_trust, check_trust_request, TrustRequest};
