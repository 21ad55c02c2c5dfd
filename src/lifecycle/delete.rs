//! `sm-kernel delete KERNEL`: the kernel's entries in every settings list of its domain (the
//! domain's user and space defaults and each user profile's; other entries kept), its app
//! image config and its image with every version; the ECR repository only with
//! `--delete-repository`. Dry without `--yes`; refuses while apps run the image unless
//! `--force`. Every list is cleaned, not only the configured ones, because an entry naming a
//! deleted image would make the next update of that list fail for everyone.

use serde::Serialize;

use super::live;
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::pipeline::Cancel;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub name: String,
    /// The settings lists that name the image (their entry is removed), comma-separated.
    pub entry: Option<String>,
    /// The same lists, one label each.
    pub entries: Vec<String>,
    pub app_image_config: Option<String>,
    pub image: Option<String>,
    pub versions: Vec<i32>,
    pub repository: Option<String>,
    /// Apps (of user profiles or spaces) running this image.
    pub running: Vec<String>,
    pub applied: bool,
}

/// Apps that are Pending or InService on any version of the image.
pub async fn running_apps(
    clients: &Clients,
    k: &Kernel,
    r: &Resources,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut token = None;
    let version_prefix = r.image_versions_arn.trim_end_matches('*').to_string();
    loop {
        let page = clients
            .sagemaker
            .list_apps()
            .domain_id_equals(&k.domain_id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:ListApps", &e))?;
        for a in page.apps() {
            let live = a
                .status()
                .is_some_and(|s| matches!(s.as_str(), "InService" | "Pending"));
            let spec = a.resource_spec();
            let uses = spec.is_some_and(|s| {
                s.sage_maker_image_arn() == Some(r.image_arn.as_str())
                    || s.sage_maker_image_version_arn()
                        .is_some_and(|v| v.starts_with(&version_prefix))
            });
            if live && uses {
                let owner = match (a.user_profile_name(), a.space_name()) {
                    (Some(u), _) => format!("user profile {u}"),
                    (_, Some(s)) => format!("space {s}"),
                    _ => "?".into(),
                };
                out.push(format!(
                    "{} app {} of {owner} ({})",
                    a.app_type().map(|t| t.as_str()).unwrap_or("?"),
                    a.app_name().unwrap_or("?"),
                    a.status().map(|s| s.as_str()).unwrap_or("?")
                ));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn repository_exists(clients: &Clients, r: &Resources) -> Result<bool, Error> {
    match clients
        .ecr
        .describe_repositories()
        .repository_names(&r.repository)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::aws("ecr:DescribeRepositories", &e)),
    }
}

async fn app_image_config_exists(clients: &Clients, k: &Kernel) -> Result<bool, Error> {
    match clients
        .sagemaker
        .describe_app_image_config()
        .app_image_config_name(&k.app_image_config)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeAppImageConfig", &e)),
    }
}

pub struct Options {
    pub delete_repository: bool,
    pub yes: bool,
    pub force: bool,
}

pub async fn run(
    clients: &Clients,
    k: &Kernel,
    r: &Resources,
    opts: &Options,
    cancel: &Cancel,
) -> Result<Deletion, Error> {
    let image = live::image_status(clients, &k.name).await?;
    let versions: Vec<i32> = if image.is_some() {
        live::versions(clients, &k.name)
            .await?
            .iter()
            .map(|v| v.number)
            .collect()
    } else {
        Vec::new()
    };
    let listing: Vec<(live::Place, live::Current)> = live::every_place(clients, k)
        .await?
        .into_iter()
        .filter(|(p, c)| live::entry(&c.custom_images(p.section, k.app), k).is_some())
        .collect();
    let aic = app_image_config_exists(clients, k).await?;
    let repo = opts.delete_repository && repository_exists(clients, r).await?;
    let running = running_apps(clients, k, r).await?;
    let mut out = Deletion {
        name: k.name.clone(),
        entry: (!listing.is_empty()).then(|| live::labels(listing.iter().map(|(p, _)| p))),
        entries: listing.iter().map(|(p, _)| p.label()).collect(),
        app_image_config: aic.then(|| k.app_image_config.clone()),
        image: image.as_ref().map(|_| k.name.clone()),
        versions,
        repository: repo.then(|| r.repository.clone()),
        running,
        applied: false,
    };
    if !out.running.is_empty() && !opts.force {
        return Err(Error::failed(format!(
            "{}: not deleted, these apps run the image: {}. Stop them first, or pass --force",
            k.name,
            out.running.join("; ")
        )));
    }
    if !opts.yes {
        return Ok(out);
    }
    live::rewrite(
        clients,
        k,
        &listing,
        |images| {
            images
                .iter()
                .filter(|c| c.image_name() != Some(k.name.as_str()))
                .cloned()
                .collect()
        },
        cancel,
    )
    .await?;
    if aic {
        clients
            .sagemaker
            .delete_app_image_config()
            .app_image_config_name(&k.app_image_config)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DeleteAppImageConfig", &e))?;
    }
    if image.is_some() {
        // DeleteImage removes the image with all its versions.
        clients
            .sagemaker
            .delete_image()
            .image_name(&k.name)
            .send()
            .await
            .map_err(|e| Error::aws("sagemaker:DeleteImage", &e))?;
    }
    if repo {
        clients
            .ecr
            .delete_repository()
            .repository_name(&r.repository)
            .force(true)
            .send()
            .await
            .map_err(|e| Error::aws("ecr:DeleteRepository", &e))?;
    }
    out.applied = true;
    Ok(out)
}

pub fn text(d: &[Deletion]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for d in d {
        let verb = if d.applied { "deleted" } else { "would delete" };
        let _ = writeln!(s, "{}: {verb}", d.name);
        for e in &d.entries {
            let _ = writeln!(s, "  entry in          {e} (other entries kept)");
        }
        if let Some(a) = &d.app_image_config {
            let _ = writeln!(s, "  app image config  {a}");
        }
        if let Some(i) = &d.image {
            let v: Vec<String> = d.versions.iter().map(i32::to_string).collect();
            let _ = writeln!(
                s,
                "  image             {i} (versions {})",
                if v.is_empty() {
                    "none".into()
                } else {
                    v.join(", ")
                }
            );
        }
        match &d.repository {
            Some(r) => {
                let _ = writeln!(s, "  ECR repository    {r}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "  ECR repository    kept (--delete-repository deletes it)"
                );
            }
        }
        for a in &d.running {
            let _ = writeln!(s, "  running (forced)  {a}");
        }
        if !d.applied {
            let _ = writeln!(s, "  nothing changed; run again with --yes to do it");
        }
    }
    s
}

pub fn needs(_k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    live::declare_image_reads(&mut b, r);
    b.caller("sagemaker", "ListApps", "sagemaker:ListApps", "*");
    b.caller(
        "sagemaker",
        "DescribeAppImageConfig",
        "sagemaker:DescribeAppImageConfig",
        &r.app_image_config_arn,
    );
    live::declare_every_place(
        &mut b,
        r,
        Some("with --yes, where an entry names the image"),
    );
    b.caller(
        "sagemaker",
        "DeleteAppImageConfig",
        "sagemaker:DeleteAppImageConfig",
        &r.app_image_config_arn,
    )
    .when("with --yes");
    b.caller(
        "sagemaker",
        "DeleteImage",
        "sagemaker:DeleteImage",
        &r.image_arn,
    )
    .when("with --yes");
    b.caller(
        "ecr",
        "DescribeRepositories",
        "ecr:DescribeRepositories",
        &r.repository_arn,
    )
    .when("with --delete-repository");
    b.caller(
        "ecr",
        "DeleteRepository",
        "ecr:DeleteRepository",
        &r.repository_arn,
    )
    .when("with --delete-repository --yes");
    b.done(
        StepId::Delete,
        format!(
            "remove {}'s entry from every settings list of domain {} (user and space defaults, user profiles), delete its app image config, versions and image",
            r.image_name, r.domain_id
        ),
    )
}
