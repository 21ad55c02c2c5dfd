//! The kernel's life after its first publish: aliases and version metadata, the state of
//! what is live against the manifest, rollback, delete, prune, shared-space defaults and the
//! smoke test. Each command declares its calls as Plan steps, like the publish steps do.

pub mod aliases;
pub mod cli;
mod cmd;
pub mod delete;
pub mod live;
pub mod metadata;
pub mod needs;
pub mod prune;
pub mod rollback;
mod run;
pub mod smoke;
pub mod status;

pub use run::run;
