use std::io;
use std::path::PathBuf;

/// Why a build context could not be scanned or packed. Every message names the
/// path involved and says what to do, because it is shown to the user as is.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("build context {path} does not exist: pass an existing directory with --context")]
    ContextMissing { path: PathBuf },

    #[error("build context {path} is not a directory: --context must name the directory to send to the build")]
    ContextNotDir { path: PathBuf },

    #[error("Dockerfile {path} not found: create it or point --file at the Dockerfile to build")]
    DockerfileMissing { path: PathBuf },

    #[error("Dockerfile {path} is not a regular file: point --file at the Dockerfile itself")]
    DockerfileNotFile { path: PathBuf },

    #[error("cannot read {path}: permission denied; make it readable (chmod a+r) or exclude it in .dockerignore")]
    PermissionDenied { path: PathBuf },

    #[error("{file}, line {line}: invalid .dockerignore pattern `{pattern}`: {reason}; fix or delete that line")]
    InvalidPattern {
        file: PathBuf,
        line: usize,
        pattern: String,
        reason: String,
    },

    #[error("{path}: file name is not valid UTF-8 and cannot be stored in the context archive; rename it or exclude it in .dockerignore")]
    NonUtf8Name { path: PathBuf },

    #[error("{path} is reserved by sm-kernel when the Dockerfile lives outside the context (it is stored as .sm-kernel/Dockerfile); rename it, exclude it in .dockerignore, or move the Dockerfile into the context")]
    ReservedPath { path: PathBuf },

    #[error("{path} changed while the context was being packed; run the command again once nothing is writing to the context")]
    FileChanged { path: PathBuf },

    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("writing the context archive to {target} failed: {source}")]
    Write {
        target: String,
        #[source]
        source: io::Error,
    },
}

impl ContextError {
    /// True for mistakes in what the user gave us (exit code 2, before any AWS
    /// call); false for failures of the machine (disk full, I/O errors).
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            ContextError::Read { .. }
                | ContextError::Write { .. }
                | ContextError::FileChanged { .. }
        )
    }

    /// Maps an I/O error on `path`, singling out "permission denied" so the
    /// message tells the user which file to fix.
    pub(super) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::PermissionDenied {
            ContextError::PermissionDenied { path }
        } else {
            ContextError::Read { path, source }
        }
    }
}
