//! The archive: determinism, readability by independent readers, ZIP64.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::super::pack::pack_inner;
use super::super::zipfmt::Limits;
use super::super::{pack_to_file, ContextError, PackOptions};
use super::*;

/// Deterministic pseudo-random bytes (xorshift64).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Compressible text of about `len` bytes.
fn text(len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "kernel", "image", "studio", "build", "context", "layer", "zip",
    ];
    let picks = noise(len / 4, 42);
    let mut out = Vec::with_capacity(len + 16);
    for (i, p) in picks.iter().enumerate() {
        out.extend_from_slice(WORDS[*p as usize % WORDS.len()].as_bytes());
        out.push(if i % 12 == 11 { b'\n' } else { b' ' });
        if out.len() >= len {
            break;
        }
    }
    out
}

/// A context with every kind of entry the packer handles.
fn fixture(root: &Path) -> PathBuf {
    let ctx = root.join("ctx");
    write_files(
        &ctx,
        &[
            ("Dockerfile", b"FROM scratch\nCOPY . /app\n"),
            ("app/main.py", b"print('hello')\n"),
            ("app/run.sh", b"#!/bin/sh\necho hi\n"),
            ("data/big.txt", &text(3 << 20 | 12345)),
            ("data/noise.bin", &noise(2 << 20 | 777, 7)),
            ("data/exact.txt", &text(1 << 20)),
            ("data/archive.gz", &text(5000)),
            ("empty.txt", b""),
            ("unicode/\u{fc}n\u{ef}.txt", b"x"),
        ],
    );
    write_files(root, &[("outside.txt", b"not in the context")]);
    chmod(&ctx.join("app/run.sh"), 0o755);
    fs::create_dir_all(ctx.join("empty_dir")).unwrap();
    symlink("app/main.py", &ctx.join("link_in"));
    symlink("../outside.txt", &ctx.join("link_out"));
    symlink("/etc/hostname", &ctx.join("link_abs"));
    ctx
}

fn all_paths(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        out.push(e.path());
        if ft.is_dir() {
            all_paths(&e.path(), out);
        }
    }
}

#[test]
fn same_content_gives_same_bytes_whatever_threads_times_modes_owners() {
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let listing = scan_ok(&source(&ctx));
    let (first, report) = pack_bytes(&listing, 1);
    assert_eq!(
        report.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&first)))
    );
    assert_eq!(report.bytes_out, first.len() as u64);
    for threads in [2, 3, 8] {
        assert!(
            pack_bytes(&listing, threads).0 == first,
            "threads={threads}"
        );
    }

    // Touch everything, change permissions within their exec class, and
    // change owners where allowed (root): nothing of it may show.
    let mut paths = Vec::new();
    all_paths(&ctx, &mut paths);
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(981_173_106);
    for p in &paths {
        let meta = fs::symlink_metadata(p).unwrap();
        if meta.file_type().is_symlink() {
            continue;
        }
        fs::File::open(p).unwrap().set_modified(when).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        chmod(p, if mode & 0o111 != 0 { 0o700 } else { 0o600 });
        let _ = std::os::unix::fs::lchown(p, Some(4321), Some(4321));
    }
    let again = pack_bytes(&scan_ok(&source(&ctx)), 2);
    assert!(again.0 == first, "archive changed after touch/chmod/chown");
    assert_eq!(again.1.digest, report.digest);
}

/// Many small files are handed out in batches (by count and by bytes), mixed
/// with sliced files and incompressible ones: the bytes still do not depend on
/// the thread count, and every entry reads back intact.
#[test]
fn batched_small_files_give_the_same_bytes_whatever_threads() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    let mut files: Vec<(String, Vec<u8>)> = vec![("Dockerfile".into(), b"FROM scratch\n".to_vec())];
    for i in 0..700 {
        let body = match i % 7 {
            0 => noise(300 + i, i as u64 + 1),
            1 => Vec::new(),
            2 => text(90_000 + i),
            _ => format!("{{\"id\": {i}, \"name\": \"item-{i}\"}}\n").into_bytes(),
        };
        files.push((format!("d{}/f{i:04}.json", i / 100), body));
        if i == 350 {
            files.push(("d3/zz_big.txt".into(), text((2 << 20) + 5)));
        }
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    write_files(&ctx, &refs);
    let listing = scan_ok(&source(&ctx));
    let (first, _) = pack_bytes(&listing, 1);
    for threads in [2, 5] {
        assert!(
            pack_bytes(&listing, threads).0 == first,
            "threads={threads}"
        );
    }
    let zip = t.path().join("many.zip");
    fs::write(&zip, &first).unwrap();
    unzip_test(&zip);
    let entries = python_entries(&zip);
    let by = by_name(&entries);
    for (name, body) in &files {
        assert_eq!(
            by[name.as_str()]["sha256"],
            hex::encode(Sha256::digest(body)),
            "{name}"
        );
    }
}

