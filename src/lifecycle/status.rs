//! `sm-kernel status`: the manifest against the live account, read-only, like Terraform's
//! plan against real state. The verdict names the first thing a publish would have to do.

use serde::Serialize;

use super::live;
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::pipeline::{settings, verify};
use crate::plan::steps::{Builder, Step};
use crate::plan::{KernelPlan, Resources, StepId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    UpToDate,
    WouldBuild,
    WouldRegister,
    WouldAttach,
    Missing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::UpToDate => "up-to-date",
            Verdict::WouldBuild => "would-build",
            Verdict::WouldRegister => "would-register",
            Verdict::WouldAttach => "would-attach",
            Verdict::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionState {
    pub version: i32,
    pub status: String,
    pub aliases: Vec<String>,
    pub base_image: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelStatus {
    pub name: String,
    /// The image the context builds now (its tag derives from the context digest).
    pub image_uri: String,
    pub context_digest: String,
    pub image_status: Option<String>,
    /// Whether ECR holds the image for the current context.
    pub built: bool,
    /// The version whose base image is the current context's image.
    pub registered_version: Option<i32>,
    pub versions: Vec<VersionState>,
    pub app_image_config: Option<String>,
    pub app_image_config_matches: bool,
    /// The kernel's first place (its user settings: domain defaults or the user profile);
    /// `attached`, `pinned_version`, `attached_version` and `attached_image` describe it.
    pub settings: String,
    /// True when every place lists the kernel.
    pub attached: bool,
    /// The pinned version, when the entry names one (after a rollback).
    pub pinned_version: Option<i32>,
    /// The version Studio starts: the pinned one or the newest CREATED.
    pub attached_version: Option<i32>,
    /// The base image of the attached version: equal to `image_uri` when it runs this context.
    pub attached_image: Option<String>,
    /// Every place the kernel's `attach` names (user settings, space settings).
    pub places: Vec<PlaceStatus>,
    pub verdict: Verdict,
}

/// The kernel's entry in one settings list.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceStatus {
    pub settings: String,
    pub attached: bool,
    pub pinned_version: Option<i32>,
    pub attached_version: Option<i32>,
}

async fn app_image_config_matches(clients: &Clients, k: &Kernel) -> Result<Option<bool>, Error> {
    match clients
        .sagemaker
        .describe_app_image_config()
        .app_image_config_name(&k.app_image_config)
        .send()
        .await
    {
        Ok(d) => Ok(Some(match k.app {
            crate::config::App::KernelGateway => d.kernel_gateway_image_config().is_some(),
            crate::config::App::Jupyterlab => d.jupyter_lab_app_image_config().is_some(),
            crate::config::App::CodeEditor => d.code_editor_app_image_config().is_some(),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeAppImageConfig", &e)),
    }
}

/// One kernel's state; makes only reads.
pub async fn kernel_status(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
) -> Result<KernelStatus, Error> {
    let res = &kp.resources;
    let built = verify::find_image(clients, res).await?.is_some();
    let image_status = live::image_status(clients, &k.name).await?;
    let mut versions = Vec::new();
    let live_versions = if image_status.is_some() {
        live::versions(clients, &k.name).await?
    } else {
        Vec::new()
    };
    for v in &live_versions {
        versions.push(VersionState {
            version: v.number,
            status: v.status.clone(),
            aliases: live::aliases_of(clients, &k.name, v.number).await?,
            base_image: v.base_image.clone(),
        });
    }
    let registered_version = live_versions
        .iter()
        .find(|v| v.created() && v.base_image == res.image_uri)
        .map(|v| v.number);
    let aic = app_image_config_matches(clients, k).await?;
    let places: Vec<PlaceStatus> = live::configured(clients, k)
        .await?
        .iter()
        .map(|(place, current)| {
            let images = current.custom_images(place.section, k.app);
            let entry = live::entry(&images, k);
            PlaceStatus {
                settings: place.label(),
                attached: entry.is_some_and(|e| {
                    e.app_image_config_name() == Some(k.app_image_config.as_str())
                }),
                pinned_version: entry.and_then(|e| e.image_version_number()),
                attached_version: entry.and_then(|e| live::attached_version(e, &live_versions)),
            }
        })
        .collect();
    let first = &places[0];
    let attached = places.iter().all(|p| p.attached);
    let pinned_version = places.iter().find_map(|p| p.pinned_version);
    let attached_version = first.attached_version;
    let attached_image = attached_version.and_then(|n| {
        live_versions
            .iter()
            .find(|v| v.number == n)
            .map(|v| v.base_image.clone())
    });
    // An image being deleted is as good as gone: a publish creates it anew.
    let verdict = if image_status.as_deref().is_none_or(|s| s == "DELETING") {
        Verdict::Missing
    } else if !built {
        Verdict::WouldBuild
    } else if registered_version.is_none() {
        Verdict::WouldRegister
    } else if !attached
        || aic != Some(true)
        || pinned_version.is_some()
        || places
            .iter()
            .any(|p| p.attached_version != registered_version)
        || !k.release.aliases.iter().all(|a| {
            versions
                .iter()
                .any(|v| Some(v.version) == registered_version && v.aliases.contains(a))
        })
    {
        Verdict::WouldAttach
    } else {
        Verdict::UpToDate
    };
    Ok(KernelStatus {
        name: k.name.clone(),
        image_uri: res.image_uri.clone(),
        context_digest: kp.context.report.digest.clone(),
        image_status,
        built,
        registered_version,
        versions,
        app_image_config: aic.map(|_| k.app_image_config.clone()),
        app_image_config_matches: aic == Some(true),
        settings: first.settings.clone(),
        attached,
        pinned_version,
        attached_version,
        attached_image,
        places,
        verdict,
    })
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub kernels: Vec<KernelStatus>,
}

impl Report {
    pub fn all_up_to_date(&self) -> bool {
        self.kernels.iter().all(|k| k.verdict == Verdict::UpToDate)
    }

    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for k in &self.kernels {
            let _ = writeln!(s, "{}  {}", k.name, k.verdict.as_str());
            let _ = writeln!(
                s,
                "  context image     {}{}",
                k.image_uri,
                if k.built { "" } else { " (not built)" }
            );
            let _ = writeln!(
                s,
                "  image             {}",
                k.image_status.as_deref().unwrap_or("missing")
            );
            for v in &k.versions {
                let here = if v.base_image == k.image_uri {
                    "  (this context)"
                } else {
                    ""
                };
                let aliases = if v.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", v.aliases.join(", "))
                };
                let _ = writeln!(s, "  version {:<9} {}{aliases}{here}", v.version, v.status);
            }
            let _ = writeln!(
                s,
                "  app image config  {}",
                match (&k.app_image_config, k.app_image_config_matches) {
                    (None, _) => "missing".to_string(),
                    (Some(n), true) => n.clone(),
                    (Some(n), false) => format!("{n} (wrong app type)"),
                }
            );
            for p in &k.places {
                let attached = match (p.attached, p.attached_version, p.pinned_version) {
                    (false, _, _) => "not attached".to_string(),
                    (true, Some(v), Some(_)) => format!("version {v} (pinned)"),
                    (true, Some(v), None) => format!("version {v} (newest)"),
                    (true, None, _) => "attached, no CREATED version".to_string(),
                };
                let _ = writeln!(s, "  {}: {attached}", p.settings);
            }
        }
        s
    }
}

/// The calls `status` makes, all reads.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller(
        "ecr",
        "DescribeImages",
        "ecr:DescribeImages",
        &r.repository_arn,
    );
    live::declare_image_reads(&mut b, r);
    b.caller(
        "sagemaker",
        "ListAliases",
        "sagemaker:ListAliases",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "DescribeAppImageConfig",
        "sagemaker:DescribeAppImageConfig",
        &r.app_image_config_arn,
    );
    settings::declare_read(&mut b, k, r);
    b.done(
        StepId::Status,
        "read the image, its versions and aliases, the app image config and the attached settings",
    )
}
