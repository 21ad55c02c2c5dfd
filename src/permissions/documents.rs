//! The prerequisite IAM documents shipped in `policies/`, embedded in the binary.
//!
//! The first three are the seed's documents unchanged; `sm-kernel-extras.json` holds only
//! what the pipeline calls beyond them, one `Sid` per pipeline step. The files use `*` for
//! region and account so they work anywhere; [`substitute_account_region`] narrows them to
//! one account and region for `permissions show`/`apply`.
//!
//! `sts:GetCallerIdentity` (used to learn the account) needs no permission: AWS answers it
//! for any valid credentials, even when a policy denies it, so no statement grants it.

use serde_json::Value;

use super::policy::PolicyError;

/// Whether a document is a role trust policy or a permissions (identity) policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Trust,
    Identity,
}

/// One embedded document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyFile {
    /// Short name, used on the command line (`permissions show NAME`).
    pub name: &'static str,
    /// Path from the repository root.
    pub path: &'static str,
    pub kind: PolicyKind,
    /// One paragraph for help and README text.
    pub purpose: &'static str,
    /// The document as shipped.
    pub text: &'static str,
}

/// Note for README-facing text: calls that need no statement.
pub const NEEDS_NO_PERMISSION: &str = "sts:GetCallerIdentity needs no IAM permission: AWS answers it for any valid \
credentials (even when a policy denies it), so sm-kernel uses it to learn the account and no policy grants it.";

/// The four documents, in the order a user should apply them.
pub const POLICY_FILES: [PolicyFile; 4] = [
    PolicyFile {
        name: "codebuild-trust",
        path: "policies/codebuild-trust.json",
        kind: PolicyKind::Trust,
        purpose: "Trust relationship for the SageMaker execution role: lets AWS CodeBuild \
(codebuild.amazonaws.com) assume the role, because the image build runs as that role. Add it \
to the role's existing trust policy (keep sagemaker.amazonaws.com, which Studio and CreateImage need).",
        text: include_str!("../../policies/codebuild-trust.json"),
    },
    PolicyFile {
        name: "codebuild-permissions",
        path: "policies/codebuild-permissions.json",
        kind: PolicyKind::Identity,
        purpose: "What building the image needs, as published with the original tool: create, \
start and delete the temporary CodeBuild project (sagemaker-studio*), write and read its \
CloudWatch logs, create the ECR repository and push to it (sagemaker-studio*), upload the build \
context to the sagemaker-* bucket, read roles, and pass the role to CodeBuild.",
        text: include_str!("../../policies/codebuild-permissions.json"),
    },
    PolicyFile {
        name: "sagemaker-domain",
        path: "policies/sagemaker-domain.json",
        kind: PolicyKind::Identity,
        purpose: "What registering the image needs, as published with the original tool: create \
the SageMaker image, its version and the app-image-config, and update the Studio domain so the \
kernel appears in Studio.",
        text: include_str!("../../policies/sagemaker-domain.json"),
    },
    PolicyFile {
        name: "sm-kernel-extras",
        path: "policies/sm-kernel-extras.json",
        kind: PolicyKind::Identity,
        purpose: "What sm-kernel needs beyond the two published policies, one Sid per step: pass \
the role to SageMaker for CreateImage and UpdateImage; update an image whose settings changed; let \
SageMaker pull the pushed image's layers when it creates the image version; tag the image, \
app-image-config and repository at creation (--tag); read ECR's scan findings for the scan gate \
(and start a scan where the repository does not scan on push); use a kms-key through S3 for the \
context upload and its download by the build; wait for the image, version, \
app-image-config and domain by describing them; list apps to report one that blocks \
UpdateDomain; check the bucket before uploading and abort a failed multipart upload; stop the \
build on Ctrl-C; and read the role's policies for the online permission check. sts:GetCallerIdentity needs no permission.",
        text: include_str!("../../policies/sm-kernel-extras.json"),
    },
];

/// Finds an embedded document by short name (`sm-kernel-extras`) or path.
pub fn find(name: &str) -> Option<&'static PolicyFile> {
    POLICY_FILES
        .iter()
        .find(|f| f.name == name || f.path == name || f.path.ends_with(&format!("/{name}")))
}

