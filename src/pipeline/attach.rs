//! Attaches kernels to a Studio domain (or one user profile): every kernel of one release
//! that goes to the same domain (or profile) is merged into ONE update, so a release waits
//! for InService once, not once per kernel. Each kernel's entry is inserted or replaced in
//! its app's `CustomImages`; every other entry and every other setting of that app is kept,
//! only the changed app settings are sent, and the result is read back. A concurrent writer
//! that dropped an entry is answered by retrying, with jitter.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sagemaker::types::{
    AppStatus, CodeEditorAppSettings, CustomImage, DomainStatus, JupyterLabAppSettings,
    KernelGatewayAppSettings, UserProfileStatus, UserSettings,
};
use serde_json::{json, Value};

use super::cancel::Deadline;
use super::{jitter, Backoff, Cancel, Reporter};
use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::requests;
use crate::plan::steps::{settings_path, Builder, Step};
use crate::plan::Resources;
use crate::plan::StepId;

const ATTEMPTS: u32 = 5;
/// A domain update takes a minute or two; one that has not settled in this long is stuck.
const DOMAIN_WAIT: Duration = Duration::from_secs(30 * 60);

/// Where an attach group writes: the domain's defaults or one user profile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AttachKey {
    pub region: String,
    pub domain_id: String,
    pub user_profile: Option<String>,
}

impl AttachKey {
    pub fn of(k: &Kernel) -> AttachKey {
        AttachKey {
            region: k.region.clone(),
            domain_id: k.domain_id.clone(),
            user_profile: k.user_profile.clone(),
        }
    }

    fn label(&self) -> String {
        match &self.user_profile {
            Some(p) => format!("user profile {p} of domain {}", self.domain_id),
            None => format!("domain {}", self.domain_id),
        }
    }
}

/// The app's current custom images in these settings.
pub fn custom_images(settings: Option<&UserSettings>, app: App) -> Vec<CustomImage> {
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

fn to_json(images: &[CustomImage]) -> Vec<Value> {
    images
        .iter()
        .map(|c| {
            let mut v = json!({
                "ImageName": c.image_name(),
                "AppImageConfigName": c.app_image_config_name(),
            });
            if let Some(n) = c.image_version_number() {
                v["ImageVersionNumber"] = json!(n);
            }
            v
        })
        .collect()
}

fn from_json(images: &[Value]) -> Vec<CustomImage> {
    images
        .iter()
        .map(|v| {
            CustomImage::builder()
                .set_image_name(v["ImageName"].as_str().map(str::to_string))
                .set_app_image_config_name(v["AppImageConfigName"].as_str().map(str::to_string))
                .set_image_version_number(
                    v.get("ImageVersionNumber")
                        .and_then(Value::as_i64)
                        .map(|n| n as i32),
                )
                .build()
        })
        .collect()
}

fn is_attached(current: &[CustomImage], k: &Kernel) -> bool {
    current.iter().any(|c| {
        c.image_name() == Some(k.name.as_str())
            && c.app_image_config_name() == Some(k.app_image_config.as_str())
            && c.image_version_number().is_none()
    })
}

/// The SDK settings to send: each app of `body` (the one request body, built by
/// `requests::domain_update`) gets its `CustomImages` from the body, and keeps every other
/// member it has now, because UpdateDomain replaces a sub-structure it is given.
fn update_settings(settings: Option<&UserSettings>, body: &Value) -> UserSettings {
    let mut b = UserSettings::builder();
    if let Some(list) = requests::custom_images_of(body, App::KernelGateway) {
        let mut a = settings
            .and_then(|s| s.kernel_gateway_app_settings().cloned())
            .unwrap_or_else(|| KernelGatewayAppSettings::builder().build());
        a.custom_images = Some(from_json(list));
        b = b.kernel_gateway_app_settings(a);
    }
    if let Some(list) = requests::custom_images_of(body, App::Jupyterlab) {
        let mut a = settings
            .and_then(|s| s.jupyter_lab_app_settings().cloned())
            .unwrap_or_else(|| JupyterLabAppSettings::builder().build());
        a.custom_images = Some(from_json(list));
        b = b.jupyter_lab_app_settings(a);
    }
    if let Some(list) = requests::custom_images_of(body, App::CodeEditor) {
        let mut a = settings
            .and_then(|s| s.code_editor_app_settings().cloned())
            .unwrap_or_else(|| CodeEditorAppSettings::builder().build());
        a.custom_images = Some(from_json(list));
        b = b.code_editor_app_settings(a);
    }
    b.build()
}

/// Reads the settings once the domain (or profile) is InService.
async fn read_settings(
    clients: &Clients,
    key: &AttachKey,
    who: &str,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Option<UserSettings>, Error> {
    let mut backoff = Backoff::new(500, 5000);
    let deadline = Deadline::after(DOMAIN_WAIT);
    let mut said = false;
    loop {
        let (status, settings) = match &key.user_profile {
            None => {
                let d = clients
                    .sagemaker
                    .describe_domain()
                    .domain_id(&key.domain_id)
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error().is_some_and(|s| s.is_resource_not_found()) {
                            Error::failed(format!(
                                "Studio domain {} does not exist in {}; check domain-id (aws sagemaker list-domains)",
                                key.domain_id, key.region
                            ))
                        } else {
                            Error::aws("sagemaker:DescribeDomain", &e)
                        }
                    })?;
                let ready = matches!(d.status(), Some(DomainStatus::InService));
                let status = d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                (
                    if ready { None } else { Some(status) },
                    d.default_user_settings().cloned(),
                )
            }
            Some(name) => {
                let p = clients
                    .sagemaker
                    .describe_user_profile()
                    .domain_id(&key.domain_id)
                    .user_profile_name(name)
                    .send()
                    .await
                    .map_err(|e| Error::aws("sagemaker:DescribeUserProfile", &e))?;
                let ready = matches!(p.status(), Some(UserProfileStatus::InService));
                let status = p
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
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
                    reporter.step(who, StepId::DomainAttach, &format!("waiting for {} ({s})", key.label()));
                    said = true;
                }
                deadline.check(&format!("{} to be InService", key.label()))?;
            }
            Some(s) => {
                return Err(Error::failed(format!(
                    "{} is {s}; it must be InService to attach an image (see the domain in the SageMaker console)",
                    key.label()
                )))
            }
        }
        if cancel.sleep(backoff.next()).await {
            return cancel.check(&format!(
                "while waiting for {}; the images, versions and app image configs exist and a re-run will attach them",
                key.label()
            )).map(|_| None);
        }
    }
}

