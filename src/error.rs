//! One error type whose variant decides the exit code, so every failure path maps to the
//! contract in the README without each call site knowing the numbers.

use std::fmt;

/// Exit codes of the CLI contract.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const MISSING_PERMISSIONS: i32 = 3;
    /// `status --exit-code`: some kernel is not up to date.
    pub const NOT_UP_TO_DATE: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug)]
pub enum Error {
    /// The user's flags, manifest, names or files are wrong; found before any AWS call.
    Input(String),
    /// An operation failed (AWS refused, a build failed, a file could not be written).
    Failed(String),
    /// The preflight found permissions missing.
    Permissions(String),
    /// Ctrl-C, after cleanup.
    Interrupted(String),
    /// `status --exit-code` found a kernel that is not up to date.
    NotUpToDate(String),
}

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        Error::Failed(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit::BAD_INPUT,
            Error::Failed(_) => exit::FAILED,
            Error::Permissions(_) => exit::MISSING_PERMISSIONS,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::NotUpToDate(_) => exit::NOT_UP_TO_DATE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m)
            | Error::Failed(m)
            | Error::Permissions(m)
            | Error::Interrupted(m)
            | Error::NotUpToDate(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::names::NameError> for Error {
    fn from(e: crate::names::NameError) -> Self {
        Error::Input(e.to_string())
    }
}

impl From<crate::context::ContextError> for Error {
    fn from(e: crate::context::ContextError) -> Self {
        if e.is_bad_input() {
            Error::Input(e.to_string())
        } else {
            Error::Failed(e.to_string())
        }
    }
}
