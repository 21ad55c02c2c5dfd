//! sm-kernel: publish a custom kernel image to Amazon SageMaker Studio end to end.
//!
//! The library holds everything; `main.rs` only parses, dispatches and maps errors to exit
//! codes. ARCHITECTURE.md at the repository root describes the shape of the house: resolve
//! (`config`), plan (`plan`), run (`pipeline`), and where a change goes.

pub mod aws;
pub mod buildspec;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod init;
pub mod lifecycle;
pub mod names;
pub mod permissions;
pub mod pipeline;
pub mod plan;
pub mod ui;
