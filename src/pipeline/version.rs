//! The image version for this build: an existing version whose base image is this image is
//! reused, otherwise one is created with a client token derived from the image tag (a retry
//! never makes a second version), and the step waits until it is CREATED.

use aws_sdk_sagemaker::types::ImageVersionStatus;

use super::cancel::Deadline;
use super::{jitter, Backoff, Cancel, Reporter};

/// SageMaker takes seconds to a few minutes to create a version; far beyond that it is stuck.
const VERSION_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Principal, Step};
use crate::plan::{KernelPlan, Resources, StepId};

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
        .map_err(|e| Error::aws("sagemaker:DescribeImageVersion", &e))?;
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
            .map_err(|e| Error::aws("sagemaker:ListImageVersions", &e))?;
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
    let body = &kp.requests.create_image_version;
    let taken = crate::lifecycle::aliases::taken(clients, image, body).await?;
    let mut attempt = 0;
    let arn = loop {
        let request = clients
            .sagemaker
            .create_image_version()
            .image_name(image)
            .base_image(&res.image_uri)
            .client_token(&token);
        let result = crate::lifecycle::aliases::apply(request, body, &taken)
            .send()
            .await;
        match result {
            Ok(out) => break out.image_version_arn().unwrap_or_default().to_string(),
            // "modified concurrently": another version of this image is being created.
            Err(e)
                if attempt < 8 && e.as_service_error().is_some_and(|s| s.is_resource_in_use()) =>
            {
                attempt += 1;
                cancel.check("before creating the image version; a re-run will create it")?;
                cancel.sleep(jitter(attempt)).await;
            }
            Err(e) => return Err(Error::aws("sagemaker:CreateImageVersion", &e)),
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

async fn wait_version(
    clients: &Clients,
    image: &str,
    number: i32,
    cancel: &Cancel,
) -> Result<i32, Error> {
    let mut backoff = Backoff::new(300, 10_000);
    let deadline = Deadline::after(VERSION_WAIT);
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
            Some(ImageVersionStatus::Creating) | None => {
                deadline.check(&format!("version {number} of {image} to be CREATED"))?
            }
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

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(_k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "ListImageVersions",
        "sagemaker:ListImageVersions",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "CreateImageVersion",
        "sagemaker:CreateImageVersion",
        &r.image_arn,
    )
    .when("unless a version with this base image exists");
    b.caller(
        "sagemaker",
        "DescribeImageVersion",
        "sagemaker:DescribeImageVersion",
        &r.image_versions_arn,
    );
    let image_role = Principal::ImageRole;
    b.push(
        image_role.clone(),
        "ecr",
        "GetAuthorizationToken",
        "ecr:GetAuthorizationToken",
        "*",
    );
    for (op, action) in [
        ("BatchGetImage", "ecr:BatchGetImage"),
        ("GetDownloadUrlForLayer", "ecr:GetDownloadUrlForLayer"),
    ] {
        b.push(image_role.clone(), "ecr", op, action, &r.repository_arn);
    }
    b.done(
        StepId::ImageVersion,
        format!(
            "create an image version from {} and wait until it is CREATED",
            r.image_uri
        ),
    )
}
