use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::dockerignore::{DockerIgnore, MatchInfo};
use super::error::ContextError;
use super::report::{ScanReport, SizedPath, Warning};

/// Where the Dockerfile goes in the archive when it lives outside the context.
/// A fixed name keeps the digest independent of where the user keeps it.
pub const OUTSIDE_DOCKERFILE: &str = ".sm-kernel/Dockerfile";
const OUTSIDE_DIR: &str = ".sm-kernel";

/// What to send to the build: the context directory and the Dockerfile (which
/// may live outside it, as with `docker build -f`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSource {
    pub context_dir: PathBuf,
    pub dockerfile: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    Dir,
    File,
    Symlink,
}

/// One archive entry. Names use `/`, directories end with `/`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub(super) name: String,
    pub(super) source: Source,
    pub(super) size: u64,
    pub(super) executable: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Source {
    Dir,
    /// Read at pack time; `open` follows links, which is wanted only for the
    /// Dockerfile and ignore file (Docker reads those through links too).
    File(PathBuf),
    Symlink(Vec<u8>),
    Bytes(Vec<u8>),
}

impl Entry {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> EntryType {
        match self.source {
            Source::Dir => EntryType::Dir,
            Source::File(_) | Source::Bytes(_) => EntryType::File,
            Source::Symlink(_) => EntryType::Symlink,
        }
    }

    /// Content size in bytes (the link target's length for symlinks).
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn executable(&self) -> bool {
        self.executable
    }
}

/// The filtered, sorted content of a build context; input to `pack`.
#[derive(Debug, Clone)]
pub struct Listing {
    entries: Vec<Entry>,
    dockerfile_in_zip: String,
    ignore_file: Option<PathBuf>,
    warnings: Vec<Warning>,
}

impl Listing {
    /// The Dockerfile's path inside the archive, for `docker build -f`.
    pub fn dockerfile_in_zip(&self) -> &str {
        &self.dockerfile_in_zip
    }

    /// The ignore file that applied (Dockerfile-specific one first, as BuildKit).
    pub fn ignore_file(&self) -> Option<&Path> {
        self.ignore_file.as_deref()
    }

    /// Entries sorted by name bytes: the archive order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    pub fn report(&self) -> ScanReport {
        let mut r = ScanReport {
            dockerfile: self.dockerfile_in_zip.clone(),
            ignore_file: self.ignore_file.as_ref().map(|p| p.display().to_string()),
            files: 0,
            symlinks: 0,
            dirs: 0,
            bytes_in: 0,
            largest: Vec::new(),
            warnings: self.warnings.clone(),
        };
        let mut files: Vec<&Entry> = Vec::new();
        for e in &self.entries {
            match e.kind() {
                EntryType::Dir => r.dirs += 1,
                EntryType::File => {
                    r.files += 1;
                    files.push(e);
                }
                EntryType::Symlink => r.symlinks += 1,
            }
            r.bytes_in += e.size;
        }
        files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
        r.largest = files
            .iter()
            .take(10)
            .map(|e| SizedPath {
                path: e.name.clone(),
                size: e.size,
            })
            .collect();
        r
    }
}

