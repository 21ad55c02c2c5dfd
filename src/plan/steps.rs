//! The ordered steps of a publish and, for each, every AWS call with the IAM action, resource
//! and condition context it needs. This list is the contract between the dry run, the
//! permission check and the pipeline: the check evaluates exactly these needs, and the
//! pipeline may make no call that is not listed here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resources::Resources;
use crate::config::{App, Kernel};

/// Who makes the call. The build and SageMaker use the same execution role as the caller when
/// sm-kernel runs inside Studio, but they are evaluated separately because elsewhere the
/// caller is a person or a CI identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// The identity running sm-kernel.
    Caller,
    /// The execution role while CodeBuild runs the build (source download, logs, ECR push).
    BuildRole,
    /// The execution role when SageMaker reads the image for a new image version.
    ImageRole,
    /// A service principal assuming the role: checked against the role's trust policy.
    Trust(String),
}

impl Principal {
    pub fn label(&self) -> String {
        match self {
            Principal::Caller => "caller".into(),
            Principal::BuildRole => "build role".into(),
            Principal::ImageRole => "image role".into(),
            Principal::Trust(s) => format!("trust: {s}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    Preflight,
    Package,
    Upload,
    Project,
    Build,
    VerifyImage,
    Image,
    ImageVersion,
    AppImageConfig,
    DomainAttach,
    Cleanup,
}

impl StepId {
    pub fn as_str(self) -> &'static str {
        match self {
            StepId::Preflight => "preflight",
            StepId::Package => "package",
            StepId::Upload => "upload",
            StepId::Project => "project",
            StepId::Build => "build",
            StepId::VerifyImage => "verify-image",
            StepId::Image => "image",
            StepId::ImageVersion => "image-version",
            StepId::AppImageConfig => "app-image-config",
            StepId::DomainAttach => "domain-attach",
            StepId::Cleanup => "cleanup",
        }
    }
}

/// One permission need: an API call (or, for the build and trust principals, an action AWS
/// performs on our behalf) with the action, resource and context IAM will evaluate.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// Service as it signs requests (`s3`, `ecr`, `codebuild`, `logs`, `sagemaker`, `iam`, `sts`).
    pub service: &'static str,
    /// The API operation, e.g. `CreateImage`; for build-time needs, what the build does.
    pub operation: &'static str,
    pub action: &'static str,
    pub resource: String,
    pub context: BTreeMap<String, String>,
    pub principal: Principal,
    /// When the call happens only under a condition, that condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<&'static str>,
    /// False for the few calls AWS never authorises (sts:GetCallerIdentity).
    pub needs_permission: bool,
    /// True for reads the preflight makes where permitted; a denial makes the permission check
    /// say "unknown" for what it could not read, not fail.
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: StepId,
    pub summary: String,
    pub calls: Vec<Call>,
}

struct Builder<'a> {
    res: &'a Resources,
    calls: Vec<Call>,
}

impl<'a> Builder<'a> {
    fn new(res: &'a Resources) -> Self {
        Builder {
            res,
            calls: Vec::new(),
        }
    }

    fn push(
        &mut self,
        principal: Principal,
        service: &'static str,
        operation: &'static str,
        action: &'static str,
        resource: impl Into<String>,
    ) -> &mut Call {
        let mut context = BTreeMap::new();
        if !matches!(service, "iam" | "sts") {
            context.insert("aws:RequestedRegion".to_string(), self.res.region.clone());
        }
        self.calls.push(Call {
            service,
            operation,
            action,
            resource: resource.into(),
            context,
            principal,
            when: None,
            needs_permission: true,
            optional: false,
        });
        self.calls.last_mut().unwrap()
    }

    fn caller(
        &mut self,
        service: &'static str,
        operation: &'static str,
        action: &'static str,
        resource: impl Into<String>,
    ) -> &mut Call {
        self.push(Principal::Caller, service, operation, action, resource)
    }

    fn pass_role(&mut self, operation: &'static str, service: &'static str, to: &str) -> &mut Call {
        let role = self.res.role_arn.clone();
        let call = self.push(Principal::Caller, service, operation, "iam:PassRole", role);
        call.context
            .insert("iam:PassedToService".to_string(), to.to_string());
        call
    }

    fn done(self, id: StepId, summary: impl Into<String>) -> Step {
        Step {
            id,
            summary: summary.into(),
            calls: self.calls,
        }
    }
}

impl Call {
    fn when(&mut self, w: &'static str) -> &mut Self {
        self.when = Some(w);
        self
    }
}

