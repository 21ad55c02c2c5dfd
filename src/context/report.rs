use std::fmt;

use serde::Serialize;

/// Something the user should look at before the context leaves the machine.
/// Warnings never stop a build: the user may have meant it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A file that looks like a secret is about to be uploaded and may end up
    /// in an image layer.
    Credential { path: String, reason: String },
    /// A symlink whose target is absolute or climbs above the context root:
    /// stored as a link, it will dangle (or point elsewhere) inside the build.
    SymlinkOutside { path: String, target: String },
    /// Sockets, FIFOs and devices have no place in a zip and are left out.
    SpecialFileSkipped { path: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Credential { path, reason } => write!(
                f,
                "{path} looks like a credential ({reason}) and is not excluded by .dockerignore"
            ),
            Warning::SymlinkOutside { path, target } => write!(
                f,
                "symlink {path} -> {target} points outside the build context and will not resolve in the build"
            ),
            Warning::SpecialFileSkipped { path } => {
                write!(f, "{path} is a socket, FIFO or device and is not sent to the build")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizedPath {
    pub path: String,
    pub size: u64,
}

/// What `scan` found: shown at plan time, before anything is compressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// Path of the Dockerfile inside the archive (what `docker build -f` gets).
    pub dockerfile: String,
    /// The ignore file that applied, as given on disk, if any.
    pub ignore_file: Option<String>,
    /// Regular files, including the Dockerfile and ignore file.
    pub files: u64,
    pub symlinks: u64,
    pub dirs: u64,
    /// Bytes of file contents and link targets before compression.
    pub bytes_in: u64,
    /// The ten largest files, largest first (ties by path).
    pub largest: Vec<SizedPath>,
    pub warnings: Vec<Warning>,
}

/// What `pack` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackReport {
    #[serde(flatten)]
    pub scan: ScanReport,
    /// Zip entries written (files, symlinks and directories).
    pub entries: u64,
    /// Entries stored without compression (already-compressed or incompressible data).
    pub stored: u64,
    /// Size of the archive.
    pub bytes_out: u64,
    /// `sha256:<hex>` of the archive bytes: the context digest used for the S3
    /// key and the image tag. Same content gives the same digest.
    pub digest: String,
}

impl PackReport {
    /// The digest without its `sha256:` prefix.
    pub fn sha256_hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}
