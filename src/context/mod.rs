//! The build context: what `docker build` would send, as a reproducible zip.
//!
//! `scan` walks the context directory and applies `.dockerignore` exactly as
//! BuildKit does (the same file is applied again by `docker build` inside
//! CodeBuild, so the two must agree); it runs at plan time to report sizes and
//! warnings before anything is compressed. `pack` writes the zip: entries
//! sorted by name, fixed timestamps and normalised modes, so the same content
//! always gives the same bytes, and the archive's sha256 can name the S3 object
//! and the image tag (an unchanged context is not uploaded or built twice).
//!
//! Symlinks are stored as links (never followed), the way `zip -y` does; the
//! Dockerfile and the ignore file that applied are always included. A
//! Dockerfile outside the context is stored as `.sm-kernel/Dockerfile`
//! (see [`Listing::dockerfile_in_zip`]).

mod compress;
mod dockerignore;
mod error;
mod pack;
mod report;
mod scan;
mod zipfmt;

pub use dockerignore::{DockerIgnore, MatchInfo, PatternError};
pub use error::ContextError;
pub use pack::{pack, pack_to_file, pack_with, PackOptions};
pub use report::{PackReport, ScanReport, SizedPath, Warning};
pub use scan::{scan, ContextSource, Entry, EntryType, Listing, OUTSIDE_DOCKERFILE};

#[cfg(all(test, unix))]
mod tests;
