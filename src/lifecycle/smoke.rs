//! `sm-kernel smoke-test KERNEL --user-profile NAME`: proof that the kernel starts, since a
//! publish that says "attached" is not. It starts a throwaway private space (JupyterLab, Code
//! Editor) or a KernelGateway app on the newest version with the smallest instance type, waits
//! for InService or Failed, reports the FailureReason, and deletes what it created in every
//! outcome (success, failure, deadline, Ctrl-C).

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::{
    AppInstanceType, AppType, OwnershipSettings, ResourceSpec, SharingType, SpaceSettings,
    SpaceSharingSettings,
};
use serde::Serialize;

use super::live;
use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::pipeline::Cancel;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

/// The smallest instance type every Studio app type runs on.
pub const INSTANCE_TYPE: &str = "ml.t3.medium";

#[derive(Debug, Clone, Serialize)]
pub struct Smoke {
    pub name: String,
    pub version: i32,
    pub app_type: String,
    /// The throwaway space, for JupyterLab and Code Editor.
    pub space: Option<String>,
    pub app: String,
    /// InService, Failed, or what it was when the deadline passed.
    pub status: String,
    pub failure_reason: Option<String>,
    pub cleaned_up: bool,
    pub passed: bool,
}

fn app_type(app: App) -> AppType {
    match app {
        App::KernelGateway => AppType::KernelGateway,
        App::Jupyterlab => AppType::JupyterLab,
        App::CodeEditor => AppType::CodeEditor,
    }
}

/// A name inside the seed patterns, unique enough for concurrent runs.
fn throwaway_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sagemaker-smoke-{:x}", nanos % 0xffff_ffff)
}

struct Where<'a> {
    profile: &'a str,
    space: Option<String>,
    app_name: String,
}

impl Where<'_> {
    fn describe_app(
        &self,
        clients: &Clients,
        k: &Kernel,
    ) -> aws_sdk_sagemaker::operation::describe_app::builders::DescribeAppFluentBuilder {
        let b = clients
            .sagemaker
            .describe_app()
            .domain_id(&k.domain_id)
            .app_type(app_type(k.app))
            .app_name(&self.app_name);
        match &self.space {
            Some(s) => b.space_name(s),
            None => b.user_profile_name(self.profile),
        }
    }
}

async fn app_state(
    clients: &Clients,
    k: &Kernel,
    w: &Where<'_>,
) -> Result<(String, Option<String>), Error> {
    let a = w
        .describe_app(clients, k)
        .send()
        .await
        .map_err(|e| Error::aws("sagemaker:DescribeApp", &e))?;
    Ok((
        a.status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        a.failure_reason().map(str::to_string),
    ))
}

