//! The request bodies a publish sends, in the exact JSON shape of the SageMaker API, so the
//! dry run's artifacts can be read, diffed and even replayed with the AWS CLI.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::resources::Resources;
use crate::config::{App, Kernel};
use crate::pipeline::settings::{self, AttachKey, Place, Section};

fn tags(k: &Kernel) -> Option<Value> {
    (!k.tags.is_empty()).then(|| {
        Value::Array(
            k.tags
                .iter()
                .map(|(key, value)| json!({"Key": key, "Value": value}))
                .collect(),
        )
    })
}

fn file_system_config(k: &Kernel) -> Value {
    json!({
        "MountPath": k.mount_path,
        "DefaultUid": k.uid,
        "DefaultGid": k.gid,
    })
}

/// The CreateAppImageConfig body; its app member is also what UpdateAppImageConfig sends.
pub fn create_app_image_config(k: &Kernel) -> Value {
    let mut body = Map::new();
    body.insert("AppImageConfigName".into(), json!(k.app_image_config));
    let member = match k.app {
        App::KernelGateway => json!({
            "KernelSpecs": k.kernel_specs.iter().map(|s| {
                let mut spec = Map::new();
                spec.insert("Name".into(), json!(s.name));
                if let Some(d) = &s.display_name {
                    spec.insert("DisplayName".into(), json!(d));
                }
                Value::Object(spec)
            }).collect::<Vec<_>>(),
            "FileSystemConfig": file_system_config(k),
        }),
        App::Jupyterlab | App::CodeEditor => {
            let mut m = Map::new();
            m.insert("FileSystemConfig".into(), file_system_config(k));
            if let Some(c) = &k.container {
                let mut cc = Map::new();
                if !c.entrypoint.is_empty() {
                    cc.insert("ContainerEntrypoint".into(), json!(c.entrypoint));
                }
                if !c.arguments.is_empty() {
                    cc.insert("ContainerArguments".into(), json!(c.arguments));
                }
                if !c.environment.is_empty() {
                    cc.insert("ContainerEnvironmentVariables".into(), json!(c.environment));
                }
                if !cc.is_empty() {
                    m.insert("ContainerConfig".into(), Value::Object(cc));
                }
            }
            Value::Object(m)
        }
    };
    body.insert(k.app.image_config_member().into(), member);
    if let Some(t) = tags(k) {
        body.insert("Tags".into(), t);
    }
    Value::Object(body)
}

pub fn create_image(k: &Kernel) -> Value {
    let mut body = Map::new();
    body.insert("ImageName".into(), json!(k.name));
    body.insert("RoleArn".into(), json!(k.role_arn));
    if let Some(d) = &k.display_name {
        body.insert("DisplayName".into(), json!(d));
    }
    if let Some(d) = &k.description {
        body.insert("Description".into(), json!(d));
    }
    if let Some(t) = tags(k) {
        body.insert("Tags".into(), t);
    }
    Value::Object(body)
}

/// BaseImage uses the content-derived tag, not the pushed digest, so the body is known before
/// the build; SageMaker resolves the tag to the digest when it creates the version.
/// Aliases held by another version are moved after the version is CREATED (see
/// `lifecycle::aliases`), so publish sends only the free ones.
pub fn create_image_version(k: &Kernel, res: &Resources) -> Value {
    let mut body = json!({
        "ImageName": res.image_name,
        "BaseImage": res.image_uri,
        "ClientToken": res.image_version_client_token,
    });
    let m = &k.release;
    if !m.aliases.is_empty() {
        body["Aliases"] = json!(m.aliases);
    }
    for (key, v) in [
        ("ReleaseNotes", &m.release_notes),
        ("VendorGuidance", &m.vendor_guidance),
        ("JobType", &m.job_type),
        ("Processor", &m.processor),
        ("MLFramework", &m.ml_framework),
        ("ProgrammingLang", &m.programming_lang),
    ] {
        if let Some(v) = v {
            body[key] = json!(v);
        }
    }
    if let Some(h) = m.horovod {
        body["Horovod"] = json!(h);
    }
    body
}

/// The SageMaker call of the kernel's first settings update: UpdateDomain, or
/// UpdateUserProfile when `user-profile` is set (`space-settings` then adds an UpdateDomain).
pub fn attach_operation(k: &Kernel) -> &'static str {
    settings::keys_of(k)
        .first()
        .map(AttachKey::operation)
        .unwrap_or("UpdateDomain")
}

/// `current` with each kernel's entry inserted or replaced in place; every other entry keeps
/// its place. Entries are `{ImageName, AppImageConfigName[, ImageVersionNumber]}` objects.
pub fn merged_custom_images<'k>(
    current: &[Value],
    kernels: impl IntoIterator<Item = &'k Kernel>,
) -> Vec<Value> {
    let mut images: Vec<Value> = current.to_vec();
    for k in kernels {
        let entry = json!({
            "ImageName": k.name,
            "AppImageConfigName": k.app_image_config,
        });
        let mut placed = false;
        images.retain_mut(|img| {
            if img.get("ImageName").and_then(Value::as_str) != Some(k.name.as_str()) {
                return true;
            }
            if placed {
                return false;
            }
            *img = entry.clone();
            placed = true;
            true
        });
        if !placed {
            images.push(entry);
        }
    }
    images
}

