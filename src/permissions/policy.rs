//! The policy document model and its parser.
//!
//! Parsing is strict on structure (an unknown element, a bad `Effect`, a `Resource` that is
//! not an ARN are errors that name the statement) because a silently ignored typo such as
//! `"Resources"` would change what a policy means. It is lenient where AWS is: `Statement`
//! may be one object or an array, every element may be a string or an array of strings, and
//! documents may arrive URL-encoded (as `GetRolePolicy` and `GetRole` return them).
//!
//! Condition operators are kept as written: an operator the evaluator does not know is not
//! a parse error but an *unknown* outcome for that statement, with the operator named.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// What is wrong with a document or request, and where (`Statement[2].Resource`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON (or not URL-encoded JSON).
    #[error("not a valid JSON policy document: {0}")]
    Json(String),
    /// The JSON is not a valid policy: `path` locates the element.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// A trust or resource-based policy (it has `Principal`) was given where an identity
    /// policy is expected. Those name *who* may act, not what the role may do.
    #[error("{path} has a {element}, so this is a trust or resource-based policy, not an identity policy; pass a role trust policy with --trust-file")]
    TrustPolicyAsIdentity { path: String, element: &'static str },
    /// An identity policy was given where a role trust policy is expected.
    #[error("{path} has no Principal, so this is not a role trust policy; pass identity policies with --policy-file")]
    IdentityPolicyAsTrust { path: String },
    /// The request to evaluate is malformed (action or resource).
    #[error("invalid request: {0}")]
    Request(String),
    /// Account or region given for substitution is malformed.
    #[error("cannot fill in account and region: {0}")]
    Substitute(String),
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// `Allow` or `Deny` (case-sensitive, as AWS requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: the patterns and whether negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternList {
    /// True for `NotAction` / `NotResource`.
    pub negated: bool,
    pub patterns: Vec<String>,
}

/// The `Principal` element's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"Principal": "*"`.
    Any,
    /// `{"Service": [...], "AWS": [...], ...}` in document order.
    Typed(Vec<(String, Vec<String>)>),
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalElement {
    pub negated: bool,
    pub principal: Principal,
}

/// One `operator: { key: values }` test of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// As written, e.g. `StringLikeIfExists` or `ForAnyValue:StringEquals`.
    pub operator: String,
    /// As written; matched against the request context case-insensitively.
    pub key: String,
    /// JSON strings as is; booleans and numbers in their JSON spelling.
    pub values: Vec<String>,
}

/// One statement, with its original JSON kept for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: PatternList,
    /// `None` only in trust/resource policies (which name a `Principal` instead).
    pub resources: Option<PatternList>,
    pub principal: Option<PrincipalElement>,
    pub conditions: Vec<Condition>,
    /// The statement exactly as parsed, shown to the user as "the matching statement".
    pub raw: Value,
}

/// A parsed policy document (identity, boundary or trust policy).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

const DOCUMENT_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];
const PRINCIPAL_KINDS: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser"];

impl PolicyDocument {
    /// Parses any policy document (identity, boundary, trust), plain or URL-encoded.
    pub fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
        let value = decode_json(text)?;
        PolicyDocument::from_value(&value)
    }

    /// Parses an identity (or boundary) policy: one with a `Principal` is refused with a
    /// message pointing at `--trust-file`, because evaluating a trust policy as if it
    /// granted permissions to the role would answer the wrong question.
    pub fn parse_identity(text: &str) -> Result<PolicyDocument, PolicyError> {
        let document = PolicyDocument::parse(text)?;
        document.ensure_identity()?;
        Ok(document)
    }

    /// Parses a role trust policy: every statement must name a `Principal`.
    pub fn parse_trust(text: &str) -> Result<PolicyDocument, PolicyError> {
        let document = PolicyDocument::parse(text)?;
        document.ensure_trust()?;
        Ok(document)
    }

    /// Builds a document from already-parsed JSON.
    pub fn from_value(value: &Value) -> Result<PolicyDocument, PolicyError> {
        let object = value
            .as_object()
            .ok_or_else(|| invalid("document", "must be a JSON object"))?;
        reject_unknown_keys(object, DOCUMENT_KEYS, "document")?;
        let version = optional_string(object, "Version", "Version")?;
        if let Some(v) = &version {
            if v != "2012-10-17" && v != "2008-10-17" {
                return Err(invalid(
                    "Version",
                    format!("must be \"2012-10-17\" or \"2008-10-17\", not {v:?}"),
                ));
            }
        }
        let id = optional_string(object, "Id", "Id")?;
        let statements = match object.get("Statement") {
            None => return Err(invalid("document", "has no Statement")),
            Some(Value::Object(_)) => vec![parse_statement(&object["Statement"], "Statement")?],
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    return Err(invalid("Statement", "is an empty array"));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| parse_statement(item, &format!("Statement[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => {
                return Err(invalid(
                    "Statement",
                    "must be an object or an array of objects",
                ))
            }
        };
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }

    /// Policy variables (`${aws:username}`) exist only in version 2012-10-17; in older or
    /// unversioned documents they are literal text.
    pub fn variables_enabled(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }

    /// Errors if any statement has `Principal`/`NotPrincipal` (a trust/resource policy).
    pub fn ensure_identity(&self) -> Result<(), PolicyError> {
        for (index, statement) in self.statements.iter().enumerate() {
            if let Some(principal) = &statement.principal {
                return Err(PolicyError::TrustPolicyAsIdentity {
                    path: self.statement_path(index),
                    element: if principal.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    },
                });
            }
        }
        Ok(())
    }

    /// Errors if any statement lacks `Principal`/`NotPrincipal` or has a `Resource` (a role
    /// trust policy has none: the role itself is the resource).
    pub fn ensure_trust(&self) -> Result<(), PolicyError> {
        for (index, statement) in self.statements.iter().enumerate() {
            let path = self.statement_path(index);
            if statement.principal.is_none() {
                return Err(PolicyError::IdentityPolicyAsTrust { path });
            }
            if statement.resources.is_some() {
                return Err(invalid(
                    path,
                    "a role trust policy cannot have Resource or NotResource",
                ));
            }
        }
        Ok(())
    }

    fn statement_path(&self, index: usize) -> String {
        if self.statements.len() == 1 {
            "Statement".to_string()
        } else {
            format!("Statement[{index}]")
        }
    }
}

