//! The Plan: plain data built from the resolved kernels and their packaged contexts, before
//! any network call. The dry run prints it, the permission check evaluates its needs and the
//! pipeline executes its steps, so the three can never disagree about what will happen.

pub mod artifacts;
pub mod render;
pub mod requests;
pub mod resources;
pub mod steps;

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::buildspec::{self, BuildspecInputs, CheckInputs};
use crate::config::{App, Kernel};
use crate::context::{self, ContextSource, Listing, PackReport};
use crate::error::Error;
use crate::names;
pub use resources::Resources;
pub use steps::{Call, Principal, Step, StepId};

/// Bumped when plan.json changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Plan {
    pub generator: String,
    pub format_version: u32,
    pub kernels: Vec<KernelPlan>,
}

#[derive(Debug, Serialize)]
pub struct KernelPlan {
    pub name: String,
    pub app: App,
    pub resources: Resources,
    pub context: ContextSummary,
    pub steps: Vec<Step>,
    pub requests: Requests,
    /// Things the user should know before publishing: names outside the published policy,
    /// symlinks leaving the context, files that look like credentials.
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub buildspec: String,
}

#[derive(Debug, Serialize)]
pub struct ContextSummary {
    pub dir: String,
    /// The Dockerfile on disk; `dockerfile` in the report is its path inside the zip.
    pub dockerfile_path: String,
    #[serde(flatten)]
    pub report: PackReport,
}

#[derive(Debug, Serialize)]
pub struct Requests {
    pub create_image: Value,
    pub create_image_version: Value,
    pub create_app_image_config: Value,
    /// Computed against an empty list because a plan reads nothing from AWS; a publish reads
    /// the domain first and keeps every other entry.
    pub domain_update: Value,
    /// `UpdateDomain`, or `UpdateUserProfile` when the kernel goes to one user profile.
    pub domain_update_operation: &'static str,
    pub domain_update_note: &'static str,
    /// Every settings update the kernel needs, `domain_update` first: a kernel with a
    /// `user-profile` and `space-settings` needs an UpdateUserProfile and an UpdateDomain.
    pub domain_updates: Vec<SettingsUpdate>,
}

/// One UpdateDomain or UpdateUserProfile request body.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsUpdate {
    pub operation: &'static str,
    pub request: Value,
}

pub const DOMAIN_UPDATE_NOTE: &str = "computed against unknown current settings: the plan makes no AWS call, so it shows the list as if the domain had no other custom images; publish reads the domain first and keeps every other entry in place";

/// A kernel whose context has been scanned (all bad input found) but not yet packed.
pub struct Scanned {
    pub kernel: Kernel,
    pub listing: Listing,
}

/// Scans every kernel's context first, so a bad context in the last kernel is reported before
/// anything is packed or written.
pub fn scan_all(kernels: Vec<Kernel>) -> Result<Vec<Scanned>, Error> {
    kernels
        .into_iter()
        .map(|kernel| {
            let listing = context::scan(&ContextSource {
                context_dir: kernel.context_dir.clone(),
                dockerfile: kernel.dockerfile.clone(),
            })?;
            Ok(Scanned { kernel, listing })
        })
        .collect()
}

/// Builds one kernel's plan, packing its context into `zip_out` (a file for `--out`, a sink
/// otherwise) because the context digest names the upload and the image tag.
pub fn plan_kernel<W: Write>(scanned: &Scanned, zip_out: W) -> Result<KernelPlan, Error> {
    let k = &scanned.kernel;
    let report = context::pack(&scanned.listing, zip_out).map_err(|e| {
        // Keep the exit code the context error implies (a file made unreadable since the
        // scan is still the user's to fix), and say which kernel it was.
        match Error::from(e) {
            Error::Input(m) => Error::Input(format!("kernel {:?}: {m}", k.name)),
            other => Error::failed(format!("packing the context of {:?}: {other}", k.name)),
        }
    })?;
    let dockerfile_in_zip = scanned.listing.dockerfile_in_zip().to_string();
    let buildspec = buildspec::render(&BuildspecInputs {
        dockerfile_in_zip: &dockerfile_in_zip,
        build_args: &k.build_args,
        registries: &k.registries,
        checks: k.build.checks.then(|| check_inputs(k)),
        cache_repository: k.build.build_cache.then_some(k.repository.as_str()),
        secrets: &k.build.secrets,
    });
    let res = Resources::derive(k, &report.digest, &buildspec);
    let steps = steps::steps(k, &res);

    let mut warnings = policy_scope_warnings(k);
    warnings.extend(report.scan.warnings.iter().map(ToString::to_string));

    let domain_updates: Vec<SettingsUpdate> = requests::kernel_settings_updates(k)
        .into_iter()
        .map(|(operation, request)| SettingsUpdate { operation, request })
        .collect();
    let requests = Requests {
        create_image: requests::create_image(k),
        create_image_version: requests::create_image_version(k, &res),
        create_app_image_config: requests::create_app_image_config(k),
        domain_update_operation: requests::attach_operation(k),
        domain_update: domain_updates[0].request.clone(),
        domain_update_note: DOMAIN_UPDATE_NOTE,
        domain_updates,
    };
    Ok(KernelPlan {
        name: k.name.clone(),
        app: k.app,
        context: ContextSummary {
            dir: k.context_dir.display().to_string(),
            dockerfile_path: k.dockerfile.display().to_string(),
            report,
        },
        resources: res,
        steps,
        requests,
        warnings,
        buildspec,
    })
}

