//! Starts the CodeBuild build and follows it: phase changes on the progress line, log lines
//! as they arrive (GetLogEvents with the forward token: at most a second behind while lines
//! flow, backing off when idle). Ctrl-C stops the build and waits until it has stopped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use aws_sdk_codebuild::types::{Build, ComputeType, EnvironmentType, SourceType, StatusType};

use super::project::build_env;
use super::{Backoff, Cancel, Reporter, RunOptions};
use crate::aws::Clients;
use crate::buildspec::checks::{self, Status};
use crate::config::Kernel;
use crate::error::Error;
use crate::names::SecretStore;
use crate::plan::steps::{Builder, Principal, Step, CODEBUILD_SERVICE};
use crate::plan::Resources;
use crate::plan::{KernelPlan, StepId};

/// Log lines kept for the failure report.
const TAIL: usize = 30;
/// After this long without a log stream, say so once (and keep polling the build).
const NO_STREAM_NOTICE: Duration = Duration::from_secs(45);

struct LogFollower {
    kernel: String,
    group: Option<String>,
    stream: Option<String>,
    token: Option<String>,
    tail: VecDeque<String>,
    announced_missing: bool,
    /// The first in-image check that failed, as (name, detail): the failure to report.
    failed_check: Option<(String, String)>,
}

impl LogFollower {
    fn new(kernel: &str) -> LogFollower {
        LogFollower {
            kernel: kernel.to_string(),
            group: None,
            stream: None,
            token: None,
            tail: VecDeque::with_capacity(TAIL),
            announced_missing: false,
            failed_check: None,
        }
    }

    /// Fetches new lines; returns how many arrived.
    async fn poll(
        &mut self,
        clients: &Clients,
        reporter: &dyn Reporter,
        show: bool,
    ) -> Result<usize, Error> {
        let (Some(group), Some(stream)) = (&self.group, &self.stream) else {
            return Ok(0);
        };
        let mut total = 0;
        // Several pages may be waiting; read until the token stops moving.
        for _ in 0..20 {
            let out = match clients
                .logs
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await
            {
                Ok(o) => o,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(total)
                }
                Err(e) => return Err(Error::aws("logs:GetLogEvents", &e)),
            };
            let events = out.events();
            for ev in events {
                let line = ev
                    .message()
                    .unwrap_or_default()
                    .trim_end_matches(['\n', '\r']);
                if show {
                    reporter.log_line(&self.kernel, line);
                }
                if let Some(o) = checks::parse_line(line) {
                    match o.status {
                        Status::Failed(detail) if self.failed_check.is_none() => {
                            self.failed_check = Some((o.name, detail));
                        }
                        Status::Warning(detail) => {
                            reporter.warn(&format!("in-image check {}: {detail}", o.name))
                        }
                        _ => {}
                    }
                }
                if self.tail.len() == TAIL {
                    self.tail.pop_front();
                }
                self.tail.push_back(line.to_string());
            }
            total += events.len();
            let next = out.next_forward_token().map(str::to_string);
            let moved = next != self.token;
            self.token = next;
            if events.is_empty() || !moved {
                break;
            }
        }
        Ok(total)
    }
}

async fn get_build(clients: &Clients, id: &str) -> Result<Build, Error> {
    let out = clients
        .codebuild
        .batch_get_builds()
        .ids(id)
        .send()
        .await
        .map_err(|e| Error::aws("codebuild:BatchGetBuilds", &e))?;
    out.builds()
        .first()
        .cloned()
        .ok_or_else(|| Error::failed(format!("codebuild:BatchGetBuilds does not know build {id}")))
}

async fn start(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
    created: bool,
) -> Result<String, Error> {
    let res = &kp.resources;
    let mut call = clients.codebuild.start_build().project_name(&res.project);
    if !created {
        // The project was left by another run: override everything it could differ in.
        call = call
            .source_type_override(SourceType::S3)
            .source_location_override(&res.source_location)
            .buildspec_override(&kp.buildspec)
            .image_override(&k.codebuild_image)
            .environment_type_override(EnvironmentType::from(k.build.environment_type.as_str()))
            .compute_type_override(ComputeType::from(k.compute_type.as_str()))
            .privileged_mode_override(true)
            .timeout_in_minutes_override(k.timeout_minutes as i32)
            .service_role_override(&k.role_arn)
            .logs_config_override(super::project::logs_config(kp)?)
            .set_encryption_key_override(k.build.kms_key.as_ref().map(|key| key.arn.clone()))
            .set_environment_variables_override(Some(build_env(kp)?));
    }
    let out = call
        .send()
        .await
        .map_err(|e| Error::aws(&format!("codebuild:StartBuild {}", res.project), &e))?;
    out.build_value()
        .and_then(|b| b.id())
        .map(str::to_string)
        .ok_or_else(|| Error::failed("codebuild:StartBuild returned no build id"))
}

