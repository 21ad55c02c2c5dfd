//! `sm-kernel prune KERNEL --keep N`: image versions older than the newest N go, with their
//! ECR tags, except a version that is attached (pinned, or the newest one an unpinned entry
//! starts) or holds an alias. Dry without `--yes`.

use aws_sdk_ecr::types::ImageIdentifier;
use serde::Serialize;

use super::live;
use crate::aws::{describe, Clients};
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub version: i32,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prune {
    pub name: String,
    pub keep: u32,
    pub deleted_versions: Vec<i32>,
    pub deleted_tags: Vec<String>,
    pub kept: Vec<Kept>,
    pub applied: bool,
}

/// The tag of `REGISTRY/REPO:TAG`, if the base image names one.
fn tag_of(base_image: &str) -> Option<&str> {
    let last = base_image.rsplit('/').next()?;
    if last.contains('@') {
        return None;
    }
    last.rsplit_once(':').map(|(_, t)| t)
}

/// What stays and why, newest first; `attached` are the versions a settings entry starts.
pub fn decide(
    versions: &[(i32, Vec<String>)],
    attached: &[i32],
    keep: u32,
) -> (Vec<Kept>, Vec<i32>) {
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for (i, (n, aliases)) in versions.iter().enumerate() {
        let why = if (i as u32) < keep {
            Some(format!("one of the newest {keep}"))
        } else if attached.contains(n) {
            Some("attached".to_string())
        } else if !aliases.is_empty() {
            Some(format!("holds {}", aliases.join(", ")))
        } else {
            None
        };
        match why {
            Some(why) => kept.push(Kept { version: *n, why }),
            None => gone.push(*n),
        }
    }
    (kept, gone)
}

pub async fn run(
    clients: &Clients,
    k: &Kernel,
    r: &Resources,
    keep: u32,
    yes: bool,
) -> Result<Prune, Error> {
    let versions = live::versions(clients, &k.name).await?;
    let mut with_aliases = Vec::new();
    for v in &versions {
        with_aliases.push((
            v.number,
            live::aliases_of(clients, &k.name, v.number).await?,
        ));
    }
    let settings = live::user_settings(clients, k).await?;
    let mut attached = Vec::new();
    for app in [
        crate::config::App::KernelGateway,
        crate::config::App::Jupyterlab,
        crate::config::App::CodeEditor,
    ] {
        let images = live::custom_images(settings.as_ref(), app);
        if let Some(e) = live::entry(&images, k) {
            attached.extend(live::attached_version(e, &versions));
        }
    }
    let (kept, gone) = decide(&with_aliases, &attached, keep);
    let kept_tags: Vec<&str> = versions
        .iter()
        .filter(|v| !gone.contains(&v.number))
        .filter_map(|v| tag_of(&v.base_image))
        .collect();
    let mut tags: Vec<String> = versions
        .iter()
        .filter(|v| gone.contains(&v.number))
        .filter_map(|v| tag_of(&v.base_image))
        .filter(|t| !kept_tags.contains(t))
        .map(str::to_string)
        .collect();
    tags.dedup();
    let mut out = Prune {
        name: k.name.clone(),
        keep,
        deleted_versions: gone.clone(),
        deleted_tags: tags.clone(),
        kept,
        applied: false,
    };
    if !yes {
        return Ok(out);
    }
    for n in &gone {
        clients
            .sagemaker
            .delete_image_version()
            .image_name(&k.name)
            .version(*n)
            .send()
            .await
            .map_err(|e| Error::failed(describe("sagemaker:DeleteImageVersion", &e)))?;
    }
    if !tags.is_empty() {
        let ids = tags
            .iter()
            .map(|t| ImageIdentifier::builder().image_tag(t).build())
            .collect();
        clients
            .ecr
            .batch_delete_image()
            .repository_name(&r.repository)
            .set_image_ids(Some(ids))
            .send()
            .await
            .map_err(|e| Error::failed(describe("ecr:BatchDeleteImage", &e)))?;
    }
    out.applied = true;
    Ok(out)
}

pub fn text(p: &[Prune]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for p in p {
        let verb = if p.applied { "deleted" } else { "would delete" };
        let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            s,
            "{}: {verb} versions {}",
            p.name,
            if p.deleted_versions.is_empty() {
                "none".into()
            } else {
                list(&p.deleted_versions)
            }
        );
        for t in &p.deleted_tags {
            let _ = writeln!(s, "  ECR tag {t}");
        }
        for k in &p.kept {
            let _ = writeln!(s, "  keeps version {} ({})", k.version, k.why);
        }
        if !p.applied {
            let _ = writeln!(s, "  nothing changed; run again with --yes to do it");
        }
    }
    s
}

pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "ListImageVersions",
        "sagemaker:ListImageVersions",
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
        "ListAliases",
        "sagemaker:ListAliases",
        &r.image_arn,
    );
    super::status::declare_settings_read(&mut b, k, r);
    b.caller(
        "sagemaker",
        "DeleteImageVersion",
        "sagemaker:DeleteImageVersion",
        &r.image_versions_arn,
    )
    .when("with --yes");
    b.caller(
        "ecr",
        "BatchDeleteImage",
        "ecr:BatchDeleteImage",
        &r.repository_arn,
    )
    .when("with --yes, for tags no kept version uses");
    b.done(StepId::Prune, "delete image versions older than the newest N that are neither attached nor aliased, and their ECR tags")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_attached_and_aliased() {
        let v = vec![
            (4, vec![]),
            (3, vec![]),
            (2, vec!["stable".to_string()]),
            (1, vec![]),
        ];
        let (kept, gone) = decide(&v, &[3], 1);
        assert_eq!(gone, [1]);
        let whys: Vec<_> = kept.iter().map(|k| (k.version, k.why.as_str())).collect();
        assert_eq!(
            whys,
            [
                (4, "one of the newest 1"),
                (3, "attached"),
                (2, "holds stable")
            ]
        );
    }

    #[test]
    fn tag_of_base_image() {
        assert_eq!(
            tag_of("1.dkr.ecr.us-east-1.amazonaws.com/repo:abc"),
            Some("abc")
        );
        assert_eq!(tag_of("host:5000/repo@sha256:00"), None);
        assert_eq!(tag_of("host:5000/repo"), None);
    }
}