/// Decodes a document that may be URL-encoded, then parses the JSON.
///
/// A document is decoded only when it is encoded (it does not start with `{` but starts
/// with `%` or contains `%22`/`%7B`): decoding a plain document would corrupt a literal
/// `%` inside a value. `+` is read as a space only if the `%`-decoded text is not JSON
/// (form encoding), because RFC 3986 encoders leave a literal `+` alone.
pub fn decode_json(text: &str) -> Result<Value, PolicyError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('{') {
        return parse_json(trimmed);
    }
    let lower = trimmed.to_ascii_lowercase();
    let encoded = trimmed.starts_with('%') || lower.contains("%22") || lower.contains("%7b");
    if !encoded {
        return Err(PolicyError::Json(
            "expected a JSON object starting with '{' (or a URL-encoded one starting with %7B)"
                .to_string(),
        ));
    }
    let decoded = percent_decode(trimmed)?;
    match parse_json(decoded.trim()) {
        Ok(value) => Ok(value),
        Err(first) if trimmed.contains('+') => {
            let form = percent_decode(&trimmed.replace('+', "%20"))?;
            parse_json(form.trim()).map_err(|_| first)
        }
        Err(first) => Err(first),
    }
}

fn percent_decode(text: &str) -> Result<String, PolicyError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| PolicyError::Json(format!("URL-encoded document is not UTF-8: {e}")))
}

fn parse_json(text: &str) -> Result<Value, PolicyError> {
    serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))
}

fn reject_unknown_keys(
    object: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
) -> Result<(), PolicyError> {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            let hint = allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(key))
                .map(|a| format!(" (element names are case-sensitive: did you mean {a:?}?)"))
                .unwrap_or_default();
            return Err(invalid(
                path,
                format!("unknown element {key:?}{hint}; expected one of {allowed:?}"),
            ));
        }
    }
    Ok(())
}

fn optional_string(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, PolicyError> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(path, "must be a string")),
    }
}

/// A string or a non-empty array of strings.
fn string_list(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid(path, "is an empty array"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid(format!("{path}[{i}]"), "must be a string")),
                })
                .collect()
        }
        _ => Err(invalid(path, "must be a string or an array of strings")),
    }
}

fn pattern_list(
    object: &Map<String, Value>,
    positive: &str,
    negative: &str,
    path: &str,
) -> Result<Option<PatternList>, PolicyError> {
    match (object.get(positive), object.get(negative)) {
        (Some(_), Some(_)) => Err(invalid(
            path,
            format!("has both {positive} and {negative}; use one"),
        )),
        (Some(v), None) => Ok(Some(PatternList {
            negated: false,
            patterns: string_list(v, &format!("{path}.{positive}"))?,
        })),
        (None, Some(v)) => Ok(Some(PatternList {
            negated: true,
            patterns: string_list(v, &format!("{path}.{negative}"))?,
        })),
        (None, None) => Ok(None),
    }
}