/// Runs the build to its end; returns the build id when it succeeded.
pub async fn run(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
    created: bool,
    opts: &RunOptions,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<String, Error> {
    let id = start(clients, k, kp, created).await?;
    reporter.step(&k.name, StepId::Build, &format!("build {id} started"));
    let started = Instant::now();
    let mut logs = LogFollower::new(&k.name);
    let mut phase = String::new();
    let mut backoff = Backoff::new(500, 3000);
    let mut stopping = false;
    loop {
        if cancel.is_set() && !stopping {
            stopping = true;
            reporter.warn(&format!("interrupted: stopping build {id}…"));
            clients
                .codebuild
                .stop_build()
                .id(&id)
                .send()
                .await
                .map_err(|e| Error::aws(&format!("codebuild:StopBuild {id} (stop it by hand: aws codebuild stop-build --id {id})"), &e))?;
        }
        let build = get_build(clients, &id).await?;
        if logs.stream.is_none() {
            if let Some(l) = build.logs() {
                logs.group = l.group_name().map(str::to_string);
                logs.stream = l.stream_name().map(str::to_string);
            }
        }
        let current = build.current_phase().unwrap_or_default().to_string();
        if !current.is_empty() && current != phase {
            reporter.phase(&k.name, &current);
            phase = current;
        }
        let lines = logs.poll(clients, reporter, !opts.no_logs).await?;
        if logs.stream.is_none() && !logs.announced_missing && started.elapsed() > NO_STREAM_NOTICE
        {
            logs.announced_missing = true;
            reporter.warn(&format!(
                "build {id} has no CloudWatch log stream yet (still {phase}); following its status"
            ));
        }
        let status = build
            .build_status()
            .cloned()
            .unwrap_or(StatusType::InProgress);
        if status != StatusType::InProgress {
            // The last lines may land just after the status changes.
            logs.poll(clients, reporter, !opts.no_logs).await?;
            if stopping {
                return Err(Error::Interrupted(format!(
                    "interrupted: build {id} was stopped ({})",
                    status.as_str()
                )));
            }
            if status == StatusType::Succeeded {
                return Ok(id);
            }
            return Err(failure(
                &id,
                &build,
                &status,
                &logs,
                build.logs().and_then(|l| l.deep_link()),
            ));
        }
        if lines > 0 {
            backoff.reset(500);
        }
        // While stopping, ignore further Ctrl-C and just wait for STOPPED.
        let wait = if lines > 0 {
            Duration::from_millis(500)
        } else {
            backoff.next()
        };
        if stopping {
            tokio::time::sleep(wait).await;
        } else {
            cancel.sleep(wait).await;
        }
    }
}

fn failure(
    id: &str,
    build: &Build,
    status: &StatusType,
    logs: &LogFollower,
    link: Option<&str>,
) -> Error {
    let failed = build
        .phases()
        .iter()
        .find(|p| p.phase_status().is_some_and(|s| s.as_str() != "SUCCEEDED"));
    let (phase, message) = match failed {
        Some(p) => (
            p.phase_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            p.contexts()
                .iter()
                .filter_map(|c| c.message())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        None => (
            build.current_phase().unwrap_or("?").to_string(),
            String::new(),
        ),
    };
    if let Some((name, detail)) = &logs.failed_check {
        // The check's own line says what is wrong and how to fix it; the log tail adds nothing.
        let mut msg = checks::failure_message(name, detail);
        msg.push_str(&format!(
            "\n(build {id} ended {} in phase {phase})",
            status.as_str()
        ));
        if let Some(link) = link {
            msg.push_str(&format!("\nfull log: {link}"));
        }
        return Error::failed(msg);
    }
    let mut msg = format!("build {id} ended {} in phase {phase}", status.as_str());
    if !message.is_empty() {
        msg.push_str(&format!(": {message}"));
    }
    if !logs.tail.is_empty() {
        msg.push_str(&format!("\nlast {} log lines:\n", logs.tail.len()));
        for l in &logs.tail {
            msg.push_str("  ");
            msg.push_str(l);
            msg.push('\n');
        }
    }
    if let Some(link) = link {
        msg.push_str(&format!("full log: {link}"));
    }
    Error::failed(msg.trim_end().to_string())
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
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
    b.pass_role("StartBuild", "codebuild", CODEBUILD_SERVICE)
        .when(
            "only if a concurrent run re-created the project: the build overrides its service role",
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
    if let Some(key) = &k.build.kms_key {
        b.push(build.clone(), "s3", "GetObject", "kms:Decrypt", &key.arn)
            .via_s3()
            .when("kms-key: CodeBuild downloads the context, which S3 encrypted with the key");
    }
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
    for s in &k.build.secrets {
        let (service, op, action) = match s.store {
            SecretStore::SecretsManager => (
                "secretsmanager",
                "GetSecretValue",
                "secretsmanager:GetSecretValue",
            ),
            SecretStore::ParameterStore => ("ssm", "GetParameters", "ssm:GetParameters"),
        };
        b.push(build.clone(), service, op, action, &s.resource_arn)
            .when("build-secrets: CodeBuild reads each secret into the build's environment");
    }
    if k.build.build_cache {
        b.push(
            build.clone(),
            "ecr",
            "GetDownloadUrlForLayer",
            "ecr:GetDownloadUrlForLayer",
            &r.repository_arn,
        )
        .when("build-cache: BuildKit imports the layer cache from the repository's buildcache tag (BatchGetImage above reads its manifest)");
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
    b.done(
        StepId::Build,
        format!(
            "start the build in {}, stream its logs from {}, push {}",
            r.project, r.log_group, r.image_uri
        ),
    )
}
