//! Registers the pushed image: the SageMaker image (created if missing, updated when its
//! settings differ), an image version for this digest (reused when one exists), and the app
//! image config (created, or updated when it differs). Every step is safe to re-run.

use std::time::Duration;

use aws_sdk_sagemaker::types::{
    CodeEditorAppImageConfig, ContainerConfig, FileSystemConfig, ImageStatus, ImageVersionStatus,
    JupyterLabAppImageConfig, KernelGatewayImageConfig, KernelSpec, Tag,
};

use super::{Backoff, Cancel, Reporter};
use crate::aws::{describe, Clients};
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::{KernelPlan, StepId};

fn tags(k: &Kernel) -> Result<Option<Vec<Tag>>, Error> {
    if k.tags.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        k.tags
            .iter()
            .map(|(key, v)| Tag::builder().key(key).value(v).build())
            .collect(),
    ))
}

/// Waits while the image is CREATING or UPDATING.
async fn wait_image(clients: &Clients, name: &str) -> Result<(), Error> {
    let mut backoff = Backoff::new(300, 5000);
    for _ in 0..200 {
        let out = clients
            .sagemaker
            .describe_image()
            .image_name(name)
            .send()
            .await
            .map_err(|e| Error::failed(describe("sagemaker:DescribeImage", &e)))?;
        match out.image_status() {
            Some(ImageStatus::Created) => return Ok(()),
            Some(ImageStatus::Creating) | Some(ImageStatus::Updating) => {}
            other => {
                return Err(Error::failed(format!(
                    "SageMaker image {name} is {}: {}",
                    other.map(|s| s.as_str()).unwrap_or("in an unknown state"),
                    out.failure_reason().unwrap_or("no reason given")
                )))
            }
        }
        tokio::time::sleep(backoff.next()).await;
    }
    Err(Error::failed(format!(
        "SageMaker image {name} did not become CREATED in time"
    )))
}

/// Returns true when the image was created or updated.
pub async fn ensure_image(
    clients: &Clients,
    k: &Kernel,
    reporter: &dyn Reporter,
) -> Result<bool, Error> {
    let found = clients
        .sagemaker
        .describe_image()
        .image_name(&k.name)
        .send()
        .await;
    match found {
        Ok(img) => {
            let differs = img.role_arn() != Some(k.role_arn.as_str())
                || (k.display_name.is_some() && img.display_name() != k.display_name.as_deref())
                || (k.description.is_some() && img.description() != k.description.as_deref());
            if differs {
                wait_image(clients, &k.name).await?;
                reporter.step(
                    &k.name,
                    StepId::Image,
                    "updating the SageMaker image's settings",
                );
                clients
                    .sagemaker
                    .update_image()
                    .image_name(&k.name)
                    .role_arn(&k.role_arn)
                    .set_display_name(k.display_name.clone())
                    .set_description(k.description.clone())
                    .send()
                    .await
                    .map_err(|e| Error::failed(describe("sagemaker:UpdateImage", &e)))?;
            }
            wait_image(clients, &k.name).await?;
            Ok(differs)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            reporter.step(
                &k.name,
                StepId::Image,
                &format!("creating SageMaker image {}", k.name),
            );
            match clients
                .sagemaker
                .create_image()
                .image_name(&k.name)
                .role_arn(&k.role_arn)
                .set_display_name(k.display_name.clone())
                .set_description(k.description.clone())
                .set_tags(tags(k)?)
                .send()
                .await
            {
                Ok(_) => {}
                // Another run created it in between: fine, it is the same name.
                Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use()) => {}
                Err(e) => return Err(Error::failed(describe("sagemaker:CreateImage", &e))),
            }
            wait_image(clients, &k.name).await?;
            Ok(true)
        }
        Err(e) => Err(Error::failed(describe("sagemaker:DescribeImage", &e))),
    }
}

struct Version {
    number: i32,
    status: Option<ImageVersionStatus>,
    base_image: String,
    container_image: String,
    failure: Option<String>,
}

async fn describe_version(clients: &Clients, image: &str, number: i32) -> Result<Version, Error> {
    let v = clients
        .sagemaker
        .describe_image_version()
        .image_name(image)
        .version(number)
        .send()
        .await
        .map_err(|e| Error::failed(describe("sagemaker:DescribeImageVersion", &e)))?;
    Ok(Version {
        number,
        status: v.image_version_status().cloned(),
        base_image: v.base_image().unwrap_or_default().to_string(),
        container_image: v.container_image().unwrap_or_default().to_string(),
        failure: v.failure_reason().map(str::to_string),
    })
}

