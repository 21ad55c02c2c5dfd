//! kernel.toml + environment + flags -> resolved, validated kernels.
//!
//! Precedence is built-in defaults < manifest `[defaults]` < manifest `[[kernel]]` <
//! environment (`SM_KERNEL_*`, read by clap) < flags. Everything is validated here, before
//! anything else runs, so a bad name costs the user no AWS call and no half-made resource.

pub mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{AppArg, GlobalArgs, KernelArgs};
use crate::error::Error;
use crate::names;
use manifest::{ContainerSetting, KernelSpecSetting, Manifest, Settings, VpcSetting};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

pub fn resolve(inputs: &Inputs) -> Result<Resolved, Error> {
    let manifest_path = match &inputs.global.config {
        Some(p) => Some(p.clone()),
        None => {
            let p = PathBuf::from(DEFAULT_MANIFEST);
            p.is_file().then_some(p)
        }
    };
    let mut tables = match &manifest_path {
        Some(path) => manifest_kernels(path)?,
        None => vec![(None, Settings::default())],
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
        if settings.region.is_none() {
            settings.region = inputs.global.region.clone();
        }
        kernels.push(finish(settings)?);
    }
    Ok(Resolved {
        manifest: manifest_path,
        kernels,
    })
}

/// Loads the manifest and returns each kernel's settings with `[defaults]` under them and
/// relative paths made relative to the manifest's folder (not the shell's), so `--config
/// sub/kernel.toml` works from anywhere.
fn manifest_kernels(path: &Path) -> Result<Vec<(Option<String>, Settings)>, Error> {
    let manifest = Manifest::load(path)?;
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
        s.dockerfile = s.dockerfile.map(|d| base.join(d));
        out.push((Some(name), s));
    }
    Ok(out)
}

/// A parser of one `K=V` flag value, as the `names` rules provide them.
type PairParser = fn(&str, &str) -> Result<(String, String), names::NameError>;

fn split_pairs(
    field: &str,
    items: &[String],
    parse: PairParser,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut map = BTreeMap::new();
    for item in items {
        let (k, v) = parse(field, item)?;
        map.insert(k, v);
    }
    Ok(Some(map))
}

/// `--container-env K=V`: split at the first `=`; SageMaker accepts any key of 1–256
/// characters, so only emptiness and the separator are checked here.
fn container_env_pair(field: &str, value: &str) -> Result<(String, String), names::NameError> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(names::NameError {
            field: field.to_string(),
            value: value.to_string(),
            rule: "KEY=VALUE with a non-empty KEY".to_string(),
            example: "POLARS_MAX_THREADS=4".to_string(),
        }),
    }
}

fn settings_from_flags(f: &KernelArgs) -> Result<Settings, Error> {
    let kernel_specs = match (&f.kernel_name, &f.kernel_display_name) {
        (Some(name), display) => Some(vec![KernelSpecSetting {
            name: name.clone(),
            display_name: display.clone(),
        }]),
        (None, Some(_)) => {
            return Err(Error::input(
                "--kernel-display-name needs --kernel-name (the kernelspec name inside the image, e.g. python3)",
            ))
        }
        (None, None) => None,
    };
    let container_env = split_pairs("--container-env", &f.container_env, container_env_pair)?;
    let container =
        if f.entrypoint.is_some() || !f.container_args.is_empty() || container_env.is_some() {
            Some(ContainerSetting {
                entrypoint: f.entrypoint.clone().map(|e| vec![e]),
                arguments: (!f.container_args.is_empty()).then(|| f.container_args.clone()),
                environment: container_env,
            })
        } else {
            None
        };
    let vpc = if f.vpc_id.is_some() || !f.subnet_ids.is_empty() || !f.security_group_ids.is_empty()
    {
        Some(VpcSetting {
            id: f.vpc_id.clone(),
            subnets: (!f.subnet_ids.is_empty()).then(|| f.subnet_ids.clone()),
            security_groups: (!f.security_group_ids.is_empty())
                .then(|| f.security_group_ids.clone()),
        })
    } else {
        None
    };
    Ok(Settings {
        name: f.image_name.clone(),
        context: f.context.clone(),
        dockerfile: f.dockerfile.clone(),
        display_name: f.display_name.clone(),
        description: f.description.clone(),
        app: f.app.map(|a| App::from(a).as_str().to_string()),
        kernel_specs,
        uid: f.uid.map(i64::from),
        gid: f.gid.map(i64::from),
        mount_path: f.mount_path.clone(),
        container,
        domain_id: f.domain_id.clone(),
        user_profile: f.user_profile.clone(),
        role: f.role.clone(),
        bucket: f.bucket.clone(),
        repository: f.repository.clone(),
        project: f.project.clone(),
        app_image_config: f.app_image_config.clone(),
        compute_type: f.compute_type.clone(),
        codebuild_image: f.codebuild_image.clone(),
        timeout_minutes: f.timeout_minutes.map(i64::from),
        build_args: split_pairs("--build-arg", &f.build_args, names::build_arg)?,
        tags: split_pairs("--tag", &f.tags, names::tag_flag)?,
        registries: (!f.registries.is_empty()).then(|| f.registries.clone()),
        vpc,
        region: None,
        aliases: (!f.aliases.is_empty()).then(|| f.aliases.clone()),
        release_notes: f.release_notes.clone(),
        vendor_guidance: f.vendor_guidance.clone(),
        job_type: f.job_type.clone(),
        processor: f.processor.clone(),
        ml_framework: f.ml_framework.clone(),
        programming_lang: f.programming_lang.clone(),
        horovod: f.horovod,
    })
}

