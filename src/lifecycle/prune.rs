//! `sm-kernel prune KERNEL --keep N`: image versions older than the newest N go, with their
//! ECR tags, except a version that is attached anywhere in the domain (pinned, or the newest
//! one an unpinned entry starts, in the user or space defaults or any user profile) or holds an
//! alias. Dry without `--yes`.

use aws_sdk_ecr::types::ImageIdentifier;
use serde::Serialize;

use super::live;
use crate::aws::Clients;
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
    /// `s3://BUCKET/KEY` of the contexts of deleted versions, and of contexts no version was
    /// made from that are older than a day (failed or abandoned builds).
    pub deleted_contexts: Vec<String>,
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

struct ContextObject {
    key: String,
    tag: Option<String>,
    modified: Option<std::time::SystemTime>,
}

/// The kernel's uploaded contexts (`sm-kernel/IMAGE/*.zip`) with the image tag each made.
async fn context_objects(
    clients: &Clients,
    k: &Kernel,
    r: &Resources,
) -> Result<Vec<ContextObject>, Error> {
    let prefix = format!("sm-kernel/{}/", k.name);
    let mut pages = clients
        .s3
        .list_objects_v2()
        .bucket(&r.bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            // No bucket yet: nothing was ever uploaded.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => break,
            Err(e) => return Err(Error::aws("s3:ListObjectsV2", &e)),
        };
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let head = clients
                .s3
                .head_object()
                .bucket(&r.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| Error::aws(&format!("s3:HeadObject s3://{}/{key}", r.bucket), &e))?;
            out.push(ContextObject {
                key: key.to_string(),
                tag: head
                    .metadata()
                    .and_then(|m| m.get(crate::pipeline::upload::IMAGE_TAG_METADATA))
                    .cloned(),
                modified: o
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
            });
        }
    }
    Ok(out)
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
    // Attached anywhere: any list of the domain, for any app, pinned or newest.
    let mut attached = Vec::new();
    for (place, current) in live::every_place(clients, k).await? {
        for app in [
            crate::config::App::KernelGateway,
            crate::config::App::Jupyterlab,
            crate::config::App::CodeEditor,
        ] {
            let images = current.custom_images(place.section, app);
            if let Some(e) = live::entry(&images, k) {
                attached.extend(live::attached_version(e, &versions));
            }
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
    let all_tags: Vec<&str> = versions
        .iter()
        .filter_map(|v| tag_of(&v.base_image))
        .collect();
    let contexts = context_objects(clients, k, r).await?;
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    let stale: Vec<String> = contexts
        .into_iter()
        .filter(|c| match c.tag.as_deref() {
            // Uploaded before contexts were labelled: which version it made is unknown.
            None => false,
            Some(t) if tags.iter().any(|d| d == t) => true,
            Some(t) => !all_tags.contains(&t) && c.modified.is_some_and(|m| m < day_ago),
        })
        .map(|c| c.key)
        .collect();
    let mut out = Prune {
        name: k.name.clone(),
        keep,
        deleted_versions: gone.clone(),
        deleted_tags: tags.clone(),
        deleted_contexts: stale
            .iter()
            .map(|key| format!("s3://{}/{key}", r.bucket))
            .collect(),
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
            .map_err(|e| Error::aws("sagemaker:DeleteImageVersion", &e))?;
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
            .map_err(|e| Error::aws("ecr:BatchDeleteImage", &e))?;
    }
    for key in &stale {
        clients
            .s3
            .delete_object()
            .bucket(&r.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::aws(&format!("s3:DeleteObject s3://{}/{key}", r.bucket), &e))?;
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
        for c in &p.deleted_contexts {
            let _ = writeln!(s, "  context {c}");
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
    live::declare_versions_read(&mut b, r);
    b.caller(
        "sagemaker",
        "ListAliases",
        "sagemaker:ListAliases",
        &r.image_arn,
    );
    live::declare_every_place(&mut b, r, None);
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
    let contexts = format!("{}/sm-kernel/{}/*", r.bucket_arn, k.name);
    b.caller("s3", "ListObjectsV2", "s3:ListBucket", &r.bucket_arn);
    b.caller("s3", "HeadObject", "s3:GetObject", &contexts);
    b.caller("s3", "DeleteObject", "s3:DeleteObject", &contexts)
        .when(
            "with --yes, for the contexts of deleted versions (and unused ones older than a day)",
        );
    b.done(StepId::Prune, "delete image versions older than the newest N that are neither attached nor aliased, their ECR tags and their S3 contexts")
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
