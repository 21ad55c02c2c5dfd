//! `Condition` block evaluation, following the IAM User Guide ("Condition operators" and
//! "Conditions with multiple context keys or values"):
//!
//! - operators in a block, and keys under one operator, are ANDed;
//! - several values for one key are ORed; for a negated operator (`StringNotEquals`,
//!   `StringNotLike`, `ArnNotEquals`, `ArnNotLike`) they are NORed;
//! - a key absent from the request makes a condition false, except that a negated
//!   operator is then true, `...IfExists` is then true, and `Null` tests for absence;
//! - key names are case-insensitive.
//!
//! Implemented: the `String*`, `Arn*`, `Bool` and `Null` families, with `IfExists`.
//! Everything else (`ForAnyValue:`/`ForAllValues:` set operators, `Numeric*`, `Date*`,
//! `BinaryEquals`, `IpAddress`, `NotIpAddress`, unknown names) yields an unknown outcome
//! naming the operator: the tool never pretends to know what it did not compute.

use super::glob;
use super::policy::Condition;
use super::request::{KeyState, Request};
use super::tri::Tri;
use super::variables;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Bool,
    Null,
}

impl Base {
    fn from_name(name: &str) -> Option<Base> {
        Some(match name {
            "StringEquals" => Base::StringEquals,
            "StringNotEquals" => Base::StringNotEquals,
            "StringEqualsIgnoreCase" => Base::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Base::StringNotEqualsIgnoreCase,
            "StringLike" => Base::StringLike,
            "StringNotLike" => Base::StringNotLike,
            "ArnEquals" => Base::ArnEquals,
            "ArnLike" => Base::ArnLike,
            "ArnNotEquals" => Base::ArnNotEquals,
            "ArnNotLike" => Base::ArnNotLike,
            "Bool" => Base::Bool,
            "Null" => Base::Null,
            _ => return None,
        })
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::ArnNotEquals
                | Base::ArnNotLike
        )
    }
}

/// Operators AWS defines that this evaluator deliberately does not implement.
const NOT_IMPLEMENTED: &[&str] = &[
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
];

/// Splits `StringLikeIfExists` into (`StringLike`, true), or says why it cannot be decided.
fn parse_operator(operator: &str) -> Result<(Base, bool), String> {
    if let Some((qualifier, _)) = operator.split_once(':') {
        return Err(
            if qualifier == "ForAnyValue" || qualifier == "ForAllValues" {
                format!("condition operator {operator}: the {qualifier} set operator is not implemented")
            } else {
                format!("unknown condition operator {operator}")
            },
        );
    }
    let (name, if_exists) = match operator.strip_suffix("IfExists") {
        Some(name) => (name, true),
        None => (operator, false),
    };
    match Base::from_name(name) {
        Some(Base::Null) if if_exists => Err(format!(
            "condition operator {operator} is not valid (Null takes no IfExists)"
        )),
        Some(base) => Ok((base, if_exists)),
        None if NOT_IMPLEMENTED.contains(&name) => Err(format!(
            "condition operator {operator} is not implemented by this evaluator"
        )),
        None => Err(format!("unknown condition operator {operator}")),
    }
}

/// Evaluates a whole `Condition` block (AND of all its tests). Empty means true.
pub(crate) fn evaluate_block(conditions: &[Condition], request: &Request, variables: bool) -> Tri {
    Tri::all(
        conditions
            .iter()
            .map(|condition| evaluate_one(condition, request, variables)),
    )
}

fn evaluate_one(condition: &Condition, request: &Request, variables: bool) -> Tri {
    let (base, if_exists) = match parse_operator(&condition.operator) {
        Ok(parsed) => parsed,
        Err(reason) => return Tri::Unknown(reason),
    };
    let key = &condition.key;
    let state = request.key(key);
    if base == Base::Null {
        return null_check(condition, state);
    }
    let value = match state {
        KeyState::Unknowable => {
            return Tri::unknown(format!(
                "condition {} on {key}: the request context does not say whether {key} is present or what it is",
                condition.operator
            ))
        }
        KeyState::Absent => return Tri::from_bool(if_exists || base.negated()),
        KeyState::Present([value]) => value,
        KeyState::Present(values) => {
            return Tri::unknown(format!(
                "condition {} on {key}: the request has {} values for it; a single-valued operator on a \
                 multivalued key needs a ForAnyValue/ForAllValues set operator, which is not implemented",
                condition.operator,
                values.len()
            ))
        }
    };
    let any = Tri::any(
        condition
            .values
            .iter()
            .map(|policy_value| compare(base, policy_value, value, request, variables)),
    );
    if base.negated() {
        any.not()
    } else {
        any
    }
}

