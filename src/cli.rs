//! The command line. Doc comments here are the `--help` text, so they are written for a
//! Studio user who knows their domain and role but not our internals.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Publish a custom kernel image to Amazon SageMaker Studio: build it in AWS CodeBuild, push it
/// to ECR, register it as a SageMaker image and attach it to your Studio domain.
///
/// Start with `sm-kernel init` in an empty folder, or `sm-kernel plan` in a folder that holds a
/// kernel.toml, to see every resource, step and AWS permission a publish would use — without
/// touching AWS.
#[derive(Debug, Parser)]
#[command(
    name = "sm-kernel",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The manifest to read [default: ./kernel.toml when it exists].
    #[arg(long, global = true, value_name = "FILE", env = "SM_KERNEL_CONFIG")]
    pub config: Option<PathBuf>,

    /// AWS region, e.g. us-east-1 (also AWS_REGION; overrides the manifest).
    #[arg(long, global = true, value_name = "REGION", env = "SM_KERNEL_REGION")]
    pub region: Option<String>,

    /// Named AWS profile from ~/.aws/config (also AWS_PROFILE).
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Send every AWS call to this endpoint, e.g. a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// What to print on stdout: a readable report, or one JSON document for scripts.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Print nothing on stderr except errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail on stderr (every AWS call as it is made).
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// Plain progress lines instead of progress bars, even on a terminal.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Colour on stderr.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a kernel: a kernel.toml and a Dockerfile that Studio accepts.
    ///
    /// Never overwrites a file that already exists.
    Init(InitArgs),

    /// Show what a publish would do — every resource, step and AWS call with the permission it
    /// needs — and optionally write the exact artifacts. Makes no network call and needs no
    /// credentials.
    Plan(PlanArgs),

    /// Preflight only: names, Dockerfile, the permissions the Plan needs, the role's trust and
    /// the domain. Changes nothing.
    Check(RunCheckArgs),

    /// Package, upload and build in CodeBuild, push to ECR; prints the image URI@digest.
    Build(RunArgs),

    /// Build, then register the image, its version and app image config, and attach it to
    /// the domain — keeping every other image there. Safe to run again: what exists is reused.
    Publish(PublishArgs),

    /// The prerequisite IAM policies: print them, decide one request, check the Plan's
    /// needs against a role, or add them to a role.
    /// Compare each kernel with the live account (read-only): context digest vs the attached version, image, versions, aliases, app image config, attachment; one verdict per kernel.
    Status(crate::lifecycle::cli::StatusArgs),

    /// Move the kernel's aliases to VERSION (or ALIAS's version) and pin its settings entry to it; shows the change, --yes acts.
    Rollback(crate::lifecycle::cli::RollbackArgs),

    /// Remove the kernel: its settings entry (others kept), app image config, versions and image; the ECR repository only with --delete-repository. Shows first; --yes acts.
    Delete(crate::lifecycle::cli::DeleteArgs),

    /// Delete image versions older than the newest N (never an attached or aliased one) and their ECR tags. Shows first; --yes acts.
    Prune(crate::lifecycle::cli::PruneArgs),

    /// Start a throwaway private space (JupyterLab, Code Editor) or KernelGateway app on the newest version, wait for InService or Failed, report the FailureReason, delete it; exit 1 when it failed.
    SmokeTest(crate::lifecycle::cli::SmokeTestArgs),

    #[command(subcommand)]
    Permissions(PermissionsCommand),

    /// Print shell completions, e.g. `sm-kernel completions bash > /etc/bash_completion.d/sm-kernel`.
    Completions {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// Print the policy documents (trust, build, domain, extras) and what each is for.
    Show(ShowArgs),
    /// Decide one request against policy files: allowed, denied or unknown, with the reason
    /// and the statement ("why is this denied?").
    Evaluate(EvaluateArgs),
    /// Check every permission the Plan needs, per principal and step. With --policy-file it
    /// works offline; without, it reads the role's policies from IAM.
    Check(Box<CheckArgs>),
    /// Add the prerequisite policies to a role: codebuild.amazonaws.com to its trust policy
    /// (keeping every existing statement) and the policies as inline policies with fixed
    /// names. Shows the change; changes nothing without --yes. Never deletes anything.
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only these documents (codebuild-trust, codebuild-permissions, sagemaker-domain,
    /// sm-kernel-extras) [default: all].
    pub names: Vec<String>,
    /// Text with explanations, or the documents as one JSON object [default: --output].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Fill in this account id (and --region) instead of the `*` in resource ARNs.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Identity policy files (JSON, plain or URL-encoded), repeatable.
    #[arg(long = "policy-file", value_name = "FILE", required = true, num_args = 1..)]
    pub policy_files: Vec<PathBuf>,
    /// The action, e.g. iam:PassRole.
    #[arg(long)]
    pub action: String,
    /// The resource ARN, or * for actions without a resource type.
    #[arg(long)]
    pub resource: String,
    /// A condition key in the request, K=V (repeat a key for several values).
    #[arg(long = "context", value_name = "K=V")]
    pub context: Vec<String>,
    /// A condition key known to be absent from the request.
    #[arg(long = "absent", value_name = "KEY")]
    pub absent: Vec<String>,
    /// The --context keys are all the request carries: every other key is absent.
    #[arg(long)]
    pub context_complete: bool,
    /// A permissions boundary policy file.
    #[arg(long, value_name = "FILE")]
    pub boundary_file: Option<PathBuf>,
    /// A policy kind that applies but was not given (e.g. "service control policies"):
    /// an otherwise allowed request becomes unknown.
    #[arg(long, value_name = "KIND")]
    pub unseen: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Kernels from the manifest to check [default: all].
    #[arg(value_name = "KERNEL")]
    pub kernels: Vec<String>,
    /// Evaluate against these identity policy files instead of reading the role from IAM.
    #[arg(long = "policy-file", value_name = "FILE", num_args = 1..)]
    pub policy_files: Vec<PathBuf>,
    /// The role's trust policy (or statements to add to it), repeatable.
    #[arg(long = "trust-file", value_name = "FILE", num_args = 1..)]
    pub trust_files: Vec<PathBuf>,
    /// Exit 3 also when any need is unknown, not only when one is denied.
    #[arg(long)]
    pub strict: bool,
    /// Check the calls of this command instead of publish's: status, rollback, delete, prune or smoke-test.
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The role to change (its name, or its ARN).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Make the change; without it, only show what would change.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the kernel in [default: the current folder].
    pub dir: Option<PathBuf>,

    /// Which kind of image to scaffold.
    #[arg(long, value_enum, default_value_t = Template::Python)]
    pub template: Template,

    /// SageMaker image name to write into kernel.toml [default: derived from the folder name].
    #[arg(long, value_name = "NAME")]
    pub image_name: Option<String>,

    /// Execution role ARN to write into kernel.toml.
    #[arg(long, value_name = "ARN")]
    pub role: Option<String>,

    /// Studio domain id to write into kernel.toml (d-…).
    #[arg(long, value_name = "ID")]
    pub domain_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// A Python kernel for Studio Classic (KernelGateway app) with ipykernel.
    Python,
    /// A JupyterLab space image for the new Studio.
    Jupyterlab,
    /// A Code Editor space image for the new Studio.
    CodeEditor,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Kernels (image names) from the manifest to plan [default: all of them].
    #[arg(value_name = "KERNEL")]
    pub kernels: Vec<String>,

    /// Also write plan.json and, per kernel, context.zip, buildspec.yml and the request bodies
    /// into this folder (created if missing; must be empty or a previous plan output).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct RunCheckArgs {
    /// Kernels from the manifest to check [default: all].
    #[arg(value_name = "KERNEL")]
    pub kernels: Vec<String>,

    /// Exit 3 also when a permission is unknown, not only when one is denied.
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Kernels from the manifest [default: all, built at once up to --jobs].
    #[arg(value_name = "KERNEL")]
    pub kernels: Vec<String>,

    /// How many kernels upload and build at once (also `jobs` in [defaults]) [default: every
    /// kernel of the release, up to 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,

    /// Stop every other kernel's build at the first failure (default: the others finish and
    /// the ones that succeeded are attached).
    #[arg(long)]
    pub fail_fast: bool,

    /// Do not run the preflight (permissions, role, domain) first.
    #[arg(long)]
    pub skip_preflight: bool,

    /// Keep the CodeBuild project after the build (it is deleted by default).
    #[arg(long)]
    pub keep_project: bool,

    /// Show build phases only, not the build's log lines.
    #[arg(long)]
    pub no_logs: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Show the plan and write artifacts instead of publishing (same as `sm-kernel plan`).
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: also write the artifacts into this folder.
    #[arg(long, value_name = "DIR", requires = "dry_run")]
    pub out: Option<PathBuf>,

    /// After the release, start each published kernel in a throwaway space or app (as
    /// `sm-kernel smoke-test` does) and exit 1 if one fails to start.
    #[arg(long, conflicts_with = "dry_run")]
    pub smoke_test: bool,

    /// The user profile the smoke test runs as [default: the kernel's user-profile].
    #[arg(long, value_name = "NAME", requires = "smoke_test")]
    pub smoke_user_profile: Option<String>,

    /// Give up waiting for a smoke test's app after this many seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 900,
        requires = "smoke_test"
    )]
    pub smoke_timeout_seconds: u64,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Every manifest key as a flag (flags win over the manifest and the environment). They apply
