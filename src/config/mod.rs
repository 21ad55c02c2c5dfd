//! kernel.toml + environment + flags -> resolved, validated kernels.
//!
//! Precedence is built-in defaults < manifest `[defaults]` < manifest `[[kernel]]` <
//! environment (`SM_KERNEL_*`, read by clap) < flags. Everything is validated here, before
//! anything else runs, so a bad name costs the user no AWS call and no half-made resource.

pub mod build;
mod finish;
mod flags;
pub mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{AppArg, GlobalArgs, KernelArgs};
use crate::error::Error;
use crate::names;
pub use build::BuildOptions;
use finish::finish;
use flags::settings_from_flags;
use manifest::{Manifest, Settings};

pub const DEFAULT_MANIFEST: &str = "kernel.toml";
pub const DEFAULT_UID: u32 = 1000;
pub const DEFAULT_GID: u32 = 100;
pub const DEFAULT_MOUNT_PATH: &str = names::DEFAULT_MOUNT_PATH;
pub const DEFAULT_COMPUTE_TYPE: &str = "BUILD_GENERAL1_MEDIUM";
pub const DEFAULT_CODEBUILD_IMAGE: &str = "aws/codebuild/standard:7.0";
pub const DEFAULT_TIMEOUT_MINUTES: u32 = 60;
pub const DEFAULT_KERNEL_SPEC: &str = "python3";

/// The Studio app that runs the image; each has its own AppImageConfig member and its own
/// `CustomImages` list in the domain settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum App {
    KernelGateway,
    Jupyterlab,
    CodeEditor,
}

impl App {
    pub const NAMES: &'static str = "kernel-gateway, jupyterlab or code-editor";

    pub fn parse(s: &str) -> Option<App> {
        match s {
            "kernel-gateway" => Some(App::KernelGateway),
            "jupyterlab" => Some(App::Jupyterlab),
            "code-editor" => Some(App::CodeEditor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            App::KernelGateway => "kernel-gateway",
            App::Jupyterlab => "jupyterlab",
            App::CodeEditor => "code-editor",
        }
    }

    /// The member of the AppImageConfig request that configures this app.
    pub fn image_config_member(self) -> &'static str {
        match self {
            App::KernelGateway => "KernelGatewayImageConfig",
            App::Jupyterlab => "JupyterLabAppImageConfig",
            App::CodeEditor => "CodeEditorAppImageConfig",
        }
    }

    /// The member of `DefaultUserSettings` whose `CustomImages` lists this app's images.
    pub fn settings_member(self) -> &'static str {
        match self {
            App::KernelGateway => "KernelGatewayAppSettings",
            App::Jupyterlab => "JupyterLabAppSettings",
            App::CodeEditor => "CodeEditorAppSettings",
        }
    }
}

/// Which Studio settings list the kernel, so Studio shows it: `user-settings` (the domain's
/// default user settings, or the `user-profile`'s own), `space-settings` (the domain's
/// default space settings, which shared spaces read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attach {
    UserSettings,
    SpaceSettings,
}

impl Attach {
    pub const NAMES: &'static str = "user-settings, space-settings";

    pub fn parse(s: &str) -> Option<Attach> {
        match s {
            "user-settings" => Some(Attach::UserSettings),
            "space-settings" => Some(Attach::SpaceSettings),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Attach::UserSettings => "user-settings",
            Attach::SpaceSettings => "space-settings",
        }
    }
}