/// Fills defaults and checks every rule. Field labels are the manifest keys, prefixed with
/// the kernel, because that is what the user edits to fix it.
fn finish(s: Settings) -> Result<Kernel, Error> {
    let Some(name) = s.name.clone() else {
        return Err(Error::input(
            "name: no kernel given; pass --image-name NAME (and --context, --role, --domain-id), or run in a folder with a kernel.toml (`sm-kernel init` makes one)",
        ));
    };
    names::image_name("name", &name)?;
    let field = |key: &str| format!("kernel {name:?}: {key}");

    let app = match s.app.as_deref() {
        None => App::KernelGateway,
        Some(a) => App::parse(a).ok_or_else(|| {
            Error::input(format!(
                "{}: {a:?} is not an app type; use {}",
                field("app"),
                App::NAMES
            ))
        })?,
    };

    let role_arn = s.role.clone().ok_or_else(|| {
        Error::input(format!(
            "{}: missing; set role = \"arn:aws:iam::ACCOUNT:role/NAME\" in kernel.toml or pass --role (your Studio execution role, shown in the domain's settings)",
            field("role")
        ))
    })?;
    let role = names::role_arn(&field("role"), &role_arn)?;

    let region = s
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok().filter(|r| !r.is_empty()))
        .ok_or_else(|| {
            Error::input(format!(
                "{}: missing; set region = \"us-east-1\" in kernel.toml [defaults], pass --region, or set AWS_REGION",
                field("region")
            ))
        })?;
    names::region(&field("region"), &region)?;

    let domain_id = s.domain_id.clone().ok_or_else(|| {
        Error::input(format!(
            "{}: missing; set domain-id = \"d-…\" in kernel.toml or pass --domain-id (`aws sagemaker list-domains` shows it)",
            field("domain-id")
        ))
    })?;
    names::domain_id(&field("domain-id"), &domain_id)?;
    if let Some(p) = &s.user_profile {
        names::user_profile_name(&field("user-profile"), p)?;
    }

    let context_dir = s.context.clone().unwrap_or_else(|| PathBuf::from("."));
    if !context_dir.is_dir() {
        return Err(Error::input(format!(
            "{}: {} is not a folder; set context to the folder that holds your Docker build context (--context DIR)",
            field("context"),
            context_dir.display()
        )));
    }
    let dockerfile = s
        .dockerfile
        .clone()
        .unwrap_or_else(|| context_dir.join("Dockerfile"));
    if !dockerfile.is_file() {
        return Err(Error::input(format!(
            "{}: {} does not exist; create it (`sm-kernel init --template python` writes one) or point dockerfile / --file at yours",
            field("dockerfile"),
            dockerfile.display()
        )));
    }
    if let Err(e) = std::fs::File::open(&dockerfile) {
        return Err(Error::input(format!(
            "{}: cannot read {}: {e}",
            field("dockerfile"),
            dockerfile.display()
        )));
    }

    if let Some(d) = &s.display_name {
        names::image_display_name(&field("display-name"), d)?;
    }
    if let Some(d) = &s.description {
        names::image_description(&field("description"), d)?;
    }

    let kernel_specs = match (app, &s.kernel_specs) {
        (App::KernelGateway, None) => vec![KernelSpec {
            name: DEFAULT_KERNEL_SPEC.to_string(),
            display_name: s.display_name.clone(),
        }],
        (App::KernelGateway, Some(specs)) => {
            if specs.is_empty() || specs.len() > 5 {
                return Err(Error::input(format!(
                    "{}: {} given; a KernelGateway image lists 1 to 5 kernel specs",
                    field("kernel-specs"),
                    specs.len()
                )));
            }
            let mut seen = BTreeSet::new();
            for spec in specs {
                names::kernel_spec_name(&field("kernel-specs.name"), &spec.name)?;
                if let Some(d) = &spec.display_name {
                    names::kernel_display_name(&field("kernel-specs.display-name"), d)?;
                }
                if !seen.insert(spec.name.clone()) {
                    return Err(Error::input(format!(
                        "{}: {:?} is listed twice; each kernel spec name must be unique",
                        field("kernel-specs.name"),
                        spec.name
                    )));
                }
            }
            specs
                .iter()
                .map(|k| KernelSpec {
                    name: k.name.clone(),
                    display_name: k.display_name.clone(),
                })
                .collect()
        }
        (_, Some(_)) => {
            return Err(Error::input(format!(
                "{}: kernel specs apply only to app = \"kernel-gateway\"; JupyterLab and Code Editor images find their kernels themselves — remove kernel-specs (or --kernel-name) or set app = \"kernel-gateway\"",
                field("kernel-specs")
            )))
        }
        (_, None) => Vec::new(),
    };

    let container = match (app, &s.container) {
        (App::KernelGateway, Some(_)) => {
            return Err(Error::input(format!(
                "{}: container settings apply only to app = \"jupyterlab\" or \"code-editor\" (Studio Classic overrides the entrypoint); remove [kernel.container] or change app",
                field("container")
            )))
        }
        (_, Some(c)) => {
            let container = Container {
                entrypoint: c.entrypoint.clone().unwrap_or_default(),
                arguments: c.arguments.clone().unwrap_or_default(),
                environment: c.environment.clone().unwrap_or_default(),
            };
            check_container(&field("container"), &container)?;
            Some(container)
        }
        (_, None) => None,
    };

    let (uid, gid) = names::uid_gid(
        &field("uid/gid"),
        s.uid.unwrap_or(i64::from(DEFAULT_UID)),
        s.gid.unwrap_or(i64::from(DEFAULT_GID)),
    )?;
    let mount_path = s
        .mount_path
        .clone()
        .unwrap_or_else(|| DEFAULT_MOUNT_PATH.to_string());
    names::mount_path(&field("mount-path"), &mount_path)?;

    let bucket = s
        .bucket
        .clone()
        .unwrap_or_else(|| names::default_bucket_name(&region, &role.account));
    names::bucket_name(&field("bucket"), &bucket)?;
    let repository = s
        .repository
        .clone()
        .unwrap_or_else(|| names::default_repository_name(&name));
    names::ecr_repository_name(&field("repository"), &repository)?;
    let project = s
        .project
        .clone()
        .unwrap_or_else(|| names::default_project_name(&name));
    names::codebuild_project_name(&field("project"), &project)?;
    let app_image_config = s
        .app_image_config
        .clone()
        .unwrap_or_else(|| names::app_image_config_name_for(&name));
    names::app_image_config_name(&field("app-image-config"), &app_image_config)?;

    let compute_type = s
        .compute_type
        .clone()
        .unwrap_or_else(|| DEFAULT_COMPUTE_TYPE.to_string());
    names::compute_type(&field("compute-type"), &compute_type)?;
    let codebuild_image = s
        .codebuild_image
        .clone()
        .unwrap_or_else(|| DEFAULT_CODEBUILD_IMAGE.to_string());
    if codebuild_image.trim().is_empty() || codebuild_image.chars().any(char::is_whitespace) {
        return Err(Error::input(format!(
            "{}: {codebuild_image:?} is not an image reference; use e.g. {DEFAULT_CODEBUILD_IMAGE}",
            field("codebuild-image")
        )));
    }
    let timeout_minutes = names::timeout_minutes(
        &field("timeout-minutes"),
        s.timeout_minutes
            .unwrap_or(i64::from(DEFAULT_TIMEOUT_MINUTES)),
    )?;

    let build_args = s.build_args.clone().unwrap_or_default();
    for (k, v) in &build_args {
        names::build_arg(&field("build-args"), &format!("{k}={v}"))?;
    }
    let tags = s.tags.clone().unwrap_or_default();
    let tag_list: Vec<(String, String)> =
        tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    names::tags(&field("tags"), &tag_list)?;
    let registries = s.registries.clone().unwrap_or_default();
    for r in &registries {
        names::ecr_registry(&field("registries"), r)?;
    }

    let vpc = match &s.vpc {
        None => None,
        Some(v) => {
            let id = v.id.clone().ok_or_else(|| {
                Error::input(format!(
                    "{}: subnets or security groups were given without a VPC id; add id = \"vpc-…\" (--vpc-id)",
                    field("vpc.id")
                ))
            })?;
            names::vpc_id(&field("vpc.id"), &id)?;
            let subnets = v.subnets.clone().unwrap_or_default();
            let security_groups = v.security_groups.clone().unwrap_or_default();
            if subnets.is_empty() || security_groups.is_empty() {
                return Err(Error::input(format!(
                    "{}: a build in a VPC needs at least one subnet and one security group (--subnet-ids, --security-group-ids)",
                    field("vpc")
                )));
            }
            for sn in &subnets {
                names::subnet_id(&field("vpc.subnets"), sn)?;
            }
            for sg in &security_groups {
                names::security_group_id(&field("vpc.security-groups"), sg)?;
            }
            Some(Vpc {
                id,
                subnets,
                security_groups,
            })
        }
    };

    let release = crate::lifecycle::metadata::resolve(
        &field,
        &crate::lifecycle::metadata::Raw {
            aliases: s.aliases.as_deref(),
            release_notes: s.release_notes.as_deref(),
            vendor_guidance: s.vendor_guidance.as_deref(),
            job_type: s.job_type.as_deref(),
            processor: s.processor.as_deref(),
            ml_framework: s.ml_framework.as_deref(),
            programming_lang: s.programming_lang.as_deref(),
            horovod: s.horovod,
        },
    )?;
    Ok(Kernel {
        name,
        context_dir,
        dockerfile,
        display_name: s.display_name,
        description: s.description,
        app,
        kernel_specs,
        uid,
        gid,
        mount_path,
        container,
        domain_id,
        user_profile: s.user_profile.clone(),
        role_arn,
        partition: role.partition,
        account: role.account,
        region,
        bucket,
        repository,
        project,
        app_image_config,
        compute_type,
        codebuild_image,
        timeout_minutes,
        build_args,
        tags,
        registries,
        vpc,
        release,
    })
}

/// ContainerConfig limits from the SageMaker API: one entrypoint entry, ≤50 arguments,
/// ≤25 environment variables, each string ≤256 characters.
fn check_container(field: &str, c: &Container) -> Result<(), Error> {
    if c.entrypoint.len() > 1 {
        return Err(Error::input(format!(
            "{field}.entrypoint: {} entries given; SageMaker accepts exactly one (put the rest in arguments)",
            c.entrypoint.len()
        )));
    }
    if c.arguments.len() > 50 {
        return Err(Error::input(format!(
            "{field}.arguments: {} given; SageMaker accepts at most 50",
            c.arguments.len()
        )));
    }
    if c.environment.len() > 25 {
        return Err(Error::input(format!(
            "{field}.environment: {} variables given; SageMaker accepts at most 25",
            c.environment.len()
        )));
    }
    for s in c
        .entrypoint
        .iter()
        .chain(&c.arguments)
        .chain(c.environment.keys())
        .chain(c.environment.values())
    {
        if s.chars().count() > 256 {
            return Err(Error::input(format!(
                "{field}: {:?}… is longer than the 256 characters SageMaker accepts",
                s.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(())
}
