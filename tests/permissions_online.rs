//! `permissions check` and `permissions apply` against the local sandbox (moto's IAM and
//! STS; moto has no policy simulator, so the fallback of reading policies runs for real).

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::Sandbox;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Exec";
const SAGEMAKER_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn sm(sb: &Sandbox) -> Command {
    sb.sm_kernel()
}

fn make_role(sb: &Sandbox, trust: &str, policies: &[&str]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = sb.sdk_config(&rt);
    let iam = aws_sdk_iam::Client::new(&cfg);
    rt.block_on(async {
        iam.create_role()
            .role_name("Exec")
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        for p in policies {
            let text = std::fs::read_to_string(format!("policies/{p}.json")).unwrap();
            iam.put_role_policy()
                .role_name("Exec")
                .policy_name(*p)
                .policy_document(text)
                .send()
                .await
                .unwrap();
        }
    });
}

fn check(sb: &Sandbox, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = sm(sb)
        .args([
            "--output",
            "json",
            "permissions",
            "check",
            "--config",
            "examples/python/kernel.toml",
            "--role",
            ROLE_ARN,
        ])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn decision_of<'a>(
    v: &'a serde_json::Value,
    principal: &str,
    action: &str,
) -> Vec<&'a serde_json::Value> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["principal"] == principal && r["action"] == action)
        .collect()
}

#[test]
fn online_check_reads_the_role_and_never_claims_what_it_cannot_see() {
    let sb = Sandbox::start();
    let both = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["sagemaker.amazonaws.com","codebuild.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
    make_role(
        &sb,
        both,
        &[
            "codebuild-permissions",
            "sagemaker-domain",
            "sm-kernel-extras",
        ],
    );
    let (code, v, stderr) = check(&sb, &[]);
    assert_eq!(code, 0, "{stderr}\n{v:#}");
    assert_eq!(v["denied"], 0, "{v:#}");
    // The trust policy was read whole, so both services are decided.
    let trust: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "sts:AssumeRole")
        .collect();
    assert!(
        trust.iter().all(|r| r["decision"] == "allowed"),
        "{trust:#?}"
    );
    // moto has no policy simulator: SCPs are unseen, so nothing the role needs is "allowed".
    for r in v["results"].as_array().unwrap() {
        if r["principal"] == "build-role" || r["principal"] == "image-role" {
            assert_eq!(r["decision"], "unknown", "{r:#}");
            assert!(
                r["reason"]
                    .as_str()
                    .unwrap()
                    .contains("service control policies"),
                "{r:#}"
            );
        }
    }
    // moto's caller is an IAM user: its needs are unknown with the reason, never allowed.
    let caller = decision_of(&v, "caller", "sagemaker:UpdateDomain");
    assert_eq!(caller[0]["decision"], "unknown");
    assert!(caller[0]["reason"].as_str().unwrap().contains("not a role"));
    // Every call made is one the Plan declares for the preflight.
    let declared = [
        "GetCallerIdentity",
        "GetRole",
        "ListRolePolicies",
        "GetRolePolicy",
        "ListAttachedRolePolicies",
        "GetPolicy",
        "GetPolicyVersion",
        "SimulatePrincipalPolicy",
    ];
    let made: Vec<String> = sb
        .requests()
        .iter()
        .filter(|r| {
            r["service"] != "iam"
                || !matches!(
                    r["operation"].as_str(),
                    Some("CreateRole" | "PutRolePolicy")
                )
        })
        .map(|r| r["operation"].as_str().unwrap_or("?").to_string())
        .collect();
    assert!(!made.is_empty());
    for op in &made {
        assert!(
            declared.contains(&op.as_str()),
            "undeclared call {op}: {made:?}"
        );
    }
    assert!(
        made.iter().any(|o| o == "SimulatePrincipalPolicy"),
        "the simulator was not tried: {made:?}"
    );
}

#[test]
fn online_check_names_what_the_role_lacks() {
    let sb = Sandbox::start();
    make_role(
        &sb,
        SAGEMAKER_TRUST,
        &["codebuild-permissions", "sagemaker-domain"],
    );
    let (code, v, _) = check(&sb, &[]);
    assert_eq!(code, 3, "{v:#}");
    let pull = decision_of(&v, "image-role", "ecr:GetDownloadUrlForLayer");
    assert_eq!(pull[0]["decision"], "denied", "{pull:#?}");
    let trust: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["principal"]["trust"] == "codebuild.amazonaws.com")
        .collect();
    assert_eq!(trust[0]["decision"], "denied", "{trust:#?}");
}

#[test]
fn online_check_of_a_missing_role_is_bad_input() {
    let sb = Sandbox::start();
    let (code, _, stderr) = check(&sb, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn apply_shows_then_adds_without_removing_anything() {
    let sb = Sandbox::start();
    make_role(&sb, SAGEMAKER_TRUST, &[]);
    sm(&sb)
        .args(["permissions", "apply", "--role", "Exec"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("nothing changed")
                .and(predicate::str::contains("codebuild.amazonaws.com")),
        );
    // Nothing changed yet: CodeBuild is still not trusted.
    let (_, v, _) = check(&sb, &[]);
    let cb: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["principal"]["trust"] == "codebuild.amazonaws.com")
        .collect();
    assert_eq!(cb[0]["decision"], "denied");

    sm(&sb)
        .args(["permissions", "apply", "--role", ROLE_ARN, "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("applied"));
    let (code, v, stderr) = check(&sb, &[]);
    assert_eq!(code, 0, "{stderr} {v:#}");
    let trust: Vec<_> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "sts:AssumeRole")
        .collect();
    assert!(
        trust.iter().all(|r| r["decision"] == "allowed"),
        "sagemaker trust kept and codebuild added: {trust:#?}"
    );

    sm(&sb)
        .args(["permissions", "apply", "--role", "Exec", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to change"));
}
