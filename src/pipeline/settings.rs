//! The Studio settings that list custom images, read and written one way for publish and for
//! every lifecycle command. A domain holds two lists per app, its default user settings
//! (private spaces and Studio Classic) and its default space settings (shared spaces), both
//! read by one DescribeDomain and written by one UpdateDomain; a user profile holds its own
//! (DescribeUserProfile, UpdateUserProfile). UpdateDomain replaces an app's settings
//! sub-structure when it is given one, so only the apps that change are sent, each with every
//! other member it has now.

use std::time::Duration;

use aws_sdk_sagemaker::types::{
    CodeEditorAppSettings, CustomImage, DefaultSpaceSettings, DomainStatus, JupyterLabAppSettings,
    KernelGatewayAppSettings, UserProfileStatus, UserSettings,
};
use serde_json::{json, Value};

use super::cancel::Deadline;
use super::{Backoff, Cancel};
use crate::aws::Clients;
use crate::config::{App, Attach, Kernel};
use crate::error::Error;
use crate::plan::requests;
use crate::plan::steps::Builder;
use crate::plan::Resources;

/// A domain update takes a minute or two; one that has not settled in this long is stuck.
const SETTLE: Duration = Duration::from_secs(30 * 60);

/// Which of a domain's two lists: user settings (a profile's, or the domain's defaults) or the
/// domain's default space settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    User,
    Space,
}

/// The resource one update writes: a domain (UpdateDomain) or one of its user profiles
/// (UpdateUserProfile).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AttachKey {
    pub region: String,
    pub domain_id: String,
    pub user_profile: Option<String>,
}

impl AttachKey {
    pub fn label(&self) -> String {
        match &self.user_profile {
            Some(p) => format!("user profile {p} of domain {}", self.domain_id),
            None => format!("domain {}", self.domain_id),
        }
    }

    pub fn operation(&self) -> &'static str {
        match self.user_profile {
            Some(_) => "UpdateUserProfile",
            None => "UpdateDomain",
        }
    }

    /// The request member that holds `section`'s list in this resource's update.
    pub fn member(&self, section: Section) -> &'static str {
        match (&self.user_profile, section) {
            (Some(_), _) => "UserSettings",
            (None, Section::User) => "DefaultUserSettings",
            (None, Section::Space) => "DefaultSpaceSettings",
        }
    }
}

/// One list a kernel's entry lives in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub key: AttachKey,
    pub section: Section,
}

impl Place {
    /// Every place the kernel's `attach` lists it: `user-settings` goes to the user profile
    /// when one is set, `space-settings` always to the domain.
    pub fn of(k: &Kernel) -> Vec<Place> {
        k.attach
            .iter()
            .map(|a| {
                let (user_profile, section) = match a {
                    Attach::UserSettings => (k.user_profile.clone(), Section::User),
                    Attach::SpaceSettings => (None, Section::Space),
                };
                Place {
                    key: AttachKey {
                        region: k.region.clone(),
                        domain_id: k.domain_id.clone(),
                        user_profile,
                    },
                    section,
                }
            })
            .collect()
    }

    pub fn label(&self) -> String {
        match (&self.key.user_profile, self.section) {
            (Some(p), _) => format!("user profile {p}"),
            (None, Section::User) => format!("domain {} default user settings", self.key.domain_id),
            (None, Section::Space) => {
                format!("domain {} default space settings", self.key.domain_id)
            }
        }
    }

    /// Where the app's list is in the request, e.g. `DefaultSpaceSettings.JupyterLabAppSettings`.
    pub fn path(&self, app: App) -> String {
        format!(
            "{}.{}",
            self.key.member(self.section),
            app.settings_member()
        )
    }
}

/// The distinct resources a kernel's places are written through, in the order of its places
/// (user settings first).
pub fn keys_of(k: &Kernel) -> Vec<AttachKey> {
    let mut keys: Vec<AttachKey> = Vec::new();
    for p in Place::of(k) {
        if !keys.contains(&p.key) {
            keys.push(p.key);
        }
    }
    keys
}

/// The settings as DescribeDomain or DescribeUserProfile returned them.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub status: String,
    pub user: Option<UserSettings>,
    pub space: Option<DefaultSpaceSettings>,
}

