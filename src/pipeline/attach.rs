//! Attaches the image to the Studio domain (or one user profile): insert or replace only
//! this image's entry in the app's `CustomImages`, keep every other entry and every other
//! setting of that app, send just that sub-structure, wait for InService, and read it back.
//! A concurrent writer that dropped the entry is answered by retrying, with jitter.

use aws_sdk_sagemaker::types::{
    CodeEditorAppSettings, CustomImage, DomainStatus, JupyterLabAppSettings,
    KernelGatewayAppSettings, UserProfileStatus, UserSettings,
};

use super::{jitter, Backoff, Cancel, Reporter};
use crate::aws::{describe, Clients};
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::steps::{settings_path, Builder, Step};
use crate::plan::Resources;
use crate::plan::StepId;

const ATTEMPTS: u32 = 5;

/// The app's current custom images in these settings.
fn custom_images(settings: Option<&UserSettings>, app: App) -> Vec<CustomImage> {
    let Some(s) = settings else { return Vec::new() };
    match app {
        App::KernelGateway => s
            .kernel_gateway_app_settings()
            .map(|a| a.custom_images().to_vec()),
        App::Jupyterlab => s
            .jupyter_lab_app_settings()
            .map(|a| a.custom_images().to_vec()),
        App::CodeEditor => s
            .code_editor_app_settings()
            .map(|a| a.custom_images().to_vec()),
    }
    .unwrap_or_default()
}

/// `current` with this image's entry inserted or replaced in place.
pub fn merged(current: &[CustomImage], k: &Kernel) -> Vec<CustomImage> {
    let entry = CustomImage::builder()
        .image_name(&k.name)
        .app_image_config_name(&k.app_image_config)
        .build();
    let mut out = Vec::with_capacity(current.len() + 1);
    let mut placed = false;
    for img in current {
        if img.image_name() == Some(k.name.as_str()) {
            if !placed {
                out.push(entry.clone());
                placed = true;
            }
        } else {
            out.push(img.clone());
        }
    }
    if !placed {
        out.push(entry);
    }
    out
}

fn is_attached(current: &[CustomImage], k: &Kernel) -> bool {
    current.iter().any(|c| {
        c.image_name() == Some(k.name.as_str())
            && c.app_image_config_name() == Some(k.app_image_config.as_str())
            && c.image_version_number().is_none()
    })
}

/// The update: only this app's settings, with every other member of them kept.
fn update_settings(
    settings: Option<&UserSettings>,
    app: App,
    images: Vec<CustomImage>,
) -> UserSettings {
    let b = UserSettings::builder();
    match app {
        App::KernelGateway => {
            let mut a = settings
                .and_then(|s| s.kernel_gateway_app_settings().cloned())
                .unwrap_or_else(|| KernelGatewayAppSettings::builder().build());
            a.custom_images = Some(images);
            b.kernel_gateway_app_settings(a).build()
        }
        App::Jupyterlab => {
            let mut a = settings
                .and_then(|s| s.jupyter_lab_app_settings().cloned())
                .unwrap_or_else(|| JupyterLabAppSettings::builder().build());
            a.custom_images = Some(images);
            b.jupyter_lab_app_settings(a).build()
        }
        App::CodeEditor => {
            let mut a = settings
                .and_then(|s| s.code_editor_app_settings().cloned())
                .unwrap_or_else(|| CodeEditorAppSettings::builder().build());
            a.custom_images = Some(images);
            b.code_editor_app_settings(a).build()
        }
    }
}

enum Target<'a> {
    Domain,
    Profile(&'a str),
}

/// Reads the settings once the domain (or profile) is InService.
async fn read_settings(
    clients: &Clients,
    k: &Kernel,
    target: &Target<'_>,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Option<UserSettings>, Error> {
    let mut backoff = Backoff::new(500, 5000);
    let mut said = false;
    loop {
        let (status, settings) = match target {
            Target::Domain => {
                let d = clients
                    .sagemaker
                    .describe_domain()
                    .domain_id(&k.domain_id)
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error().is_some_and(|s| s.is_resource_not_found()) {
                            Error::failed(format!(
                                "Studio domain {} does not exist in {}; check domain-id (aws sagemaker list-domains)",
                                k.domain_id, k.region
                            ))
                        } else {
                            Error::failed(describe("sagemaker:DescribeDomain", &e))
                        }
                    })?;
                let status = d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                let ready = matches!(d.status(), Some(DomainStatus::InService));
                (
                    if ready { None } else { Some(status) },
                    d.default_user_settings().cloned(),
                )
            }
            Target::Profile(name) => {
                let p = clients
                    .sagemaker
                    .describe_user_profile()
                    .domain_id(&k.domain_id)
                    .user_profile_name(*name)
                    .send()
                    .await
                    .map_err(|e| Error::failed(describe("sagemaker:DescribeUserProfile", &e)))?;
                let status = p
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                let ready = matches!(p.status(), Some(UserProfileStatus::InService));
                (
                    if ready { None } else { Some(status) },
                    p.user_settings().cloned(),
                )
            }
        };
        match status {
            None => return Ok(settings),
            Some(s) if matches!(s.as_str(), "Pending" | "Updating") => {
                if !said {
                    reporter.step(&k.name, StepId::DomainAttach, &format!("waiting for domain {} ({s})", k.domain_id));
                    said = true;
                }
            }
            Some(s) => {
                return Err(Error::failed(format!(
                    "domain {} is {s}; it must be InService to attach an image (see the domain in the SageMaker console)",
                    k.domain_id
                )))
            }
        }
        if cancel.sleep(backoff.next()).await {
            return Err(Error::Interrupted(
                "interrupted while waiting for the domain; the image, version and app image config exist and a re-run will attach them".into(),
            ));
        }
    }
}