/// The apps that block a domain update, as the commands that delete them; empty when none
/// runs (then the refusal was about something else and is reported as AWS gave it).
async fn inservice_apps(clients: &Clients, key: &AttachKey) -> Vec<String> {
    let Ok(out) = clients
        .sagemaker
        .list_apps()
        .domain_id_equals(&key.domain_id)
        .send()
        .await
    else {
        return Vec::new();
    };
    out.apps()
        .iter()
        .filter(|a| matches!(a.status(), Some(AppStatus::InService)))
        .map(|a| {
            let owner = match (a.user_profile_name(), a.space_name()) {
                (Some(u), _) => format!("--user-profile-name {u}"),
                (_, Some(s)) => format!("--space-name {s}"),
                _ => String::new(),
            };
            format!(
                "aws sagemaker delete-app --domain-id {} {owner} --app-type {} --app-name {}",
                key.domain_id,
                a.app_type().map(|t| t.as_str()).unwrap_or("?"),
                a.app_name().unwrap_or("?")
            )
        })
        .collect()
}

/// How one UpdateDomain/UpdateUserProfile call failed.
enum Refusal {
    /// Another update of the domain is under way (ResourceInUse): wait and retry.
    Busy,
    Final(Error),
}

async fn send_update(
    clients: &Clients,
    key: &AttachKey,
    update: UserSettings,
) -> Result<(), Refusal> {
    fn classify<E>(
        call: &str,
        e: aws_sdk_sagemaker::error::SdkError<E, aws_sdk_sagemaker::config::http::HttpResponse>,
        busy: bool,
    ) -> Refusal
    where
        E: aws_sdk_sagemaker::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        if busy {
            Refusal::Busy
        } else {
            Refusal::Final(Error::aws(call, &e))
        }
    }
    match &key.user_profile {
        None => clients
            .sagemaker
            .update_domain()
            .domain_id(&key.domain_id)
            .default_user_settings(update)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| s.is_resource_in_use());
                classify("sagemaker:UpdateDomain", e, busy)
            }),
        Some(name) => clients
            .sagemaker
            .update_user_profile()
            .domain_id(&key.domain_id)
            .user_profile_name(name)
            .user_settings(update)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| s.is_resource_in_use());
                classify("sagemaker:UpdateUserProfile", e, busy)
            }),
    }
}