fn parse_statement(value: &Value, path: &str) -> Result<Statement, PolicyError> {
    let object = value
        .as_object()
        .ok_or_else(|| invalid(path, "must be a JSON object"))?;
    reject_unknown_keys(object, STATEMENT_KEYS, path)?;
    let sid = optional_string(object, "Sid", &format!("{path}.Sid"))?;
    let effect = match object.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(invalid(
                format!("{path}.Effect"),
                format!("must be \"Allow\" or \"Deny\" (case-sensitive), not {other}"),
            ))
        }
        None => return Err(invalid(path, "has no Effect")),
    };
    let actions = pattern_list(object, "Action", "NotAction", path)?
        .ok_or_else(|| invalid(path, "has neither Action nor NotAction"))?;
    for (i, action) in actions.patterns.iter().enumerate() {
        validate_action_pattern(action)
            .map_err(|m| invalid(format!("{path}.{}[{i}]", element(&actions, "Action")), m))?;
    }
    let principal = parse_principal(object, path)?;
    let resources = pattern_list(object, "Resource", "NotResource", path)?;
    match &resources {
        Some(list) => {
            for (i, resource) in list.patterns.iter().enumerate() {
                validate_resource_pattern(resource).map_err(|m| {
                    invalid(format!("{path}.{}[{i}]", element(list, "Resource")), m)
                })?;
            }
        }
        None if principal.is_none() => {
            return Err(invalid(
                path,
                "has neither Resource nor NotResource (an identity policy statement needs one)",
            ))
        }
        None => {}
    }
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(v) => parse_condition(v, &format!("{path}.Condition"))?,
    };
    Ok(Statement {
        sid,
        effect,
        actions,
        resources,
        principal,
        conditions,
        raw: value.clone(),
    })
}

fn element(list: &PatternList, positive: &str) -> String {
    if list.negated {
        format!("Not{positive}")
    } else {
        positive.to_string()
    }
}

fn validate_action_pattern(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    match action.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(format!(
            "action {action:?} must be \"*\" or \"service:ActionName\" (wildcards allowed in the name)"
        )),
    }
}

/// `*`, or an ARN: `arn:partition:service:region:account:resource` (a pattern with a
/// wildcard may stop early, e.g. `arn:aws:s3:::*` or `arn:aws:logs:*`).
pub(crate) fn validate_resource_pattern(resource: &str) -> Result<(), String> {
    if resource == "*" {
        return Ok(());
    }
    let parts = resource.split(':').count();
    if resource.starts_with("arn:") && (parts >= 6 || resource.contains('*')) {
        return Ok(());
    }
    Err(format!(
        "resource {resource:?} is neither \"*\" nor an ARN (arn:partition:service:region:account:resource)"
    ))
}

fn parse_principal(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Option<PrincipalElement>, PolicyError> {
    let (negated, value, name) = match (object.get("Principal"), object.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                path,
                "has both Principal and NotPrincipal; use one",
            ))
        }
        (Some(v), None) => (false, v, "Principal"),
        (None, Some(v)) => (true, v, "NotPrincipal"),
        (None, None) => return Ok(None),
    };
    let path = format!("{path}.{name}");
    let principal = match value {
        Value::String(s) if s == "*" => Principal::Any,
        Value::Object(map) => {
            if map.is_empty() {
                return Err(invalid(path, "is an empty object"));
            }
            let mut typed = Vec::new();
            for (kind, ids) in map {
                if !PRINCIPAL_KINDS.contains(&kind.as_str()) {
                    return Err(invalid(
                        &path,
                        format!(
                            "unknown principal type {kind:?}; expected one of {PRINCIPAL_KINDS:?}"
                        ),
                    ));
                }
                typed.push((kind.clone(), string_list(ids, &format!("{path}.{kind}"))?));
            }
            Principal::Typed(typed)
        }
        _ => {
            return Err(invalid(
                path,
                "must be \"*\" or an object such as {\"Service\": \"codebuild.amazonaws.com\"}",
            ))
        }
    };
    Ok(Some(PrincipalElement { negated, principal }))
}

fn condition_value(value: &Value, path: &str) -> Result<String, PolicyError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(invalid(path, "must be a string, boolean or number")),
    }
}

fn parse_condition(value: &Value, path: &str) -> Result<Vec<Condition>, PolicyError> {
    let operators = value
        .as_object()
        .ok_or_else(|| invalid(path, "must be an object of {operator: {key: value(s)}}"))?;
    let mut conditions = Vec::new();
    for (operator, keys) in operators {
        let op_path = format!("{path}.{operator}");
        let keys = keys
            .as_object()
            .ok_or_else(|| invalid(&op_path, "must be an object of {key: value(s)}"))?;
        if keys.is_empty() {
            return Err(invalid(op_path, "has no condition keys"));
        }
        for (key, values) in keys {
            let key_path = format!("{op_path}.{key}");
            let values = match values {
                Value::Array(items) => {
                    if items.is_empty() {
                        return Err(invalid(key_path, "is an empty array"));
                    }
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| condition_value(v, &format!("{key_path}[{i}]")))
                        .collect::<Result<Vec<_>, _>>()?
                }
                single => vec![condition_value(single, &key_path)?],
            };
            conditions.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(conditions)
}
