//! Scanning: what goes in, warnings, and bad input.

use std::fs;

use super::super::{scan, ContextError, ContextSource, EntryType, Warning, OUTSIDE_DOCKERFILE};
use super::*;

#[test]
fn dockerignore_is_applied_and_dirs_survive() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(
        ctx,
        &[
            ("Dockerfile", b"FROM scratch\n"),
            (
                ".dockerignore",
                b"# build output\n*.log\nnode_modules\n!node_modules/keep\n",
            ),
            ("a.log", b"x"),
            ("sub/b.log", b"not at the root: kept"),
            ("node_modules/x/y.js", b"x"),
            ("node_modules/keep/z.js", b"z"),
        ],
    );
    fs::create_dir_all(ctx.join("empty/inner")).unwrap();
    let listing = scan_ok(&source(ctx));
    assert_eq!(
        names(&listing),
        [
            ".dockerignore",
            "Dockerfile",
            "empty/",
            "empty/inner/",
            "node_modules/",
            "node_modules/keep/",
            "node_modules/keep/z.js",
            "sub/",
            "sub/b.log",
        ]
    );
    assert_eq!(
        listing.ignore_file(),
        Some(ctx.join(".dockerignore").as_path())
    );
    let report = listing.report();
    assert_eq!((report.files, report.dirs, report.symlinks), (4, 5, 0));
    assert_eq!(report.largest[0].path, ".dockerignore");
}

#[test]
fn ignored_dockerfile_and_ignore_file_are_still_included() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(
        ctx,
        &[
            ("docker/Dockerfile", b"FROM scratch\n"),
            (".dockerignore", b"docker\n.dockerignore\nDockerfile\n"),
            ("docker/other", b"excluded"),
            ("keep.txt", b"kept"),
        ],
    );
    let listing = scan_ok(&ContextSource {
        context_dir: ctx.to_path_buf(),
        dockerfile: ctx.join("docker/Dockerfile"),
    });
    assert_eq!(listing.dockerfile_in_zip(), "docker/Dockerfile");
    assert_eq!(
        names(&listing),
        [".dockerignore", "docker/", "docker/Dockerfile", "keep.txt"]
    );
}

#[test]
fn dockerfile_specific_ignore_file_takes_precedence() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(
        ctx,
        &[
            ("Dockerfile", b"FROM scratch\n"),
            (".dockerignore", b"a\n"),
            ("Dockerfile.dockerignore", b"b\n"),
            ("sub/app.Dockerfile", b"FROM scratch\n"),
            ("sub/app.Dockerfile.dockerignore", b"c\n"),
            ("a", b""),
            ("b", b""),
            ("c", b""),
        ],
    );
    let listing = scan_ok(&source(ctx));
    assert_eq!(
        listing.ignore_file(),
        Some(ctx.join("Dockerfile.dockerignore").as_path())
    );
    let n = names(&listing);
    assert!(n.contains(&"a".into()) && !n.contains(&"b".into()) && n.contains(&"c".into()));

    let listing = scan_ok(&ContextSource {
        context_dir: ctx.to_path_buf(),
        dockerfile: ctx.join("sub/app.Dockerfile"),
    });
    assert_eq!(listing.dockerfile_in_zip(), "sub/app.Dockerfile");
    let n = names(&listing);
    assert!(n.contains(&"a".into()) && n.contains(&"b".into()) && !n.contains(&"c".into()));
    assert!(n.contains(&"sub/app.Dockerfile.dockerignore".into()));

    // Without a specific file, the root one applies.
    fs::remove_file(ctx.join("Dockerfile.dockerignore")).unwrap();
    let n = names(&scan_ok(&source(ctx)));
    assert!(!n.contains(&"a".into()) && n.contains(&"b".into()));
}