/// Walks the context, applies the ignore file and collects warnings.
pub fn scan(src: &ContextSource) -> Result<Listing, ContextError> {
    let ctx = &src.context_dir;
    match fs::metadata(ctx) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ContextError::ContextMissing { path: ctx.clone() })
        }
        Err(e) => return Err(ContextError::read(ctx, e)),
        Ok(m) if !m.is_dir() => return Err(ContextError::ContextNotDir { path: ctx.clone() }),
        Ok(_) => {}
    }
    let ctx_canon = fs::canonicalize(ctx).map_err(|e| ContextError::read(ctx, e))?;

    let df = &src.dockerfile;
    let df_meta = match fs::metadata(df) {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(ContextError::DockerfileMissing { path: df.clone() })
        }
        Err(e) => return Err(ContextError::read(df, e)),
        Ok(m) => m,
    };
    let df_name = match df.file_name().map(|n| n.to_str()) {
        Some(Some(n)) if df_meta.is_file() => n.to_string(),
        Some(None) => return Err(ContextError::NonUtf8Name { path: df.clone() }),
        _ => return Err(ContextError::DockerfileNotFile { path: df.clone() }),
    };
    fs::File::open(df).map_err(|e| ContextError::read(df, e))?;
    let df_parent = match df.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let df_parent_canon =
        fs::canonicalize(&df_parent).map_err(|e| ContextError::read(&df_parent, e))?;
    // Some(dir relative to the context, "" for the root) when inside the context.
    let df_dir_rel: Option<String> = match df_parent_canon.strip_prefix(&ctx_canon) {
        Ok(rel) => {
            Some(rel_to_slash(rel).ok_or_else(|| ContextError::NonUtf8Name { path: df.clone() })?)
        }
        Err(_) => None,
    };
    let join = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };

    // BuildKit: `<Dockerfile name>.dockerignore` next to the Dockerfile wins
    // over `.dockerignore` at the context root.
    let specific_name = format!("{df_name}.dockerignore");
    let candidates = [
        (
            df_parent.join(&specific_name),
            df_dir_rel.as_deref().map(|d| join(d, &specific_name)),
        ),
        (ctx.join(".dockerignore"), Some(".dockerignore".to_string())),
    ];
    let mut ignore = DockerIgnore::default();
    let mut ignore_file: Option<(PathBuf, Option<String>, Vec<u8>)> = None;
    for (path, rel) in candidates {
        if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            let bytes = fs::read(&path).map_err(|e| ContextError::read(&path, e))?;
            ignore = DockerIgnore::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                ContextError::InvalidPattern {
                    file: path.clone(),
                    line: e.line,
                    pattern: e.pattern,
                    reason: e.reason,
                }
            })?;
            ignore_file = Some((path, rel, bytes));
            break;
        }
    }

    let mut walker = Walker {
        ignore: &ignore,
        entries: BTreeMap::new(),
        warnings: Vec::new(),
    };
    walker.walk(ctx, "", &MatchInfo::default(), false)?;
    let mut entries = walker.entries;
    let mut warnings = walker.warnings;

    // The Dockerfile and the ignore file go in whatever the patterns say, as
    // regular files with their content: `docker build` in CodeBuild needs them
    // and re-applies the same ignore file, so COPY still cannot see them.
    let mut forced = |rel: String, path: &Path, meta: &fs::Metadata| {
        for dir in ancestors(&rel) {
            entries
                .entry(format!("{dir}/"))
                .or_insert_with(|| dir_entry(dir));
        }
        entries.insert(
            rel.clone(),
            Entry {
                name: rel,
                source: Source::File(path.to_path_buf()),
                size: meta.len(),
                executable: is_executable(meta),
            },
        );
    };
    let dockerfile_in_zip = match &df_dir_rel {
        Some(dir) => {
            let rel = join(dir, &df_name);
            forced(rel.clone(), df, &df_meta);
            rel
        }
        None => OUTSIDE_DOCKERFILE.to_string(),
    };
    if let Some((path, Some(rel), _)) = &ignore_file {
        let meta = fs::metadata(path).map_err(|e| ContextError::read(path, e))?;
        forced(rel.clone(), path, &meta);
    }
    if df_dir_rel.is_none() {
        if let Some(clash) = entries
            .keys()
            .find(|k| k.as_str() == OUTSIDE_DIR || k.starts_with(".sm-kernel/"))
        {
            return Err(ContextError::ReservedPath {
                path: ctx.join(clash.trim_end_matches('/')),
            });
        }
        // The ignore file goes next to the relocated Dockerfile, where BuildKit
        // looks first, plus a last line that keeps `.sm-kernel/` out of COPY.
        let mut ignore_text = ignore_file
            .as_ref()
            .map(|f| f.2.clone())
            .unwrap_or_default();
        if !ignore_text.is_empty() && !ignore_text.ends_with(b"\n") {
            ignore_text.push(b'\n');
        }
        ignore_text.extend_from_slice(b"# added by sm-kernel: the relocated Dockerfile is not part of the context\n.sm-kernel\n");
        entries.insert(format!("{OUTSIDE_DIR}/"), dir_entry(OUTSIDE_DIR));
        entries.insert(
            OUTSIDE_DOCKERFILE.into(),
            Entry {
                name: OUTSIDE_DOCKERFILE.into(),
                source: Source::File(df.clone()),
                size: df_meta.len(),
                executable: is_executable(&df_meta),
            },
        );
        let name = format!("{OUTSIDE_DOCKERFILE}.dockerignore");
        entries.insert(
            name.clone(),
            Entry {
                name,
                size: ignore_text.len() as u64,
                source: Source::Bytes(ignore_text),
                executable: false,
            },
        );
    }

    // A forced Dockerfile that was a link is now stored as content.
    warnings.retain(|w| match w {
        Warning::SymlinkOutside { path, .. } => {
            matches!(
                entries.get(path).map(|e| &e.source),
                Some(Source::Symlink(_))
            )
        }
        _ => true,
    });
    for e in entries.values() {
        let Source::File(path) = &e.source else {
            continue;
        };
        let Some(reason) = credential_reason(&e.name) else {
            continue;
        };
        // Every virtualenv carries certifi's cacert.pem: a PEM file is only
        // worth a warning when it holds a private key.
        if e.name.ends_with(".pem") && !pem_has_private_key(path) {
            continue;
        }
        warnings.push(Warning::Credential {
            path: e.name.clone(),
            reason: reason.into(),
        });
    }
    warnings.sort_by(|a, b| warning_path(a).cmp(warning_path(b)));

    Ok(Listing {
        // BTreeMap<String> iterates in byte order of the names.
        entries: entries.into_values().collect(),
        dockerfile_in_zip,
        ignore_file: ignore_file.map(|f| f.0),
        warnings,
    })
}

struct Walker<'a> {
    ignore: &'a DockerIgnore,
    entries: BTreeMap<String, Entry>,
    warnings: Vec<Warning>,
}

