//! Image-version aliases and metadata (`aliases`, `release-notes`, `vendor-guidance`,
//! `job-type`, `processor`, `ml-framework`, `programming-lang`, `horovod`): checked here,
//! before any AWS call, against the rules of the SageMaker API model, so a typo exits 2
//! instead of failing after a build.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::error::Error;

/// What a kernel asks of each new image version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionMetadata {
    /// Moved to each new version on publish; no other version of the image keeps them.
    pub aliases: Vec<String>,
    pub release_notes: Option<String>,
    pub vendor_guidance: Option<String>,
    pub job_type: Option<String>,
    pub processor: Option<String>,
    pub ml_framework: Option<String>,
    pub programming_lang: Option<String>,
    pub horovod: Option<bool>,
}

/// The raw values as the manifest or flags gave them.
#[derive(Debug, Clone, Default)]
pub struct Raw<'a> {
    pub aliases: Option<&'a [String]>,
    pub release_notes: Option<&'a str>,
    pub vendor_guidance: Option<&'a str>,
    pub job_type: Option<&'a str>,
    pub processor: Option<&'a str>,
    pub ml_framework: Option<&'a str>,
    pub programming_lang: Option<&'a str>,
    pub horovod: Option<bool>,
}

// botocore sagemaker 2017-07-24: SageMakerImageVersionAlias is 1–128 of
// `(?!^[.-])^([a-zA-Z0-9-_.]+)$`; MLFramework and ProgrammingLang are 1–128 of
// `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`; ReleaseNotes is 1–255 characters.
static ALIAS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$").unwrap());
static FRAMEWORK_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z]+ ?\d+\.\d+(\.\d+)?$").unwrap());

const VENDOR_GUIDANCE: &[&str] = &["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"];
const JOB_TYPE: &[&str] = &["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"];
const PROCESSOR: &[&str] = &["CPU", "GPU"];

/// An enum value given as the API writes it or in the manifest's kebab-case
/// (`notebook-kernel`, `to-be-archived`).
fn api_enum(field: &str, value: &str, allowed: &[&str]) -> Result<String, Error> {
    let up = value.replace('-', "_").to_ascii_uppercase();
    if allowed.contains(&up.as_str()) {
        return Ok(up);
    }
    let kebab: Vec<String> = allowed
        .iter()
        .map(|a| a.to_ascii_lowercase().replace('_', "-"))
        .collect();
    Err(Error::input(format!(
        "{field}: {value:?} is not valid; use one of {}",
        kebab.join(", ")
    )))
}

fn framework(field: &str, value: &str, example: &str) -> Result<String, Error> {
    if value.chars().count() <= 128 && FRAMEWORK_RE.is_match(value) {
        return Ok(value.to_string());
    }
    Err(Error::input(format!(
        "{field}: {value:?} is not valid — a name, an optional space and a version with two or three numbers. For example: {example}"
    )))
}

/// Checks every value; `field` turns a manifest key into how the user wrote it.
pub fn resolve(field: &dyn Fn(&str) -> String, raw: &Raw) -> Result<VersionMetadata, Error> {
    let mut aliases: Vec<String> = Vec::new();
    for a in raw.aliases.unwrap_or_default() {
        if a.chars().count() > 128 || !ALIAS_RE.is_match(a) {
            return Err(Error::input(format!(
                "{}: {a:?} is not valid — 1–128 letters, digits, \"-\", \"_\" and \".\", not starting with \"-\" or \".\". For example: stable",
                field("aliases")
            )));
        }
        if !aliases.contains(a) {
            aliases.push(a.clone());
        }
    }
    let release_notes = match raw.release_notes {
        Some(n) if n.is_empty() || n.chars().count() > 255 => {
            return Err(Error::input(format!(
                "{}: {} characters given; SageMaker accepts 1 to 255",
                field("release-notes"),
                n.chars().count()
            )))
        }
        other => other.map(str::to_string),
    };
    Ok(VersionMetadata {
        aliases,
        release_notes,
        vendor_guidance: raw
            .vendor_guidance
            .map(|v| api_enum(&field("vendor-guidance"), v, VENDOR_GUIDANCE))
            .transpose()?,
        job_type: raw
            .job_type
            .map(|v| api_enum(&field("job-type"), v, JOB_TYPE))
            .transpose()?,
        processor: raw
            .processor
            .map(|v| api_enum(&field("processor"), v, PROCESSOR))
            .transpose()?,
        ml_framework: raw
            .ml_framework
            .map(|v| framework(&field("ml-framework"), v, "PyTorch 2.3"))
            .transpose()?,
        programming_lang: raw
            .programming_lang
            .map(|v| framework(&field("programming-lang"), v, "Python 3.11"))
            .transpose()?,
        horovod: raw.horovod,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(k: &str) -> String {
        format!("kernel \"k\": {k}")
    }

    #[test]
    fn accepts_api_and_kebab_values() {
        let aliases = vec![
            "stable".to_string(),
            "v1.2_rc".to_string(),
            "stable".to_string(),
        ];
        let m = resolve(
            &f,
            &Raw {
                aliases: Some(&aliases),
                vendor_guidance: Some("to-be-archived"),
                job_type: Some("NOTEBOOK_KERNEL"),
                processor: Some("gpu"),
                ml_framework: Some("PyTorch 2.3"),
                programming_lang: Some("Python 3.11.4"),
                horovod: Some(false),
                release_notes: Some("first"),
            },
        )
        .unwrap();
        assert_eq!(m.aliases, ["stable", "v1.2_rc"]);
        assert_eq!(m.vendor_guidance.as_deref(), Some("TO_BE_ARCHIVED"));
        assert_eq!(m.processor.as_deref(), Some("GPU"));
    }

    #[test]
    fn bad_values_name_the_field() {
        let bad = vec![".hidden".to_string()];
        let e = resolve(
            &f,
            &Raw {
                aliases: Some(&bad),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("kernel \"k\": aliases: \".hidden\""),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        let e = resolve(
            &f,
            &Raw {
                processor: Some("tpu"),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("processor") && e.to_string().contains("cpu, gpu"),
            "{e}"
        );
        let e = resolve(
            &f,
            &Raw {
                ml_framework: Some("torch"),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("ml-framework"), "{e}");
        let long = "x".repeat(256);
        let e = resolve(
            &f,
            &Raw {
                release_notes: Some(&long),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("release-notes"), "{e}");
    }
}