/// What the in-image checks compare the built image with: the values the app image config
/// declares for it.
fn check_inputs(k: &Kernel) -> CheckInputs<'_> {
    CheckInputs {
        app: k.app,
        kernel_specs: k.kernel_specs.iter().map(|s| s.name.as_str()).collect(),
        entrypoint: k
            .container
            .as_ref()
            .and_then(|c| c.entrypoint.first())
            .map(String::as_str),
        uid: k.uid,
        gid: k.gid,
        mount_path: &k.mount_path,
        skip: &k.build.checks_skip,
    }
}

/// Names outside the seed policy's patterns are allowed, but the published least-privilege
/// policy will not cover them; say so before anything fails on AWS.
fn policy_scope_warnings(k: &Kernel) -> Vec<String> {
    let mut w = Vec::new();
    if !names::bucket_in_seed_policy(&k.bucket) {
        w.push(format!(
            "bucket {:?} is outside the published policy's arn:aws:s3:::sagemaker-* pattern: the role needs S3 permissions on it beyond policies/codebuild-permissions.json, and sm-kernel will not create it",
            k.bucket
        ));
    }
    if !names::repository_in_seed_policy(&k.repository) {
        w.push(format!(
            "repository {:?} is outside the published policy's repository/sagemaker-studio* pattern: the role needs ECR permissions on it beyond policies/codebuild-permissions.json",
            k.repository
        ));
    }
    if !names::project_in_seed_policy(&k.project) {
        w.push(format!(
            "project {:?} is outside the published policy's project/sagemaker-studio* pattern (and so is its log group /aws/codebuild/{}): the role needs CodeBuild and Logs permissions beyond policies/codebuild-permissions.json",
            k.project, k.project
        ));
    }
    if !k.registries.is_empty() {
        w.push(format!(
            "pulling from extra registries ({}) needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on their repositories, which the published policy does not grant; those registries must also allow this account",
            k.registries.join(", ")
        ));
    }
    if k.vpc.is_some() {
        w.push("a build in a VPC needs the ec2 network-interface permissions CodeBuild documents, which the published policy does not grant".to_string());
    }
    w
}