#[test]
fn any_content_change_changes_the_digest() {
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let digest = || pack_bytes(&scan_ok(&source(&ctx)), 2).1.digest;
    let base = digest();

    // One byte, same size, in the middle of a sliced file.
    let big = ctx.join("data/big.txt");
    let mut bytes = fs::read(&big).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&big, &bytes).unwrap();
    let one_byte = digest();
    assert_ne!(one_byte, base);

    // The exec bit is content too.
    chmod(&ctx.join("app/main.py"), 0o755);
    let exec = digest();
    assert_ne!(exec, one_byte);

    // And so is a symlink target.
    fs::remove_file(ctx.join("link_in")).unwrap();
    symlink("app/run.sh", &ctx.join("link_in"));
    assert_ne!(digest(), exec);
}

fn by_name(entries: &[Value]) -> std::collections::BTreeMap<String, &Value> {
    entries
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e))
        .collect()
}

#[test]
fn python_zipfile_and_unzip_read_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let listing = scan_ok(&source(&ctx));
    let zip = t.path().join("context.zip");
    let report = pack_to_file(&listing, &zip).unwrap();
    assert_eq!(fs::metadata(&zip).unwrap().len(), report.bytes_out);

    let entries = python_entries(&zip);
    let got: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names(&listing));
    assert_eq!(
        got,
        [
            "Dockerfile",
            "app/",
            "app/main.py",
            "app/run.sh",
            "data/",
            "data/archive.gz",
            "data/big.txt",
            "data/exact.txt",
            "data/noise.bin",
            "empty.txt",
            "empty_dir/",
            "link_abs",
            "link_in",
            "link_out",
            "unicode/",
            "unicode/\u{fc}n\u{ef}.txt",
        ]
    );
    for e in &entries {
        assert_eq!(
            e["date_time"],
            serde_json::json!([1980, 1, 1, 0, 0, 0]),
            "{e}"
        );
        assert_eq!(e["extra"], "", "no extra fields: {e}");
    }
    let e = by_name(&entries);
    let mode = |n: &str| e[n]["mode"].as_u64().unwrap();
    let method = |n: &str| e[n]["method"].as_u64().unwrap();
    assert_eq!(mode("app/"), 0o40755);
    assert_eq!(mode("empty_dir/"), 0o40755);
    assert_eq!(mode("app/main.py"), 0o100644);
    assert_eq!(mode("app/run.sh"), 0o100755);
    for link in ["link_in", "link_out", "link_abs"] {
        assert_eq!(mode(link), 0o120777, "{link}");
    }
    assert_eq!(e["link_in"]["text"], "app/main.py");
    assert_eq!(e["link_out"]["text"], "../outside.txt");
    assert_eq!(method("data/big.txt"), 8);
    assert_eq!(method("data/exact.txt"), 8);
    assert_eq!(method("data/noise.bin"), 0, "incompressible: stored");
    assert_eq!(method("data/archive.gz"), 0, "compressed by name: stored");
    assert_eq!(method("empty.txt"), 0);
    for f in [
        "data/big.txt",
        "data/noise.bin",
        "data/exact.txt",
        "app/run.sh",
    ] {
        let want = hex::encode(Sha256::digest(fs::read(ctx.join(f)).unwrap()));
        assert_eq!(e[f]["sha256"], want.as_str(), "{f}");
    }
    let stored = entries
        .iter()
        .filter(|e| e["method"] == 0 && !e["name"].as_str().unwrap().ends_with('/'))
        .count();
    assert_eq!(report.stored, stored as u64);
    assert_eq!(report.entries, entries.len() as u64);

    unzip_test(&zip);
    let out = unzip_extract(&zip, &t.path().join("x"));
    assert_eq!(
        fs::read_link(out.join("link_in")).unwrap(),
        Path::new("app/main.py")
    );
    assert_eq!(
        fs::read_link(out.join("link_out")).unwrap(),
        Path::new("../outside.txt")
    );
    assert_eq!(
        fs::read_link(out.join("link_abs")).unwrap(),
        Path::new("/etc/hostname")
    );
    assert_eq!(
        fs::read(out.join("data/big.txt")).unwrap(),
        fs::read(ctx.join("data/big.txt")).unwrap()
    );
    assert!(out.join("empty_dir").is_dir());
    assert_eq!(
        fs::read(out.join("unicode/\u{fc}n\u{ef}.txt")).unwrap(),
        b"x"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| fs::metadata(out.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("app/run.sh"), 0o755);
    assert_eq!(mode("app/main.py"), 0o644);
}

