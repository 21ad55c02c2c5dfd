//! Layered settings -> one [`Kernel`]: defaults filled in and every rule checked, one
//! section of the manifest at a time (where it runs, its files, what Studio sees, the AWS
//! names, the build). Field labels are the manifest keys, prefixed with the kernel, because
//! that is what the user edits to fix it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::manifest::{ContainerSetting, KernelSpecSetting, Settings, VpcSetting};
use super::{
    App, Attach, Container, Kernel, KernelSpec, Vpc, DEFAULT_CODEBUILD_IMAGE, DEFAULT_COMPUTE_TYPE,
    DEFAULT_GID, DEFAULT_KERNEL_SPEC, DEFAULT_MOUNT_PATH, DEFAULT_TIMEOUT_MINUTES, DEFAULT_UID,
};
use crate::error::Error;
use crate::names;

/// Labels a field of one kernel in messages: `kernel "NAME": KEY`.
struct Field<'a>(&'a str);

impl Field<'_> {
    fn of(&self, key: &str) -> String {
        format!("kernel {:?}: {key}", self.0)
    }
}

pub(super) fn finish(s: Settings) -> Result<Kernel, Error> {
    let Some(name) = s.name.clone() else {
        return Err(Error::input(
            "name: no kernel given; pass --image-name NAME (and --context, --role, --domain-id), or run in a folder with a kernel.toml (`sm-kernel init` makes one)",
        ));
    };
    names::image_name("name", &name)?;
    let field = Field(&name);

    let app = app(&field, s.app.as_deref())?;
    let target = target(&field, &s)?;
    let attach = attach(&field, app, &s)?;
    let (context_dir, dockerfile) = files(&field, &s)?;
    let studio = studio(&field, app, &s)?;
    let aws = aws_names(&field, &name, &target, &s)?;
    let build = build(&field, &s)?;
    let vpc = vpc(&field, s.vpc.as_ref())?;
    let build_options = super::build::resolve(&s, &|k: &str| field.of(k))?;
    if let Some(key) = &build_options.kms_key {
        if key.region != target.region {
            return Err(Error::input(format!(
                "{}: the key is in {} but the kernel is published in {}; S3 and CodeBuild use only keys of their own Region, so give a key of {} (a multi-Region key's replica there has its own ARN)",
                field.of("kms-key"),
                key.region,
                target.region,
                target.region
            )));
        }
    }
    let release = crate::lifecycle::metadata::resolve(
        &|k: &str| field.of(k),
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
    let endpoint_url = endpoint_url(&field, s.endpoint_url)?;

    Ok(Kernel {
        name,
        context_dir,
        dockerfile,
        display_name: s.display_name,
        description: s.description,
        app,
        kernel_specs: studio.kernel_specs,
        uid: studio.uid,
        gid: studio.gid,
        mount_path: studio.mount_path,
        container: studio.container,
        domain_id: target.domain_id,
        user_profile: s.user_profile,
        attach,
        role_arn: target.role_arn,
        partition: target.role.partition,
        account: target.role.account,
        region: target.region,
        bucket: aws.bucket,
        repository: aws.repository,
        project: aws.project,
        app_image_config: aws.app_image_config,
        compute_type: build.compute_type,
        codebuild_image: build.codebuild_image,
        timeout_minutes: build.timeout_minutes,
        build_args: build.build_args,
        tags: build.tags,
        registries: build.registries,
        vpc,
        build: build_options,
        release,
        endpoint_url,
    })
}

/// `endpoint-url`: an http(s) URL with a host, as `--endpoint-url` takes.
fn endpoint_url(field: &Field, url: Option<String>) -> Result<Option<String>, Error> {
    let Some(url) = url else {
        return Ok(None);
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !host.contains(char::is_whitespace) => {
            Ok(Some(url))
        }
        _ => Err(Error::input(format!(
            "{}: {url:?} is not an endpoint URL; use http://HOST:PORT (e.g. http://127.0.0.1:5199 for the demo sandbox) or remove it to call AWS",
            field.of("endpoint-url")
        ))),
    }
}

fn app(field: &Field, app: Option<&str>) -> Result<App, Error> {
    match app {
        None => Ok(App::KernelGateway),
        Some(a) => App::parse(a).ok_or_else(|| {
            Error::input(format!(
                "{}: {a:?} is not an app type; use {}",
                field.of("app"),
                App::NAMES
            ))
        }),
    }
}

/// Where the kernel goes: the role (whose account names the defaults), region and domain.
struct Target {
    role_arn: String,
    role: names::RoleArn,
    region: String,
    domain_id: String,
}

fn target(field: &Field, s: &Settings) -> Result<Target, Error> {
    let role_arn = s.role.clone().ok_or_else(|| {
        Error::input(format!(
            "{}: missing; set role = \"arn:aws:iam::ACCOUNT:role/NAME\" in kernel.toml or pass --role (your Studio execution role, shown in the domain's settings)",
            field.of("role")
        ))
    })?;
    let role = names::role_arn(&field.of("role"), &role_arn)?;

    let region = s
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok().filter(|r| !r.is_empty()))
        .ok_or_else(|| {
            Error::input(format!(
                "{}: missing; set region = \"us-east-1\" in kernel.toml [defaults], pass --region, or set AWS_REGION",
                field.of("region")
            ))
        })?;
    names::region(&field.of("region"), &region)?;

    let domain_id = s.domain_id.clone().ok_or_else(|| {
        Error::input(format!(
            "{}: missing; set domain-id = \"d-…\" in kernel.toml or pass --domain-id (`aws sagemaker list-domains` shows it)",
            field.of("domain-id")
        ))
    })?;
    names::domain_id(&field.of("domain-id"), &domain_id)?;
    if let Some(p) = &s.user_profile {
        names::user_profile_name(&field.of("user-profile"), p)?;
    }
    Ok(Target {
        role_arn,
        role,
        region,
        domain_id,
    })
}