#[test]
fn dockerfile_outside_the_context_is_relocated() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    write_files(
        t.path(),
        &[
            ("ctx/app.py", b"print()\n"),
            ("ctx/secret.txt", b"no"),
            ("ctx/.dockerignore", b"app.py\n"),
            ("docker/prod.Dockerfile", b"FROM scratch\nCOPY . /\n"),
            ("docker/prod.Dockerfile.dockerignore", b"secret.txt"),
        ],
    );
    let src = ContextSource {
        context_dir: ctx.clone(),
        dockerfile: t.path().join("docker/prod.Dockerfile"),
    };
    let listing = scan_ok(&src);
    assert_eq!(listing.dockerfile_in_zip(), OUTSIDE_DOCKERFILE);
    assert_eq!(
        names(&listing),
        [
            ".dockerignore",
            ".sm-kernel/",
            ".sm-kernel/Dockerfile",
            ".sm-kernel/Dockerfile.dockerignore",
            "app.py",
        ]
    );
    let zip = t.path().join("c.zip");
    super::super::pack_to_file(&listing, &zip).unwrap();
    let entries = python_entries(&zip);
    let text = |n: &str| {
        entries
            .iter()
            .find(|e| e["name"] == n)
            .map(|e| e["text"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(text(".sm-kernel/Dockerfile"), "FROM scratch\nCOPY . /\n");
    let ignore = text(".sm-kernel/Dockerfile.dockerignore");
    assert!(ignore.starts_with("secret.txt\n"), "{ignore}");
    assert!(ignore.ends_with("\n.sm-kernel\n"), "{ignore}");

    // The context may not already use the reserved name.
    write_files(&ctx, &[(".sm-kernel/mine", b"x")]);
    assert!(matches!(scan(&src), Err(ContextError::ReservedPath { .. })));
}

#[test]
fn credential_files_are_warned_about_unless_ignored() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(
        ctx,
        &[
            ("Dockerfile", b"FROM scratch\n"),
            (".dockerignore", b"ignored.env\n**/.env.ignored\n"),
            (".aws/credentials", b"[default]"),
            ("home/.aws/config", b"[default]"),
            (".env", b"A=1"),
            ("app/.env.local", b"A=1"),
            ("app/.env.ignored", b"A=1"),
            ("certs/server.pem", b"-----BEGIN PRIVATE KEY-----\nMIIE\n"),
            (
                "certs/ca-bundle.pem",
                b"-----BEGIN CERTIFICATE-----\nMIIB\n",
            ),
            ("certs/server.key", b"-----"),
            ("ssh/id_rsa", b"-----"),
            ("ssh/id_ed25519", b"-----"),
            ("ssh/id_rsa.pub", b"ssh-rsa"),
            (".netrc", b"machine"),
            (".git-credentials", b"https://"),
            ("environment.py", b""),
            ("aws/credentials.py", b""),
        ],
    );
    let listing = scan_ok(&source(ctx));
    let flagged: Vec<&str> = listing
        .warnings()
        .iter()
        .filter_map(|w| match w {
            Warning::Credential { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        flagged,
        [
            ".aws/credentials",
            ".env",
            ".git-credentials",
            ".netrc",
            "app/.env.local",
            "certs/server.key",
            "certs/server.pem",
            "home/.aws/config",
            "ssh/id_ed25519",
            "ssh/id_rsa",
        ]
    );
    let shown = listing.warnings()[0].to_string();
    assert!(
        shown.contains(".aws/credentials") && shown.contains(".dockerignore"),
        "{shown}"
    );
}

#[test]
fn symlinks_are_kept_and_escapes_warned() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    write_files(
        &ctx,
        &[("Dockerfile", b"FROM scratch\n"), ("sub/file", b"x")],
    );
    symlink("sub/file", &ctx.join("in"));
    symlink("../file", &ctx.join("sub/back"));
    symlink("sub/../../ctx/sub/file", &ctx.join("climbs"));
    symlink("../outside", &ctx.join("up"));
    symlink("/etc/passwd", &ctx.join("abs"));
    symlink("sub", &ctx.join("dirlink"));
    let listing = scan_ok(&source(&ctx));
    let kinds: Vec<(String, EntryType)> = listing
        .entries()
        .iter()
        .map(|e| (e.name().to_string(), e.kind()))
        .collect();
    assert!(
        kinds.contains(&("dirlink".into(), EntryType::Symlink)),
        "not followed"
    );
    assert!(!kinds.iter().any(|(n, _)| n.starts_with("dirlink/")));
    let outside: Vec<(&str, &str)> = listing
        .warnings()
        .iter()
        .filter_map(|w| match w {
            Warning::SymlinkOutside { path, target } => Some((path.as_str(), target.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        outside,
        [
            ("abs", "/etc/passwd"),
            ("climbs", "sub/../../ctx/sub/file"),
            ("up", "../outside"),
        ]
    );
}

#[test]
fn a_symlinked_dockerfile_is_stored_as_its_content() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    write_files(t.path(), &[("real.Dockerfile", b"FROM scratch\n")]);
    fs::create_dir_all(&ctx).unwrap();
    symlink("../real.Dockerfile", &ctx.join("Dockerfile"));
    let listing = scan_ok(&source(&ctx));
    let df = &listing.entries()[0];
    assert_eq!(
        (df.name(), df.kind(), df.size()),
        ("Dockerfile", EntryType::File, 13)
    );
    assert!(listing.warnings().is_empty(), "{:?}", listing.warnings());
}

#[test]
fn special_files_are_skipped_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(ctx, &[("Dockerfile", b"FROM scratch\n")]);
    let _sock = std::os::unix::net::UnixListener::bind(ctx.join("agent.sock")).unwrap();
    let listing = scan_ok(&source(ctx));
    assert_eq!(names(&listing), ["Dockerfile"]);
    assert_eq!(
        listing.warnings(),
        [Warning::SpecialFileSkipped {
            path: "agent.sock".into()
        }]
    );
}

#[test]
fn bad_input_errors_name_the_path_and_the_fix() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    write_files(
        root,
        &[("ctx/Dockerfile", b"FROM scratch\n"), ("file", b"")],
    );
    let err = |context: &str, dockerfile: &str| {
        scan(&ContextSource {
            context_dir: root.join(context),
            dockerfile: root.join(dockerfile),
        })
        .unwrap_err()
    };

    let e = err("missing", "ctx/Dockerfile");
    assert!(matches!(e, ContextError::ContextMissing { .. }) && e.is_bad_input());
    assert!(
        e.to_string().contains("missing") && e.to_string().contains("--context"),
        "{e}"
    );

    let e = err("file", "ctx/Dockerfile");
    assert!(matches!(e, ContextError::ContextNotDir { .. }), "{e}");

    let e = err("ctx", "ctx/Dockerfile.missing");
    assert!(matches!(e, ContextError::DockerfileMissing { .. }) && e.is_bad_input());
    assert!(
        e.to_string().contains("Dockerfile.missing") && e.to_string().contains("--file"),
        "{e}"
    );

    let e = err("ctx", "ctx");
    assert!(matches!(e, ContextError::DockerfileNotFile { .. }), "{e}");

    write_files(root, &[("ctx/.dockerignore", b"ok\n\n[unclosed\n")]);
    let e = err("ctx", "ctx/Dockerfile");
    let msg = e.to_string();
    assert!(
        matches!(e, ContextError::InvalidPattern { line: 3, .. }),
        "{msg}"
    );
    assert!(
        msg.contains(".dockerignore") && msg.contains("line 3") && msg.contains("[unclosed"),
        "{msg}"
    );
}

#[test]
fn unreadable_files_are_named() {
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path();
    write_files(
        ctx,
        &[("Dockerfile", b"FROM scratch\n"), ("locked/secret", b"x")],
    );
    chmod(&ctx.join("locked/secret"), 0o000);
    if fs::File::open(ctx.join("locked/secret")).is_ok() {
        // Running as root: permissions cannot be denied, so check the mapping
        // from the OS error to the message on its own.
        eprintln!("running with CAP_DAC_OVERRIDE: checking the permission-denied mapping only");
        let e = ContextError::read(
            ctx.join("locked/secret"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(e, ContextError::PermissionDenied { .. }) && e.is_bad_input());
        assert!(
            e.to_string().contains("locked/secret") && e.to_string().contains("chmod"),
            "{e}"
        );
        return;
    }
    let e = scan(&source(ctx)).unwrap_err();
    assert!(matches!(e, ContextError::PermissionDenied { .. }), "{e}");
    assert!(e.to_string().contains("locked/secret"), "{e}");
    // Excluded, it does not matter.
    write_files(ctx, &[(".dockerignore", b"locked\n")]);
    scan_ok(&source(ctx));
}