/// Returns `text` with the `*` region and account fields of every ARN in `Resource` and
/// `NotResource` replaced by `region` and `account`; everything else is kept (key order
/// included). ARNs whose region or account is empty (S3, IAM) or named (`aws` in
/// `arn:aws:iam::aws:policy/...`) keep it. Output is 4-space indented JSON.
pub fn substitute_account_region(
    text: &str,
    account: &str,
    region: &str,
) -> Result<String, PolicyError> {
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(PolicyError::Substitute(format!(
            "account {account:?} must be 12 digits"
        )));
    }
    // "*" keeps the region open, e.g. when the caller knows only the account.
    let region_ok = region == "*"
        || !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !region_ok {
        return Err(PolicyError::Substitute(format!(
            "region {region:?} must look like us-east-1"
        )));
    }
    let mut value = super::policy::decode_json(text)?;
    // Validate as a policy first, so only well-formed documents are rewritten.
    super::policy::PolicyDocument::from_value(&value)?;
    match value.get_mut("Statement") {
        Some(Value::Array(statements)) => {
            for statement in statements {
                substitute_statement(statement, account, region);
            }
        }
        Some(statement @ Value::Object(_)) => substitute_statement(statement, account, region),
        _ => {}
    }
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut serializer)
        .map_err(|e| PolicyError::Substitute(e.to_string()))?;
    let mut text = String::from_utf8(out).map_err(|e| PolicyError::Substitute(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

fn substitute_statement(statement: &mut Value, account: &str, region: &str) {
    for key in ["Resource", "NotResource"] {
        match statement.get_mut(key) {
            Some(Value::String(arn)) => *arn = substitute_arn(arn, account, region),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::String(arn) = item {
                        *arn = substitute_arn(arn, account, region);
                    }
                }
            }
            _ => {}
        }
    }
}

fn substitute_arn(arn: &str, account: &str, region: &str) -> String {
    let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return arn.to_string();
    }
    if parts[3] == "*" {
        parts[3] = region;
    }
    if parts[4] == "*" {
        parts[4] = account;
    }
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::super::policy::PolicyDocument;
    use super::*;

    #[test]
    fn every_embedded_document_parses_as_its_kind() {
        for file in POLICY_FILES {
            let parsed = match file.kind {
                PolicyKind::Trust => PolicyDocument::parse_trust(file.text),
                PolicyKind::Identity => PolicyDocument::parse_identity(file.text),
            };
            assert!(parsed.is_ok(), "{}: {:?}", file.path, parsed.err());
            assert!(!file.purpose.is_empty());
            assert_eq!(find(file.name).map(|f| f.path), Some(file.path));
        }
        assert!(find("sm-kernel-extras.json").is_some());
        assert!(find("nope").is_none());
    }

    #[test]
    fn extras_statements_all_have_a_sid() {
        let doc = PolicyDocument::parse(find("sm-kernel-extras").unwrap().text).unwrap();
        let mut sids: Vec<_> = doc
            .statements
            .iter()
            .map(|s| s.sid.clone().unwrap())
            .collect();
        let count = sids.len();
        sids.dedup();
        assert_eq!(sids.len(), count);
        assert!(sids.iter().any(|s| s.starts_with("PermissionCheck")));
    }

    #[test]
    fn substitution_fills_only_star_fields_of_resource_arns() {
        let text = find("codebuild-permissions").unwrap().text;
        let out = substitute_account_region(text, "123456789012", "eu-west-1").unwrap();
        assert!(
            out.contains("\"arn:aws:codebuild:eu-west-1:123456789012:project/sagemaker-studio*\"")
        );
        assert!(out.contains("\"arn:aws:iam::123456789012:role/*\""));
        assert!(out.contains("\"arn:aws:s3:::sagemaker-*/*\""));
        assert!(out.contains("\"Resource\": \"*\""));
        assert!(out.contains("\"StringLikeIfExists\""));
        let extras = substitute_account_region(
            find("sm-kernel-extras").unwrap().text,
            "123456789012",
            "eu-west-1",
        )
        .unwrap();
        assert!(extras.contains("\"arn:aws:iam::aws:policy/*\""));
        assert!(extras.contains("\"arn:aws:iam::123456789012:policy/*\""));
        // Same statements, same order: only resource strings changed.
        let before = PolicyDocument::parse(text).unwrap();
        let after = PolicyDocument::parse(&out).unwrap();
        assert_eq!(before.statements.len(), after.statements.len());
        for (b, a) in before.statements.iter().zip(&after.statements) {
            assert_eq!(b.actions, a.actions);
            assert_eq!(b.conditions, a.conditions);
        }
        assert!(substitute_account_region(text, "12345", "eu-west-1").is_err());
        assert!(substitute_account_region(text, "123456789012", "").is_err());
    }
}
