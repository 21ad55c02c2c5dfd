//! The ECR repository (created if missing) and the temporary CodeBuild project. Only the
//! seed's CodeBuild permissions are used: CreateProject, and on "already exists" the build
//! carries every setting as an override instead of an UpdateProject.

use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, EnvironmentVariable,
    EnvironmentVariableType, LogsConfig, LogsConfigStatusType, ProjectArtifacts,
    ProjectEnvironment, ProjectSource, SourceType, Tag as BuildTag, VpcConfig,
};
use aws_sdk_ecr::types::{ImageScanningConfiguration, Tag as EcrTag};

use super::Reporter;
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step, CODEBUILD_SERVICE};
use crate::plan::Resources;
use crate::plan::{KernelPlan, StepId};

fn built<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, Error> {
    r.map_err(|e| Error::failed(format!("building the {what} request: {e}")))
}

/// The environment variables the buildspec reads.
pub fn build_env(kp: &KernelPlan) -> Result<Vec<EnvironmentVariable>, Error> {
    let res = &kp.resources;
    [
        ("IMAGE_URI", res.image_uri.as_str()),
        ("ECR_REGISTRY", res.registry.as_str()),
    ]
    .into_iter()
    .map(|(n, v)| {
        built(
            "environment variable",
            EnvironmentVariable::builder()
                .name(n)
                .value(v)
                .r#type(EnvironmentVariableType::Plaintext)
                .build(),
        )
    })
    .collect()
}

pub async fn ensure_repository(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let repo = &kp.resources.repository;
    match clients
        .ecr
        .describe_repositories()
        .repository_names(repo)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) => {}
        Err(e) => return Err(Error::aws("ecr:DescribeRepositories", &e)),
    }
    reporter.step(
        &k.name,
        StepId::Project,
        &format!("creating ECR repository {repo}"),
    );
    let tags = k
        .tags
        .iter()
        .map(|(key, v)| built("tag", EcrTag::builder().key(key).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    match clients
        .ecr
        .create_repository()
        .repository_name(repo)
        // Basic scanning on push is free, and it is what the scan gate reads; a repository
        // that already exists is left as its owner configured it.
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(Error::aws("ecr:CreateRepository", &e)),
    }
}

/// Creates the project; returns false when it already existed (the build then overrides
/// every setting).
/// The project's log settings; also what StartBuild overrides on a project left behind.
pub(crate) fn logs_config(kp: &KernelPlan) -> Result<LogsConfig, Error> {
    Ok(LogsConfig::builder()
        .cloud_watch_logs(built(
            "logs config",
            CloudWatchLogsConfig::builder()
                .status(LogsConfigStatusType::Enabled)
                .group_name(&kp.resources.log_group)
                .build(),
        )?)
        .build())
}