/// `attach`: the settings that list the kernel. Shared spaces read the domain's default
/// space settings, which the SageMaker API defines for KernelGateway and JupyterLab images
/// only; a user profile only takes effect through `user-settings`.
fn attach(field: &Field, app: App, s: &Settings) -> Result<Vec<Attach>, Error> {
    let Some(names) = &s.attach else {
        return Ok(vec![Attach::UserSettings]);
    };
    let mut out = Vec::new();
    for n in names {
        let a = Attach::parse(n.trim()).ok_or_else(|| {
            Error::input(format!(
                "{}: {n:?} is not a place to attach an image; use {} (e.g. attach = [\"user-settings\", \"space-settings\"])",
                field.of("attach"),
                Attach::NAMES
            ))
        })?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Error::input(format!(
            "{}: empty; list where Studio should show the image: {} (default [\"user-settings\"])",
            field.of("attach"),
            Attach::NAMES
        )));
    }
    if app == App::CodeEditor && out.contains(&Attach::SpaceSettings) {
        return Err(Error::input(format!(
            "{}: space-settings cannot list a code-editor image: the domain's DefaultSpaceSettings has KernelGateway and JupyterLab settings only; attach it with user-settings (private spaces), or remove space-settings",
            field.of("attach")
        )));
    }
    if let Some(p) = &s.user_profile {
        if !out.contains(&Attach::UserSettings) {
            return Err(Error::input(format!(
                "{}: user-profile = {p:?} is set but attach has no user-settings, so the profile would not get the image; add \"user-settings\" to attach, or remove user-profile",
                field.of("attach")
            )));
        }
    }
    Ok(out)
}

/// The context folder and the Dockerfile, which is relative to the context (an absolute
/// path is itself), as Compose and bake resolve it. It may resolve outside the context;
/// packing then sends it the way Docker sends `-f` from outside.
fn files(field: &Field, s: &Settings) -> Result<(PathBuf, PathBuf), Error> {
    let context_dir = s.context.clone().unwrap_or_else(|| PathBuf::from("."));
    if !context_dir.is_dir() {
        return Err(Error::input(format!(
            "{}: {} is not a folder; set context to the folder that holds your Docker build context (--context DIR)",
            field.of("context"),
            context_dir.display()
        )));
    }
    let dockerfile = context_dir.join(s.dockerfile.as_deref().unwrap_or(Path::new("Dockerfile")));
    if !dockerfile.is_file() {
        return Err(Error::input(format!(
            "{}: {} does not exist; create it (`sm-kernel init --template python` writes one) or point dockerfile / --file at yours",
            field.of("dockerfile"),
            dockerfile.display()
        )));
    }
    if let Err(e) = std::fs::File::open(&dockerfile) {
        return Err(Error::input(format!(
            "{}: cannot read {}: {e}",
            field.of("dockerfile"),
            dockerfile.display()
        )));
    }
    Ok((context_dir, dockerfile))
}

