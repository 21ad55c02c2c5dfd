//! The build settings of a kernel: in-image checks, the layer cache, build secrets, the
//! environment type, the scan gate and the KMS key. Kept apart from the naming rules because
//! they change how the image is built and accepted, not what gets created.

use serde::Serialize;

use crate::buildspec::checks;
use crate::error::Error;
use crate::names::{self, BuildSecret, KmsKey};

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
    /// The scan gate's threshold (one of [`SCAN_THRESHOLDS`]); `None` publishes without it.
    pub scan: Option<String>,
    /// How long the scan gate waits for ECR's scan.
    pub scan_timeout_minutes: u32,
    /// The customer managed key of the context upload (SSE-KMS) and the CodeBuild project.
    pub kms_key: Option<KmsKey>,
}

/// The severities `scan` accepts, most severe first: a finding at or above the chosen one
/// stops the kernel. LOW and below are not offered: nearly every base image has some.
pub const SCAN_THRESHOLDS: [&str; 3] = ["CRITICAL", "HIGH", "MEDIUM"];
pub const DEFAULT_SCAN_TIMEOUT_MINUTES: u32 = 30;
/// ECR's basic scans take seconds to minutes; three hours is far past any of them.
pub const MAX_SCAN_TIMEOUT_MINUTES: u32 = 180;

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
            scan: None,
            scan_timeout_minutes: DEFAULT_SCAN_TIMEOUT_MINUTES,
            kms_key: None,
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
    let scan = match &s.scan {
        None => None,
        Some(t) => {
            let upper = t.trim().to_ascii_uppercase();
            if !SCAN_THRESHOLDS.contains(&upper.as_str()) {
                return Err(Error::input(format!(
                    "{}: {t:?} is not a severity the scan gate accepts; use {} (a finding at or above it stops the kernel), or remove scan to publish without the gate",
                    field("scan"),
                    SCAN_THRESHOLDS.join(", ")
                )));
            }
            Some(upper)
        }
    };
    let scan_timeout_minutes = match s.scan_timeout_minutes {
        None => DEFAULT_SCAN_TIMEOUT_MINUTES,
        Some(m) if (1..=i64::from(MAX_SCAN_TIMEOUT_MINUTES)).contains(&m) => m as u32,
        Some(m) => {
            return Err(Error::input(format!(
                "{}: {m} is out of range; the scan gate waits 1 to {MAX_SCAN_TIMEOUT_MINUTES} minutes for ECR's scan (default {DEFAULT_SCAN_TIMEOUT_MINUTES})",
                field("scan-timeout-minutes")
            )))
        }
    };
    if s.scan_timeout_minutes.is_some() && scan.is_none() {
        return Err(Error::input(format!(
            "{}: set without scan; it is how long the scan gate waits, so set scan = \"HIGH\" (or CRITICAL, MEDIUM) too, or remove it",
            field("scan-timeout-minutes")
        )));
    }
    let kms_key = s
        .kms_key
        .as_deref()
        .map(|k| names::kms_key_arn(&field("kms-key"), k))
        .transpose()?;
    Ok(BuildOptions {
        environment_type,
        scan,
        scan_timeout_minutes,
        kms_key,
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
    fn scan_is_checked_and_normalised_and_its_timeout_range_checked() {
        let s = Settings {
            scan: Some(" high".into()),
            ..Default::default()
        };
        let b = resolve(&s, &label).unwrap();
        assert_eq!(b.scan.as_deref(), Some("HIGH"));
        assert_eq!(b.scan_timeout_minutes, DEFAULT_SCAN_TIMEOUT_MINUTES);
        for bad in ["LOW", "severe", ""] {
            let s = Settings {
                scan: Some(bad.into()),
                ..Default::default()
            };
            let Err(Error::Input(m)) = resolve(&s, &label) else {
                panic!("{bad:?}: expected bad input")
            };
            assert!(
                m.contains("kernel \"a\": scan") && m.contains("CRITICAL, HIGH, MEDIUM"),
                "{m}"
            );
        }
        for (minutes, ok) in [(1, true), (180, true), (0, false), (181, false)] {
            let s = Settings {
                scan: Some("CRITICAL".into()),
                scan_timeout_minutes: Some(minutes),
                ..Default::default()
            };
            match resolve(&s, &label) {
                Ok(b) => assert!(ok && b.scan_timeout_minutes == minutes as u32),
                Err(Error::Input(m)) => {
                    assert!(!ok && m.contains("scan-timeout-minutes"), "{m}")
                }
                Err(e) => panic!("{e}"),
            }
        }
        let s = Settings {
            scan_timeout_minutes: Some(10),
            ..Default::default()
        };
        let Err(Error::Input(m)) = resolve(&s, &label) else {
            panic!("a timeout without scan is bad input")
        };
        assert!(m.contains("without scan"), "{m}");
    }

    #[test]
    fn kms_key_is_a_key_arn() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let s = Settings {
            kms_key: Some(arn.into()),
            ..Default::default()
        };
        assert_eq!(resolve(&s, &label).unwrap().kms_key.unwrap().arn, arn);
        let s = Settings {
            kms_key: Some("arn:aws:kms:us-east-1:123456789012:alias/k".into()),
            ..Default::default()
        };
        let Err(Error::Input(m)) = resolve(&s, &label) else {
            panic!("an alias is bad input")
        };
        assert!(m.contains("kms-key") && m.contains("alias"), "{m}");
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