/// Creates the temporary project. One left by an interrupted run is deleted and created
/// again, because StartBuild cannot override every setting (the VPC); returns false only
/// when a concurrent run re-created it in between, and then the build overrides what it can.
pub async fn ensure(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
    reporter: &dyn Reporter,
) -> Result<bool, Error> {
    ensure_repository(clients, k, kp, reporter).await?;
    let res = &kp.resources;
    let environment = built(
        "project environment",
        ProjectEnvironment::builder()
            .r#type(EnvironmentType::from(k.build.environment_type.as_str()))
            .image(&k.codebuild_image)
            .compute_type(ComputeType::from(k.compute_type.as_str()))
            .privileged_mode(true)
            .set_environment_variables(Some(build_env(kp)?))
            .build(),
    )?;
    let source = built(
        "project source",
        ProjectSource::builder()
            .r#type(SourceType::S3)
            .location(&res.source_location)
            .buildspec(&kp.buildspec)
            .build(),
    )?;
    let logs = logs_config(kp)?;
    let vpc = k.vpc.as_ref().map(|v| {
        VpcConfig::builder()
            .vpc_id(&v.id)
            .set_subnets(Some(v.subnets.clone()))
            .set_security_group_ids(Some(v.security_groups.clone()))
            .build()
    });
    let tags: Vec<BuildTag> = k
        .tags
        .iter()
        .map(|(key, v)| BuildTag::builder().key(key).value(v).build())
        .collect();
    let mut recreated = false;
    loop {
        let result = clients
            .codebuild
            .create_project()
            .name(&res.project)
            .description(format!("sm-kernel build of {} (temporary)", k.name))
            .source(source.clone())
            .artifacts(built(
                "artifacts",
                ProjectArtifacts::builder()
                    .r#type(ArtifactsType::NoArtifacts)
                    .build(),
            )?)
            .environment(environment.clone())
            .service_role(&k.role_arn)
            .timeout_in_minutes(k.timeout_minutes as i32)
            .logs_config(logs.clone())
            .set_vpc_config(vpc.clone())
            .set_encryption_key(k.build.kms_key.as_ref().map(|key| key.arn.clone()))
            .set_tags((!tags.is_empty()).then_some(tags.clone()))
            .send()
            .await;
        match result {
            Ok(_) => {
                reporter.step(
                    &k.name,
                    StepId::Project,
                    &format!("created CodeBuild project {}", res.project),
                );
                return Ok(true);
            }
            Err(e)
                if !recreated
                    && e.as_service_error()
                        .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                reporter.step(
                    &k.name,
                    StepId::Project,
                    &format!(
                        "CodeBuild project {} was left by an earlier run; creating it again",
                        res.project
                    ),
                );
                delete(clients, kp, reporter).await?;
                recreated = true;
                continue;
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                reporter.step(
                &k.name,
                StepId::Project,
                &format!(
                    "CodeBuild project {} exists again (a concurrent run?); the build overrides its settings",
                    res.project
                ),
            );
                return Ok(false);
            }
            Err(e) => {
                return Err(Error::aws(
                    &format!("codebuild:CreateProject {}", res.project),
                    &e,
                ))
            }
        }
    }
}

/// Deletes the temporary project. Builds keep running after their project is deleted, so
/// this runs only once the build has ended.
pub async fn delete(
    clients: &Clients,
    kp: &KernelPlan,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let project = &kp.resources.project;
    match clients.codebuild.delete_project().name(project).send().await {
        Ok(_) => {
            reporter.step(&kp.name, StepId::Cleanup, &format!("deleted CodeBuild project {project}"));
            Ok(())
        }
        // Already gone (deleted by hand, or by a concurrent run): the goal is reached.
        Err(e)
            if e.as_service_error().and_then(|s| {
                use aws_sdk_codebuild::error::ProvideErrorMetadata as _;
                s.code()
            }) == Some("ResourceNotFoundException") =>
        {
            Ok(())
        }
        Err(e) => Err(Error::aws(&format!("codebuild:DeleteProject {project} (delete it by hand: aws codebuild delete-project --name {project})"), &e)),
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let tagged = !k.tags.is_empty();
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
    .when("only if the repository does not exist (created with scan on push)");
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
    b.caller(
        "codebuild",
        "DeleteProject",
        "codebuild:DeleteProject",
        &r.project_arn,
    )
    .when("only if an interrupted run left the project: it is created again with these settings");
    b.done(
        StepId::Project,
        format!(
            "create the ECR repository {} if missing and the CodeBuild project {} (one left by an interrupted run is created again)",
            r.repository, r.project
        ),
    )
}

/// The cleanup step (deleting the temporary project), declared beside the code that creates the project.
pub fn cleanup_needs(_k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller(
        "codebuild",
        "DeleteProject",
        "codebuild:DeleteProject",
        &r.project_arn,
    )
    .when("on success, failure and Ctrl-C alike, unless --keep-project");
    b.done(
        StepId::Cleanup,
        format!("delete the temporary CodeBuild project {}", r.project),
    )
}