impl Walker<'_> {
    /// Walks `dir` (relative `rel`, "" for the root) like fsutil's filtered
    /// walker: excluded directories are still entered when an exception could
    /// re-include something below, and then appear only if something does.
    /// Returns whether anything below was kept.
    fn walk(
        &mut self,
        dir: &Path,
        rel: &str,
        info: &MatchInfo,
        excluded: bool,
    ) -> Result<bool, ContextError> {
        let read = match fs::read_dir(dir) {
            // BuildKit ignores unreadable directories it would not send anyway.
            Err(e) if excluded && e.kind() == io::ErrorKind::PermissionDenied => return Ok(false),
            Err(e) => return Err(ContextError::read(dir, e)),
            Ok(r) => r,
        };
        let mut kept = false;
        for item in read {
            let item = item.map_err(|e| ContextError::read(dir, e))?;
            let name = item.file_name();
            let lossy = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                lossy.to_string()
            } else {
                format!("{rel}/{lossy}")
            };
            let path = item.path();
            let ft = item.file_type().map_err(|e| ContextError::read(&path, e))?;
            let (child_excluded, child_info) = self.ignore.matches(&child_rel, info);
            let utf8 = || {
                if name.to_str().is_some() {
                    Ok(())
                } else {
                    Err(ContextError::NonUtf8Name { path: path.clone() })
                }
            };
            if ft.is_dir() {
                if child_excluded {
                    if self.ignore.can_skip_excluded_dir(&child_rel) {
                        continue;
                    }
                    if self.walk(&path, &child_rel, &child_info, true)? {
                        utf8()?;
                        self.push(dir_entry(&child_rel));
                        kept = true;
                    }
                } else {
                    utf8()?;
                    self.push(dir_entry(&child_rel));
                    self.walk(&path, &child_rel, &child_info, false)?;
                    kept = true;
                }
                continue;
            }
            if child_excluded {
                continue;
            }
            utf8()?;
            if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(|e| ContextError::read(&path, e))?;
                let target = os_bytes(target.as_os_str());
                if symlink_escapes(&child_rel, &target) {
                    self.warnings.push(Warning::SymlinkOutside {
                        path: child_rel.clone(),
                        target: String::from_utf8_lossy(&target).into_owned(),
                    });
                }
                self.push(Entry {
                    name: child_rel,
                    size: target.len() as u64,
                    source: Source::Symlink(target),
                    executable: false,
                });
            } else if ft.is_file() {
                let meta = item.metadata().map_err(|e| ContextError::read(&path, e))?;
                // Fail now (plan time) rather than halfway through packing.
                fs::File::open(&path).map_err(|e| ContextError::read(&path, e))?;
                self.push(Entry {
                    name: child_rel,
                    source: Source::File(path),
                    size: meta.len(),
                    executable: is_executable(&meta),
                });
            } else {
                self.warnings
                    .push(Warning::SpecialFileSkipped { path: child_rel });
                continue;
            }
            kept = true;
        }
        Ok(kept)
    }

    fn push(&mut self, e: Entry) {
        self.entries.insert(e.name.clone(), e);
    }
}

fn dir_entry(rel: &str) -> Entry {
    Entry {
        name: format!("{rel}/"),
        source: Source::Dir,
        size: 0,
        executable: true,
    }
}

fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

fn rel_to_slash(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn warning_path(w: &Warning) -> &str {
    match w {
        Warning::Credential { path, .. }
        | Warning::SymlinkOutside { path, .. }
        | Warning::SpecialFileSkipped { path } => path,
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    s.to_string_lossy().replace('\\', "/").into_bytes()
}

/// Whether a link stored at `link_rel` with `target` leaves the context:
/// absolute, or climbing above the root when resolved lexically.
pub(super) fn symlink_escapes(link_rel: &str, target: &[u8]) -> bool {
    if target.starts_with(b"/") {
        return true;
    }
    let mut depth = link_rel.matches('/').count();
    for comp in target.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    false
}

/// Whether a PEM file contains a private key (unreadable or huge: assume so).
fn pem_has_private_key(path: &Path) -> bool {
    use std::io::Read;
    let mut text = Vec::new();
    match fs::File::open(path).and_then(|f| f.take(4 << 20).read_to_end(&mut text)) {
        Ok(n) if n < 4 << 20 => text.windows(11).any(|w| w == b"PRIVATE KEY"),
        _ => true,
    }
}

/// Why a file name looks like a secret, if it does.
pub(super) fn credential_reason(rel: &str) -> Option<&'static str> {
    let (dirs, name) = match rel.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", rel),
    };
    if dirs.split('/').any(|d| d == ".aws") {
        return Some("inside an .aws directory: AWS credentials or config");
    }
    if name == ".env" || name.starts_with(".env.") {
        return Some("environment file, commonly holds secrets");
    }
    if name.ends_with(".pem") {
        return Some("PEM file with a private key");
    }
    if name.ends_with(".key") {
        return Some("key file");
    }
    let ssh_key = ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"]
        .iter()
        .any(|k| name.starts_with(k));
    if ssh_key && !name.ends_with(".pub") {
        return Some("SSH private key");
    }
    if name == ".netrc" {
        return Some("netrc file: login credentials");
    }
    if name == ".git-credentials" {
        return Some("git credential store");
    }
    None
}