/// Every ZIP64 path (local and central extra fields, data descriptors, the
/// ZIP64 end records) forced on small data, then read back.
#[test]
fn zip64_records_are_read_correctly() {
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let listing = scan_ok(&source(&ctx));
    let lim = Limits {
        u32_limit: 64,
        u16_limit: 4,
        zip64_stream_size: 1,
    };
    let mut forced = Vec::new();
    pack_inner(
        &listing,
        &mut forced,
        &PackOptions { threads: 2 },
        &lim,
        "test",
    )
    .unwrap();
    let has = |sig: u32| forced.windows(4).any(|w| w == sig.to_le_bytes());
    assert!(has(0x0606_4b50) && has(0x0706_4b50), "ZIP64 end records");

    let normal = t.path().join("normal.zip");
    pack_to_file(&listing, &normal).unwrap();
    let zip64 = t.path().join("zip64.zip");
    fs::write(&zip64, &forced).unwrap();
    let strip = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("extra");
                e
            })
            .collect()
    };
    assert_eq!(
        strip(python_entries(&zip64)),
        strip(python_entries(&normal))
    );
    unzip_test(&zip64);
}

/// A real entry over 4 GiB (a sparse file of zeros, so the archive stays small).
#[test]
#[ignore = "packs and reads back a 4.5 GiB sparse file (about a minute): cargo test -- --ignored"]
fn zip64_real_file_over_4_gib() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    write_files(&ctx, &[("Dockerfile", b"FROM scratch\n")]);
    let size = (4u64 << 30) + (512 << 20) + 3;
    fs::File::create(ctx.join("huge.bin"))
        .unwrap()
        .set_len(size)
        .unwrap();
    let listing = scan_ok(&source(&ctx));
    let zip = t.path().join("huge.zip");
    let report = pack_to_file(&listing, &zip).unwrap();
    assert!(report.bytes_out < 64 << 20);
    let entries = python_entries(&zip);
    assert_eq!(by_name(&entries)["huge.bin"]["size"], size);
    unzip_test(&zip);
}

/// The output is a plain `Write`: short writes and no seeking give the same bytes.
#[test]
fn short_writes_give_the_same_bytes() {
    struct Trickle(Vec<u8>);
    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let listing = scan_ok(&source(&ctx));
    let mut trickle = Trickle(Vec::new());
    super::super::pack_with(&listing, &mut trickle, &PackOptions { threads: 2 }).unwrap();
    assert!(trickle.0 == pack_bytes(&listing, 1).0);
}

#[test]
fn a_file_changed_after_scan_is_reported_and_nothing_is_left_behind() {
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let zip = t.path().join("context.zip");

    let listing = scan_ok(&source(&ctx));
    fs::OpenOptions::new()
        .append(true)
        .open(ctx.join("app/main.py"))
        .unwrap()
        .write_all(b"# grew\n")
        .unwrap();
    let err = pack_to_file(&listing, &zip).unwrap_err();
    assert!(
        matches!(&err, ContextError::FileChanged { path } if path.ends_with("app/main.py")),
        "{err}"
    );
    assert!(!err.is_bad_input());
    assert!(!zip.exists());
    assert!(fs::read_dir(t.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));

    // A sliced file that shrank.
    let listing = scan_ok(&source(&ctx));
    fs::OpenOptions::new()
        .write(true)
        .open(ctx.join("data/big.txt"))
        .unwrap()
        .set_len(3 << 19)
        .unwrap();
    let err = pack_bytes_err(&listing);
    assert!(
        matches!(&err, ContextError::FileChanged { path } if path.ends_with("data/big.txt")),
        "{err}"
    );
}

fn pack_bytes_err(listing: &super::super::Listing) -> ContextError {
    super::super::pack_with(listing, Vec::new(), &PackOptions { threads: 2 }).unwrap_err()
}

#[test]
fn write_errors_name_the_target() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let t = tempfile::tempdir().unwrap();
    let ctx = fixture(t.path());
    let listing = scan_ok(&source(&ctx));
    let err = super::super::pack(&listing, Full).unwrap_err();
    assert!(matches!(err, ContextError::Write { .. }), "{err}");
    assert!(!err.is_bad_input());
}