/// to each selected kernel; the ones that identify a kernel (`--image-name`, `--context`,
/// `--file`, …) need exactly one selected kernel.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Kernel settings (override kernel.toml)")]
pub struct KernelArgs {
    /// SageMaker image name (1–63: letters, digits, single - or . between them).
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_IMAGE_NAME")]
    pub image_name: Option<String>,

    /// Docker build context folder.
    #[arg(long, value_name = "DIR", env = "SM_KERNEL_CONTEXT")]
    pub context: Option<PathBuf>,

    /// Dockerfile [default: CONTEXT/Dockerfile].
    #[arg(
        long = "file",
        short = 'f',
        value_name = "DOCKERFILE",
        env = "SM_KERNEL_DOCKERFILE"
    )]
    pub dockerfile: Option<PathBuf>,

    /// Name Studio shows for the image.
    #[arg(long, value_name = "TEXT", env = "SM_KERNEL_DISPLAY_NAME")]
    pub display_name: Option<String>,

    /// Description of the image.
    #[arg(long, value_name = "TEXT", env = "SM_KERNEL_DESCRIPTION")]
    pub description: Option<String>,

    /// Which Studio app runs the image.
    #[arg(long, value_enum, value_name = "APP", env = "SM_KERNEL_APP")]
    pub app: Option<AppArg>,

    /// Kernelspec name inside the image (KernelGateway only; must match `jupyter kernelspec list`).
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_KERNEL_NAME")]
    pub kernel_name: Option<String>,

    /// Name Studio shows for the kernel (KernelGateway only).
    #[arg(long, value_name = "TEXT", env = "SM_KERNEL_KERNEL_DISPLAY_NAME")]
    pub kernel_display_name: Option<String>,

    /// UID of the user in the image (Studio accepts 1000 with GID 100, or 0 with GID 0).
    #[arg(long, value_name = "UID", env = "SM_KERNEL_UID")]
    pub uid: Option<u32>,

    /// GID of the user in the image.
    #[arg(long, value_name = "GID", env = "SM_KERNEL_GID")]
    pub gid: Option<u32>,

    /// Where Studio mounts the user's home storage.
    #[arg(long, value_name = "PATH", env = "SM_KERNEL_MOUNT_PATH")]
    pub mount_path: Option<String>,

    /// Container entrypoint (JupyterLab / Code Editor only).
    #[arg(long, value_name = "CMD", env = "SM_KERNEL_ENTRYPOINT")]
    pub entrypoint: Option<String>,

    /// Container argument, repeatable (JupyterLab / Code Editor only).
    #[arg(long = "container-arg", value_name = "ARG")]
    pub container_args: Vec<String>,

    /// Container environment variable K=V, repeatable (JupyterLab / Code Editor only).
    #[arg(long = "container-env", value_name = "K=V")]
    pub container_env: Vec<String>,

    /// Attach the image to this user profile instead of the domain's defaults.
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_USER_PROFILE")]
    pub user_profile: Option<String>,

    /// The settings that list the image, comma-separated or repeated: user-settings (the
    /// domain's default user settings, or --user-profile's) and space-settings (the domain's
    /// default space settings, which shared spaces use) [default: user-settings].
    #[arg(
        long,
        value_name = "PLACES",
        value_delimiter = ',',
        env = "SM_KERNEL_ATTACH"
    )]
    pub attach: Vec<String>,

    /// Studio domain to attach the image to (d-…).
    #[arg(long, value_name = "ID", env = "SM_KERNEL_DOMAIN_ID")]
    pub domain_id: Option<String>,

    /// Execution role ARN: CodeBuild runs as it and SageMaker reads the image with it.
    #[arg(long, value_name = "ARN", env = "SM_KERNEL_ROLE")]
    pub role: Option<String>,

    /// S3 bucket for the build context [default: sagemaker-REGION-ACCOUNT].
    #[arg(long, value_name = "BUCKET", env = "SM_KERNEL_BUCKET")]
    pub bucket: Option<String>,

    /// ECR repository [default: sagemaker-studio-IMAGE].
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_REPOSITORY")]
    pub repository: Option<String>,

    /// CodeBuild project [default: sagemaker-studio-IMAGE].
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_PROJECT")]
    pub project: Option<String>,

    /// App image config name [default: the image name with dots as hyphens].
    #[arg(long, value_name = "NAME", env = "SM_KERNEL_APP_IMAGE_CONFIG")]
    pub app_image_config: Option<String>,

    /// CodeBuild compute type.
    #[arg(long, value_name = "TYPE", env = "SM_KERNEL_COMPUTE_TYPE")]
    pub compute_type: Option<String>,

    /// CodeBuild build image [default: aws/codebuild/standard:7.0].
    #[arg(long, value_name = "IMAGE", env = "SM_KERNEL_CODEBUILD_IMAGE")]
    pub codebuild_image: Option<String>,

    /// Build timeout in minutes (5–2160).
    #[arg(long, value_name = "MINUTES", env = "SM_KERNEL_TIMEOUT_MINUTES")]
    pub timeout_minutes: Option<u32>,

    /// Docker build argument K=V, repeatable.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,

    /// Tag K=V for the created resources, repeatable.
    #[arg(long = "tag", value_name = "K=V")]
    pub tags: Vec<String>,

    /// Extra ECR registry to log in to before the build (for private base images), repeatable.
    #[arg(long = "registry", value_name = "HOST")]
    pub registries: Vec<String>,

    /// Do not run the in-image checks (kernelspecs, user, architecture, …) before the push.
    #[arg(long)]
    pub no_checks: bool,

    /// In-image checks to skip, comma-separated or repeated (arch, uid, kernelspecs,
    /// jupyterlab, code-editor, file-owners, mount-path).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub checks_skip: Vec<String>,

    /// Build secret ID=ARN (Secrets Manager secret[:json-key] or Parameter Store parameter),
    /// repeatable; a Dockerfile reads it with RUN --mount=type=secret,id=ID.
    #[arg(long = "build-secret", value_name = "ID=ARN")]
    pub build_secrets: Vec<String>,

    /// CodeBuild environment type: LINUX_CONTAINER, or LINUX_GPU_CONTAINER for images whose
    /// build needs a GPU toolchain (with a compute type CodeBuild offers GPUs on).
    #[arg(long, value_name = "TYPE", env = "SM_KERNEL_ENVIRONMENT_TYPE")]
    pub environment_type: Option<String>,

    /// Build without the BuildKit layer cache in the kernel's ECR repository.
    #[arg(long)]
    pub no_build_cache: bool,

    /// Gate on ECR's vulnerability scan of the pushed image: CRITICAL, HIGH or MEDIUM; a
    /// finding at or above it stops the kernel before its image version is created.
    #[arg(long, value_name = "SEVERITY", env = "SM_KERNEL_SCAN")]
    pub scan: Option<String>,

    /// How long the scan gate waits for ECR's scan, in minutes (1–180) [default: 30].
    #[arg(long, value_name = "MINUTES")]
    pub scan_timeout_minutes: Option<u32>,

    /// Customer managed KMS key ARN: the context is uploaded with SSE-KMS under it and the
    /// CodeBuild project uses it as its encryption key.
    #[arg(long, value_name = "ARN", env = "SM_KERNEL_KMS_KEY")]
    pub kms_key: Option<String>,

    /// Run the build inside this VPC.
    #[arg(long, value_name = "VPC", env = "SM_KERNEL_VPC_ID")]
    pub vpc_id: Option<String>,

    /// Subnets for the build (with --vpc-id), comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        env = "SM_KERNEL_SUBNET_IDS"
    )]
    pub subnet_ids: Vec<String>,

    /// Security groups for the build (with --vpc-id), comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        env = "SM_KERNEL_SECURITY_GROUP_IDS"
    )]
    pub security_group_ids: Vec<String>,

    /// An alias for each new image version (repeat for more, e.g. --alias stable); publish moves it to the new version and no other version keeps it.
    #[arg(long = "alias", value_name = "ALIAS")]
    pub aliases: Vec<String>,

    /// Release notes of the new image version (1–255 characters).
    #[arg(long, value_name = "TEXT")]
    pub release_notes: Option<String>,

    /// not-provided, stable, to-be-archived or archived.
    #[arg(long, value_name = "GUIDANCE")]
    pub vendor_guidance: Option<String>,

    /// training, inference or notebook-kernel.
    #[arg(long, value_name = "TYPE")]
    pub job_type: Option<String>,

    /// cpu or gpu.
    #[arg(long, value_name = "PROCESSOR")]
    pub processor: Option<String>,

    /// The machine-learning framework and its version, e.g. "PyTorch 2.3".
    #[arg(long, value_name = "FRAMEWORK")]
    pub ml_framework: Option<String>,

    /// The programming language and its version, e.g. "Python 3.11".
    #[arg(long, value_name = "LANG")]
    pub programming_lang: Option<String>,

    /// Whether the image supports Horovod (true or false).
    #[arg(long, value_name = "BOOL")]
    pub horovod: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppArg {
    KernelGateway,
    Jupyterlab,
    CodeEditor,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn out_goes_with_dry_run() {
        let err = Cli::try_parse_from(["sm-kernel", "publish", "--out", "x"]).unwrap_err();
        assert!(err.to_string().contains("--dry-run"), "{err}");
    }

    #[test]
    fn list_flags_accept_commas_and_repeats() {
        let cli = Cli::try_parse_from([
            "sm-kernel",
            "plan",
            "--subnet-ids",
            "subnet-1,subnet-2",
            "--build-arg",
            "A=1",
            "--build-arg",
            "B=x,y",
        ])
        .unwrap();
        let Command::Plan(plan) = cli.command else {
            panic!("expected plan")
        };
        assert_eq!(plan.kernel.subnet_ids, ["subnet-1", "subnet-2"]);
        assert_eq!(plan.kernel.build_args, ["A=1", "B=x,y"]);
    }
}