/// The current custom images of one resource, per (section, app), as request-body entries.
pub type CurrentLists = BTreeMap<(Section, App), Vec<Value>>;

/// The one UpdateDomain (or UpdateUserProfile) body that attaches `members` — each a kernel
/// and the section of `key` it goes to — given the current lists. Only the app settings that
/// change are sent: UpdateDomain replaces a sub-structure it is given and leaves the others
/// alone. Publish takes the `CustomImages` lists from this body.
pub fn domain_update(
    key: &AttachKey,
    members: &[(&Kernel, Section)],
    current: &CurrentLists,
) -> Value {
    let mut body = json!({ "DomainId": key.domain_id });
    if let Some(p) = &key.user_profile {
        body["UserProfileName"] = json!(p);
    }
    for section in [Section::User, Section::Space] {
        let mut settings = Map::new();
        for app in [App::KernelGateway, App::Jupyterlab, App::CodeEditor] {
            let mine: Vec<&Kernel> = members
                .iter()
                .filter(|(k, s)| *s == section && k.app == app)
                .map(|(k, _)| *k)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let now = current
                .get(&(section, app))
                .map(Vec::as_slice)
                .unwrap_or_default();
            settings.insert(
                app.settings_member().into(),
                json!({ "CustomImages": merged_custom_images(now, mine) }),
            );
        }
        if !settings.is_empty() {
            body[key.member(section)] = Value::Object(settings);
        }
    }
    body
}

/// Every settings update one kernel needs on its own, computed against empty lists (the dry
/// run reads nothing): one per resource its places are in.
pub fn kernel_settings_updates(k: &Kernel) -> Vec<(&'static str, Value)> {
    let places = Place::of(k);
    settings::keys_of(k)
        .into_iter()
        .map(|key| {
            let members: Vec<(&Kernel, Section)> = places
                .iter()
                .filter(|p| p.key == key)
                .map(|p| (k, p.section))
                .collect();
            (
                key.operation(),
                domain_update(&key, &members, &BTreeMap::new()),
            )
        })
        .collect()
}