/// Waits while `busy(status)`, until the deadline or Ctrl-C; returns the last status seen.
async fn wait_app(
    clients: &Clients,
    k: &Kernel,
    w: &Where<'_>,
    busy: &[&str],
    deadline: Instant,
    cancel: Option<&Cancel>,
) -> Result<(String, Option<String>), Error> {
    loop {
        let state = app_state(clients, k, w).await?;
        if !busy.contains(&state.0.as_str()) || Instant::now() > deadline {
            return Ok(state);
        }
        match cancel {
            Some(c) => {
                if c.sleep(Duration::from_millis(300)).await {
                    return Ok(state);
                }
            }
            None => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

async fn wait_space(
    clients: &Clients,
    k: &Kernel,
    space: &str,
    deadline: Instant,
    cancel: &Cancel,
) -> Result<(), Error> {
    loop {
        let s = clients
            .sagemaker
            .describe_space()
            .domain_id(&k.domain_id)
            .space_name(space)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DescribeSpace", &e))?;
        match s.status().map(|s| s.as_str()) {
            Some("InService") => return Ok(()),
            Some("Pending") | None => {}
            Some(other) => {
                return Err(Error::failed(format!(
                    "the throwaway space {space} is {other}: {}",
                    s.failure_reason().unwrap_or("no reason given")
                )))
            }
        }
        if Instant::now() > deadline {
            return Err(Error::failed(format!(
                "the throwaway space {space} did not become InService in time"
            )));
        }
        if cancel.sleep(Duration::from_millis(300)).await {
            return Err(Error::Interrupted(format!(
                "interrupted while space {space} was starting"
            )));
        }
    }
}

/// Deletes the app (once it has left Pending) and then the space; cleanup ignores Ctrl-C, so
/// an interrupted run still leaves nothing behind.
async fn clean_up(
    clients: &Clients,
    k: &Kernel,
    w: &Where<'_>,
    app_created: bool,
) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(900);
    if app_created {
        let (status, _) = wait_app(clients, k, w, &["Pending"], deadline, None).await?;
        if !matches!(status.as_str(), "Deleted" | "Deleting") {
            let b = clients
                .sagemaker
                .delete_app()
                .domain_id(&k.domain_id)
                .app_type(app_type(k.app))
                .app_name(&w.app_name);
            let b = match &w.space {
                Some(s) => b.space_name(s),
                None => b.user_profile_name(w.profile),
            };
            b.send()
                .await
                .map_err(|e| Error::aws("sagemaker:DeleteApp", &e))?;
        }
        wait_app(
            clients,
            k,
            w,
            &["Deleting", "InService", "Pending"],
            deadline,
            None,
        )
        .await?;
    }
    if let Some(space) = &w.space {
        clients
            .sagemaker
            .delete_space()
            .domain_id(&k.domain_id)
            .space_name(space)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DeleteSpace", &e))?;
    }
    Ok(())
}

pub async fn run(
    clients: &Clients,
    k: &Kernel,
    r: &Resources,
    profile: &str,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<Smoke, Error> {
    let versions = live::versions(clients, &k.name).await?;
    let version = versions
        .iter()
        .find(|v| v.created())
        .map(|v| v.number)
        .ok_or_else(|| {
            Error::failed(format!(
                "{} has no CREATED version to test; publish it first",
                k.name
            ))
        })?;
    let deadline = Instant::now() + timeout;
    let name = throwaway_name();
    let w = Where {
        profile,
        space: (k.app != App::KernelGateway).then(|| name.clone()),
        app_name: if k.app == App::KernelGateway {
            name.clone()
        } else {
            "default".into()
        },
    };
    let mut out = Smoke {
        name: k.name.clone(),
        version,
        app_type: app_type(k.app).as_str().to_string(),
        space: w.space.clone(),
        app: w.app_name.clone(),
        status: String::new(),
        failure_reason: None,
        cleaned_up: false,
        passed: false,
    };
    if let Some(space) = &w.space {
        clients
            .sagemaker
            .create_space()
            .domain_id(&k.domain_id)
            .space_name(space)
            .space_settings(SpaceSettings::builder().app_type(app_type(k.app)).build())
            .ownership_settings(
                OwnershipSettings::builder()
                    .owner_user_profile_name(profile)
                    .build(),
            )
            .space_sharing_settings(
                SpaceSharingSettings::builder()
                    .sharing_type(SharingType::Private)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:CreateSpace", &e))?;
    }
    // From here on, whatever happens, what was created is deleted.
    let attempt = async {
        if let Some(space) = &w.space {
            wait_space(clients, k, space, deadline, cancel).await?;
        }
        let spec = ResourceSpec::builder()
            .sage_maker_image_arn(&r.image_arn)
            .sage_maker_image_version_arn(format!(
                "{}/{version}",
                r.image_versions_arn.trim_end_matches("/*")
            ))
            .instance_type(AppInstanceType::from(INSTANCE_TYPE))
            .build();
        let b = clients
            .sagemaker
            .create_app()
            .domain_id(&k.domain_id)
            .app_type(app_type(k.app))
            .app_name(&w.app_name)
            .resource_spec(spec);
        let b = match &w.space {
            Some(s) => b.space_name(s),
            None => b.user_profile_name(profile),
        };
        b.send()
            .await
            .map_err(|e| Error::aws("sagemaker:CreateApp", &e))?;
        Ok::<_, Error>(wait_app(clients, k, &w, &["Pending"], deadline, Some(cancel)).await)
    }
    .await;
    let app_created = attempt.is_ok();
    let cleanup = clean_up(clients, k, &w, app_created).await;
    out.cleaned_up = cleanup.is_ok();
    let state = attempt??;
    out.status = state.0;
    out.failure_reason = state.1;
    cleanup?;
    if cancel.is_set() {
        return Err(Error::Interrupted(format!(
            "interrupted during the smoke test of {}; the throwaway app and space were deleted",
            k.name
        )));
    }
    out.passed = out.status == "InService";
    Ok(out)
}

pub fn text(s: &Smoke) -> String {
    let where_ = match &s.space {
        Some(sp) => format!("space {sp}"),
        None => format!("app {}", s.app),
    };
    let mut t = format!(
        "{}: version {} {} in a throwaway {where_}: {}\n",
        s.name,
        s.version,
        s.app_type,
        if s.passed {
            "started (InService)".to_string()
        } else {
            format!("did not start ({})", s.status)
        }
    );
    if let Some(r) = &s.failure_reason {
        t.push_str(&format!("  FailureReason: {r}\n"));
    }
    t.push_str(if s.cleaned_up {
        "  deleted what the test created\n"
    } else {
        "  cleanup failed; delete the space/app by hand\n"
    });
    t
}

pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    let dom = format!("arn:{}:sagemaker:{}:{}", r.partition, r.region, r.account);
    live::declare_versions_read(&mut b, r);
    if k.app != App::KernelGateway {
        let space = format!("{dom}:space/{}/sagemaker-smoke-*", r.domain_id);
        b.caller("sagemaker", "CreateSpace", "sagemaker:CreateSpace", &space);
        b.caller(
            "sagemaker",
            "DescribeSpace",
            "sagemaker:DescribeSpace",
            &space,
        );
        b.caller("sagemaker", "DeleteSpace", "sagemaker:DeleteSpace", &space);
    }
    let app = format!("{dom}:app/{}/*", r.domain_id);
    for (op, action) in [
        ("CreateApp", "sagemaker:CreateApp"),
        ("DescribeApp", "sagemaker:DescribeApp"),
        ("DeleteApp", "sagemaker:DeleteApp"),
    ] {
        b.caller("sagemaker", op, action, &app);
    }
    b.done(
        StepId::SmokeTest,
        format!(
            "start a throwaway {} on the newest version ({INSTANCE_TYPE}), wait, report, delete it",
            k.app.as_str()
        ),
    )
}
