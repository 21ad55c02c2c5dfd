//! Tests of the context module. Shared here: building context trees on disk and
//! reading archives back with independent readers (Python's zipfile, Info-ZIP).

mod archive;
mod dockerignore;
mod scanning;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{pack_with, scan, ContextSource, Listing, PackOptions, PackReport};

/// Writes `files` (path, content) under `root`, creating parent directories.
pub(super) fn write_files(root: &Path, files: &[(&str, &[u8])]) {
    for (rel, content) in files {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
    }
}

#[cfg(unix)]
pub(super) fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
pub(super) fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

pub(super) fn source(ctx: &Path) -> ContextSource {
    ContextSource {
        context_dir: ctx.to_path_buf(),
        dockerfile: ctx.join("Dockerfile"),
    }
}

pub(super) fn scan_ok(src: &ContextSource) -> Listing {
    scan(src).unwrap_or_else(|e| panic!("scan failed: {e}"))
}

pub(super) fn names(listing: &Listing) -> Vec<String> {
    listing
        .entries()
        .iter()
        .map(|e| e.name().to_string())
        .collect()
}

pub(super) fn pack_bytes(listing: &Listing, threads: usize) -> (Vec<u8>, PackReport) {
    let mut out = Vec::new();
    let report = pack_with(listing, &mut out, &PackOptions { threads }).expect("pack");
    (out, report)
}

/// Reads an archive with Python's zipfile and returns one JSON object per
/// entry (name, mode, method, size, DOS time, extra, content) after `testzip`.
pub(super) fn python_entries(zip: &Path) -> Vec<serde_json::Value> {
    const SCRIPT: &str = r#"
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    bad = zf.testzip()
    assert bad is None, "bad CRC in " + bad
    out = []
    for i in zf.infolist():
        data = zf.read(i)
        out.append({
            "name": i.filename,
            "mode": i.external_attr >> 16,
            "method": i.compress_type,
            "size": i.file_size,
            "date_time": list(i.date_time),
            "extra": i.extra.hex(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "text": data.decode("utf-8", "replace") if len(data) < 200 else None,
        })
    print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(zip)
        .output()
        .expect("python3 must be installed to check archives");
    assert!(
        out.status.success(),
        "python zipfile rejected {}: {}",
        zip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `unzip -t` on the archive; panics with unzip's output if it finds a problem.
pub(super) fn unzip_test(zip: &Path) {
    let out = Command::new("unzip")
        .arg("-t")
        .arg(zip)
        .output()
        .expect("unzip must be installed to check archives");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("No errors detected"),
        "unzip -t failed on {}:\n{text}\n{}",
        zip.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Extracts with Info-ZIP into a new directory and returns it.
pub(super) fn unzip_extract(zip: &Path, dest: &Path) -> PathBuf {
    let out = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dest)
        .output()
        .expect("unzip must be installed");
    assert!(
        out.status.success(),
        "unzip failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dest.to_path_buf()
}