/// Attaches every kernel of one [`AttachKey`] with one update. Returns false when every
/// entry was already there (nothing sent).
pub async fn attach_group(
    clients: &Clients,
    key: &AttachKey,
    kernels: &[&Kernel],
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<bool, Error> {
    let who = kernels
        .iter()
        .map(|k| k.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let apps: Vec<App> = {
        let mut a: Vec<App> = kernels.iter().map(|k| k.app).collect();
        a.sort();
        a.dedup();
        a
    };
    for attempt in 0..ATTEMPTS {
        let settings = read_settings(clients, key, &who, reporter, cancel).await?;
        cancel.check(&format!(
            "before updating {}; a re-run will attach {who}",
            key.label()
        ))?;
        let current: BTreeMap<App, Vec<CustomImage>> = apps
            .iter()
            .map(|&a| (a, custom_images(settings.as_ref(), a)))
            .collect();
        let missing: Vec<&Kernel> = kernels
            .iter()
            .copied()
            .filter(|k| !is_attached(&current[&k.app], k))
            .collect();
        if missing.is_empty() {
            if attempt == 0 {
                reporter.skipped(
                    &who,
                    StepId::DomainAttach,
                    &format!("already attached to {}", key.label()),
                );
                return Ok(false);
            }
            return Ok(true);
        }
        let body = requests::domain_update(
            kernels,
            &current.iter().map(|(a, l)| (*a, to_json(l))).collect(),
        );
        let update = update_settings(settings.as_ref(), &body);
        reporter.step(
            &who,
            StepId::DomainAttach,
            &format!(
                "adding {} to {} in one update",
                missing
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                key.label()
            ),
        );
        match send_update(clients, key, update).await {
            Ok(()) => {}
            Err(Refusal::Busy) => {
                if cancel.sleep(jitter(attempt + 1)).await {
                    cancel.check("while the domain was busy; a re-run will attach the images")?;
                }
                continue;
            }
            Err(Refusal::Final(e)) => {
                // Studio refuses domain updates while apps run (a ValidationException): if
                // apps are InService, say which and how to stop them.
                let validation = e.aws_code() == Some("ValidationException");
                let apps = if validation {
                    inservice_apps(clients, key).await
                } else {
                    Vec::new()
                };
                if apps.is_empty() {
                    return Err(e);
                }
                return Err(Error::failed(format!(
                    "{e}\nStudio refuses to change the domain while apps run. Shut them down in Studio, or delete them:\n  {}\nthen run sm-kernel publish again (the images, versions and app image configs are already in place).",
                    apps.join("\n  ")
                )));
            }
        }
        // Read back: a concurrent writer may have replaced the list with its own.
        let after = read_settings(clients, key, &who, reporter, cancel).await?;
        let lost: Vec<&str> = kernels
            .iter()
            .filter(|k| !is_attached(&custom_images(after.as_ref(), k.app), k))
            .map(|k| k.name.as_str())
            .collect();
        if lost.is_empty() {
            return Ok(true);
        }
        reporter.warn(&format!(
            "{} missing from {} after the update (another writer?); retrying",
            lost.join(", "),
            key.label()
        ));
        if cancel.sleep(jitter(attempt + 1)).await {
            cancel.check("after a concurrent domain update; a re-run will attach the images")?;
        }
    }
    Err(Error::failed(format!(
        "could not attach {who} to {} after {ATTEMPTS} attempts: another writer keeps replacing its custom images",
        key.label()
    )))
}

/// The ARN IAM evaluates for a user profile (SageMaker lowercases the name in it).
pub fn profile_arn(r: &Resources, profile: &str) -> String {
    format!(
        "arn:{}:sagemaker:{}:{}:user-profile/{}/{}",
        r.partition,
        r.region,
        r.account,
        r.domain_id,
        profile.to_lowercase()
    )
}

/// The read and the write of the settings a kernel is attached to (the domain's defaults or
/// one user profile); shared with the lifecycle commands that change those settings.
pub fn declare_settings_write(b: &mut Builder, k: &Kernel, r: &Resources) {
    match &k.user_profile {
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
        }
        Some(p) => {
            let arn = profile_arn(r, p);
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
                arn,
            );
        }
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    declare_settings_write(&mut b, k, r);
    b.caller("sagemaker", "ListApps", "sagemaker:ListApps", "*")
        .when("only if an InService app blocks the update, to name it");
    let summary = match &k.user_profile {
        None => format!(
            "add {} to the domain's {}.CustomImages, keeping every other entry, and wait for InService",
            r.image_name,
            settings_path(k.app)
        ),
        Some(profile) => format!(
            "add {} to user profile {profile}'s UserSettings.{}.CustomImages, keeping every other entry",
            r.image_name,
            k.app.settings_member()
        ),
    };
    b.done(StepId::DomainAttach, summary)
}
