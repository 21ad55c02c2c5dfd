//! Packaging the build context: a deterministic zip of the context (honouring .dockerignore)
//! whose digest names the upload and the image tag. Local only, so it declares no calls.

use crate::config::Kernel;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(_k: &Kernel, r: &Resources) -> Step {
    Builder::new(r).done(
        StepId::Package,
        "zip the build context (honouring .dockerignore) deterministically; local only",
    )
}