/// The image version for `digest`: an existing one whose base image is this image, or a new
/// one. Returns (version, created).
pub async fn ensure_version(
    clients: &Clients,
    kp: &KernelPlan,
    digest: &str,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<(i32, bool), Error> {
    let res = &kp.resources;
    let image = &res.image_name;
    let mut numbers = Vec::new();
    let mut token = None;
    loop {
        let out = clients
            .sagemaker
            .list_image_versions()
            .image_name(image)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::failed(describe("sagemaker:ListImageVersions", &e)))?;
        numbers.extend(out.image_versions().iter().filter_map(|v| v.version()));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    let mut failed_attempts = 0;
    for n in numbers {
        let v = describe_version(clients, image, n).await?;
        let same = v.base_image == res.image_uri || v.container_image.ends_with(digest);
        if !same {
            continue;
        }
        match v.status {
            Some(ImageVersionStatus::CreateFailed) => failed_attempts += 1,
            Some(ImageVersionStatus::Created) | Some(ImageVersionStatus::Creating) => {
                reporter.skipped(
                    &kp.name,
                    StepId::ImageVersion,
                    &format!("version {} of {image} already holds this image", v.number),
                );
                let v = wait_version(clients, image, v.number, cancel).await?;
                return Ok((v, false));
            }
            _ => {}
        }
    }
    // The token is derived from the digest, so a retried call never makes a second
    // version; a version that failed before gets a fresh token.
    let token = if failed_attempts == 0 {
        res.image_version_client_token.clone()
    } else {
        format!(
            "{}-{failed_attempts}",
            &res.image_version_client_token[..32]
        )
    };
    reporter.step(
        &kp.name,
        StepId::ImageVersion,
        &format!("creating a version of {image} from {}", res.image_uri),
    );
    let mut attempt = 0;
    let arn = loop {
        let result = clients
            .sagemaker
            .create_image_version()
            .image_name(image)
            .base_image(&res.image_uri)
            .client_token(&token)
            .send()
            .await;
        match result {
            Ok(out) => break out.image_version_arn().unwrap_or_default().to_string(),
            // "modified concurrently": another version of this image is being created.
            Err(e)
                if attempt < 8 && e.as_service_error().is_some_and(|s| s.is_resource_in_use()) =>
            {
                attempt += 1;
                tokio::time::sleep(jitter(attempt)).await;
            }
            Err(e) => return Err(Error::failed(describe("sagemaker:CreateImageVersion", &e))),
        }
    };
    let number: i32 = arn
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::failed(format!(
                "sagemaker:CreateImageVersion returned {arn:?}, not a version ARN"
            ))
        })?;
    let v = wait_version(clients, image, number, cancel).await?;
    Ok((v, true))
}

pub(crate) fn jitter(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = 250u64 * 2u64.pow(attempt.min(5));
    Duration::from_millis(base + u64::from(nanos) % base)
}

async fn wait_version(
    clients: &Clients,
    image: &str,
    number: i32,
    cancel: &Cancel,
) -> Result<i32, Error> {
    let mut backoff = Backoff::new(300, 10_000);
    loop {
        let v = describe_version(clients, image, number).await?;
        match v.status {
            Some(ImageVersionStatus::Created) => return Ok(number),
            Some(ImageVersionStatus::CreateFailed) => {
                return Err(Error::failed(format!(
                    "version {number} of SageMaker image {image} failed: {}",
                    v.failure.unwrap_or_else(|| "no reason given".into())
                )))
            }
            Some(ImageVersionStatus::Creating) | None => {}
            Some(other) => {
                return Err(Error::failed(format!(
                    "version {number} of SageMaker image {image} is {}",
                    other.as_str()
                )))
            }
        }
        if cancel.sleep(backoff.next()).await {
            return Err(Error::Interrupted(format!(
                "interrupted while version {number} of {image} was being created; a re-run will reuse it"
            )));
        }
    }
}

fn file_system(k: &Kernel) -> FileSystemConfig {
    FileSystemConfig::builder()
        .mount_path(&k.mount_path)
        .default_uid(k.uid as i32)
        .default_gid(k.gid as i32)
        .build()
}

