//! The lifecycle commands' arguments (their help text is the doc comments).

use clap::Args;

use crate::cli::KernelArgs;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Kernels of the manifest to report (default: all).
    #[arg(value_name = "KERNEL")]
    pub kernels: Vec<String>,

    /// Exit 4 when any kernel is not up-to-date (0 otherwise), for CI gates.
    #[arg(long)]
    pub exit_code: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The kernel to roll back.
    #[arg(value_name = "KERNEL")]
    pub target: String,

    /// The version number, or an alias of the image, to go back to.
    #[arg(long, value_name = "VERSION|ALIAS")]
    pub to: String,

    /// Do it; without --yes rollback shows what it would change and changes nothing.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kernel to delete.
    #[arg(value_name = "KERNEL")]
    pub target: String,

    /// Also delete the ECR repository with every image in it.
    #[arg(long)]
    pub delete_repository: bool,

    /// Do it; without --yes delete shows what it would delete and changes nothing.
    #[arg(long)]
    pub yes: bool,

    /// Delete even while apps run the image.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The kernel whose old versions to delete.
    #[arg(value_name = "KERNEL")]
    pub target: String,

    /// How many of the newest versions to keep (attached and aliased ones are kept as well).
    #[arg(long, value_name = "N")]
    pub keep: u32,

    /// Do it; without --yes prune shows what it would delete and changes nothing.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub kernel: KernelArgs,
}

#[derive(Debug, Args)]
pub struct SmokeTestArgs {
    /// The kernel to start.
    #[arg(value_name = "KERNEL")]
    pub target: String,

    /// Give up waiting for InService after this many seconds (what was created is still deleted).
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub timeout_seconds: u64,

    /// Kernel settings; --user-profile (required) owns the throwaway space or app.
    #[command(flatten)]
    pub kernel: KernelArgs,
}
