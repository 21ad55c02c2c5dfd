//! kernel.toml as written by the user: every key optional, unknown keys rejected with their
//! line, so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;

/// The whole file: `[defaults]` applies to every `[[kernel]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub defaults: Settings,
    #[serde(default, rename = "kernel")]
    pub kernels: Vec<Settings>,
}

/// One table of settings. The same keys are accepted in `[defaults]` and in each `[[kernel]]`
/// so that any setting can be shared or overridden per kernel.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub name: Option<String>,
    pub context: Option<PathBuf>,
    pub dockerfile: Option<PathBuf>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub app: Option<String>,
    pub kernel_specs: Option<Vec<KernelSpecSetting>>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
    pub mount_path: Option<String>,
    pub container: Option<ContainerSetting>,
    pub domain_id: Option<String>,
    pub user_profile: Option<String>,
    /// `["user-settings"]` by default; `"space-settings"` adds the domain's shared-space defaults.
    pub attach: Option<Vec<String>>,
    pub role: Option<String>,
    pub bucket: Option<String>,
    pub repository: Option<String>,
    pub project: Option<String>,
    pub app_image_config: Option<String>,
    pub compute_type: Option<String>,
    pub codebuild_image: Option<String>,
    pub timeout_minutes: Option<i64>,
    pub build_args: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub registries: Option<Vec<String>>,
    pub vpc: Option<VpcSetting>,
    pub region: Option<String>,
    /// Where AWS calls go instead of AWS (a local emulator such as the demo sandbox).
    pub endpoint_url: Option<String>,
    /// Release-wide, `[defaults]` only: how many kernels build at once.
    pub jobs: Option<i64>,
    pub checks: Option<bool>,
    pub checks_skip: Option<Vec<String>>,
    pub build_cache: Option<bool>,
    pub build_secrets: Option<BTreeMap<String, String>>,
    pub environment_type: Option<String>,
    pub scan: Option<String>,
    pub scan_timeout_minutes: Option<i64>,
    pub kms_key: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub release_notes: Option<String>,
    pub vendor_guidance: Option<String>,
    pub job_type: Option<String>,
    pub processor: Option<String>,
    pub ml_framework: Option<String>,
    pub programming_lang: Option<String>,
    pub horovod: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KernelSpecSetting {
    pub name: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContainerSetting {
    pub entrypoint: Option<Vec<String>>,
    pub arguments: Option<Vec<String>>,
    pub environment: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VpcSetting {
    pub id: Option<String>,
    pub subnets: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
}

impl Manifest {
    /// Reads and parses a manifest. toml's own error already carries the line, column and a
    /// caret under the offending key, which is exactly what a user needs to fix it.
    pub fn load(path: &Path) -> Result<Manifest, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(format!(
                "cannot read the manifest {}: {e}. Pass an existing file with --config, or run `sm-kernel init` to create one",
                path.display()
            ))
        })?;
        Self::parse(&text)
            .map_err(|e| Error::input(format!("{}: {}", path.display(), e.trim_end())))
    }

    pub fn parse(text: &str) -> Result<Manifest, String> {
        toml::from_str::<Manifest>(text).map_err(|e| e.to_string())
    }
}

impl Settings {
    /// Layers `over` on top of `self`: every key set in `over` wins. Maps and lists are
    /// replaced, not merged, so a kernel can drop a default build arg by restating the table;
    /// `container` and `vpc` are layered key by key.
    pub fn overlay(&mut self, over: &Settings) {
        // Destructured without `..`: a new key is a compile error until it is layered here.
        let Settings {
            name,
            context,
            dockerfile,
            display_name,
            description,
            app,
            kernel_specs,
            uid,
            gid,
            mount_path,
            container,
            domain_id,
            user_profile,
            attach,
            role,
            bucket,
            repository,
            project,
            app_image_config,
            compute_type,
            codebuild_image,
            timeout_minutes,
            build_args,
            tags,
            registries,
            vpc,
            region,
            endpoint_url,
            jobs,
            checks,
            checks_skip,
            build_cache,
            build_secrets,
            environment_type,
            scan,
            scan_timeout_minutes,
            kms_key,
            aliases,
            release_notes,
            vendor_guidance,
            job_type,
            processor,
            ml_framework,
            programming_lang,
            horovod,
        } = over;
        take(&mut self.name, name);
        take(&mut self.context, context);
        take(&mut self.dockerfile, dockerfile);
        take(&mut self.display_name, display_name);
        take(&mut self.description, description);
        take(&mut self.app, app);
        take(&mut self.kernel_specs, kernel_specs);
        take(&mut self.uid, uid);
        take(&mut self.gid, gid);
        take(&mut self.mount_path, mount_path);
        take(&mut self.domain_id, domain_id);
        take(&mut self.user_profile, user_profile);
        take(&mut self.attach, attach);
        take(&mut self.role, role);
        take(&mut self.bucket, bucket);
        take(&mut self.repository, repository);
        take(&mut self.project, project);
        take(&mut self.app_image_config, app_image_config);
        take(&mut self.compute_type, compute_type);
        take(&mut self.codebuild_image, codebuild_image);
        take(&mut self.timeout_minutes, timeout_minutes);
        take(&mut self.build_args, build_args);
        take(&mut self.tags, tags);
        take(&mut self.registries, registries);
        take(&mut self.region, region);
        take(&mut self.endpoint_url, endpoint_url);
        take(&mut self.jobs, jobs);
        take(&mut self.checks, checks);
        take(&mut self.checks_skip, checks_skip);
        take(&mut self.build_cache, build_cache);
        take(&mut self.build_secrets, build_secrets);
        take(&mut self.environment_type, environment_type);
        take(&mut self.scan, scan);
        take(&mut self.scan_timeout_minutes, scan_timeout_minutes);
        take(&mut self.kms_key, kms_key);
        take(&mut self.aliases, aliases);
        take(&mut self.release_notes, release_notes);
        take(&mut self.vendor_guidance, vendor_guidance);
        take(&mut self.job_type, job_type);
        take(&mut self.processor, processor);
        take(&mut self.ml_framework, ml_framework);
        take(&mut self.programming_lang, programming_lang);
        take(&mut self.horovod, horovod);
        if let Some(ContainerSetting {
            entrypoint,
            arguments,
            environment,
        }) = container
        {
            let mine = self.container.get_or_insert_with(Default::default);
            take(&mut mine.entrypoint, entrypoint);
            take(&mut mine.arguments, arguments);
            take(&mut mine.environment, environment);
        }
        if let Some(VpcSetting {
            id,
            subnets,
            security_groups,
        }) = vpc
        {
            let mine = self.vpc.get_or_insert_with(Default::default);
            take(&mut mine.id, id);
            take(&mut mine.subnets, subnets);
            take(&mut mine.security_groups, security_groups);
        }
    }
}