fn container(k: &Kernel) -> Option<ContainerConfig> {
    let c = k.container.as_ref()?;
    let cc = ContainerConfig::builder()
        .set_container_entrypoint((!c.entrypoint.is_empty()).then(|| c.entrypoint.clone()))
        .set_container_arguments((!c.arguments.is_empty()).then(|| c.arguments.clone()))
        .set_container_environment_variables(
            (!c.environment.is_empty()).then(|| c.environment.clone().into_iter().collect()),
        )
        .build();
    (cc != ContainerConfig::builder().build()).then_some(cc)
}

/// The app's member of the app image config, exactly as the create request body in the plan.
enum Desired {
    KernelGateway(KernelGatewayImageConfig),
    JupyterLab(JupyterLabAppImageConfig),
    CodeEditor(CodeEditorAppImageConfig),
}

fn desired(k: &Kernel) -> Result<Desired, Error> {
    Ok(match k.app {
        App::KernelGateway => {
            let specs = k
                .kernel_specs
                .iter()
                .map(|s| {
                    KernelSpec::builder()
                        .name(&s.name)
                        .set_display_name(s.display_name.clone())
                        .build()
                })
                .collect::<Vec<_>>();
            Desired::KernelGateway(
                KernelGatewayImageConfig::builder()
                    .set_kernel_specs(Some(specs))
                    .file_system_config(file_system(k))
                    .build(),
            )
        }
        App::Jupyterlab => Desired::JupyterLab(
            JupyterLabAppImageConfig::builder()
                .file_system_config(file_system(k))
                .set_container_config(container(k))
                .build(),
        ),
        App::CodeEditor => Desired::CodeEditor(
            CodeEditorAppImageConfig::builder()
                .file_system_config(file_system(k))
                .set_container_config(container(k))
                .build(),
        ),
    })
}

/// Returns true when something was created or updated.
pub async fn ensure_app_image_config(
    clients: &Clients,
    k: &Kernel,
    reporter: &dyn Reporter,
) -> Result<bool, Error> {
    let want = desired(k)?;
    let name = &k.app_image_config;
    let found = clients
        .sagemaker
        .describe_app_image_config()
        .app_image_config_name(name)
        .send()
        .await;
    match found {
        Ok(cur) => {
            let same = match &want {
                Desired::KernelGateway(w) => cur.kernel_gateway_image_config() == Some(w),
                Desired::JupyterLab(w) => cur.jupyter_lab_app_image_config() == Some(w),
                Desired::CodeEditor(w) => cur.code_editor_app_image_config() == Some(w),
            };
            if same {
                reporter.skipped(
                    &k.name,
                    StepId::AppImageConfig,
                    &format!("{name} is up to date"),
                );
                return Ok(false);
            }
            reporter.step(
                &k.name,
                StepId::AppImageConfig,
                &format!("updating app image config {name}"),
            );
            let call = clients
                .sagemaker
                .update_app_image_config()
                .app_image_config_name(name);
            let call = match want {
                Desired::KernelGateway(w) => call.kernel_gateway_image_config(w),
                Desired::JupyterLab(w) => call.jupyter_lab_app_image_config(w),
                Desired::CodeEditor(w) => call.code_editor_app_image_config(w),
            };
            call.send()
                .await
                .map_err(|e| Error::failed(describe("sagemaker:UpdateAppImageConfig", &e)))?;
            Ok(true)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            reporter.step(
                &k.name,
                StepId::AppImageConfig,
                &format!("creating app image config {name}"),
            );
            let call = clients
                .sagemaker
                .create_app_image_config()
                .app_image_config_name(name)
                .set_tags(tags(k)?);
            let call = match want {
                Desired::KernelGateway(w) => call.kernel_gateway_image_config(w),
                Desired::JupyterLab(w) => call.jupyter_lab_app_image_config(w),
                Desired::CodeEditor(w) => call.code_editor_app_image_config(w),
            };
            call.send()
                .await
                .map_err(|e| Error::failed(describe("sagemaker:CreateAppImageConfig", &e)))?;
            Ok(true)
        }
        Err(e) => Err(Error::failed(describe(
            "sagemaker:DescribeAppImageConfig",
            &e,
        ))),
    }
}
