//! Attaches kernels to the Studio settings their `attach` names: every kernel of one release
//! that goes to the same domain (or user profile) is merged into ONE update, so a release
//! waits for InService once, not once per kernel; a domain's default user settings and its
//! default space settings travel in the same UpdateDomain. Each kernel's entry is inserted or
//! replaced in its app's `CustomImages`; every other entry and every other setting of that app
//! is kept (see `settings.rs`), and the result is read back. A concurrent writer that dropped
//! an entry is answered by retrying, with jitter.

use std::collections::BTreeSet;

use aws_sdk_sagemaker::types::{AppStatus, CustomImage};

use super::settings::{self, AttachKey, Current, Place, Refusal, Section, Update};
use super::{jitter, Cancel, Reporter};
use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::requests::{self, CurrentLists};
use crate::plan::steps::{Builder, Step};
use crate::plan::Resources;
use crate::plan::StepId;

const ATTEMPTS: u32 = 5;

/// Whether the kernel's entry is in `current`, unpinned, with its app image config.
fn is_attached(current: &[CustomImage], k: &Kernel) -> bool {
    current.iter().any(|c| {
        c.image_name() == Some(k.name.as_str())
            && c.app_image_config_name() == Some(k.app_image_config.as_str())
            && c.image_version_number().is_none()
    })
}

/// The members whose entry is missing from `current`.
fn missing<'a>(current: &Current, members: &[(&'a Kernel, Section)]) -> Vec<(&'a Kernel, Section)> {
    members
        .iter()
        .copied()
        .filter(|(k, s)| !is_attached(&current.custom_images(*s, k.app), k))
        .collect()
}

fn names(members: &[(&Kernel, Section)]) -> String {
    let mut seen = BTreeSet::new();
    members
        .iter()
        .filter(|(k, _)| seen.insert(k.name.as_str()))
        .map(|(k, _)| k.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The apps that block a domain update, as the commands that delete them; empty when none
/// runs (then the refusal was about something else and is reported as AWS gave it).
async fn inservice_apps(clients: &Clients, key: &AttachKey) -> Vec<String> {
    let Ok(out) = clients
        .sagemaker
        .list_apps()
        .domain_id_equals(&key.domain_id)
        .send()
        .await
    else {
        return Vec::new();
    };
    out.apps()
        .iter()
        .filter(|a| matches!(a.status(), Some(AppStatus::InService)))
        .map(|a| {
            let owner = match (a.user_profile_name(), a.space_name()) {
                (Some(u), _) => format!("--user-profile-name {u}"),
                (_, Some(s)) => format!("--space-name {s}"),
                _ => String::new(),
            };
            format!(
                "aws sagemaker delete-app --domain-id {} {owner} --app-type {} --app-name {}",
                key.domain_id,
                a.app_type().map(|t| t.as_str()).unwrap_or("?"),
                a.app_name().unwrap_or("?")
            )
        })
        .collect()
}

/// Attaches every member of one [`AttachKey`] — a kernel and the section it goes to — with
/// one update. Returns false when every entry was already there (nothing sent).
pub async fn attach_group(
    clients: &Clients,
    key: &AttachKey,
    members: &[(&Kernel, Section)],
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<bool, Error> {
    let who = names(members);
    let lists: BTreeSet<(Section, App)> = members.iter().map(|(k, s)| (*s, k.app)).collect();
    let waiting = |status: &str| {
        reporter.step(
            &who,
            StepId::DomainAttach,
            &format!("waiting for {} ({status})", key.label()),
        )
    };
    for attempt in 0..ATTEMPTS {
        let current = settings::read_in_service(clients, key, cancel, &waiting).await?;
        cancel.check(&format!(
            "before updating {}; a re-run will attach {who}",
            key.label()
        ))?;
        let absent = missing(&current, members);
        if absent.is_empty() {
            if attempt == 0 {
                reporter.skipped(
                    &who,
                    StepId::DomainAttach,
                    &format!("already attached to {}", key.label()),
                );
                return Ok(false);
            }
            return Ok(true);
        }
        let now: CurrentLists = lists
            .iter()
            .map(|&(s, a)| ((s, a), settings::to_json(&current.custom_images(s, a))))
            .collect();
        let body = requests::domain_update(key, members, &now);
        let update = Update::from_body(key, &current, &body);
        reporter.step(
            &who,
            StepId::DomainAttach,
            &format!(
                "adding {} to {} in one update",
                absent
                    .iter()
                    .map(|(k, s)| format!("{} ({})", k.name, key.member(*s)))
                    .collect::<Vec<_>>()
                    .join(", "),
                key.label()
            ),
        );
        match settings::send(clients, key, update).await {
            Ok(()) => {}
            Err(Refusal::Busy(_)) => {
                if cancel.sleep(jitter(attempt + 1)).await {
                    cancel.check("while the domain was busy; a re-run will attach the images")?;
                }
                continue;
            }
            Err(Refusal::Final(e)) => {
                // Studio refuses domain updates while apps run (a ValidationException): if
                // apps are InService, say which and how to stop them.
                let validation = e.aws_code() == Some("ValidationException");
                let apps = if validation {
                    inservice_apps(clients, key).await
                } else {
                    Vec::new()
                };
                if apps.is_empty() {
                    return Err(e);
                }
                return Err(Error::failed(format!(
                    "{e}\nStudio refuses to change the domain while apps run. Shut them down in Studio, or delete them:\n  {}\nthen run sm-kernel publish again (the images, versions and app image configs are already in place).",
                    apps.join("\n  ")
                )));
            }
        }
        // Read back: a concurrent writer may have replaced the list with its own.
        let after = settings::read_in_service(clients, key, cancel, &waiting).await?;
        let lost = missing(&after, members);
        if lost.is_empty() {
            return Ok(true);
        }
        reporter.warn(&format!(
            "{} missing from {} after the update (another writer?); retrying",
            names(&lost),
            key.label()
        ));
        if cancel.sleep(jitter(attempt + 1)).await {
            cancel.check("after a concurrent domain update; a re-run will attach the images")?;
        }
    }
    Err(Error::failed(format!(
        "could not attach {who} to {} after {ATTEMPTS} attempts: another writer keeps replacing its custom images",
        key.label()
    )))
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let mut b = Builder::new(r);
    settings::declare_write(&mut b, k, r);
    b.caller("sagemaker", "ListApps", "sagemaker:ListApps", "*")
        .when("only if an InService app blocks the update, to name it");
    let places: Vec<String> = Place::of(k)
        .iter()
        .map(|p| match &p.key.user_profile {
            Some(profile) => format!("user profile {profile}'s {}.CustomImages", p.path(k.app)),
            None => format!("the domain's {}.CustomImages", p.path(k.app)),
        })
        .collect();
    b.done(
        StepId::DomainAttach,
        format!(
            "add {} to {}, keeping every other entry, and wait for InService",
            r.image_name,
            places.join(" and ")
        ),
    )
}