impl Plan {
    pub fn new(kernels: Vec<KernelPlan>) -> Plan {
        Plan {
            generator: format!("sm-kernel {}", env!("CARGO_PKG_VERSION")),
            format_version: FORMAT_VERSION,
            kernels,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::KernelSpec;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    pub fn sample_kernel() -> Kernel {
        Kernel {
            name: "datascience".into(),
            context_dir: PathBuf::from("."),
            dockerfile: PathBuf::from("Dockerfile"),
            display_name: Some("Data Science".into()),
            description: None,
            app: App::KernelGateway,
            kernel_specs: vec![KernelSpec {
                name: "python3".into(),
                display_name: Some("Python 3".into()),
            }],
            uid: 1000,
            gid: 100,
            mount_path: "/home/sagemaker-user".into(),
            container: None,
            domain_id: "d-abc123".into(),
            user_profile: None,
            attach: vec![crate::config::Attach::UserSettings],
            role_arn: "arn:aws:iam::123456789012:role/service-role/Exec".into(),
            partition: "aws".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            bucket: "sagemaker-us-east-1-123456789012".into(),
            repository: "sagemaker-studio-datascience".into(),
            project: "sagemaker-studio-datascience".into(),
            app_image_config: "datascience".into(),
            compute_type: "BUILD_GENERAL1_MEDIUM".into(),
            codebuild_image: "aws/codebuild/standard:7.0".into(),
            timeout_minutes: 60,
            build_args: BTreeMap::new(),
            tags: BTreeMap::new(),
            registries: vec![],
            vpc: None,
            build: crate::config::BuildOptions::default(),
            endpoint_url: None,
            release: Default::default(),
        }
    }

    #[test]
    fn every_generated_name_is_inside_the_seed_patterns() {
        let k = sample_kernel();
        assert!(policy_scope_warnings(&k).is_empty());
        let mut outside = k.clone();
        outside.bucket = "my-bucket".into();
        outside.project = "builds".into();
        let w = policy_scope_warnings(&outside);
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn steps_follow_the_documented_order() {
        let k = sample_kernel();
        let res = Resources::derive(&k, "sha256:00", "spec");
        let ids: Vec<&str> = steps::steps(&k, &res)
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "preflight",
                "package",
                "upload",
                "project",
                "build",
                "verify-image",
                "image",
                "image-version",
                "app-image-config",
                "domain-attach",
                "cleanup"
            ]
        );
    }

    #[test]
    fn the_scan_gate_runs_between_verify_image_and_the_image_version_only_when_set() {
        let mut k = sample_kernel();
        k.build.scan = Some("HIGH".into());
        let res = Resources::derive(&k, "sha256:00", "spec");
        let all = steps::steps(&k, &res);
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
        assert_eq!(at("image-scan"), at("verify-image") + 1, "{ids:?}");
        assert!(at("image-scan") < at("image-version"));
        let scan = &all[at("image-scan")];
        let calls: Vec<(&str, &str, bool)> = scan
            .calls
            .iter()
            .map(|c| (c.operation, c.resource.as_str(), c.when.is_some()))
            .collect();
        assert_eq!(
            calls,
            [
                (
                    "DescribeImageScanFindings",
                    res.repository_arn.as_str(),
                    false
                ),
                ("StartImageScan", res.repository_arn.as_str(), true),
            ]
        );
    }

    #[test]
    fn a_kms_key_is_declared_for_the_upload_and_the_source_download_through_s3() {
        let mut k = sample_kernel();
        let key = format!(
            "arn:aws:kms:{}:{}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            k.region, k.account
        );
        k.build.kms_key = Some(crate::names::kms_key_arn("f", &key).unwrap());
        let res = Resources::derive(&k, "sha256:00", "spec");
        assert_eq!(res.kms_key_arn.as_deref(), Some(key.as_str()));
        let kms: Vec<(&str, &str, Principal, String)> = steps::steps(&k, &res)
            .iter()
            .flat_map(|s| s.calls.iter())
            .filter(|c| c.action.starts_with("kms:"))
            .map(|c| {
                assert_eq!(c.resource, key);
                assert!(c.when.is_some());
                (
                    c.operation,
                    c.action,
                    c.principal.clone(),
                    c.context["kms:ViaService"].clone(),
                )
            })
            .collect();
        let via = format!("s3.{}.amazonaws.com", k.region);
        assert_eq!(
            kms,
            [
                (
                    "PutObject",
                    "kms:GenerateDataKey",
                    Principal::Caller,
                    via.clone()
                ),
                (
                    "CreateMultipartUpload",
                    "kms:GenerateDataKey",
                    Principal::Caller,
                    via.clone()
                ),
                ("UploadPart", "kms:Decrypt", Principal::Caller, via.clone()),
                ("GetObject", "kms:Decrypt", Principal::BuildRole, via),
            ]
        );
        // Without the key, nothing of KMS.
        let plain = sample_kernel();
        let res = Resources::derive(&plain, "sha256:00", "spec");
        assert!(steps::steps(&plain, &res)
            .iter()
            .flat_map(|s| s.calls.iter())
            .all(|c| !c.action.starts_with("kms:")));
    }

    #[test]
    fn pass_role_needs_carry_the_service() {
        let k = sample_kernel();
        let res = Resources::derive(&k, "sha256:00", "spec");
        let passes: Vec<(String, String)> = steps::steps(&k, &res)
            .iter()
            .flat_map(|s| s.calls.iter())
            .filter(|c| c.action == "iam:PassRole")
            .map(|c| {
                (
                    c.operation.to_string(),
                    c.context["iam:PassedToService"].clone(),
                )
            })
            .collect();
        assert!(passes.contains(&("CreateProject".into(), "codebuild.amazonaws.com".into())));
        assert!(passes.contains(&("CreateImage".into(), "sagemaker.amazonaws.com".into())));
    }

    #[test]
    fn resource_arns_use_the_role_account_and_region() {
        let k = sample_kernel();
        let res = Resources::derive(&k, "sha256:ab", "spec");
        assert_eq!(
            res.bucket_arn,
            "arn:aws:s3:::sagemaker-us-east-1-123456789012"
        );
        assert_eq!(res.source_key, "sm-kernel/datascience/ab.zip");
        assert_eq!(
            res.project_arn,
            "arn:aws:codebuild:us-east-1:123456789012:project/sagemaker-studio-datascience"
        );
        assert_eq!(
            res.log_group_arn,
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/sagemaker-studio-datascience"
        );
        assert_eq!(
            res.image_arn,
            "arn:aws:sagemaker:us-east-1:123456789012:image/datascience"
        );
        assert!(res.image_uri.starts_with(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-studio-datascience:"
        ));
        assert!(res.image_version_client_token.len() <= 36);
    }
}