/// One policy value against the request value, for the positive form of `base`.
fn compare(base: Base, policy_value: &str, value: &str, request: &Request, variables: bool) -> Tri {
    let compile = |wildcards: bool| variables::resolve(policy_value, variables, request, wildcards);
    match base {
        Base::StringEquals | Base::StringNotEquals => match compile(false) {
            Ok(tokens) => Tri::from_bool(glob::matches(&tokens, value)),
            Err(reason) => Tri::Unknown(reason),
        },
        Base::StringEqualsIgnoreCase | Base::StringNotEqualsIgnoreCase => match compile(false) {
            Ok(tokens) => {
                Tri::from_bool(literal_text(&tokens).to_lowercase() == value.to_lowercase())
            }
            Err(reason) => Tri::Unknown(reason),
        },
        Base::StringLike | Base::StringNotLike => match compile(true) {
            Ok(tokens) => Tri::from_bool(glob::matches(&tokens, value)),
            Err(reason) => Tri::Unknown(reason),
        },
        Base::ArnEquals | Base::ArnLike | Base::ArnNotEquals | Base::ArnNotLike => {
            match compile(true) {
                Ok(tokens) => glob::match_arn(&tokens, value),
                Err(reason) => Tri::Unknown(reason),
            }
        }
        Base::Bool => {
            if variables && variables::has_variable(policy_value) {
                return Tri::unknown(format!(
                    "Bool value {policy_value:?} uses a policy variable, which this evaluator does not resolve in Bool"
                ));
            }
            if policy_value.eq_ignore_ascii_case("true")
                || policy_value.eq_ignore_ascii_case("false")
            {
                Tri::from_bool(policy_value.eq_ignore_ascii_case(value))
            } else {
                Tri::unknown(format!(
                    "Bool value {policy_value:?} is neither true nor false"
                ))
            }
        }
        Base::Null => Tri::unknown("Null is evaluated separately"),
    }
}

/// The text of tokens compiled without wildcards (every token is a literal).
fn literal_text(tokens: &[glob::Tok]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            glob::Tok::Lit(c) => *c,
            glob::Tok::Star => '*',
            glob::Tok::One => '?',
        })
        .collect()
}

/// `Null`: `"true"` means "the key is absent", `"false"` means "the key is present".
fn null_check(condition: &Condition, state: KeyState<'_>) -> Tri {
    let is_null = match state {
        KeyState::Unknowable => {
            return Tri::unknown(format!(
                "condition Null on {}: the request context does not say whether {} is present",
                condition.key, condition.key
            ))
        }
        KeyState::Absent => true,
        KeyState::Present(_) => false,
    };
    Tri::any(condition.values.iter().map(|v| {
        if v.eq_ignore_ascii_case("true") {
            Tri::from_bool(is_null)
        } else if v.eq_ignore_ascii_case("false") {
            Tri::from_bool(!is_null)
        } else {
            Tri::unknown(format!("Null value {v:?} is neither true nor false"))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(operator: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: operator.to_string(),
            key: key.to_string(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn eval(c: &Condition, r: &Request) -> Tri {
        evaluate_block(std::slice::from_ref(c), r, true)
    }

    #[test]
    fn operator_parsing() {
        assert_eq!(
            parse_operator("StringLikeIfExists"),
            Ok((Base::StringLike, true))
        );
        assert_eq!(parse_operator("Null"), Ok((Base::Null, false)));
        assert!(parse_operator("NullIfExists").is_err());
        assert!(parse_operator("ForAnyValue:StringEquals")
            .unwrap_err()
            .contains("ForAnyValue"));
        assert!(parse_operator("NumericLessThan")
            .unwrap_err()
            .contains("not implemented"));
        assert!(parse_operator("StringEqualz")
            .unwrap_err()
            .contains("unknown"));
        assert!(parse_operator("stringequals")
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn ignore_case_equality() {
        let r = Request::new("s3:GetObject", "*").with_context("aws:username", ["JohnDoe"]);
        assert_eq!(
            eval(
                &cond("StringEqualsIgnoreCase", "aws:username", &["johndoe"]),
                &r
            ),
            Tri::True
        );
        assert_eq!(
            eval(&cond("StringEquals", "aws:username", &["johndoe"]), &r),
            Tri::False
        );
        assert_eq!(
            eval(
                &cond("StringNotEqualsIgnoreCase", "aws:username", &["JOHNDOE"]),
                &r
            ),
            Tri::False
        );
        // `*` is literal in the Equals family.
        assert_eq!(
            eval(
                &cond("StringEqualsIgnoreCase", "aws:username", &["john*"]),
                &r
            ),
            Tri::False
        );
    }

    #[test]
    fn negated_multi_value_is_nor() {
        let r =
            Request::new("s3:GetObject", "*").with_context("aws:RequestedRegion", ["us-east-1"]);
        let c = cond(
            "StringNotEquals",
            "aws:requestedregion",
            &["us-east-1", "eu-west-1"],
        );
        assert_eq!(eval(&c, &r), Tri::False);
        let c = cond(
            "StringNotEquals",
            "aws:requestedregion",
            &["ap-south-1", "eu-west-1"],
        );
        assert_eq!(eval(&c, &r), Tri::True);
    }
}
