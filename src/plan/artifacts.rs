//! `plan --out DIR`: the exact files a publish would use. The folder must be new, empty, or
//! an earlier plan's output, so a mistyped path can never overwrite the user's own files.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{plan_kernel, KernelPlan, Plan, Scanned};
use crate::error::Error;

pub const PLAN_FILE: &str = "plan.json";
pub const KERNEL_FILES: [&str; 5] = [
    "context.zip",
    "buildspec.yml",
    "app-image-config.json",
    "create-image-version.json",
    "domain-update.json",
];

/// Refuses an output folder inside a kernel's context: the next plan would pack the last
/// one's artifacts, and the context digest would change on every run.
pub fn check_out_outside_contexts(dir: &Path, scanned: &[Scanned]) -> Result<(), Error> {
    // The folder may not exist yet: resolve its nearest existing ancestor.
    let mut probe = dir.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(p) = probe.canonicalize() {
            break rest.iter().rev().fold(p, |acc: PathBuf, c| acc.join(c));
        }
        match (probe.file_name().map(|n| n.to_os_string()), probe.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                probe = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return Ok(()),
        }
    };
    for s in scanned {
        if let Ok(ctx) = s.kernel.context_dir.canonicalize() {
            if resolved.starts_with(&ctx) {
                return Err(Error::input(format!(
                    "--out: {} is inside the build context of kernel {:?} ({}); the next plan would pack these artifacts — choose a folder outside it",
                    dir.display(),
                    s.kernel.name,
                    s.kernel.context_dir.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a folder holding anything sm-kernel did not write.
pub fn check_out_dir(dir: &Path) -> Result<(), Error> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "--out: {} is a file; give a folder (new, empty, or an earlier plan's output)",
            dir.display()
        )));
    }
    let entries = read_dir(dir)?;
    if entries.is_empty() {
        return Ok(());
    }
    let plan_json = dir.join(PLAN_FILE);
    let ours = fs::read_to_string(&plan_json)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.get("generator")
                .and_then(|g| g.as_str())
                .map(str::to_string)
        })
        .is_some_and(|g| g.starts_with("sm-kernel"));
    let foreign = |what: &Path| {
        Error::input(format!(
            "--out: {} holds files sm-kernel did not write (e.g. {}); choose a new or empty folder so nothing of yours is overwritten",
            dir.display(),
            what.display()
        ))
    };
    if !ours {
        return Err(foreign(&entries[0]));
    }
    for entry in entries {
        if entry.file_name() == Some(PLAN_FILE.as_ref()) {
            continue;
        }
        if !entry.is_dir() {
            return Err(foreign(&entry));
        }
        for inner in read_dir(&entry)? {
            let name = inner.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !KERNEL_FILES.contains(&name) || !inner.is_file() {
                return Err(foreign(&inner));
            }
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = fs::read_dir(dir)
        .map_err(|e| Error::input(format!("--out: cannot read {}: {e}", dir.display())))?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

fn write_err(path: &Path, e: io::Error) -> Error {
    Error::failed(format!("cannot write {}: {e}", path.display()))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).expect("plan data serialises");
    text.push('\n');
    fs::write(path, text).map_err(|e| write_err(path, e))
}

/// A context zip packed while planning a publish, kept for its upload so the context is
/// packed once; removed when dropped, so no run leaves one behind.
pub struct PackedContext(pub PathBuf);

impl Drop for PackedContext {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Plans every kernel for a publish: each context is packed once, into a temporary file the
/// upload sends as it is. Packing happens here, before the async runtime starts, so the
/// Plan (digests included) is complete before the first AWS call.
pub fn plan_all_packed(scanned: &[Scanned]) -> Result<(Plan, Vec<PackedContext>), Error> {
    let mut kernels = Vec::with_capacity(scanned.len());
    let mut zips = Vec::with_capacity(scanned.len());
    for s in scanned {
        let packed = PackedContext(std::env::temp_dir().join(format!(
            "sm-kernel-{}-{}.zip",
            std::process::id(),
            s.kernel.name
        )));
        let file = fs::File::create(&packed.0).map_err(|e| write_err(&packed.0, e))?;
        let mut w = BufWriter::new(file);
        let kp = plan_kernel(s, &mut w)?;
        w.flush().map_err(|e| write_err(&packed.0, e))?;
        kernels.push(kp);
        zips.push(packed);
    }
    Ok((Plan::new(kernels), zips))
}

/// Plans every kernel, writing the artifacts when `out` is given. The zip is written under a
/// temporary name and renamed, so an interrupted run never leaves a truncated context.zip.
pub fn plan_all(scanned: &[Scanned], out: Option<&Path>) -> Result<Plan, Error> {
    let mut kernels = Vec::with_capacity(scanned.len());
    for s in scanned {
        let kp = match out {
            None => plan_kernel(s, io::sink())?,
            Some(dir) => {
                let kdir = dir.join(&s.kernel.name);
                fs::create_dir_all(&kdir).map_err(|e| write_err(&kdir, e))?;
                let partial = kdir.join(".context.zip.partial");
                let file = fs::File::create(&partial).map_err(|e| write_err(&partial, e))?;
                let mut w = BufWriter::new(file);
                let result = plan_kernel(s, &mut w).and_then(|kp| {
                    w.flush().map_err(|e| write_err(&partial, e))?;
                    Ok(kp)
                });
                drop(w);
                let kp = match result {
                    Ok(kp) => kp,
                    Err(e) => {
                        let _ = fs::remove_file(&partial);
                        return Err(e);
                    }
                };
                let zip = kdir.join("context.zip");
                fs::rename(&partial, &zip).map_err(|e| write_err(&zip, e))?;
                write_kernel_files(&kdir, &kp)?;
                kp
            }
        };
        kernels.push(kp);
    }
    let plan = Plan::new(kernels);
    if let Some(dir) = out {
        write_json(&dir.join(PLAN_FILE), &plan)?;
    }
    Ok(plan)
}

fn write_kernel_files(kdir: &Path, kp: &KernelPlan) -> Result<(), Error> {
    let spec = kdir.join("buildspec.yml");
    fs::write(&spec, &kp.buildspec).map_err(|e| write_err(&spec, e))?;
    write_json(
        &kdir.join("app-image-config.json"),
        &kp.requests.create_app_image_config,
    )?;
    write_json(
        &kdir.join("create-image-version.json"),
        &kp.requests.create_image_version,
    )?;
    write_json(
        &kdir.join("domain-update.json"),
        &serde_json::json!({
            "operation": kp.requests.domain_update_operation,
            "note": kp.requests.domain_update_note,
            "current_settings": "unknown",
            "request": kp.requests.domain_update,
            "updates": kp.requests.domain_updates,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_empty_folders_are_fine() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(check_out_dir(&tmp.path().join("new")).is_ok());
        assert!(check_out_dir(tmp.path()).is_ok());
    }

    #[test]
    fn foreign_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let err = check_out_dir(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn an_earlier_plan_is_fine_but_not_with_extra_files() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join(PLAN_FILE),
            r#"{"generator":"sm-kernel 0.1.0"}"#,
        )
        .unwrap();
        fs::create_dir(tmp.path().join("k")).unwrap();
        fs::write(tmp.path().join("k/buildspec.yml"), "x").unwrap();
        assert!(check_out_dir(tmp.path()).is_ok());
        fs::write(tmp.path().join("k/mine.txt"), "x").unwrap();
        assert!(check_out_dir(tmp.path()).is_err());
    }
}