impl From<AppArg> for App {
    fn from(a: AppArg) -> Self {
        match a {
            AppArg::KernelGateway => App::KernelGateway,
            AppArg::Jupyterlab => App::Jupyterlab,
            AppArg::CodeEditor => App::CodeEditor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelSpec {
    pub name: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Container {
    pub entrypoint: Vec<String>,
    pub arguments: Vec<String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    pub id: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// One kernel with every default filled in and every name checked.
#[derive(Debug, Clone, Serialize)]
pub struct Kernel {
    pub name: String,
    pub context_dir: PathBuf,
    pub dockerfile: PathBuf,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub app: App,
    pub kernel_specs: Vec<KernelSpec>,
    pub uid: u32,
    pub gid: u32,
    pub mount_path: String,
    pub container: Option<Container>,
    pub domain_id: String,
    /// Attach to this user profile instead of the domain's default user settings.
    pub user_profile: Option<String>,
    /// The settings that list the kernel (sorted, at least one).
    pub attach: Vec<Attach>,
    pub role_arn: String,
    pub partition: String,
    pub account: String,
    pub region: String,
    pub bucket: String,
    pub repository: String,
    pub project: String,
    pub app_image_config: String,
    pub compute_type: String,
    pub codebuild_image: String,
    pub timeout_minutes: u32,
    pub build_args: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub registries: Vec<String>,
    pub vpc: Option<Vpc>,
    pub build: BuildOptions,
    /// `endpoint-url` from kernel.toml: used when neither `--endpoint-url` nor
    /// `AWS_ENDPOINT_URL` is set.
    pub endpoint_url: Option<String>,
    /// Aliases and metadata of each new image version.
    pub release: crate::lifecycle::metadata::VersionMetadata,
}

/// What the resolver needs from the command line.
pub struct Inputs<'a> {
    pub global: &'a GlobalArgs,
    pub selected: &'a [String],
    pub flags: &'a KernelArgs,
}

/// Where the kernels came from, for messages and for `plan.json`.
pub struct Resolved {
    pub manifest: Option<PathBuf>,
    pub kernels: Vec<Kernel>,
    /// `jobs` from `[defaults]`.
    pub jobs: Option<usize>,
}

pub fn resolve(inputs: &Inputs) -> Result<Resolved, Error> {
    let manifest_path = match &inputs.global.config {
        Some(p) => Some(p.clone()),
        None => {
            let p = PathBuf::from(DEFAULT_MANIFEST);
            p.is_file().then_some(p)
        }
    };
    let (mut tables, jobs) = match &manifest_path {
        Some(path) => manifest_kernels(path)?,
        None => (vec![(None, Settings::default())], None),
    };

    if !inputs.selected.is_empty() {
        if manifest_path.is_none() {
            return Err(Error::input(format!(
                "kernel names were given ({}) but there is no kernel.toml here: pass --config FILE, or describe one kernel with flags (--image-name, --context, …)",
                inputs.selected.join(", ")
            )));
        }
        let known: Vec<String> = tables.iter().filter_map(|(n, _)| n.clone()).collect();
        for want in inputs.selected {
            if !known.contains(want) {
                return Err(Error::input(format!(
                    "KERNEL: no kernel named {want:?} in {}; it has: {}",
                    manifest_path.as_ref().unwrap().display(),
                    known.join(", ")
                )));
            }
        }
        tables.retain(|(n, _)| n.as_ref().is_some_and(|n| inputs.selected.contains(n)));
    }

    let flag_settings = settings_from_flags(inputs.flags)?;
    if tables.len() > 1 {
        let identifying = [
            ("--image-name", inputs.flags.image_name.is_some()),
            ("--context", inputs.flags.context.is_some()),
            ("--file", inputs.flags.dockerfile.is_some()),
            ("--kernel-name", inputs.flags.kernel_name.is_some()),
            ("--display-name", inputs.flags.display_name.is_some()),
            ("--repository", inputs.flags.repository.is_some()),
            ("--project", inputs.flags.project.is_some()),
            (
                "--app-image-config",
                inputs.flags.app_image_config.is_some(),
            ),
        ];
        if let Some((flag, _)) = identifying.iter().find(|(_, set)| *set) {
            return Err(Error::input(format!(
                "{flag} describes one kernel but {} are selected; name the kernel, e.g. `sm-kernel plan {} {flag} …`",
                tables.len(),
                tables[0].0.clone().unwrap_or_default()
            )));
        }
    }

    let mut kernels = Vec::with_capacity(tables.len());
    for (_, mut settings) in tables {
        settings.overlay(&flag_settings);
        // --region (or SM_KERNEL_REGION) is a flag: it wins over the manifest, as every
        // flag does; AWS_REGION is only the fallback `finish` reads.
        if let Some(r) = &inputs.global.region {
            settings.region = Some(r.clone());
        }
        kernels.push(finish(settings)?);
    }
    // One run talks to one endpoint.
    if let Some(other) = kernels
        .iter()
        .find(|k| k.endpoint_url != kernels[0].endpoint_url)
    {
        return Err(Error::input(format!(
            "endpoint-url: kernels {:?} and {:?} name different endpoints; one run talks to one, so set endpoint-url in [defaults] or select kernels of one endpoint",
            kernels[0].name, other.name
        )));
    }
    Ok(Resolved {
        manifest: manifest_path,
        kernels,
        jobs,
    })
}

/// Loads the manifest and returns each kernel's settings with `[defaults]` under them and
/// relative paths made relative to the manifest's folder (not the shell's), so `--config
/// sub/kernel.toml` works from anywhere.
type Tables = Vec<(Option<String>, Settings)>;

fn manifest_kernels(path: &Path) -> Result<(Tables, Option<usize>), Error> {
    let manifest = Manifest::load(path)?;
    let jobs = match manifest.defaults.jobs {
        None => None,
        Some(n @ 1..=64) => Some(n as usize),
        Some(n) => {
            return Err(Error::input(format!(
                "{}: [defaults] jobs = {n}: must be 1 to 64 (how many kernels build at once)",
                path.display()
            )))
        }
    };
    if let Some(k) = manifest.kernels.iter().find(|k| k.jobs.is_some()) {
        return Err(Error::input(format!(
            "{}: jobs is set in [[kernel]] {:?}; it applies to the whole release, so set it in [defaults]",
            path.display(),
            k.name.as_deref().unwrap_or("?")
        )));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    if manifest.kernels.is_empty() {
        return Err(Error::input(format!(
            "{}: no [[kernel]] table; add one with at least `name = \"my-kernel\"`",
            path.display()
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, k) in manifest.kernels.iter().enumerate() {
        let Some(name) = k.name.clone() else {
            return Err(Error::input(format!(
                "{}: [[kernel]] number {} has no name; add `name = \"my-kernel\"` (the SageMaker image name)",
                path.display(),
                i + 1
            )));
        };
        if !seen.insert(name.clone()) {
            return Err(Error::input(format!(
                "{}: kernel name {name:?} appears twice; each [[kernel]] publishes one SageMaker image, so names must be unique",
                path.display()
            )));
        }
        let mut s = Settings::default();
        s.overlay(&manifest.defaults);
        s.overlay(k);
        s.context = Some(match s.context.clone() {
            None => base.clone(),
            Some(c) if c == Path::new(".") => base.clone(),
            Some(c) => base.join(c),
        });
        // `dockerfile` stays relative: it is resolved against the context in `finish`, as
        // Compose and `docker buildx bake` do.
        out.push((Some(name), s));
    }
    Ok((out, jobs))
}