/// The `CustomImages` list of `app` under `member` (`DefaultUserSettings`, `UserSettings` or
/// `DefaultSpaceSettings`) in a body made by [`domain_update`].
pub fn custom_images_of<'b>(body: &'b Value, member: &str, app: App) -> Option<&'b Vec<Value>> {
    body.get(member)?
        .get(app.settings_member())?
        .get("CustomImages")?
        .as_array()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, cfg: &str) -> Value {
        json!({"ImageName": name, "AppImageConfigName": cfg})
    }

    fn kernel() -> Kernel {
        crate::plan::tests::sample_kernel()
    }

    fn key(k: &Kernel) -> AttachKey {
        AttachKey {
            region: k.region.clone(),
            domain_id: k.domain_id.clone(),
            user_profile: None,
        }
    }

    const USER: &str = "DefaultUserSettings";

    #[test]
    fn domain_update_keeps_others_and_replaces_own_entry() {
        let k = kernel();
        let current = vec![
            custom("other-a", "cfg-a"),
            json!({"ImageName": k.name, "AppImageConfigName": "old", "ImageVersionNumber": 3}),
            custom("other-b", "cfg-b"),
        ];
        let body = domain_update(
            &key(&k),
            &[(&k, Section::User)],
            &[((Section::User, App::KernelGateway), current)].into(),
        );
        let images = body["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"]
            .as_array()
            .unwrap();
        assert_eq!(images.len(), 3);
        assert_eq!(images[0], custom("other-a", "cfg-a"));
        assert_eq!(images[1], custom(&k.name, &k.app_image_config));
        assert_eq!(images[2], custom("other-b", "cfg-b"));
        assert!(body.get("DefaultSpaceSettings").is_none());
    }

    #[test]
    fn domain_update_appends_when_absent() {
        let k = kernel();
        let body = domain_update(
            &key(&k),
            &[(&k, Section::User)],
            &[((Section::User, App::KernelGateway), vec![custom("x", "y")])].into(),
        );
        let images = body["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"]
            .as_array()
            .unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[1]["ImageName"], json!(k.name));
    }

    #[test]
    fn one_body_for_kernels_of_two_apps_keeps_both_lists() {
        let a = kernel();
        let mut b = kernel();
        b.name = "lab".into();
        b.app_image_config = "lab-config".into();
        b.app = App::Jupyterlab;
        let current = [(
            (Section::User, App::Jupyterlab),
            vec![custom("team-x", "cfg-x")],
        )]
        .into();
        let body = domain_update(
            &key(&a),
            &[(&a, Section::User), (&b, Section::User)],
            &current,
        );
        assert_eq!(
            custom_images_of(&body, USER, App::KernelGateway).unwrap(),
            &vec![custom(&a.name, &a.app_image_config)]
        );
        assert_eq!(
            custom_images_of(&body, USER, App::Jupyterlab).unwrap(),
            &vec![custom("team-x", "cfg-x"), custom("lab", "lab-config")]
        );
        assert!(custom_images_of(&body, USER, App::CodeEditor).is_none());
    }

    #[test]
    fn space_settings_join_the_same_update_domain_with_their_own_lists() {
        let mut k = kernel();
        k.attach = vec![
            crate::config::Attach::UserSettings,
            crate::config::Attach::SpaceSettings,
        ];
        let current = [
            ((Section::User, App::KernelGateway), vec![custom("u", "u")]),
            ((Section::Space, App::KernelGateway), vec![custom("s", "s")]),
        ]
        .into();
        let body = domain_update(
            &key(&k),
            &[(&k, Section::User), (&k, Section::Space)],
            &current,
        );
        let mine = custom(&k.name, &k.app_image_config);
        assert_eq!(
            custom_images_of(&body, USER, App::KernelGateway).unwrap(),
            &vec![custom("u", "u"), mine.clone()]
        );
        assert_eq!(
            custom_images_of(&body, "DefaultSpaceSettings", App::KernelGateway).unwrap(),
            &vec![custom("s", "s"), mine]
        );
        let updates = kernel_settings_updates(&k);
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].0, "UpdateDomain");
    }

    #[test]
    fn user_profile_body_is_an_update_user_profile() {
        let mut k = kernel();
        k.user_profile = Some("alice".into());
        let updates = kernel_settings_updates(&k);
        assert_eq!(attach_operation(&k), "UpdateUserProfile");
        assert_eq!(updates.len(), 1);
        let body = &updates[0].1;
        assert_eq!(body["UserProfileName"], json!("alice"));
        assert!(body.get("DefaultUserSettings").is_none());
        assert_eq!(
            custom_images_of(body, "UserSettings", App::KernelGateway).unwrap()[0]["ImageName"],
            json!(k.name)
        );
        // A profile with space-settings: the profile's update, then the domain's.
        k.attach.push(crate::config::Attach::SpaceSettings);
        let updates = kernel_settings_updates(&k);
        assert_eq!(
            updates.iter().map(|u| u.0).collect::<Vec<_>>(),
            ["UpdateUserProfile", "UpdateDomain"]
        );
        assert!(updates[1].1.get("UserProfileName").is_none());
        assert!(
            custom_images_of(&updates[1].1, "DefaultSpaceSettings", App::KernelGateway).is_some()
        );
    }

    #[test]
    fn image_version_body_carries_aliases_and_metadata() {
        let mut k = kernel();
        let res = Resources::derive(&k, "sha256:00", "bs");
        assert!(create_image_version(&k, &res).get("Aliases").is_none());
        k.release.aliases = vec!["stable".into()];
        k.release.job_type = Some("NOTEBOOK_KERNEL".into());
        k.release.horovod = Some(false);
        let body = create_image_version(&k, &res);
        assert_eq!(body["Aliases"], json!(["stable"]));
        assert_eq!(body["JobType"], json!("NOTEBOOK_KERNEL"));
        assert_eq!(body["Horovod"], json!(false));
        assert!(body.get("ReleaseNotes").is_none());
    }

    #[test]
    fn kernel_gateway_config_has_specs_and_file_system() {
        let body = create_app_image_config(&kernel());
        let kg = &body["KernelGatewayImageConfig"];
        assert_eq!(kg["KernelSpecs"][0]["Name"], json!("python3"));
        assert_eq!(kg["FileSystemConfig"]["DefaultUid"], json!(1000));
        assert_eq!(kg["FileSystemConfig"]["DefaultGid"], json!(100));
        assert_eq!(
            kg["FileSystemConfig"]["MountPath"],
            json!("/home/sagemaker-user")
        );
    }

    #[test]
    fn jupyterlab_config_carries_container_config() {
        let mut k = kernel();
        k.app = App::Jupyterlab;
        k.kernel_specs.clear();
        k.container = Some(crate::config::Container {
            entrypoint: vec!["jupyter-lab".into()],
            arguments: vec!["--ServerApp.port=8888".into()],
            environment: [("A".to_string(), "1".to_string())].into(),
        });
        let body = create_app_image_config(&k);
        let jl = &body["JupyterLabAppImageConfig"];
        assert_eq!(
            jl["ContainerConfig"]["ContainerEntrypoint"],
            json!(["jupyter-lab"])
        );
        assert_eq!(
            jl["ContainerConfig"]["ContainerEnvironmentVariables"]["A"],
            json!("1")
        );
        assert!(body.get("KernelGatewayImageConfig").is_none());
    }
}
