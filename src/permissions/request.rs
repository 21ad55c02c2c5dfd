//! One request to decide, and what is known about its condition context.
//!
//! A condition key can be in three states, and confusing them is how evaluators lie:
//! - *present* with values (`--context K=V`);
//! - *known absent*: the request really does not carry it (`iam:PassedToService` on
//!   anything but `iam:PassRole`; a key listed in `absent`; any key when the context is
//!   declared complete). AWS then evaluates e.g. `StringNotEquals` as true;
//! - *unknowable*: the tool cannot know (`aws:PrincipalTag/team`, `aws:SourceIp`, ...).
//!   Any condition that depends on such a key is undecidable, so the answer is unknown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::PolicyError;

/// Keys the tool knows are absent unless the request is the named action.
const ONLY_ON_ACTION: &[(&str, &str)] = &[
    ("iam:PassedToService", "iam:PassRole"),
    ("iam:AssociatedResourceArn", "iam:PassRole"),
];

/// The request: action, resource and condition context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `service:Action`, e.g. `iam:PassRole` (matched case-insensitively).
    pub action: String,
    /// The resource ARN, or `*` for actions that have no resource type.
    pub resource: String,
    /// Condition keys present in the request, as given; looked up case-insensitively.
    #[serde(default)]
    pub context: BTreeMap<String, Vec<String>>,
    /// Keys known not to be in the request (so `...IfExists` and negated operators apply).
    #[serde(default)]
    pub absent: Vec<String>,
    /// True when `context` lists every key the request carries: all others are absent.
    #[serde(default)]
    pub context_complete: bool,
}

/// What the request context says about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState<'a> {
    Present(&'a [String]),
    Absent,
    Unknowable,
}

impl Request {
    /// A request with an empty, incomplete context (every key unknowable).
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Request {
        Request {
            action: action.into(),
            resource: resource.into(),
            ..Request::default()
        }
    }

    /// Adds a present key with its values.
    pub fn with_context<I, S>(mut self, key: impl Into<String>, values: I) -> Request
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context
            .insert(key.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// Declares a key known to be absent.
    pub fn with_absent(mut self, key: impl Into<String>) -> Request {
        self.absent.push(key.into());
        self
    }

    /// Declares the context complete: every key not in `context` is absent.
    pub fn context_complete(mut self) -> Request {
        self.context_complete = true;
        self
    }

    /// Checks the action (`service:Name`, no wildcards) and resource (`*` or an ARN).
    pub fn validate(&self) -> Result<(), PolicyError> {
        match self.action.split_once(':') {
            Some((service, name))
                if !service.is_empty()
                    && !name.is_empty()
                    && !self.action.contains(['*', '?'])
                    && service
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-') => {}
            _ => {
                return Err(PolicyError::Request(format!(
                    "action {:?} must be one action such as \"s3:GetObject\" (no wildcards)",
                    self.action
                )))
            }
        }
        if self.resource != "*"
            && !(self.resource.starts_with("arn:") && self.resource.split(':').count() >= 6)
        {
            return Err(PolicyError::Request(format!(
                "resource {:?} must be an ARN (arn:partition:service:region:account:resource) or \"*\"",
                self.resource
            )));
        }
        let mut seen: Vec<String> = Vec::new();
        for key in self.context.keys() {
            let lower = key.to_lowercase();
            if seen.contains(&lower) {
                return Err(PolicyError::Request(format!(
                    "context key {key:?} is given twice (key names are case-insensitive)"
                )));
            }
            seen.push(lower);
        }
        Ok(())
    }

    /// Looks a condition key up, case-insensitively (AWS key names are not case-sensitive).
    pub fn key(&self, name: &str) -> KeyState<'_> {
        if let Some((_, values)) = self
            .context
            .iter()
            .find(|(k, _)| k.to_lowercase() == name.to_lowercase())
        {
            return KeyState::Present(values);
        }
        if self.context_complete
            || self
                .absent
                .iter()
                .any(|k| k.to_lowercase() == name.to_lowercase())
        {
            return KeyState::Absent;
        }
        if ONLY_ON_ACTION.iter().any(|(key, action)| {
            key.eq_ignore_ascii_case(name) && !action.eq_ignore_ascii_case(&self.action)
        }) {
            return KeyState::Absent;
        }
        KeyState::Unknowable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_states() {
        let r = Request::new("s3:GetObject", "*")
            .with_context("AWS:RequestedRegion", ["us-east-1"])
            .with_absent("aws:TokenIssueTime");
        assert_eq!(
            r.key("aws:requestedregion"),
            KeyState::Present(&["us-east-1".to_string()])
        );
        assert_eq!(r.key("AWS:TOKENISSUETIME"), KeyState::Absent);
        assert_eq!(r.key("iam:PassedToService"), KeyState::Absent);
        assert_eq!(r.key("aws:PrincipalTag/team"), KeyState::Unknowable);
        let pass = Request::new("iam:PassRole", "arn:aws:iam::1:role/r");
        assert_eq!(pass.key("iam:PassedToService"), KeyState::Unknowable);
        assert_eq!(
            pass.context_complete().key("iam:PassedToService"),
            KeyState::Absent
        );
    }

    #[test]
    fn validation() {
        assert!(Request::new("s3:GetObject", "arn:aws:s3:::b/k")
            .validate()
            .is_ok());
        assert!(Request::new("ecr:GetAuthorizationToken", "*")
            .validate()
            .is_ok());
        assert!(Request::new("s3:*", "*").validate().is_err());
        assert!(Request::new("GetObject", "*").validate().is_err());
        assert!(Request::new("s3:GetObject", "mybucket").validate().is_err());
        assert!(Request::new("s3:GetObject", "arn:aws:s3:b")
            .validate()
            .is_err());
        let twice = Request::new("s3:GetObject", "*")
            .with_context("a:B", ["1"])
            .with_context("A:b", ["2"]);
        assert!(twice.validate().is_err());
    }
}