impl Current {
    fn kernel_gateway(&self, section: Section) -> Option<&KernelGatewayAppSettings> {
        match section {
            Section::User => self.user.as_ref()?.kernel_gateway_app_settings(),
            Section::Space => self.space.as_ref()?.kernel_gateway_app_settings(),
        }
    }

    fn jupyter_lab(&self, section: Section) -> Option<&JupyterLabAppSettings> {
        match section {
            Section::User => self.user.as_ref()?.jupyter_lab_app_settings(),
            Section::Space => self.space.as_ref()?.jupyter_lab_app_settings(),
        }
    }

    fn code_editor(&self, section: Section) -> Option<&CodeEditorAppSettings> {
        match section {
            Section::User => self.user.as_ref()?.code_editor_app_settings(),
            // DefaultSpaceSettings has no Code Editor member.
            Section::Space => None,
        }
    }

    /// The app's custom images in `section`.
    pub fn custom_images(&self, section: Section, app: App) -> Vec<CustomImage> {
        match app {
            App::KernelGateway => self.kernel_gateway(section).map(|a| a.custom_images()),
            App::Jupyterlab => self.jupyter_lab(section).map(|a| a.custom_images()),
            App::CodeEditor => self.code_editor(section).map(|a| a.custom_images()),
        }
        .map(<[CustomImage]>::to_vec)
        .unwrap_or_default()
    }
}

/// What one UpdateDomain or UpdateUserProfile sends.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub user: Option<UserSettings>,
    pub space: Option<DefaultSpaceSettings>,
}

/// The app settings with `images` as its CustomImages: taken from what this update already
/// holds, else from the current settings, so every other member is kept.
macro_rules! with_images {
    ($slot:expr, $now:expr, $ty:ty, $images:expr) => {{
        let mut a = $slot
            .take()
            .or_else(|| $now.cloned())
            .unwrap_or_else(|| <$ty>::builder().build());
        a.custom_images = Some($images);
        $slot = Some(a);
    }};
}

impl Update {
    /// `images` replaces the app's CustomImages in `section`.
    pub fn set(&mut self, current: &Current, section: Section, app: App, images: Vec<CustomImage>) {
        match section {
            Section::User => {
                let u = self
                    .user
                    .get_or_insert_with(|| UserSettings::builder().build());
                match app {
                    App::KernelGateway => with_images!(
                        u.kernel_gateway_app_settings,
                        current.kernel_gateway(section),
                        KernelGatewayAppSettings,
                        images
                    ),
                    App::Jupyterlab => with_images!(
                        u.jupyter_lab_app_settings,
                        current.jupyter_lab(section),
                        JupyterLabAppSettings,
                        images
                    ),
                    App::CodeEditor => with_images!(
                        u.code_editor_app_settings,
                        current.code_editor(section),
                        CodeEditorAppSettings,
                        images
                    ),
                }
            }
            Section::Space => {
                let s = self
                    .space
                    .get_or_insert_with(|| DefaultSpaceSettings::builder().build());
                match app {
                    App::KernelGateway => with_images!(
                        s.kernel_gateway_app_settings,
                        current.kernel_gateway(section),
                        KernelGatewayAppSettings,
                        images
                    ),
                    App::Jupyterlab => with_images!(
                        s.jupyter_lab_app_settings,
                        current.jupyter_lab(section),
                        JupyterLabAppSettings,
                        images
                    ),
                    // Refused as bad input when the manifest is read (config::finish).
                    App::CodeEditor => unreachable!("code-editor images have no space settings"),
                }
            }
        }
    }

    /// The update that sends every list of `body` (a body made by `requests::domain_update`).
    pub fn from_body(key: &AttachKey, current: &Current, body: &Value) -> Update {
        let mut u = Update::default();
        for section in [Section::User, Section::Space] {
            for app in [App::KernelGateway, App::Jupyterlab, App::CodeEditor] {
                if let Some(list) = requests::custom_images_of(body, key.member(section), app) {
                    u.set(current, section, app, from_json(list));
                }
            }
        }
        u
    }
}

