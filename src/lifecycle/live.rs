//! What is live for a kernel: its image's versions and the custom-image entries of the
//! settings it is attached to (domain defaults or one user profile). Read-only helpers the
//! lifecycle commands share.

use aws_sdk_sagemaker::types::{CustomImage, ImageVersionStatus, UserSettings};

use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;

/// One version of the image, as DescribeImageVersion reports it.
#[derive(Debug, Clone)]
pub struct LiveVersion {
    pub number: i32,
    pub status: String,
    pub base_image: String,
}

impl LiveVersion {
    pub fn created(&self) -> bool {
        self.status == ImageVersionStatus::Created.as_str()
    }
}

/// Whether the SageMaker image exists (and its status).
pub async fn image_status(clients: &Clients, image: &str) -> Result<Option<String>, Error> {
    match clients
        .sagemaker
        .describe_image()
        .image_name(image)
        .send()
        .await
    {
        Ok(d) => Ok(Some(
            d.image_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeImage", &e)),
    }
}

/// Every version of the image, newest first; empty when the image does not exist.
pub async fn versions(clients: &Clients, image: &str) -> Result<Vec<LiveVersion>, Error> {
    let mut numbers = Vec::new();
    let mut token = None;
    loop {
        let out = match clients
            .sagemaker
            .list_image_versions()
            .image_name(image)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(Error::aws("sagemaker:ListImageVersions", &e)),
        };
        numbers.extend(out.image_versions().iter().filter_map(|v| v.version()));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(numbers.len());
    for n in numbers {
        let v = clients
            .sagemaker
            .describe_image_version()
            .image_name(image)
            .version(n)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DescribeImageVersion", &e))?;
        out.push(LiveVersion {
            number: n,
            status: v
                .image_version_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            base_image: v.base_image().unwrap_or_default().to_string(),
        });
    }
    Ok(out)
}

/// The aliases each version holds.
pub async fn aliases_of(
    clients: &Clients,
    image: &str,
    version: i32,
) -> Result<Vec<String>, Error> {
    let out = clients
        .sagemaker
        .list_aliases()
        .image_name(image)
        .version(version)
        .send()
        .await
        .map_err(|e| Error::aws("sagemaker:ListAliases", &e))?;
    Ok(out.sage_maker_image_version_aliases().to_vec())
}

/// Where the kernel is attached: the domain's default user settings or one user profile.
pub fn settings_label(k: &Kernel) -> String {
    match &k.user_profile {
        Some(p) => format!("user profile {p}"),
        None => format!("domain {} default user settings", k.domain_id),
    }
}

/// The settings the kernel attaches to, as they are now.
pub async fn user_settings(clients: &Clients, k: &Kernel) -> Result<Option<UserSettings>, Error> {
    match &k.user_profile {
        None => {
            let d = clients
                .sagemaker
                .describe_domain()
                .domain_id(&k.domain_id)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:DescribeDomain", &e))?;
            Ok(d.default_user_settings().cloned())
        }
        Some(p) => {
            let u = clients
                .sagemaker
                .describe_user_profile()
                .domain_id(&k.domain_id)
                .user_profile_name(p)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:DescribeUserProfile", &e))?;
            Ok(u.user_settings().cloned())
        }
    }
}

/// The app's custom images in these settings (the same reading attach does).
pub use crate::pipeline::attach::custom_images;

/// This kernel's entry among `images`.
pub fn entry<'a>(images: &'a [CustomImage], k: &Kernel) -> Option<&'a CustomImage> {
    images
        .iter()
        .find(|c| c.image_name() == Some(k.name.as_str()))
}

/// The version an entry runs: its pinned number, or the newest CREATED version.
pub fn attached_version(entry: &CustomImage, versions: &[LiveVersion]) -> Option<i32> {
    entry
        .image_version_number()
        .or_else(|| versions.iter().find(|v| v.created()).map(|v| v.number))
}

/// The update of only this app's settings: `images` replaces its CustomImages, every other
/// member of the app's settings is kept.
pub fn with_images(
    settings: Option<&UserSettings>,
    app: App,
    images: Vec<CustomImage>,
) -> UserSettings {
    use aws_sdk_sagemaker::types::{
        CodeEditorAppSettings, JupyterLabAppSettings, KernelGatewayAppSettings,
    };
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

/// Sends the update to the domain (or profile) and waits until it is InService again.
pub async fn write_settings(
    clients: &Clients,
    k: &Kernel,
    update: UserSettings,
    cancel: &crate::pipeline::Cancel,
) -> Result<(), Error> {
    match &k.user_profile {
        None => {
            clients
                .sagemaker
                .update_domain()
                .domain_id(&k.domain_id)
                .default_user_settings(update)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:UpdateDomain", &e))?;
        }
        Some(p) => {
            clients
                .sagemaker
                .update_user_profile()
                .domain_id(&k.domain_id)
                .user_profile_name(p)
                .user_settings(update)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:UpdateUserProfile", &e))?;
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let status = match &k.user_profile {
            None => clients
                .sagemaker
                .describe_domain()
                .domain_id(&k.domain_id)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:DescribeDomain", &e))?
                .status()
                .map(|s| s.as_str().to_string()),
            Some(p) => clients
                .sagemaker
                .describe_user_profile()
                .domain_id(&k.domain_id)
                .user_profile_name(p)
                .send()
                .await
                .map_err(|e| Error::aws("sagemaker:DescribeUserProfile", &e))?
                .status()
                .map(|s| s.as_str().to_string()),
        };
        match status.as_deref() {
            Some("InService") => return Ok(()),
            Some("Pending") | Some("Updating") | None => {}
            Some(other) => {
                return Err(Error::failed(format!(
                    "{} is {other} after the update",
                    settings_label(k)
                )))
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::failed(format!(
                "{} did not return to InService within 10 minutes",
                settings_label(k)
            )));
        }
        if cancel.sleep(std::time::Duration::from_millis(300)).await {
            return Err(Error::Interrupted(format!(
                "interrupted while {} was updating; the update was sent",
                settings_label(k)
            )));
        }
    }
}

/// Declares the settings write (and its read-back) of the kernel's attachment: the same
/// calls the attach step declares.
pub use crate::pipeline::attach::declare_settings_write;
