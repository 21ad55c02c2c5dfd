//! `sm-kernel permissions show|evaluate|check|apply`: the glue between the CLI, the
//! evaluator, the Plan and IAM. Returns what to print; `main.rs` prints it.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::check::{self, CheckReport, Sources, TrustSource};
use super::documents::{self, PolicyKind, POLICY_FILES};
use super::{evaluate, Decision, NamedPolicy, PolicyDocument, PolicySet, Request};
use crate::aws::{self, iam::Iam, iam::Read, Target};
use crate::cli::{ApplyArgs, EvaluateArgs, OutputFormat, ShowArgs};
use crate::error::Error;
use crate::plan::Plan;

/// Fixed inline policy names, so `apply` updates its own policies and nothing else.
pub const INLINE_NAMES: [(&str, &str); 3] = [
    ("codebuild-permissions", "sm-kernel-codebuild-permissions"),
    ("sagemaker-domain", "sm-kernel-sagemaker-domain"),
    ("sm-kernel-extras", "sm-kernel-extras"),
];

fn read_file(flag: &str, path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("{flag}: cannot read {}: {e}", path.display())))
}

pub fn show(args: &ShowArgs, region: Option<&str>, format: OutputFormat) -> Result<String, Error> {
    let chosen: Vec<&documents::PolicyFile> = if args.names.is_empty() {
        POLICY_FILES.iter().collect()
    } else {
        args.names
            .iter()
            .map(|n| {
                documents::find(n).ok_or_else(|| {
                    Error::input(format!(
                        "NAME: no policy document {n:?}; choose from {}",
                        POLICY_FILES
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if let Some(a) = &args.account {
        crate::names::account_id("--account", a)?;
    }
    let mut docs = Vec::new();
    for f in chosen {
        let text = match &args.account {
            Some(account) => {
                documents::substitute_account_region(f.text, account, region.unwrap_or("*"))
                    .map_err(|e| Error::input(format!("--account/--region: {e}")))?
            }
            None => f.text.to_string(),
        };
        docs.push((f, text));
    }
    Ok(match args.format.unwrap_or(format) {
        OutputFormat::Json => {
            let mut out = serde_json::Map::new();
            for (f, text) in docs {
                let doc: Value = serde_json::from_str(&text).expect("embedded policies are JSON");
                out.insert(
                    f.name.to_string(),
                    json!({"path": f.path, "kind": match f.kind { PolicyKind::Trust => "trust", PolicyKind::Identity => "identity" }, "purpose": f.purpose, "document": doc}),
                );
            }
            serde_json::to_string_pretty(&Value::Object(out)).expect("serialises")
        }
        OutputFormat::Text => {
            let mut s = String::new();
            for (f, text) in docs {
                let kind = match f.kind {
                    PolicyKind::Trust => "trust policy: add to the role's trust relationships",
                    PolicyKind::Identity => "permissions policy: attach to the role",
                };
                s.push_str(&format!(
                    "== {} ({}; {kind})\n{}\n\n{}\n\n",
                    f.name,
                    f.path,
                    f.purpose,
                    text.trim_end()
                ));
            }
            s.push_str(documents::NEEDS_NO_PERMISSION);
            s.push('\n');
            s
        }
    })
}

fn load_identity(files: &[PathBuf]) -> Result<Vec<NamedPolicy>, Error> {
    files
        .iter()
        .map(|f| {
            let text = read_file("--policy-file", f)?;
            NamedPolicy::parse(f.display().to_string(), &text)
                .map_err(|e| Error::input(format!("--policy-file {}: {e}", f.display())))
        })
        .collect()
}

fn split_kv(flag: &str, s: &str) -> Result<(String, String), Error> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| {
            Error::input(format!(
                "{flag}: {s:?} is not KEY=VALUE (e.g. iam:PassedToService=codebuild.amazonaws.com)"
            ))
        })
}

pub fn evaluate_one(args: &EvaluateArgs, format: OutputFormat) -> Result<String, Error> {
    let identity = load_identity(&args.policy_files)?;
    let boundary = match &args.boundary_file {
        None => None,
        Some(f) => Some(
            NamedPolicy::parse(f.display().to_string(), &read_file("--boundary-file", f)?)
                .map_err(|e| Error::input(format!("--boundary-file {}: {e}", f.display())))?,
        ),
    };
    let mut request = Request::new(&args.action, &args.resource);
    for kv in &args.context {
        let (k, v) = split_kv("--context", kv)?;
        request.context.entry(k).or_default().push(v);
    }
    request.absent = args.absent.clone();
    request.context_complete = args.context_complete;
    request
        .validate()
        .map_err(|e| Error::input(format!("--action/--resource/--context: {e}")))?;
    let set = PolicySet {
        identity,
        boundary,
        unseen: args.unseen.clone(),
    };
    let e = evaluate(&set, &request);
    Ok(match format {
        OutputFormat::Json => serde_json::to_string_pretty(&e).expect("serialises"),
        OutputFormat::Text => {
            let mut s = format!("{}: {}\n", e.decision, e.reason);
            if let Some(m) = &e.statement {
                s.push_str(&format!(
                    "statement {} of {}{}:\n{}\n",
                    m.index,
                    m.policy,
                    m.sid
                        .as_ref()
                        .map(|s| format!(" (Sid {s})"))
                        .unwrap_or_default(),
                    serde_json::to_string_pretty(&m.statement).expect("serialises")
                ));
            }
            s
        }
    })
}

/// Offline sources from files: every principal is evaluated against the same documents.
pub fn file_sources(policy_files: &[PathBuf], trust_files: &[PathBuf]) -> Result<Sources, Error> {
    let identity = load_identity(policy_files)?;
    let mut described = vec![format!(
        "policies (offline, for the caller, build role and image role alike): {}",
        policy_files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let trust = if trust_files.is_empty() {
        described.push("trust: no --trust-file given, so the trust needs are unknown".into());
        TrustSource::Unavailable("no --trust-file was given".into())
    } else {
        let mut statements = Vec::new();
        for f in trust_files {
            let doc = PolicyDocument::parse_trust(&read_file("--trust-file", f)?)
                .map_err(|e| Error::input(format!("--trust-file {}: {e}", f.display())))?;
            statements.extend(doc.statements);
        }
        described.push(format!(
            "trust: {}",
            trust_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        TrustSource::Files(PolicyDocument {
            version: Some("2012-10-17".into()),
            id: None,
            statements,
        })
    };
    described.push(
        "decisions are relative to these files: SCPs, boundaries and resource policies are not considered offline".into(),
    );
    let set = PolicySet {
        identity,
        boundary: None,
        unseen: vec![],
    };
    Ok(Sources {
        caller: set.clone(),
        role: set,
        trust,
        described,
        ..Sources::default()
    })
}

/// Online sources: one role for every kernel (the check refuses kernels with different roles,
/// since each would need its own reads).
pub async fn online_sources(plan: &Plan, cfg: &aws_config::SdkConfig) -> Result<Sources, Error> {
    let role = plan
        .kernels
        .first()
        .map(|k| k.resources.role_arn.clone())
        .ok_or_else(|| Error::input("no kernel to check"))?;
    if plan.kernels.iter().any(|k| k.resources.role_arn != role) {
        return Err(Error::input(
            "the selected kernels use different roles; check them one at a time (sm-kernel permissions check KERNEL)",
        ));
    }
    let iam = Iam::new(cfg);
    let calls: Vec<&crate::plan::Call> = plan
        .kernels
        .iter()
        .flat_map(|k| k.steps.iter().flat_map(|s| s.calls.iter()))
        .collect();
    super::online::sources(&iam, &role, &calls).await
}

/// [`online_sources`] for the synchronous `permissions check` command.
pub fn online_sources_blocking(plan: &Plan, target: &Target) -> Result<Sources, Error> {
    let rt = aws::runtime()?;
    rt.block_on(async {
        let cfg = aws::load(target).await;
        online_sources(plan, &cfg).await
    })
}

pub fn render_check(report: &CheckReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => serde_json::to_string_pretty(report).expect("serialises"),
        OutputFormat::Text => check::render_text(report),
    }
}

/// Exit status of a check: 3 when a need that publish cannot do without is denied, or,
/// with `--strict`, unknown.
pub fn check_outcome(report: &CheckReport, strict: bool) -> Result<(), Error> {
    let denied = report.blocking_denied();
    if denied > 0 {
        return Err(Error::Permissions(format!(
            "{denied} permission need{} denied; see \"Not allowed, and why\" above (sm-kernel permissions show prints the policies that grant them)",
            if denied == 1 { " is" } else { "s are" }
        )));
    }
    if strict && report.any_unknown() {
        return Err(Error::Permissions(
            "some permission needs are unknown and --strict was given".into(),
        ));
    }
    Ok(())
}

/// What `apply` would change on the role, as readable lines, plus the new documents.
struct ApplyPlan {
    lines: Vec<String>,
    new_trust: Option<String>,
    inline: Vec<(String, String)>,
}

fn plan_apply(
    role_arn: &str,
    trust: Option<&str>,
    existing_inline: &[(String, String)],
) -> Result<ApplyPlan, Error> {
    let account = role_arn.split(':').nth(4).unwrap_or_default().to_string();
    let mut lines = Vec::new();
    let trust_value: Value = match trust {
        Some(t) => super::policy::decode_json(t)
            .map_err(|e| Error::failed(format!("the role's trust policy: {e}")))?,
        None => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let trust_doc = PolicyDocument::from_value(&trust_value)
        .map_err(|e| Error::failed(format!("the role's trust policy: {e}")))?;
    let new_trust = if super::check_trust(&trust_doc, "codebuild.amazonaws.com", &account).decision
        == Decision::Allowed
    {
        lines.push(
            "trust policy: already lets codebuild.amazonaws.com assume the role; unchanged".into(),
        );
        None
    } else {
        let seed: Value =
            serde_json::from_str(POLICY_FILES[0].text).expect("embedded trust is JSON");
        let mut merged = trust_value.clone();
        let statements = match merged.get_mut("Statement") {
            Some(Value::Array(a)) => a,
            Some(other) => {
                let one = other.take();
                merged["Statement"] = Value::Array(vec![one]);
                merged["Statement"].as_array_mut().expect("just set")
            }
            None => {
                merged["Statement"] = Value::Array(vec![]);
                merged["Statement"].as_array_mut().expect("just set")
            }
        };
        let mut add = seed["Statement"][0].clone();
        add["Sid"] = json!("SmKernelCodeBuildAssumeRole");
        statements.push(add);
        lines.push("trust policy: add a statement letting codebuild.amazonaws.com assume the role (every existing statement kept)".into());
        Some(serde_json::to_string_pretty(&merged).expect("serialises"))
    };
    let mut inline = Vec::new();
    for (short, name) in INLINE_NAMES {
        let file = documents::find(short).expect("embedded");
        let text = documents::substitute_account_region(file.text, &account, "*")
            .map_err(|e| Error::failed(e.to_string()))?;
        let compact: Value = serde_json::from_str(&text).expect("JSON");
        match existing_inline.iter().find(|(n, _)| n == name) {
            Some((_, current)) => {
                let same = super::policy::decode_json(current).ok() == Some(compact.clone());
                if same {
                    lines.push(format!(
                        "inline policy {name}: already up to date; unchanged"
                    ));
                    continue;
                }
                lines.push(format!("inline policy {name}: replace sm-kernel's earlier version with the current one"));
            }
            None => lines.push(format!("inline policy {name}: add ({})", file.path)),
        }
        inline.push((
            name.to_string(),
            serde_json::to_string(&compact).expect("serialises"),
        ));
    }
    Ok(ApplyPlan {
        lines,
        new_trust,
        inline,
    })
}

pub fn apply(args: &ApplyArgs, target: &Target) -> Result<String, Error> {
    let name = super::online::role_name(&args.role).to_string();
    crate::names::role_arn("--role", &format!("arn:aws:iam::000000000000:role/{name}")).map_err(
        |_| {
            Error::input(format!(
                "--role: {:?} is not a role name or role ARN",
                args.role
            ))
        },
    )?;
    let rt = aws::runtime()?;
    rt.block_on(async {
        let cfg = aws::load(target).await;
        let iam = Iam::new(&cfg);
        let role = match iam.get_role(&name).await? {
            Read::Ok(r) => r,
            Read::Denied(why) => {
                return Err(Error::failed(format!("cannot read role {name}: {why}")))
            }
        };
        let inline = match iam.inline_policies(&name).await? {
            Read::Ok(v) => v,
            Read::Denied(why) => {
                return Err(Error::failed(format!(
                    "cannot read the inline policies of {name}: {why}"
                )))
            }
        };
        let plan = plan_apply(&role.arn, role.trust_policy.as_deref(), &inline)?;
        let mut out = format!("role {}\n", role.arn);
        for l in &plan.lines {
            out.push_str(&format!("  {l}\n"));
        }
        if plan.new_trust.is_none() && plan.inline.is_empty() {
            out.push_str("nothing to change\n");
            return Ok(out);
        }
        if !args.yes {
            out.push_str("dry run: nothing changed; run again with --yes to apply\n");
            return Ok(out);
        }
        if let Some(t) = &plan.new_trust {
            iam.update_trust(&name, t).await?;
        }
        for (n, doc) in &plan.inline {
            iam.put_inline(&name, n, doc).await?;
        }
        out.push_str("applied\n");
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/Exec";

    #[test]
    fn apply_adds_codebuild_and_keeps_existing_trust() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let p = plan_apply(ROLE, Some(trust), &[]).unwrap();
        let merged: Value = serde_json::from_str(p.new_trust.as_ref().unwrap()).unwrap();
        let st = merged["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[0]["Principal"]["Service"], "sagemaker.amazonaws.com");
        assert_eq!(p.inline.len(), 3);
        // Resource ARNs are narrowed to the role's account (the domain policy has only "*").
        let build = &p
            .inline
            .iter()
            .find(|(n, _)| n == "sm-kernel-codebuild-permissions")
            .unwrap()
            .1;
        assert!(
            build.contains("arn:aws:codebuild:*:123456789012:project/sagemaker-studio*"),
            "{build}"
        );
    }

    #[test]
    fn apply_is_idempotent() {
        let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["sagemaker.amazonaws.com","codebuild.amazonaws.com"]},"Action":"sts:AssumeRole"}}"#;
        let first = plan_apply(ROLE, Some(trust), &[]).unwrap();
        assert!(first.new_trust.is_none());
        let again = plan_apply(ROLE, Some(trust), &first.inline).unwrap();
        assert!(again.inline.is_empty(), "{:?}", again.lines);
    }
}
