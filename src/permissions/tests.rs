//! Checks every case of `tests/data/iam-vectors.json` (written from the AWS documentation,
//! not from this evaluator's output), plus parser edge cases.

use serde::Deserialize;
use serde_json::Value;

use super::documents;
use super::evaluate::{evaluate, Decision, NamedPolicy, PolicySet};
use super::policy::{PolicyDocument, PolicyError};
use super::request::Request;
use super::trust::{check_trust, check_trust_request, TrustRequest};

const VECTORS: &str = include_str!("../../tests/data/iam-vectors.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    #[allow(dead_code)]
    format: Value,
    cases: Vec<Case>,
    trust_cases: Vec<TrustCase>,
    error_cases: Vec<ErrorCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRef {
    name: String,
    #[serde(default)]
    document: Option<Value>,
    #[serde(default)]
    file: Option<String>,
}

impl PolicyRef {
    /// The document's text: a JSON string is used verbatim (e.g. URL-encoded), an object
    /// is serialized, a `file` is one of the embedded `policies/` documents.
    fn text(&self) -> Result<String, String> {
        match (&self.document, &self.file) {
            (Some(Value::String(text)), None) => Ok(text.clone()),
            (Some(value), None) => Ok(value.to_string()),
            (None, Some(file)) => documents::find(file)
                .map(|f| f.text.to_string())
                .ok_or_else(|| format!("no embedded policy file {file}")),
            _ => Err(format!(
                "policy {}: give exactly one of document/file",
                self.name
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    source: String,
    why: String,
    policies: Vec<PolicyRef>,
    #[serde(default)]
    boundary: Option<PolicyRef>,
    #[serde(default)]
    unseen: Vec<String>,
    request: Request,
    expected: Decision,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustCase {
    name: String,
    source: String,
    why: String,
    trust: PolicyRef,
    service: String,
    account: String,
    #[serde(default)]
    source_arn: Option<String>,
    expected: Decision,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorCase {
    name: String,
    source: String,
    why: String,
    policies: Vec<PolicyRef>,
    request: Request,
    error_contains: String,
}

fn load() -> VectorFile {
    serde_json::from_str(VECTORS)
        .expect("tests/data/iam-vectors.json must match the documented format")
}

fn run_case(case: &Case) -> Result<(), String> {
    let parse = |p: &PolicyRef| -> Result<NamedPolicy, String> {
        NamedPolicy::parse(p.name.clone(), &p.text()?).map_err(|e| e.to_string())
    };
    let set = PolicySet {
        identity: case.policies.iter().map(parse).collect::<Result<_, _>>()?,
        boundary: case.boundary.as_ref().map(parse).transpose()?,
        unseen: case.unseen.clone(),
    };
    let result = evaluate(&set, &case.request);
    if result.decision == case.expected {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {} ({})",
            case.expected, result.decision, result.reason
        ))
    }
}

fn run_trust_case(case: &TrustCase) -> Result<(), String> {
    let trust = PolicyDocument::parse_trust(&case.trust.text()?).map_err(|e| e.to_string())?;
    let request = TrustRequest {
        source_arn: case.source_arn.clone(),
        ..TrustRequest::new(case.service.clone(), case.account.clone())
    };
    let result = check_trust_request(&trust, &request);
    if result.decision == case.expected {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {} ({})",
            case.expected, result.decision, result.reason
        ))
    }
}

#[test]
fn every_vector_case_decides_as_documented() {
    let file = load();
    let failures: Vec<String> = file
        .cases
        .iter()
        .filter_map(|case| run_case(case).err().map(|e| format!("{}: {e}", case.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_trust_case_decides_as_documented() {
    let file = load();
    let failures: Vec<String> = file
        .trust_cases
        .iter()
        .filter_map(|case| {
            run_trust_case(case)
                .err()
                .map(|e| format!("{}: {e}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} trust case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The first error from parsing the policies, else from validating the request.
fn first_error(case: &ErrorCase) -> Option<String> {
    for policy in &case.policies {
        match policy.text() {
            Err(e) => return Some(e),
            Ok(text) => {
                if let Err(e) = NamedPolicy::parse(policy.name.clone(), &text) {
                    return Some(e.to_string());
                }
            }
        }
    }
    case.request.validate().err().map(|e| e.to_string())
}

#[test]
fn every_error_case_is_rejected_with_its_message() {
    let file = load();
    assert!(!file.error_cases.is_empty());
    let failures: Vec<String> = file
        .error_cases
        .iter()
        .filter_map(|case| match first_error(case) {
            Some(message) if message.contains(&case.error_contains) => None,
            Some(message) => Some(format!(
                "{}: error {message:?} does not contain {:?}",
                case.name, case.error_contains
            )),
            None => Some(format!("{}: no error", case.name)),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vector_file_is_complete_and_sourced() {
    let file = load();
    assert!(file.cases.len() >= 80, "only {} cases", file.cases.len());
    assert!(
        file.trust_cases.len() >= 10,
        "only {} trust cases",
        file.trust_cases.len()
    );
    let mut names: Vec<&str> = file
        .cases
        .iter()
        .map(|c| c.name.as_str())
        .chain(file.trust_cases.iter().map(|c| c.name.as_str()))
        .collect();
    for case in &file.cases {
        assert!(
            !case.source.trim().is_empty() && !case.why.trim().is_empty(),
            "{}",
            case.name
        );
    }
    for case in &file.trust_cases {
        assert!(
            !case.source.trim().is_empty() && !case.why.trim().is_empty(),
            "{}",
            case.name
        );
    }
    for case in &file.error_cases {
        assert!(
            !case.source.trim().is_empty() && !case.why.trim().is_empty(),
            "{}",
            case.name
        );
        names.push(case.name.as_str());
    }
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total, "case names must be unique");
    for expected in [Decision::Allowed, Decision::Denied, Decision::Unknown] {
        assert!(
            file.cases.iter().any(|c| c.expected == expected),
            "no {expected} case"
        );
        assert!(
            file.trust_cases.iter().any(|c| c.expected == expected),
            "no {expected} trust case"
        );
    }
}

/// Invariants of the combination rules, checked on every vector case: an unseen source can
/// only take "allowed" away; a certain `Deny *` anywhere always denies; a boundary that
/// allows everything changes nothing.
#[test]
fn combination_invariants_hold_on_every_vector_case() {
    let file = load();
    let deny_all = NamedPolicy::parse(
        "deny-all",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
    )
    .unwrap();
    let allow_all = NamedPolicy::parse(
        "allow-all",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )
    .unwrap();
    for case in &file.cases {
        let parse = |p: &PolicyRef| NamedPolicy::parse(p.name.clone(), &p.text().unwrap()).unwrap();
        let set = PolicySet {
            identity: case.policies.iter().map(parse).collect(),
            boundary: case.boundary.as_ref().map(parse),
            unseen: case.unseen.clone(),
        };
        let base = evaluate(&set, &case.request).decision;

        let mut unseen = set.clone();
        unseen.unseen.push("service control policies".into());
        let with_unseen = evaluate(&unseen, &case.request).decision;
        assert_ne!(with_unseen, Decision::Allowed, "{}", case.name);
        if base == Decision::Denied {
            assert_eq!(with_unseen, Decision::Denied, "{}", case.name);
        }

        let mut denied = set.clone();
        denied.identity.push(deny_all.clone());
        assert_eq!(
            evaluate(&denied, &case.request).decision,
            Decision::Denied,
            "{}",
            case.name
        );

        if set.boundary.is_none() {
            let mut bounded = set.clone();
            bounded.boundary = Some(allow_all.clone());
            assert_eq!(
                evaluate(&bounded, &case.request).decision,
                base,
                "{}",
                case.name
            );
        }
    }
}

// ---- parser edge cases ----

fn parse_err(text: &str) -> PolicyError {
    PolicyDocument::parse(text).expect_err(text)
}

#[test]
fn statement_may_be_an_object_and_elements_strings_or_arrays() {
    let one = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
    )
    .unwrap();
    let many = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#,
    )
    .unwrap();
    assert_eq!(one.statements[0].actions, many.statements[0].actions);
    assert_eq!(one.statements[0].resources, many.statements[0].resources);
}

#[test]
fn url_encoded_documents_are_decoded_only_when_encoded() {
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F100%25%22%7D%7D";
    let doc = PolicyDocument::parse(encoded).unwrap();
    assert_eq!(
        doc.statements[0].resources.as_ref().unwrap().patterns,
        ["arn:aws:s3:::b/100%"]
    );
    // A plain document keeps a literal %41 (it is not decoded).
    let plain = PolicyDocument::parse(
        r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/%41"}}"#,
    )
    .unwrap();
    assert_eq!(
        plain.statements[0].resources.as_ref().unwrap().patterns,
        ["arn:aws:s3:::b/%41"]
    );
    // Form encoding ('+' for spaces) as some encoders produce.
    let form = "%7B+%22Statement%22%3A+%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%7D";
    assert!(PolicyDocument::parse(form).is_ok());
    // Leading/trailing whitespace and a BOM are fine.
    assert!(PolicyDocument::parse(
        "\u{feff}\n {\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}}\n"
    )
    .is_ok());
}

#[test]
fn malformed_documents_give_errors_that_say_where() {
    assert!(matches!(
        parse_err("{\"Statement\": ["),
        PolicyError::Json(_)
    ));
    assert!(matches!(parse_err("Statement: x"), PolicyError::Json(_)));
    assert!(matches!(parse_err("[]"), PolicyError::Json(_)));
    assert!(matches!(
        PolicyDocument::from_value(&serde_json::json!([])),
        Err(PolicyError::Invalid { .. })
    ));
    let cases = [
        (r#"{"Version":"2012-10-17"}"#, "has no Statement"),
        (r#"{"Version":"2020-01-01","Statement":[]}"#, "Version"),
        (r#"{"Statement":[]}"#, "empty array"),
        (r#"{"Statment":[]}"#, "unknown element"),
        (
            r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
            "Statement.Effect",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            "neither Action nor NotAction",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}"#,
            "both Action and NotAction",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
            "neither Resource nor NotResource",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
            "service:ActionName",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"mybucket"}}"#,
            "neither \"*\" nor an ARN",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resources":"*"}]}"#,
            "Statement[1]",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":{"a":1}}}}}"#,
            "Condition.StringEquals.k",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":[]}}}}"#,
            "empty array",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
            "Statement.Action",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":[1]}}"#,
            "Statement.Resource[0]",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Servic":"x"}}}"#,
            "unknown principal type",
        ),
    ];
    for (text, needle) in cases {
        let message = parse_err(text).to_string();
        assert!(
            message.contains(needle),
            "{text}\n  gave: {message}\n  wanted: {needle}"
        );
    }
}

#[test]
fn unknown_operators_parse_and_evaluate_to_unknown_not_a_crash() {
    let policy = NamedPolicy::parse(
        "p",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
            "Condition":{"StringEqualz":{"aws:RequestedRegion":"us-east-1"}}}}"#,
    )
    .unwrap();
    let set = PolicySet {
        identity: vec![policy],
        ..PolicySet::default()
    };
    let request = Request::new("s3:GetObject", "arn:aws:s3:::b/k").context_complete();
    let result = evaluate(&set, &request);
    assert_eq!(result.decision, Decision::Unknown);
    assert!(result.reason.contains("StringEqualz"), "{}", result.reason);
}

#[test]
fn trust_policy_passed_as_identity_points_to_trust_file() {
    let text = documents::find("codebuild-trust").unwrap().text;
    let error = NamedPolicy::parse("trust.json", text).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("--trust-file"), "{message}");
    assert!(message.contains("trust.json"), "{message}");
    // And the evaluator refuses it too if it gets one anyway.
    let set = PolicySet {
        identity: vec![NamedPolicy {
            name: "trust.json".into(),
            document: PolicyDocument::parse(text).unwrap(),
        }],
        ..PolicySet::default()
    };
    let result = evaluate(&set, &Request::new("sts:AssumeRole", "*"));
    assert_eq!(result.decision, Decision::Unknown);
    assert!(result.reason.contains("--trust-file"));
    // The converse: an identity policy is not a trust policy.
    let identity = documents::find("sagemaker-domain").unwrap().text;
    assert!(PolicyDocument::parse_trust(identity)
        .unwrap_err()
        .to_string()
        .contains("--policy-file"));
    let r = check_trust(
        &PolicyDocument::parse(identity).unwrap(),
        "codebuild.amazonaws.com",
        "123456789012",
    );
    assert_eq!(r.decision, Decision::Unknown);
}

#[test]
fn invalid_requests_are_unknown_never_allowed() {
    let everything = NamedPolicy::parse(
        "admin",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )
    .unwrap();
    let set = PolicySet {
        identity: vec![everything],
        ..PolicySet::default()
    };
    for (action, resource) in [
        ("s3:GetObject", "mybucket"),
        ("s3:*", "*"),
        ("GetObject", "*"),
    ] {
        let result = evaluate(&set, &Request::new(action, resource));
        assert_eq!(result.decision, Decision::Unknown, "{action} {resource}");
        assert!(result.reason.contains("invalid request"));
    }
}

#[test]
fn evaluation_serializes_to_the_documented_shape() {
    let policy =
        NamedPolicy::parse("domain", documents::find("sagemaker-domain").unwrap().text).unwrap();
    let set = PolicySet {
        identity: vec![policy],
        ..PolicySet::default()
    };
    let result = evaluate(&set, &Request::new("sagemaker:CreateImage", "*"));
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["decision"], "allowed");
    assert!(json["reason"].as_str().unwrap().contains("statement 0"));
    assert_eq!(json["statement"]["policy"], "domain");
    assert_eq!(json["statement"]["index"], 0);
    assert_eq!(json["statement"]["sid"], Value::Null);
    assert_eq!(json["statement"]["statement"]["Effect"], "Allow");
    let denied = evaluate(&set, &Request::new("sagemaker:DeleteDomain", "*"));
    let json = serde_json::to_value(&denied).unwrap();
    assert_eq!(json["decision"], "denied");
    assert_eq!(json["statement"], Value::Null);
}

/// Prints every case's decision and reason (run with `--ignored --nocapture` to review).
#[test]
#[ignore]
fn dump_vector_reasons() {
    let file = load();
    for case in &file.cases {
        let parse = |p: &PolicyRef| NamedPolicy::parse(p.name.clone(), &p.text().unwrap()).unwrap();
        let set = PolicySet {
            identity: case.policies.iter().map(parse).collect(),
            boundary: case.boundary.as_ref().map(parse),
            unseen: case.unseen.clone(),
        };
        let r = evaluate(&set, &case.request);
        println!("{} => {} | {}", case.name, r.decision, r.reason);
    }
    for case in &file.trust_cases {
        let trust = PolicyDocument::parse_trust(&case.trust.text().unwrap()).unwrap();
        let request = TrustRequest {
            source_arn: case.source_arn.clone(),
            ..TrustRequest::new(case.service.clone(), case.account.clone())
        };
        let r = check_trust_request(&trust, &request);
        println!("trust {} => {} | {}", case.name, r.decision, r.reason);
    }
}