/// Multipart uploads start above this size; below it one PutObject is faster.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;

pub const CODEBUILD_SERVICE: &str = "codebuild.amazonaws.com";
pub const SAGEMAKER_SERVICE: &str = "sagemaker.amazonaws.com";

pub fn steps(k: &Kernel, res: &Resources) -> Vec<Step> {
    let r = res;
    let tagged = !k.tags.is_empty();
    let mut out = Vec::new();

    // preflight: read-only
    let mut b = Builder::new(r);
    b.caller("sts", "GetCallerIdentity", "sts:GetCallerIdentity", "*")
        .needs_permission = false;
    b.caller("iam", "GetRole", "iam:GetRole", &r.role_arn);
    // The execution role's policies, and the caller's when the caller is another role.
    let roles = format!("arn:{}:iam::{}:role/*", r.partition, r.account);
    for (op, action) in [
        ("ListRolePolicies", "iam:ListRolePolicies"),
        ("GetRolePolicy", "iam:GetRolePolicy"),
        ("ListAttachedRolePolicies", "iam:ListAttachedRolePolicies"),
        ("SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy"),
    ] {
        b.caller("iam", op, action, &roles).optional = true;
    }
    let policies = format!("arn:{}:iam::*:policy/*", r.partition);
    b.caller("iam", "GetPolicy", "iam:GetPolicy", &policies)
        .optional = true;
    b.caller("iam", "GetPolicyVersion", "iam:GetPolicyVersion", &policies)
        .optional = true;
    b.caller(
        "sagemaker",
        "DescribeDomain",
        "sagemaker:DescribeDomain",
        &r.domain_arn,
    );
    b.caller("ecr", "DescribeImages", "ecr:DescribeImages", &r.repository_arn)
        .when("looks for an image already built from this context; if found, upload, project and build are skipped");
    for service in [CODEBUILD_SERVICE, SAGEMAKER_SERVICE] {
        b.push(
            Principal::Trust(service.to_string()),
            "sts",
            "AssumeRole",
            "sts:AssumeRole",
            &r.role_arn,
        )
        .context
        .insert("aws:SourceAccount".to_string(), r.account.clone());
    }
    out.push(b.done(
        StepId::Preflight,
        "check names, the Dockerfile, permissions, the role's trust and the domain; changes nothing",
    ));

    out.push(Builder::new(r).done(
        StepId::Package,
        "zip the build context (honouring .dockerignore) deterministically; local only",
    ));

    let mut b = Builder::new(r);
    b.caller("s3", "HeadBucket", "s3:ListBucket", &r.bucket_arn);
    b.caller("s3", "CreateBucket", "s3:CreateBucket", &r.bucket_arn)
        .when("only if the bucket does not exist (and only for sagemaker-* names)");
    b.caller("s3", "HeadObject", "s3:GetObject", &r.source_arn);
    b.caller("s3", "PutObject", "s3:PutObject", &r.source_arn)
        .when("unless an object with this key and size already exists");
    for op in [
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    ] {
        b.caller("s3", op, "s3:PutObject", &r.source_arn)
            .when("instead of PutObject for contexts over 16 MiB");
    }
    b.caller(
        "s3",
        "AbortMultipartUpload",
        "s3:AbortMultipartUpload",
        &r.source_arn,
    )
    .when("only if a multipart upload fails or is interrupted");
    out.push(b.done(
        StepId::Upload,
        format!("upload the context to s3://{}/{}", r.bucket, r.source_key),
    ));

    let mut b = Builder::new(r);
    b.caller(
        "ecr",
        "DescribeRepositories",
        "ecr:DescribeRepositories",
        &r.repository_arn,
    );
    b.caller(
        "ecr",
        "CreateRepository",
        "ecr:CreateRepository",
        &r.repository_arn,
    )
    .when("only if the repository does not exist");
    if tagged {
        b.caller(
            "ecr",
            "CreateRepository",
            "ecr:TagResource",
            &r.repository_arn,
        )
        .when("only if the repository does not exist (tags are set at creation)");
    }
    b.caller(
        "codebuild",
        "CreateProject",
        "codebuild:CreateProject",
        &r.project_arn,
    );
    b.pass_role("CreateProject", "codebuild", CODEBUILD_SERVICE);
    out.push(b.done(
        StepId::Project,
        format!(
            "create the ECR repository {} if missing and the CodeBuild project {} (if it exists, the build overrides its settings)",
            r.repository, r.project
        ),
    ));

    let mut b = Builder::new(r);
    b.caller(
        "codebuild",
        "StartBuild",
        "codebuild:StartBuild",
        &r.project_arn,
    );
    b.caller(
        "codebuild",
        "BatchGetBuilds",
        "codebuild:BatchGetBuilds",
        &r.project_arn,
    );
    b.caller(
        "logs",
        "GetLogEvents",
        "logs:GetLogEvents",
        format!("{}:log-stream:*", r.log_group_arn),
    );
    b.caller(
        "codebuild",
        "StopBuild",
        "codebuild:StopBuild",
        &r.project_arn,
    )
    .when("only when interrupted (Ctrl-C) while the build runs");
    // What the build itself does, as the execution role.
    let build = Principal::BuildRole;
    b.push(
        build.clone(),
        "s3",
        "GetObject",
        "s3:GetObject",
        &r.source_arn,
    );
    b.push(
        build.clone(),
        "logs",
        "CreateLogGroup",
        "logs:CreateLogGroup",
        &r.log_group_arn,
    );
    b.push(
        build.clone(),
        "logs",
        "CreateLogStream",
        "logs:CreateLogStream",
        &r.log_group_arn,
    );
    b.push(
        build.clone(),
        "logs",
        "PutLogEvents",
        "logs:PutLogEvents",
        format!("{}:log-stream:*", r.log_group_arn),
    );
    b.push(
        build.clone(),
        "ecr",
        "GetAuthorizationToken",
        "ecr:GetAuthorizationToken",
        "*",
    );
    for (op, action) in [
        (
            "BatchCheckLayerAvailability",
            "ecr:BatchCheckLayerAvailability",
        ),
        ("InitiateLayerUpload", "ecr:InitiateLayerUpload"),
        ("UploadLayerPart", "ecr:UploadLayerPart"),
        ("CompleteLayerUpload", "ecr:CompleteLayerUpload"),
        ("PutImage", "ecr:PutImage"),
        ("BatchGetImage", "ecr:BatchGetImage"),
    ] {
        b.push(build.clone(), "ecr", op, action, &r.repository_arn);
    }
    for host in &k.registries {
        let mut parts = host.split('.');
        let account = parts.next().unwrap_or_default();
        let region = parts.nth(2).unwrap_or_default();
        let repos = format!("arn:{}:ecr:{region}:{account}:repository/*", r.partition);
        for (op, action) in [
            ("BatchGetImage", "ecr:BatchGetImage"),
            ("GetDownloadUrlForLayer", "ecr:GetDownloadUrlForLayer"),
        ] {
            b.push(build.clone(), "ecr", op, action, &repos)
                .when("pulls base images from an extra registry");
        }
    }
    if k.vpc.is_some() {
        for (op, action) in [
            ("CreateNetworkInterface", "ec2:CreateNetworkInterface"),
            ("DescribeNetworkInterfaces", "ec2:DescribeNetworkInterfaces"),
            ("DeleteNetworkInterface", "ec2:DeleteNetworkInterface"),
            ("DescribeSubnets", "ec2:DescribeSubnets"),
            ("DescribeSecurityGroups", "ec2:DescribeSecurityGroups"),
            ("DescribeDhcpOptions", "ec2:DescribeDhcpOptions"),
            ("DescribeVpcs", "ec2:DescribeVpcs"),
            (
                "CreateNetworkInterfacePermission",
                "ec2:CreateNetworkInterfacePermission",
            ),
        ] {
            b.push(build.clone(), "ec2", op, action, "*")
                .when("the build runs in your VPC");
        }
    }
    out.push(b.done(
        StepId::Build,
        format!(
            "start the build in {}, stream its logs from {}, push {}",
            r.project, r.log_group, r.image_uri
        ),
    ));

    let mut b = Builder::new(r);
    b.caller(
        "ecr",
        "DescribeImages",
        "ecr:DescribeImages",
        &r.repository_arn,
    );
    out.push(b.done(
        StepId::VerifyImage,
        "read the pushed image's digest from ECR and report URI@sha256:…",
    ));

    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "DescribeImage",
        "sagemaker:DescribeImage",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "CreateImage",
        "sagemaker:CreateImage",
        &r.image_arn,
    )
    .when("only if the image does not exist");
    b.pass_role("CreateImage", "sagemaker", SAGEMAKER_SERVICE)
        .when("only if the image does not exist");
    if tagged {
        b.caller(
            "sagemaker",
            "CreateImage",
            "sagemaker:AddTags",
            &r.image_arn,
        )
        .when("only if the image does not exist (tags are set at creation)");
    }
    b.caller(
        "sagemaker",
        "UpdateImage",
        "sagemaker:UpdateImage",
        &r.image_arn,
    )
    .when("only if its display name, description or role differ");
    b.pass_role("UpdateImage", "sagemaker", SAGEMAKER_SERVICE)
        .when("only if its display name, description or role differ");
    out.push(b.done(
        StepId::Image,
        format!("create the SageMaker image {} if missing", r.image_name),
    ));

    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "ListImageVersions",
        "sagemaker:ListImageVersions",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "CreateImageVersion",
        "sagemaker:CreateImageVersion",
        &r.image_arn,
    )
    .when("unless a version with this base image exists");
    b.caller(
        "sagemaker",
        "DescribeImageVersion",
        "sagemaker:DescribeImageVersion",
        &r.image_versions_arn,
    );
    let image_role = Principal::ImageRole;
    b.push(
        image_role.clone(),
        "ecr",
        "GetAuthorizationToken",
        "ecr:GetAuthorizationToken",
        "*",
    );
    for (op, action) in [
        ("BatchGetImage", "ecr:BatchGetImage"),
        ("GetDownloadUrlForLayer", "ecr:GetDownloadUrlForLayer"),
    ] {
        b.push(image_role.clone(), "ecr", op, action, &r.repository_arn);
    }
    out.push(b.done(
        StepId::ImageVersion,
        format!(
            "create an image version from {} and wait until it is CREATED",
            r.image_uri
        ),
    ));

    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "DescribeAppImageConfig",
        "sagemaker:DescribeAppImageConfig",
        &r.app_image_config_arn,
    );
    b.caller(
        "sagemaker",
        "CreateAppImageConfig",
        "sagemaker:CreateAppImageConfig",
        &r.app_image_config_arn,
    )
    .when("only if it does not exist");
    if tagged {
        b.caller(
            "sagemaker",
            "CreateAppImageConfig",
            "sagemaker:AddTags",
            &r.app_image_config_arn,
        )
        .when("only if it does not exist (tags are set at creation)");
    }
    b.caller(
        "sagemaker",
        "UpdateAppImageConfig",
        "sagemaker:UpdateAppImageConfig",
        &r.app_image_config_arn,
    )
    .when("only if it exists with different settings");
    out.push(b.done(
        StepId::AppImageConfig,
        format!(
            "create or update the app image config {} ({})",
            r.app_image_config,
            k.app.image_config_member()
        ),
    ));

    let mut b = Builder::new(r);
    let summary = match &k.user_profile {
        None => {
            b.caller(
                "sagemaker",
                "DescribeDomain",
                "sagemaker:DescribeDomain",
                &r.domain_arn,
            );
            b.caller(
                "sagemaker",
                "UpdateDomain",
                "sagemaker:UpdateDomain",
                &r.domain_arn,
            );
            b.caller("sagemaker", "ListApps", "sagemaker:ListApps", "*")
                .when("only if an InService app blocks the update, to name it");
            format!(
                "add {} to the domain's {}.CustomImages, keeping every other entry, and wait for InService",
                r.image_name,
                settings_path(k.app)
            )
        }
        Some(profile) => {
            let arn = format!(
                "arn:{}:sagemaker:{}:{}:user-profile/{}/{}",
                r.partition,
                r.region,
                r.account,
                r.domain_id,
                profile.to_lowercase()
            );
            b.caller(
                "sagemaker",
                "DescribeUserProfile",
                "sagemaker:DescribeUserProfile",
                &arn,
            );
            b.caller(
                "sagemaker",
                "UpdateUserProfile",
                "sagemaker:UpdateUserProfile",
                &arn,
            );
            b.caller("sagemaker", "ListApps", "sagemaker:ListApps", "*")
                .when("only if an InService app blocks the update, to name it");
            format!(
                "add {} to user profile {profile}'s UserSettings.{}.CustomImages, keeping every other entry",
                r.image_name,
                k.app.settings_member()
            )
        }
    };
    out.push(b.done(StepId::DomainAttach, summary));

    let mut b = Builder::new(r);
    b.caller(
        "codebuild",
        "DeleteProject",
        "codebuild:DeleteProject",
        &r.project_arn,
    )
    .when("on success, failure and Ctrl-C alike, unless --keep-project");
    out.push(b.done(
        StepId::Cleanup,
        format!("delete the temporary CodeBuild project {}", r.project),
    ));
    out
}

pub fn settings_path(app: App) -> String {
    format!("DefaultUserSettings.{}", app.settings_member())
}
