//! What is live for a kernel: its image's versions and the custom-image entries of the
//! settings that list it (see `pipeline::settings`). The helpers the lifecycle commands share.

use aws_sdk_sagemaker::types::{CustomImage, ImageVersionStatus};

use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::pipeline::settings::{self, Update};
pub use crate::pipeline::settings::{AttachKey, Current, Place, Section};
use crate::plan::steps::Builder;
use crate::plan::Resources;

/// One version of the image, as DescribeImageVersion reports it.
#[derive(Debug, Clone)]
pub struct LiveVersion {
    pub number: i32,
    pub status: String,
    pub base_image: String,
}

impl LiveVersion {
    pub fn created(&self) -> bool {
        self.status == ImageVersionStatus::Created.as_str()
    }
}

/// Whether the SageMaker image exists (and its status).
pub async fn image_status(clients: &Clients, image: &str) -> Result<Option<String>, Error> {
    match clients
        .sagemaker
        .describe_image()
        .image_name(image)
        .send()
        .await
    {
        Ok(d) => Ok(Some(
            d.image_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeImage", &e)),
    }
}

/// Every version of the image, newest first; empty when the image does not exist.
pub async fn versions(clients: &Clients, image: &str) -> Result<Vec<LiveVersion>, Error> {
    let mut numbers = Vec::new();
    let mut token = None;
    loop {
        let out = match clients
            .sagemaker
            .list_image_versions()
            .image_name(image)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(Error::aws("sagemaker:ListImageVersions", &e)),
        };
        numbers.extend(out.image_versions().iter().filter_map(|v| v.version()));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(numbers.len());
    for n in numbers {
        let v = clients
            .sagemaker
            .describe_image_version()
            .image_name(image)
            .version(n)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DescribeImageVersion", &e))?;
        out.push(LiveVersion {
            number: n,
            status: v
                .image_version_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            base_image: v.base_image().unwrap_or_default().to_string(),
        });
    }
    Ok(out)
}

/// The aliases each version holds.
pub async fn aliases_of(
    clients: &Clients,
    image: &str,
    version: i32,
) -> Result<Vec<String>, Error> {
    let out = clients
        .sagemaker
        .list_aliases()
        .image_name(image)
        .version(version)
        .send()
        .await
        .map_err(|e| Error::aws("sagemaker:ListAliases", &e))?;
    Ok(out.sage_maker_image_version_aliases().to_vec())
}

/// The settings of each resource the kernel's `attach` places are in, read once each, with
/// the places in it.
pub async fn configured(clients: &Clients, k: &Kernel) -> Result<Vec<(Place, Current)>, Error> {
    let mut out = Vec::new();
    for key in settings::keys_of(k) {
        let current = settings::describe(clients, &key).await?;
        for place in Place::of(k).into_iter().filter(|p| p.key == key) {
            out.push((place, current.clone()));
        }
    }
    Ok(out)
}

/// Every settings list of the kernel's domain that can name its image, with what it holds
/// now: the domain's default user settings and default space settings, and each user
/// profile's settings. What delete and prune read, so that they never leave an entry naming a
/// deleted image, or delete a version someone else's entry pins.
pub async fn every_place(clients: &Clients, k: &Kernel) -> Result<Vec<(Place, Current)>, Error> {
    let domain = AttachKey {
        region: k.region.clone(),
        domain_id: k.domain_id.clone(),
        user_profile: None,
    };
    let current = settings::describe(clients, &domain).await?;
    let mut out = vec![(
        Place {
            key: domain.clone(),
            section: Section::User,
        },
        current.clone(),
    )];
    if k.app != App::CodeEditor {
        out.push((
            Place {
                key: domain.clone(),
                section: Section::Space,
            },
            current,
        ));
    }
    let mut pages = clients
        .sagemaker
        .list_user_profiles()
        .domain_id_equals(&k.domain_id)
        .into_paginator()
        .send();
    let mut profiles = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::aws("sagemaker:ListUserProfiles", &e))?;
        profiles.extend(
            page.user_profiles()
                .iter()
                .filter_map(|p| p.user_profile_name().map(str::to_string)),
        );
    }
    for name in profiles {
        let key = AttachKey {
            user_profile: Some(name),
            ..domain.clone()
        };
        let current = settings::describe(clients, &key).await?;
        out.push((
            Place {
                key,
                section: Section::User,
            },
            current,
        ));
    }
    Ok(out)
}

/// The labels of places, joined for one line.
pub fn labels<'a>(places: impl IntoIterator<Item = &'a Place>) -> String {
    places
        .into_iter()
        .map(Place::label)
        .collect::<Vec<_>>()
        .join(", ")
}

/// This kernel's entry among `images`.
pub fn entry<'a>(images: &'a [CustomImage], k: &Kernel) -> Option<&'a CustomImage> {
    images
        .iter()
        .find(|c| c.image_name() == Some(k.name.as_str()))
}

/// The version an entry runs: its pinned number, or the newest CREATED version.
pub fn attached_version(entry: &CustomImage, versions: &[LiveVersion]) -> Option<i32> {
    entry
        .image_version_number()
        .or_else(|| versions.iter().find(|v| v.created()).map(|v| v.number))
}

/// Writes each resource of `places` once: `change` gives the new list of the kernel's app
/// in a place, every other entry and setting kept.
pub async fn rewrite(
    clients: &Clients,
    k: &Kernel,
    places: &[(Place, Current)],
    change: impl Fn(&[CustomImage]) -> Vec<CustomImage>,
    cancel: &crate::pipeline::Cancel,
) -> Result<(), Error> {
    let mut keys: Vec<&AttachKey> = Vec::new();
    for (p, _) in places {
        if !keys.contains(&&p.key) {
            keys.push(&p.key);
        }
    }
    for key in keys {
        let mut update = Update::default();
        for (place, current) in places.iter().filter(|(p, _)| &p.key == key) {
            let list = change(&current.custom_images(place.section, k.app));
            update.set(current, place.section, k.app, list);
        }
        settings::write(clients, key, update, cancel).await?;
    }
    Ok(())
}

/// Declares what [`image_status`] and [`versions`] read.
pub fn declare_image_reads(b: &mut Builder, r: &Resources) {
    b.caller(
        "sagemaker",
        "DescribeImage",
        "sagemaker:DescribeImage",
        &r.image_arn,
    );
    declare_versions_read(b, r);
}

/// Declares what [`versions`] reads.
pub fn declare_versions_read(b: &mut Builder, r: &Resources) {
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
}

/// Declares what [`every_place`] reads and, with `write`, what [`rewrite`] may send there.
pub fn declare_every_place(b: &mut Builder, r: &Resources, write: Option<&'static str>) {
    let profiles = format!(
        "arn:{}:sagemaker:{}:{}:user-profile/{}/*",
        r.partition, r.region, r.account, r.domain_id
    );
    b.caller(
        "sagemaker",
        "DescribeDomain",
        "sagemaker:DescribeDomain",
        &r.domain_arn,
    );
    b.caller(
        "sagemaker",
        "ListUserProfiles",
        "sagemaker:ListUserProfiles",
        "*",
    );
    b.caller(
        "sagemaker",
        "DescribeUserProfile",
        "sagemaker:DescribeUserProfile",
        &profiles,
    );
    if let Some(when) = write {
        b.caller(
            "sagemaker",
            "UpdateDomain",
            "sagemaker:UpdateDomain",
            &r.domain_arn,
        )
        .when(when);
        b.caller(
            "sagemaker",
            "UpdateUserProfile",
            "sagemaker:UpdateUserProfile",
            profiles,
        )
        .when(when);
    }
}
