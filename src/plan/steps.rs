//! The types of the Plan's steps and of the AWS calls each declares, and the assembly of a
//! kernel's steps from the declarations that live beside the code making the calls (each
//! `src/pipeline/<step>.rs` has its `needs`). The declarations are the contract between the
//! dry run, the permission check and the pipeline: the check evaluates exactly these needs,
//! and the runner refuses any call that is not declared.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resources::Resources;
use crate::config::Kernel;

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
    ImageScan,
    Image,
    ImageVersion,
    Aliases,
    AppImageConfig,
    DomainAttach,
    Cleanup,
    Status,
    Rollback,
    Delete,
    Prune,
    SmokeTest,
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
            StepId::ImageScan => "image-scan",
            StepId::Image => "image",
            StepId::ImageVersion => "image-version",
            StepId::Aliases => "aliases",
            StepId::AppImageConfig => "app-image-config",
            StepId::DomainAttach => "domain-attach",
            StepId::Cleanup => "cleanup",
            StepId::Status => "status",
            StepId::Rollback => "rollback",
            StepId::Delete => "delete",
            StepId::Prune => "prune",
            StepId::SmokeTest => "smoke-test",
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

/// Collects one step's declared calls; every call gets the region context IAM evaluates.
pub struct Builder<'a> {
    pub res: &'a Resources,
    calls: Vec<Call>,
}

impl<'a> Builder<'a> {
    pub fn new(res: &'a Resources) -> Self {
        Builder {
            res,
            calls: Vec::new(),
        }
    }

    pub fn push(
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

    pub fn caller(
        &mut self,
        service: &'static str,
        operation: &'static str,
        action: &'static str,
        resource: impl Into<String>,
    ) -> &mut Call {
        self.push(Principal::Caller, service, operation, action, resource)
    }

    pub fn pass_role(
        &mut self,
        operation: &'static str,
        service: &'static str,
        to: &str,
    ) -> &mut Call {
        let role = self.res.role_arn.clone();
        let call = self.push(Principal::Caller, service, operation, "iam:PassRole", role);
        call.context
            .insert("iam:PassedToService".to_string(), to.to_string());
        call
    }

    pub fn done(self, id: StepId, summary: impl Into<String>) -> Step {
        Step {
            id,
            summary: summary.into(),
            calls: self.calls,
        }
    }
}

impl Call {
    pub fn when(&mut self, w: &'static str) -> &mut Self {
        self.when = Some(w);
        self
    }

    /// A KMS need that S3 exercises on the principal's behalf (SSE-KMS): IAM sees
    /// `kms:ViaService = s3.REGION.amazonaws.com`, which a key grant can be narrowed to.
    pub fn via_s3(&mut self) -> &mut Self {
        let region = self
            .context
            .get("aws:RequestedRegion")
            .cloned()
            .unwrap_or_default();
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        self.context.insert(
            "kms:ViaService".to_string(),
            format!("s3.{region}.{suffix}"),
        );
        self
    }
}

/// Multipart uploads start above this size; below it one PutObject is faster.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;

pub const CODEBUILD_SERVICE: &str = "codebuild.amazonaws.com";
pub const SAGEMAKER_SERVICE: &str = "sagemaker.amazonaws.com";

pub fn steps(k: &Kernel, res: &Resources) -> Vec<Step> {
    use crate::pipeline::{
        app_image_config, attach, build, image, package, preflight, project, scan, upload, verify,
        version,
    };
    let mut steps = vec![
        preflight::needs(k, res),
        package::needs(k, res),
        upload::needs(k, res),
        project::needs(k, res),
        build::needs(k, res),
        verify::needs(k, res),
    ];
    if k.build.scan.is_some() {
        steps.push(scan::needs(k, res));
    }
    steps.extend([image::needs(k, res), version::needs(k, res)]);
    if !k.release.aliases.is_empty() {
        steps.push(crate::lifecycle::aliases::needs(k, res));
    }
    steps.extend([
        app_image_config::needs(k, res),
        attach::needs(k, res),
        project::cleanup_needs(k, res),
    ]);
    steps
}
