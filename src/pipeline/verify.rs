//! Finds the image a context produces in ECR. The tag is derived from the context and the
//! buildspec, so finding it means the build can be skipped entirely.

use aws_sdk_ecr::types::ImageIdentifier;

use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step};
use crate::plan::Resources;
use crate::plan::StepId;

/// The pushed image's digest (`sha256:…`) when the tag exists.
pub async fn find_image(clients: &Clients, res: &Resources) -> Result<Option<String>, Error> {
    let result = clients
        .ecr
        .describe_images()
        .repository_name(&res.repository)
        .image_ids(ImageIdentifier::builder().image_tag(&res.image_tag).build())
        .send()
        .await;
    match result {
        Ok(out) => Ok(out
            .image_details()
            .iter()
            .find_map(|d| d.image_digest().map(str::to_string))),
        Err(e) => {
            let missing = e.as_service_error().is_some_and(|s| {
                s.is_image_not_found_exception() || s.is_repository_not_found_exception()
            });
            if missing {
                Ok(None)
            } else {
                Err(Error::aws(
                    &format!("ecr:DescribeImages on {}", res.repository),
                    &e,
                ))
            }
        }
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(_k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller(
        "ecr",
        "DescribeImages",
        "ecr:DescribeImages",
        &r.repository_arn,
    );
    b.done(
        StepId::VerifyImage,
        "read the pushed image's digest from ECR and report URI@sha256:…",
    )
}