/// The request-body form of custom-image entries.
pub fn to_json(images: &[CustomImage]) -> Vec<Value> {
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

/// One read of the domain (both lists) or of the user profile.
pub async fn describe(clients: &Clients, key: &AttachKey) -> Result<Current, Error> {
    match &key.user_profile {
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
            Ok(Current {
                status: d
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                user: d.default_user_settings().cloned(),
                space: d.default_space_settings().cloned(),
            })
        }
        Some(name) => {
            let p = clients
                .sagemaker
                .describe_user_profile()
                .domain_id(&key.domain_id)
                .user_profile_name(name)
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error().is_some_and(|s| s.is_resource_not_found()) {
                        Error::failed(format!(
                            "user profile {name} does not exist in Studio domain {} ({}); check user-profile (aws sagemaker list-user-profiles --domain-id-equals {})",
                            key.domain_id, key.region, key.domain_id
                        ))
                    } else {
                        Error::aws("sagemaker:DescribeUserProfile", &e)
                    }
                })?;
            Ok(Current {
                status: p
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                user: p.user_settings().cloned(),
                space: None,
            })
        }
    }
}

/// Reads the settings once the domain (or profile) is InService: Pending and Updating are
/// waited out (with a deadline, and Ctrl-C), any other status is an error. `waiting` hears
/// the status once, when the wait starts.
pub async fn read_in_service(
    clients: &Clients,
    key: &AttachKey,
    cancel: &Cancel,
    waiting: &(dyn Fn(&str) + Sync),
) -> Result<Current, Error> {
    let mut backoff = Backoff::new(500, 5000);
    let deadline = Deadline::after(SETTLE);
    let mut said = false;
    loop {
        let current = describe(clients, key).await?;
        let in_service = match key.user_profile {
            None => current.status == DomainStatus::InService.as_str(),
            Some(_) => current.status == UserProfileStatus::InService.as_str(),
        };
        if in_service {
            return Ok(current);
        }
        if !matches!(current.status.as_str(), "Pending" | "Updating") {
            return Err(Error::failed(format!(
                "{} is {}; it must be InService to change its custom images (see it in the SageMaker console)",
                key.label(),
                current.status
            )));
        }
        if !said {
            waiting(&current.status);
            said = true;
        }
        deadline.check(&format!("{} to be InService", key.label()))?;
        if cancel.sleep(backoff.next()).await {
            cancel.check(&format!(
                "while waiting for {} to be InService; the images, versions and app image configs exist and a re-run finishes the change",
                key.label()
            ))?;
        }
    }
}

/// How an update was refused.
pub enum Refusal {
    /// Another update of the domain is under way (ResourceInUse): wait and retry.
    Busy(Error),
    Final(Error),
}

/// Sends one update: UpdateDomain with the lists it holds, or UpdateUserProfile.
pub async fn send(clients: &Clients, key: &AttachKey, update: Update) -> Result<(), Refusal> {
    fn refusal<E>(
        call: &str,
        e: aws_sdk_sagemaker::error::SdkError<E, aws_sdk_sagemaker::config::http::HttpResponse>,
        busy: bool,
    ) -> Refusal
    where
        E: aws_sdk_sagemaker::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let e = Error::aws(call, &e);
        if busy {
            Refusal::Busy(e)
        } else {
            Refusal::Final(e)
        }
    }
    match &key.user_profile {
        None => clients
            .sagemaker
            .update_domain()
            .domain_id(&key.domain_id)
            .set_default_user_settings(update.user)
            .set_default_space_settings(update.space)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| s.is_resource_in_use());
                refusal("sagemaker:UpdateDomain", e, busy)
            }),
        Some(name) => clients
            .sagemaker
            .update_user_profile()
            .domain_id(&key.domain_id)
            .user_profile_name(name)
            .set_user_settings(update.user)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| s.is_resource_in_use());
                refusal("sagemaker:UpdateUserProfile", e, busy)
            }),
    }
}