/// What Studio shows and runs: names, kernel specs or container, user and home.
struct Studio {
    kernel_specs: Vec<KernelSpec>,
    container: Option<Container>,
    uid: u32,
    gid: u32,
    mount_path: String,
}

fn studio(field: &Field, app: App, s: &Settings) -> Result<Studio, Error> {
    if let Some(d) = &s.display_name {
        names::image_display_name(&field.of("display-name"), d)?;
    }
    if let Some(d) = &s.description {
        names::image_description(&field.of("description"), d)?;
    }
    let kernel_specs = kernel_specs(field, app, s.kernel_specs.as_deref(), &s.display_name)?;
    let container = container(field, app, s.container.as_ref())?;
    let (uid, gid) = names::uid_gid(
        &field.of("uid/gid"),
        s.uid.unwrap_or(i64::from(DEFAULT_UID)),
        s.gid.unwrap_or(i64::from(DEFAULT_GID)),
    )?;
    let mount_path = s
        .mount_path
        .clone()
        .unwrap_or_else(|| DEFAULT_MOUNT_PATH.to_string());
    names::mount_path(&field.of("mount-path"), &mount_path)?;
    Ok(Studio {
        kernel_specs,
        container,
        uid,
        gid,
        mount_path,
    })
}

fn kernel_specs(
    field: &Field,
    app: App,
    specs: Option<&[KernelSpecSetting]>,
    display_name: &Option<String>,
) -> Result<Vec<KernelSpec>, Error> {
    match (app, specs) {
        (App::KernelGateway, None) => Ok(vec![KernelSpec {
            name: DEFAULT_KERNEL_SPEC.to_string(),
            display_name: display_name.clone(),
        }]),
        (App::KernelGateway, Some(specs)) => {
            if specs.is_empty() || specs.len() > 5 {
                return Err(Error::input(format!(
                    "{}: {} given; a KernelGateway image lists 1 to 5 kernel specs",
                    field.of("kernel-specs"),
                    specs.len()
                )));
            }
            let mut seen = BTreeSet::new();
            for spec in specs {
                names::kernel_spec_name(&field.of("kernel-specs.name"), &spec.name)?;
                if let Some(d) = &spec.display_name {
                    names::kernel_display_name(&field.of("kernel-specs.display-name"), d)?;
                }
                if !seen.insert(spec.name.clone()) {
                    return Err(Error::input(format!(
                        "{}: {:?} is listed twice; each kernel spec name must be unique",
                        field.of("kernel-specs.name"),
                        spec.name
                    )));
                }
            }
            Ok(specs
                .iter()
                .map(|k| KernelSpec {
                    name: k.name.clone(),
                    display_name: k.display_name.clone(),
                })
                .collect())
        }
        (_, Some(_)) => Err(Error::input(format!(
            "{}: kernel specs apply only to app = \"kernel-gateway\"; JupyterLab and Code Editor images find their kernels themselves — remove kernel-specs (or --kernel-name) or set app = \"kernel-gateway\"",
            field.of("kernel-specs")
        ))),
        (_, None) => Ok(Vec::new()),
    }
}

