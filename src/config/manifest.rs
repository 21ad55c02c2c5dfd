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
    /// replaced, not merged, so a kernel can drop a default build arg by restating the table.
    pub fn overlay(&mut self, over: &Settings) {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if over.$field.is_some() { self.$field = over.$field.clone(); }
            )*};
        }
        take!(
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
            domain_id,
            user_profile,
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
            region,
            aliases,
            release_notes,
            vendor_guidance,
            job_type,
            processor,
            ml_framework,
            programming_lang,
            horovod
        );
        if let Some(c) = &over.container {
            let mine = self.container.get_or_insert_with(Default::default);
            if c.entrypoint.is_some() {
                mine.entrypoint = c.entrypoint.clone();
            }
            if c.arguments.is_some() {
                mine.arguments = c.arguments.clone();
            }
            if c.environment.is_some() {
                mine.environment = c.environment.clone();
            }
        }
        if let Some(v) = &over.vpc {
            let mine = self.vpc.get_or_insert_with(Default::default);
            if v.id.is_some() {
                mine.id = v.id.clone();
            }
            if v.subnets.is_some() {
                mine.subnets = v.subnets.clone();
            }
            if v.security_groups.is_some() {
                mine.security_groups = v.security_groups.clone();
            }
        }
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
}
