//! Aliases follow the release: each of the kernel's aliases names the newest version (or the
//! one a rollback chose), and no other version of the image keeps it. SageMaker refuses an
//! alias that another version holds, so a new version is created with the free ones only and
//! the others are moved once it is CREATED: a version that fails never takes `stable` away.

use aws_sdk_sagemaker::operation::create_image_version::builders::CreateImageVersionFluentBuilder;
use aws_sdk_sagemaker::types::{JobType, Processor, VendorGuidance};
use serde::Serialize;
use serde_json::Value;

use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

/// The aliases a CreateImageVersion body asks for.
pub fn wanted(body: &Value) -> Vec<String> {
    body.get("Aliases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The request's metadata and free aliases, read from the body the Plan built (the same body
/// `plan --out` writes), so the dry run shows exactly what is sent.
pub fn apply(
    mut b: CreateImageVersionFluentBuilder,
    body: &Value,
    taken: &[String],
) -> CreateImageVersionFluentBuilder {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let free: Vec<String> = wanted(body)
        .into_iter()
        .filter(|a| !taken.contains(a))
        .collect();
    if !free.is_empty() {
        b = b.set_aliases(Some(free));
    }
    b.set_release_notes(s("ReleaseNotes"))
        .set_vendor_guidance(s("VendorGuidance").map(|v| VendorGuidance::from(v.as_str())))
        .set_job_type(s("JobType").map(|v| JobType::from(v.as_str())))
        .set_processor(s("Processor").map(|v| Processor::from(v.as_str())))
        .set_ml_framework(s("MLFramework"))
        .set_programming_lang(s("ProgrammingLang"))
        .set_horovod(body.get("Horovod").and_then(Value::as_bool))
}

/// Every alias some version of the image holds (empty when the kernel wants none, without a call).
pub async fn taken(clients: &Clients, image: &str, body: &Value) -> Result<Vec<String>, Error> {
    if wanted(body).is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = clients
            .sagemaker
            .list_aliases()
            .image_name(image)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:ListAliases", &e))?;
        out.extend(page.sage_maker_image_version_aliases().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The version holding `alias`, if any.
pub async fn holder(clients: &Clients, image: &str, alias: &str) -> Result<Option<i32>, Error> {
    match clients
        .sagemaker
        .describe_image_version()
        .image_name(image)
        .alias(alias)
        .send()
        .await
    {
        Ok(v) => Ok(v.version()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeImageVersion", &e)),
    }
}

/// One alias that changed version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Moved {
    pub alias: String,
    pub from: Option<i32>,
    pub to: i32,
}

/// Puts each alias on `to`, taking it off the version that held it. Aliases already on `to`
/// are left alone, so a re-run changes nothing.
pub async fn move_to(
    clients: &Clients,
    image: &str,
    aliases: &[String],
    to: i32,
) -> Result<Vec<Moved>, Error> {
    let mut moved = Vec::new();
    for a in aliases {
        let from = holder(clients, image, a).await?;
        if from == Some(to) {
            continue;
        }
        if let Some(old) = from {
            update(clients, image, old, None, Some(a)).await?;
        }
        update(clients, image, to, Some(a), None).await?;
        moved.push(Moved {
            alias: a.clone(),
            from,
            to,
        });
    }
    Ok(moved)
}

async fn update(
    clients: &Clients,
    image: &str,
    version: i32,
    add: Option<&str>,
    delete: Option<&str>,
) -> Result<(), Error> {
    clients
        .sagemaker
        .update_image_version()
        .image_name(image)
        .version(version)
        .set_aliases_to_add(add.map(|a| vec![a.to_string()]))
        .set_aliases_to_delete(delete.map(|a| vec![a.to_string()]))
        .send()
        .await
        .map_err(|e| Error::aws("sagemaker:UpdateImageVersion", &e))?;
    Ok(())
}

/// Declares the alias calls of the given version-moving operation.
pub fn declare(b: &mut Builder, r: &Resources) {
    b.caller(
        "sagemaker",
        "ListAliases",
        "sagemaker:ListAliases",
        &r.image_arn,
    );
    b.caller(
        "sagemaker",
        "DescribeImageVersion",
        "sagemaker:DescribeImageVersion",
        &r.image_versions_arn,
    );
    b.caller(
        "sagemaker",
        "UpdateImageVersion",
        "sagemaker:UpdateImageVersion",
        &r.image_versions_arn,
    )
    .when("when an alias is held by another version");
}

/// The calls publish makes for the kernel's aliases (a step only kernels with aliases have).
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    declare(&mut b, r);
    b.done(
        StepId::Aliases,
        format!(
            "move {} to the new version; no other version keeps them",
            k.release.aliases.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wanted_reads_the_body() {
        assert_eq!(
            wanted(&json!({"Aliases": ["stable", "x"]})),
            ["stable", "x"]
        );
        assert!(wanted(&json!({})).is_empty());
    }

    #[test]
    fn only_kernels_with_aliases_have_the_step() {
        let k = crate::plan::tests::sample_kernel();
        let res = crate::plan::Resources::derive(&k, "sha256:00", "bs");
        let ids = |k: &Kernel| -> Vec<&'static str> {
            crate::plan::steps::steps(k, &res)
                .iter()
                .map(|s| s.id.as_str())
                .collect()
        };
        assert!(!ids(&k).contains(&"aliases"));
        let mut k2 = k.clone();
        k2.release.aliases = vec!["stable".into()];
        let steps = ids(&k2);
        let at = steps.iter().position(|s| *s == "aliases").unwrap();
        assert_eq!(steps[at - 1], "image-version");
        let ops: Vec<_> = needs(&k2, &res).calls.iter().map(|c| c.operation).collect();
        assert_eq!(
            ops,
            ["ListAliases", "DescribeImageVersion", "UpdateImageVersion"]
        );
    }
}
