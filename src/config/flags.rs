//! The kernel flags (and the `SM_KERNEL_*` variables clap reads into them) as one more
//! layer of [`Settings`], the same shape a manifest table has, so precedence is one overlay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::{ContainerSetting, KernelSpecSetting, Settings, VpcSetting};
use super::App;
use crate::cli::KernelArgs;
use crate::error::Error;
use crate::names;

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(p).map_err(|e| {
        Error::input(format!(
            "--file: cannot resolve {} against the current folder: {e}",
            p.display()
        ))
    })
}

/// A parser of one `K=V` flag value, as the `names` rules provide them.
type PairParser = fn(&str, &str) -> Result<(String, String), names::NameError>;

fn split_pairs(
    field: &str,
    items: &[String],
    parse: PairParser,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut map = BTreeMap::new();
    for item in items {
        let (k, v) = parse(field, item)?;
        map.insert(k, v);
    }
    Ok(Some(map))
}

/// `--container-env K=V`: split at the first `=`; SageMaker accepts any key of 1–256
/// characters, so only emptiness and the separator are checked here.
fn container_env_pair(field: &str, value: &str) -> Result<(String, String), names::NameError> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(names::NameError {
            field: field.to_string(),
            value: value.to_string(),
            rule: "KEY=VALUE with a non-empty KEY".to_string(),
            example: "POLARS_MAX_THREADS=4".to_string(),
        }),
    }
}

pub(super) fn settings_from_flags(f: &KernelArgs) -> Result<Settings, Error> {
    let kernel_specs = match (&f.kernel_name, &f.kernel_display_name) {
        (Some(name), display) => Some(vec![KernelSpecSetting {
            name: name.clone(),
            display_name: display.clone(),
        }]),
        (None, Some(_)) => {
            return Err(Error::input(
                "--kernel-display-name needs --kernel-name (the kernelspec name inside the image, e.g. python3)",
            ))
        }
        (None, None) => None,
    };
    let container_env = split_pairs("--container-env", &f.container_env, container_env_pair)?;
    let container =
        if f.entrypoint.is_some() || !f.container_args.is_empty() || container_env.is_some() {
            Some(ContainerSetting {
                entrypoint: f.entrypoint.clone().map(|e| vec![e]),
                arguments: (!f.container_args.is_empty()).then(|| f.container_args.clone()),
                environment: container_env,
            })
        } else {
            None
        };
    let vpc = if f.vpc_id.is_some() || !f.subnet_ids.is_empty() || !f.security_group_ids.is_empty()
    {
        Some(VpcSetting {
            id: f.vpc_id.clone(),
            subnets: (!f.subnet_ids.is_empty()).then(|| f.subnet_ids.clone()),
            security_groups: (!f.security_group_ids.is_empty())
                .then(|| f.security_group_ids.clone()),
        })
    } else {
        None
    };
    Ok(Settings {
        name: f.image_name.clone(),
        context: f.context.clone(),
        // `--file` is relative to the shell's folder, like `docker build -f`; made absolute
        // here so that resolving it against the context leaves it as it is.
        dockerfile: f.dockerfile.as_deref().map(absolute).transpose()?,
        display_name: f.display_name.clone(),
        description: f.description.clone(),
        app: f.app.map(|a| App::from(a).as_str().to_string()),
        kernel_specs,
        uid: f.uid.map(i64::from),
        gid: f.gid.map(i64::from),
        mount_path: f.mount_path.clone(),
        container,
        domain_id: f.domain_id.clone(),
        user_profile: f.user_profile.clone(),
        attach: (!f.attach.is_empty()).then(|| f.attach.clone()),
        role: f.role.clone(),
        bucket: f.bucket.clone(),
        repository: f.repository.clone(),
        project: f.project.clone(),
        app_image_config: f.app_image_config.clone(),
        compute_type: f.compute_type.clone(),
        codebuild_image: f.codebuild_image.clone(),
        timeout_minutes: f.timeout_minutes.map(i64::from),
        build_args: split_pairs("--build-arg", &f.build_args, names::build_arg)?,
        tags: split_pairs("--tag", &f.tags, names::tag_flag)?,
        registries: (!f.registries.is_empty()).then(|| f.registries.clone()),
        vpc,
        region: None,
        checks: f.no_checks.then_some(false),
        checks_skip: (!f.checks_skip.is_empty()).then(|| f.checks_skip.clone()),
        build_cache: f.no_build_cache.then_some(false),
        build_secrets: split_pairs("--build-secret", &f.build_secrets, names::build_secret_flag)?,
        environment_type: f.environment_type.clone(),
        scan: f.scan.clone(),
        scan_timeout_minutes: f.scan_timeout_minutes.map(i64::from),
        kms_key: f.kms_key.clone(),
        aliases: (!f.aliases.is_empty()).then(|| f.aliases.clone()),
        release_notes: f.release_notes.clone(),
        vendor_guidance: f.vendor_guidance.clone(),
        job_type: f.job_type.clone(),
        processor: f.processor.clone(),
        ml_framework: f.ml_framework.clone(),
        programming_lang: f.programming_lang.clone(),
        horovod: f.horovod,
        // --endpoint-url is global (one per run); `aws::Target` applies it over this key.
        endpoint_url: None,
        jobs: None,
    })
}