/// One key of an overlay: set in `over` wins, unset keeps `mine`.
fn take<T: Clone>(mine: &mut Option<T>, over: &Option<T>) {
    if over.is_some() {
        mine.clone_from(over);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_kernels() {
        let m = Manifest::parse(
            r#"
[defaults]
region = "us-east-1"
role = "arn:aws:iam::123456789012:role/x"
tags = { team = "ds" }

[[kernel]]
name = "a"
build-args = { PY = "3.11" }
[[kernel.kernel-specs]]
name = "python3"
display-name = "Python 3"

[[kernel]]
name = "b"
app = "jupyterlab"
[kernel.container]
entrypoint = ["jupyter-lab"]
[kernel.vpc]
id = "vpc-12345678"
"#,
        )
        .unwrap();
        assert_eq!(m.defaults.region.as_deref(), Some("us-east-1"));
        assert_eq!(m.kernels.len(), 2);
        assert_eq!(
            m.kernels[0].kernel_specs.as_ref().unwrap()[0].name,
            "python3"
        );
        assert_eq!(
            m.kernels[1]
                .container
                .as_ref()
                .unwrap()
                .entrypoint
                .as_ref()
                .unwrap()[0],
            "jupyter-lab"
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Manifest::parse("[[kernel]]\nname = \"a\"\ncontxt = \".\"\n").unwrap_err();
        assert!(err.contains("contxt"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_nested_key_is_rejected() {
        let err =
            Manifest::parse("[[kernel]]\nname = \"a\"\n[kernel.vpc]\nsubnet = []\n").unwrap_err();
        assert!(err.contains("subnet"), "{err}");
    }

    #[test]
    fn overlay_later_wins_and_keeps_unset() {
        let mut base = Settings {
            region: Some("eu-west-1".into()),
            bucket: Some("sagemaker-a".into()),
            ..Default::default()
        };
        base.overlay(&Settings {
            bucket: Some("sagemaker-b".into()),
            ..Default::default()
        });
        assert_eq!(base.region.as_deref(), Some("eu-west-1"));
        assert_eq!(base.bucket.as_deref(), Some("sagemaker-b"));
    }

    #[test]
    fn overlay_takes_every_key_including_nested_ones() {
        let full = Manifest::parse(
            r#"
[[kernel]]
name = "n"
context = "c"
dockerfile = "d"
display-name = "D"
description = "x"
app = "jupyterlab"
kernel-specs = [{ name = "k" }]
uid = 0
gid = 0
mount-path = "/m"
domain-id = "d-1"
user-profile = "u"
attach = ["user-settings", "space-settings"]
role = "r"
bucket = "b"
repository = "re"
project = "p"
app-image-config = "a"
compute-type = "t"
codebuild-image = "i"
timeout-minutes = 9
build-args = { A = "1" }
tags = { T = "1" }
registries = ["g"]
region = "eu-west-1"
endpoint-url = "http://127.0.0.1:5199"
jobs = 2
scan = "HIGH"
scan-timeout-minutes = 20
kms-key = "k"
container = { entrypoint = ["e"], arguments = ["a"], environment = { E = "1" } }
vpc = { id = "v", subnets = ["s"], security-groups = ["g"] }
"#,
        )
        .unwrap();
        let over = &full.kernels[0];
        let mut s = Settings::default();
        s.overlay(over);
        // Debug output covers every field, nested ones included.
        assert_eq!(format!("{s:?}"), format!("{over:?}"));
    }
}