async fn inservice_apps(clients: &Clients, k: &Kernel) -> String {
    match clients
        .sagemaker
        .list_apps()
        .domain_id_equals(&k.domain_id)
        .send()
        .await
    {
        Ok(out) => out
            .apps()
            .iter()
            .filter(|a| a.status().is_some_and(|s| s.as_str() == "InService"))
            .map(|a| {
                let owner = match (a.user_profile_name(), a.space_name()) {
                    (Some(u), _) => format!("--user-profile-name {u}"),
                    (_, Some(s)) => format!("--space-name {s}"),
                    _ => String::new(),
                };
                format!(
                    "aws sagemaker delete-app --domain-id {} {owner} --app-type {} --app-name {}",
                    k.domain_id,
                    a.app_type().map(|t| t.as_str()).unwrap_or("?"),
                    a.app_name().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join("\n  "),
        Err(_) => String::new(),
    }
}

/// Returns false when the entry was already there (nothing sent).
pub async fn attach(
    clients: &Clients,
    k: &Kernel,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<bool, Error> {
    let target = match &k.user_profile {
        Some(p) => Target::Profile(p),
        None => Target::Domain,
    };
    for attempt in 0..ATTEMPTS {
        let settings = read_settings(clients, k, &target, reporter, cancel).await?;
        let current = custom_images(settings.as_ref(), k.app);
        if is_attached(&current, k) {
            if attempt == 0 {
                reporter.skipped(
                    &k.name,
                    StepId::DomainAttach,
                    &format!("{} is already attached", k.name),
                );
                return Ok(false);
            }
            return Ok(true);
        }
        cancel.check("before updating the domain; a re-run will attach the image")?;
        let images = merged(&current, k);
        let update = update_settings(settings.as_ref(), k.app, images);
        reporter.step(
            &k.name,
            StepId::DomainAttach,
            &format!(
                "adding {} to {} ({} custom images)",
                k.name,
                k.domain_id,
                current.len() + 1
            ),
        );
        let sent = match &target {
            Target::Domain => clients
                .sagemaker
                .update_domain()
                .domain_id(&k.domain_id)
                .default_user_settings(update)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.to_string(), describe("sagemaker:UpdateDomain", &e))),
            Target::Profile(name) => clients
                .sagemaker
                .update_user_profile()
                .domain_id(&k.domain_id)
                .user_profile_name(*name)
                .user_settings(update)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.to_string(), describe("sagemaker:UpdateUserProfile", &e))),
        };
        if let Err((_, msg)) = sent {
            if msg.contains("InService App") {
                let apps = inservice_apps(clients, k).await;
                return Err(Error::failed(format!(
                    "{msg}\nStudio refuses to change the domain while apps run. Shut them down in Studio, or delete them:\n  {}\nthen run sm-kernel publish again (the image, version and app image config are already in place).",
                    if apps.is_empty() { "aws sagemaker list-apps --domain-id-equals ".to_string() + &k.domain_id } else { apps }
                )));
            }
            // Another update of the domain is under way: wait for it and try again.
            if msg.contains("Updating")
                || msg.contains("ResourceInUse")
                || msg.contains("concurrent")
            {
                tokio::time::sleep(jitter(attempt + 1)).await;
                continue;
            }
            return Err(Error::failed(msg));
        }
        // Read back: a concurrent writer may have replaced the list with its own.
        let after = read_settings(clients, k, &target, reporter, cancel).await?;
        if is_attached(&custom_images(after.as_ref(), k.app), k) {
            return Ok(true);
        }
        reporter.warn(&format!(
            "{} is missing from the domain after the update (another writer?); retrying",
            k.name
        ));
        tokio::time::sleep(jitter(attempt + 1)).await;
    }
    Err(Error::failed(format!(
        "could not attach {} to domain {} after {ATTEMPTS} attempts: another writer keeps replacing its custom images",
        k.name, k.domain_id
    )))
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
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
    b.done(StepId::DomainAttach, summary)
}
