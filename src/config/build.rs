//! The build settings of a kernel: in-image checks and the layer cache. Kept apart from the
//! naming rules because they change what runs in CodeBuild, not what gets created.

use serde::Serialize;

use crate::buildspec::checks;
use crate::error::Error;
use crate::names::{self, BuildSecret};

use super::manifest::Settings;

/// How CodeBuild builds and checks the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildOptions {
    /// Run the in-image checks between `docker build` and `docker push`.
    pub checks: bool,
    /// Check names not to run (see `checks::ALL`).
    pub checks_skip: Vec<String>,
    /// Reuse layers through a BuildKit registry cache in the kernel's own repository.
    pub build_cache: bool,
    /// Secrets CodeBuild reads into the build's environment and BuildKit mounts, by id.
    pub secrets: Vec<BuildSecret>,
    /// CodeBuild's environment type (`LINUX_CONTAINER` or `LINUX_GPU_CONTAINER`).
    pub environment_type: String,
}

/// The CodeBuild environment types that run Linux containers with a Docker daemon.
pub const ENVIRONMENT_TYPES: [&str; 2] = ["LINUX_CONTAINER", "LINUX_GPU_CONTAINER"];

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            checks: true,
            checks_skip: Vec::new(),
            build_cache: true,
            secrets: Vec::new(),
            environment_type: ENVIRONMENT_TYPES[0].to_string(),
        }
    }
}

/// Checks the build keys of one kernel; `field` labels a key the way the user writes it.
pub fn resolve(s: &Settings, field: &dyn Fn(&str) -> String) -> Result<BuildOptions, Error> {
    let checks_skip = s.checks_skip.clone().unwrap_or_default();
    for name in &checks_skip {
        if !checks::ALL.contains(&name.as_str()) {
            return Err(Error::input(format!(
                "{}: {name:?} is not a check; the checks are {} (or turn them all off with checks = false / --no-checks)",
                field("checks-skip"),
                checks::ALL.join(", ")
            )));
        }
    }
    let mut secrets = Vec::new();
    for (id, arn) in s.build_secrets.iter().flatten() {
        secrets.push(names::build_secret(&field("build-secrets"), id, arn)?);
    }
    let environment_type = match &s.environment_type {
        None => ENVIRONMENT_TYPES[0].to_string(),
        Some(t) => {
            let upper = t.trim().to_ascii_uppercase();
            if !ENVIRONMENT_TYPES.contains(&upper.as_str()) {
                return Err(Error::input(format!(
                    "{}: {t:?} is not an environment type sm-kernel can build in; use {} (the default) or {} (--environment-type)",
                    field("environment-type"),
                    ENVIRONMENT_TYPES[0],
                    ENVIRONMENT_TYPES[1]
                )));
            }
            upper
        }
    };
    Ok(BuildOptions {
        environment_type,
        secrets,
        checks: s.checks.unwrap_or(true),
        checks_skip,
        build_cache: s.build_cache.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(k: &str) -> String {
        format!("kernel \"a\": {k}")
    }

    #[test]
    fn defaults_run_every_check_with_the_cache() {
        let b = resolve(&Settings::default(), &label).unwrap();
        assert_eq!(b, BuildOptions::default());
        assert!(b.checks && b.build_cache);
    }

    #[test]
    fn environment_type_is_checked_and_normalised() {
        let s = Settings {
            environment_type: Some("linux_gpu_container".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(&s, &label).unwrap().environment_type,
            "LINUX_GPU_CONTAINER"
        );
        let s = Settings {
            environment_type: Some("WINDOWS_SERVER_2019_CONTAINER".into()),
            ..Default::default()
        };
        let Err(Error::Input(m)) = resolve(&s, &label) else {
            panic!("expected bad input")
        };
        assert!(
            m.contains("environment-type") && m.contains("LINUX_GPU_CONTAINER"),
            "{m}"
        );
    }

    #[test]
    fn an_unknown_check_name_is_bad_input_naming_the_key() {
        let s = Settings {
            checks_skip: Some(vec!["uid".into(), "uidd".into()]),
            ..Default::default()
        };
        let Err(Error::Input(m)) = resolve(&s, &label) else {
            panic!("expected bad input")
        };
        assert!(m.contains("checks-skip") && m.contains("\"uidd\""), "{m}");
        assert!(m.contains("kernelspecs"), "{m}");
    }
}
