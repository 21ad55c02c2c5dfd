//! `sm-kernel rollback KERNEL --to VERSION|ALIAS`: the kernel's aliases go to that version and
//! its settings entry is pinned to it (`ImageVersionNumber`), every other entry kept. A later
//! publish of an unchanged context un-pins the entry and moves the aliases back to the newest.

use aws_sdk_sagemaker::types::CustomImage;
use serde::Serialize;

use super::{aliases, live};
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::pipeline::settings::{self, Place};
use crate::pipeline::Cancel;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

#[derive(Debug, Clone, Serialize)]
pub struct Rollback {
    pub name: String,
    pub version: i32,
    /// The places whose entry is pinned, comma-separated.
    pub settings: String,
    /// The version the entry ran before (pinned or newest).
    pub from_version: Option<i32>,
    pub aliases: Vec<String>,
    pub moved: Vec<aliases::Moved>,
    pub applied: bool,
}

/// The version `to` names: a number, or an alias of the image.
async fn resolve_target(
    clients: &Clients,
    k: &Kernel,
    to: &str,
    versions: &[live::LiveVersion],
) -> Result<i32, Error> {
    let n = match to.parse::<i32>() {
        Ok(n) => n,
        Err(_) => aliases::holder(clients, &k.name, to)
            .await?
            .ok_or_else(|| {
                Error::failed(format!(
                    "--to: no version of {} holds the alias {to:?}",
                    k.name
                ))
            })?,
    };
    match versions.iter().find(|v| v.number == n) {
        Some(v) if v.created() => Ok(n),
        Some(v) => Err(Error::failed(format!(
            "--to: version {n} of {} is {}, not CREATED; Studio cannot start it",
            k.name, v.status
        ))),
        None => Err(Error::failed(format!(
            "--to: {} has no version {n}; it has {}",
            k.name,
            versions
                .iter()
                .map(|v| v.number.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `current` with this kernel's entry pinned to `version` (added when absent), in place.
pub fn pinned(current: &[CustomImage], k: &Kernel, version: i32) -> Vec<CustomImage> {
    let entry = CustomImage::builder()
        .image_name(&k.name)
        .app_image_config_name(&k.app_image_config)
        .image_version_number(version)
        .build();
    let mut out: Vec<CustomImage> = Vec::with_capacity(current.len() + 1);
    let mut placed = false;
    for c in current {
        if c.image_name() == Some(k.name.as_str()) {
            if !placed {
                out.push(entry.clone());
                placed = true;
            }
        } else {
            out.push(c.clone());
        }
    }
    if !placed {
        out.push(entry);
    }
    out
}

pub async fn run(
    clients: &Clients,
    k: &Kernel,
    to: &str,
    yes: bool,
    cancel: &Cancel,
) -> Result<Rollback, Error> {
    if live::image_status(clients, &k.name).await?.is_none() {
        return Err(Error::failed(format!(
            "SageMaker image {} does not exist; nothing to roll back",
            k.name
        )));
    }
    let versions = live::versions(clients, &k.name).await?;
    let version = resolve_target(clients, k, to, &versions).await?;
    let places = live::configured(clients, k).await?;
    let from_version = places.first().and_then(|(place, current)| {
        live::entry(&current.custom_images(place.section, k.app), k)
            .and_then(|e| live::attached_version(e, &versions))
    });
    let mut out = Rollback {
        name: k.name.clone(),
        version,
        settings: live::labels(places.iter().map(|(p, _)| p)),
        from_version,
        aliases: k.release.aliases.clone(),
        moved: Vec::new(),
        applied: false,
    };
    if !yes {
        return Ok(out);
    }
    out.moved = aliases::move_to(clients, &k.name, &k.release.aliases, version).await?;
    live::rewrite(
        clients,
        k,
        &places,
        |images| pinned(images, k, version),
        cancel,
    )
    .await?;
    out.applied = true;
    Ok(out)
}

pub fn text(r: &[Rollback]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for r in r {
        let verb = if r.applied {
            "rolled back"
        } else {
            "would roll back"
        };
        let _ = writeln!(
            s,
            "{}: {verb} {} from version {} to version {} (pinned)",
            r.name,
            r.settings,
            r.from_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into()),
            r.version
        );
        if !r.aliases.is_empty() {
            let _ = writeln!(
                s,
                "  aliases {} → version {}",
                r.aliases.join(", "),
                r.version
            );
        }
        if !r.applied {
            let _ = writeln!(s, "  nothing changed; run again with --yes to do it");
        }
    }
    s
}

pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    live::declare_image_reads(&mut b, r);
    aliases::declare(&mut b, r);
    settings::declare_write(&mut b, k, r);
    b.done(
        StepId::Rollback,
        format!(
            "move the aliases to the chosen version and pin {}'s entry in {} to it",
            r.image_name,
            live::labels(&Place::of(k))
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(name: &str, v: Option<i32>) -> CustomImage {
        CustomImage::builder()
            .image_name(name)
            .app_image_config_name(format!("{name}-cfg"))
            .set_image_version_number(v)
            .build()
    }

    #[test]
    fn pins_own_entry_in_place_and_keeps_others() {
        let k = crate::plan::tests::sample_kernel();
        let out = pinned(&[ci("a", Some(3)), ci(&k.name, None), ci("b", None)], &k, 1);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], ci("a", Some(3)));
        assert_eq!(out[1].image_name(), Some(k.name.as_str()));
        assert_eq!(out[1].image_version_number(), Some(1));
        assert_eq!(out[2], ci("b", None));
        let added = pinned(&[ci("a", None)], &k, 2);
        assert_eq!(added.len(), 2);
        assert_eq!(added[1].image_version_number(), Some(2));
    }
}