/// A lifecycle command's write: send, then wait until the domain (or profile) is InService
/// again, so the command's output is what Studio now shows.
pub async fn write(
    clients: &Clients,
    key: &AttachKey,
    update: Update,
    cancel: &Cancel,
) -> Result<(), Error> {
    match send(clients, key, update).await {
        Ok(()) => {}
        Err(Refusal::Busy(e)) => {
            return Err(Error::failed(format!(
                "{e}\n{} is being updated by someone else; run the command again in a minute",
                key.label()
            )))
        }
        Err(Refusal::Final(e)) => return Err(e),
    }
    read_in_service(clients, key, cancel, &|_| {}).await?;
    Ok(())
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

/// The read of every resource the kernel's places are in.
pub fn declare_read(b: &mut Builder, k: &Kernel, r: &Resources) {
    for key in keys_of(k) {
        match &key.user_profile {
            None => b.caller(
                "sagemaker",
                "DescribeDomain",
                "sagemaker:DescribeDomain",
                &r.domain_arn,
            ),
            Some(p) => b.caller(
                "sagemaker",
                "DescribeUserProfile",
                "sagemaker:DescribeUserProfile",
                profile_arn(r, p),
            ),
        };
    }
}

/// The read and the write of every resource the kernel's places are in; shared by the attach
/// step and the lifecycle commands that change those settings.
pub fn declare_write(b: &mut Builder, k: &Kernel, r: &Resources) {
    for key in keys_of(k) {
        match &key.user_profile {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::sample_kernel;

    fn ci(name: &str) -> CustomImage {
        CustomImage::builder()
            .image_name(name)
            .app_image_config_name(format!("{name}-cfg"))
            .build()
    }

    #[test]
    fn places_follow_attach_and_the_user_profile() {
        let mut k = sample_kernel();
        let places = Place::of(&k);
        assert_eq!(places.len(), 1);
        assert_eq!(
            places[0].path(k.app),
            "DefaultUserSettings.KernelGatewayAppSettings"
        );

        k.attach = vec![Attach::UserSettings, Attach::SpaceSettings];
        k.user_profile = Some("alice".into());
        let places = Place::of(&k);
        assert_eq!(places[0].label(), "user profile alice");
        assert_eq!(
            places[0].path(k.app),
            "UserSettings.KernelGatewayAppSettings"
        );
        assert_eq!(places[1].key.user_profile, None);
        assert_eq!(
            places[1].path(k.app),
            "DefaultSpaceSettings.KernelGatewayAppSettings"
        );
        assert_eq!(keys_of(&k).len(), 2);

        // Both lists of the domain are written by one update.
        k.user_profile = None;
        assert_eq!(Place::of(&k).len(), 2);
        assert_eq!(keys_of(&k).len(), 1);
    }

    #[test]
    fn an_update_keeps_the_other_members_of_the_app_it_changes() {
        let current = Current {
            status: "InService".into(),
            user: None,
            space: Some(
                DefaultSpaceSettings::builder()
                    .execution_role("arn:aws:iam::123456789012:role/Exec")
                    .jupyter_lab_app_settings(
                        JupyterLabAppSettings::builder()
                            .lifecycle_config_arns("arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/x")
                            .custom_images(ci("other"))
                            .build(),
                    )
                    .build(),
            ),
        };
        assert_eq!(
            current.custom_images(Section::Space, App::Jupyterlab),
            [ci("other")]
        );
        assert!(current
            .custom_images(Section::User, App::Jupyterlab)
            .is_empty());
        let mut u = Update::default();
        u.set(
            &current,
            Section::Space,
            App::Jupyterlab,
            vec![ci("other"), ci("mine")],
        );
        assert!(u.user.is_none());
        let lab = u
            .space
            .as_ref()
            .unwrap()
            .jupyter_lab_app_settings()
            .unwrap();
        assert_eq!(lab.custom_images(), [ci("other"), ci("mine")]);
        assert_eq!(lab.lifecycle_config_arns().len(), 1);
        // Apps that do not change are not sent.
        assert!(u
            .space
            .as_ref()
            .unwrap()
            .kernel_gateway_app_settings()
            .is_none());
    }

    #[test]
    fn json_entries_round_trip() {
        let pinned = CustomImage::builder()
            .image_name("a")
            .app_image_config_name("a-cfg")
            .image_version_number(3)
            .build();
        let list = vec![ci("x"), pinned];
        assert_eq!(from_json(&to_json(&list)), list);
    }
}