fn container(
    field: &Field,
    app: App,
    c: Option<&ContainerSetting>,
) -> Result<Option<Container>, Error> {
    match (app, c) {
        (App::KernelGateway, Some(_)) => Err(Error::input(format!(
            "{}: container settings apply only to app = \"jupyterlab\" or \"code-editor\" (Studio Classic overrides the entrypoint); remove [kernel.container] or change app",
            field.of("container")
        ))),
        (_, Some(c)) => {
            let container = Container {
                entrypoint: c.entrypoint.clone().unwrap_or_default(),
                arguments: c.arguments.clone().unwrap_or_default(),
                environment: c.environment.clone().unwrap_or_default(),
            };
            check_container(&field.of("container"), &container)?;
            Ok(Some(container))
        }
        (_, None) => Ok(None),
    }
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

/// The AWS resources the kernel is published through, named from the image by default so
/// they fall inside the published policy's patterns.
struct AwsNames {
    bucket: String,
    repository: String,
    project: String,
    app_image_config: String,
}

fn aws_names(field: &Field, name: &str, t: &Target, s: &Settings) -> Result<AwsNames, Error> {
    let bucket = s
        .bucket
        .clone()
        .unwrap_or_else(|| names::default_bucket_name(&t.region, &t.role.account));
    names::bucket_name(&field.of("bucket"), &bucket)?;
    let repository = s
        .repository
        .clone()
        .unwrap_or_else(|| names::default_repository_name(name));
    names::ecr_repository_name(&field.of("repository"), &repository)?;
    let project = s
        .project
        .clone()
        .unwrap_or_else(|| names::default_project_name(name));
    names::codebuild_project_name(&field.of("project"), &project)?;
    let app_image_config = s
        .app_image_config
        .clone()
        .unwrap_or_else(|| names::app_image_config_name_for(name));
    names::app_image_config_name(&field.of("app-image-config"), &app_image_config)?;
    Ok(AwsNames {
        bucket,
        repository,
        project,
        app_image_config,
    })
}

/// How CodeBuild builds it: machine, image, timeout, build args, tags, registries.
struct Build {
    compute_type: String,
    codebuild_image: String,
    timeout_minutes: u32,
    build_args: std::collections::BTreeMap<String, String>,
    tags: std::collections::BTreeMap<String, String>,
    registries: Vec<String>,
}

fn build(field: &Field, s: &Settings) -> Result<Build, Error> {
    let compute_type = s
        .compute_type
        .clone()
        .unwrap_or_else(|| DEFAULT_COMPUTE_TYPE.to_string());
    names::compute_type(&field.of("compute-type"), &compute_type)?;
    let codebuild_image = s
        .codebuild_image
        .clone()
        .unwrap_or_else(|| DEFAULT_CODEBUILD_IMAGE.to_string());
    if codebuild_image.trim().is_empty() || codebuild_image.chars().any(char::is_whitespace) {
        return Err(Error::input(format!(
            "{}: {codebuild_image:?} is not an image reference; use e.g. {DEFAULT_CODEBUILD_IMAGE}",
            field.of("codebuild-image")
        )));
    }
    let timeout_minutes = names::timeout_minutes(
        &field.of("timeout-minutes"),
        s.timeout_minutes
            .unwrap_or(i64::from(DEFAULT_TIMEOUT_MINUTES)),
    )?;

    let build_args = s.build_args.clone().unwrap_or_default();
    for (k, v) in &build_args {
        names::build_arg(&field.of("build-args"), &format!("{k}={v}"))?;
    }
    let tags = s.tags.clone().unwrap_or_default();
    let tag_list: Vec<(String, String)> =
        tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    names::tags(&field.of("tags"), &tag_list)?;
    let registries = s.registries.clone().unwrap_or_default();
    for r in &registries {
        names::ecr_registry(&field.of("registries"), r)?;
    }
    Ok(Build {
        compute_type,
        codebuild_image,
        timeout_minutes,
        build_args,
        tags,
        registries,
    })
}

fn vpc(field: &Field, v: Option<&VpcSetting>) -> Result<Option<Vpc>, Error> {
    let Some(v) = v else {
        return Ok(None);
    };
    let id = v.id.clone().ok_or_else(|| {
        Error::input(format!(
            "{}: subnets or security groups were given without a VPC id; add id = \"vpc-…\" (--vpc-id)",
            field.of("vpc.id")
        ))
    })?;
    names::vpc_id(&field.of("vpc.id"), &id)?;
    let subnets = v.subnets.clone().unwrap_or_default();
    let security_groups = v.security_groups.clone().unwrap_or_default();
    if subnets.is_empty() || security_groups.is_empty() {
        return Err(Error::input(format!(
            "{}: a build in a VPC needs at least one subnet and one security group (--subnet-ids, --security-group-ids)",
            field.of("vpc")
        )));
    }
    for sn in &subnets {
        names::subnet_id(&field.of("vpc.subnets"), sn)?;
    }
    for sg in &security_groups {
        names::security_group_id(&field.of("vpc.security-groups"), sg)?;
    }
    Ok(Some(Vpc {
        id,
        subnets,
        security_groups,
    }))
}
