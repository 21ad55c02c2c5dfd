//! The SageMaker image: created if missing, updated when its display name, description or
//! role differ. It needs no built image, so the runner creates it while the build runs.

use aws_sdk_sagemaker::types::{ImageStatus, Tag};

use super::cancel::Deadline;
use super::{Backoff, Cancel, Reporter};

const IMAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step, SAGEMAKER_SERVICE};
use crate::plan::{Resources, StepId};

pub(crate) fn tags(k: &Kernel) -> Result<Option<Vec<Tag>>, Error> {
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
async fn wait_image(clients: &Clients, name: &str, cancel: &Cancel) -> Result<(), Error> {
    let mut backoff = Backoff::new(300, 5000);
    let deadline = Deadline::after(IMAGE_WAIT);
    loop {
        let out = clients
            .sagemaker
            .describe_image()
            .image_name(name)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DescribeImage", &e))?;
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
        deadline.check(&format!("SageMaker image {name} to be CREATED"))?;
        if cancel.sleep(backoff.next()).await {
            return cancel.check(&format!(
                "while SageMaker image {name} was being created; a re-run will reuse it"
            ));
        }
    }
}

/// Returns true when the image was created or updated.
pub async fn ensure_image(
    clients: &Clients,
    k: &Kernel,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<bool, Error> {
    // An image still being deleted (a `delete` just before) is waited out, then made anew.
    let mut backoff = Backoff::new(300, 5000);
    let deadline = Deadline::after(IMAGE_WAIT);
    let mut said = false;
    let found = loop {
        let found = clients
            .sagemaker
            .describe_image()
            .image_name(&k.name)
            .send()
            .await;
        if !matches!(&found, Ok(img) if img.image_status() == Some(&ImageStatus::Deleting)) {
            break found;
        }
        if !said {
            reporter.step(
                &k.name,
                StepId::Image,
                "waiting for the earlier image of this name to finish deleting",
            );
            said = true;
        }
        deadline.check(&format!("SageMaker image {} to finish deleting", k.name))?;
        if cancel.sleep(backoff.next()).await {
            cancel.check(
                "while an earlier image of this name was being deleted; nothing was created",
            )?;
        }
    };
    match found {
        Ok(img) => {
            let differs = img.role_arn() != Some(k.role_arn.as_str())
                || (k.display_name.is_some() && img.display_name() != k.display_name.as_deref())
                || (k.description.is_some() && img.description() != k.description.as_deref());
            if differs {
                wait_image(clients, &k.name, cancel).await?;
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
                    .map_err(|e| Error::aws("sagemaker:UpdateImage", &e))?;
            }
            wait_image(clients, &k.name, cancel).await?;
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
                Err(e) => return Err(Error::aws("sagemaker:CreateImage", &e)),
            }
            wait_image(clients, &k.name, cancel).await?;
            Ok(true)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeImage", &e)),
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let tagged = !k.tags.is_empty();
    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "DescribeImage",
        "sagemaker:DescribeImage",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "CreateImage",
        "sagemaker:CreateImage",
        &r.image_arn,
    )
    .when("only if the image does not exist");
    b.pass_role("CreateImage", "sagemaker", SAGEMAKER_SERVICE)
        .when("only if the image does not exist");
    if tagged {
        b.caller(
            "sagemaker",
            "CreateImage",
            "sagemaker:AddTags",
            &r.image_arn,
        )
        .when("only if the image does not exist (tags are set at creation)");
    }
    b.caller(
        "sagemaker",
        "UpdateImage",
        "sagemaker:UpdateImage",
        &r.image_arn,
    )
    .when("only if its display name, description or role differ");
    b.pass_role("UpdateImage", "sagemaker", SAGEMAKER_SERVICE)
        .when("only if its display name, description or role differ");
    b.done(
        StepId::Image,
        format!("create the SageMaker image {} if missing", r.image_name),
    )
}
