//! CLI tests that run the real binary: plan, init, completions and bad input. None of these
//! needs AWS or the sandbox; every command here must work with no credentials at all.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/service-role/Exec";

mod support;

/// The binary with no AWS credentials and no SM_KERNEL_* settings.
fn sm() -> Command {
    support::sm_kernel()
}

/// A one-kernel context in a temp folder.
fn kernel_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("Dockerfile"),
        "FROM scratch\nCOPY app.py /app.py\n",
    )
    .unwrap();
    fs::write(d.path().join("app.py"), "print('hi')\n").unwrap();
    d
}

fn one_shot(dir: &Path) -> Vec<String> {
    [
        "plan",
        "--image-name",
        "my-kernel",
        "--context",
        dir.to_str().unwrap(),
        "--role",
        ROLE,
        "--domain-id",
        "d-abc123",
        "--region",
        "us-east-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The entry names of a zip, read by an independent implementation (the `zip` crate), sorted.
fn zip_names(bytes: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("a UTF-8 entry name").into_owned())
        .collect();
    names.sort();
    names
}

fn touch_all(dir: &Path) {
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            let f = fs::File::options().read(true).open(&p).unwrap();
            f.set_modified(later).unwrap();
        }
    }
}

#[test]
fn plan_of_an_example_prints_every_step_and_permission() {
    let out = sm()
        .args(["plan", "--config", "examples/python/kernel.toml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "kernel \"datascience-py312\"",
        "sagemaker-studio-datascience-py312",
        "iam:PassRole",
        "iam:PassedToService=codebuild.amazonaws.com",
        "iam:PassedToService=sagemaker.amazonaws.com",
        "sagemaker:CreateImageVersion",
        "sagemaker:UpdateDomain",
        "codebuild:DeleteProject",
        "s3://sagemaker-us-east-1-123456789012/sm-kernel/datascience-py312/",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn plan_text_snapshot() {
    let out = sm()
        .args(["plan", "--config", "examples/python/kernel.toml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("plan_python_example", String::from_utf8(out).unwrap());
}

#[test]
fn plan_json_is_one_document_with_needs() {
    let out = sm()
        .args([
            "--output",
            "json",
            "plan",
            "--config",
            "examples/release/kernel.toml",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let kernels = v["kernels"].as_array().unwrap();
    assert_eq!(kernels.len(), 2);
    let steps = kernels[0]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["id"], "preflight");
    let call = &steps.iter().find(|s| s["id"] == "image").unwrap()["calls"][0];
    assert_eq!(call["action"], "sagemaker:DescribeImage");
    assert_eq!(
        call["resource"],
        "arn:aws:sagemaker:us-east-1:123456789012:image/datascience-py312"
    );
    assert_eq!(call["principal"], "caller");
    assert_eq!(kernels[1]["app"], "jupyterlab");
}

#[test]
fn selecting_one_kernel_plans_only_it() {
    let out = sm()
        .args([
            "--output",
            "json",
            "plan",
            "--config",
            "examples/release/kernel.toml",
            "jupyterlab-polars",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["kernels"].as_array().unwrap().len(), 1);
    assert_eq!(v["kernels"][0]["name"], "jupyterlab-polars");
}

#[test]
fn out_writes_every_artifact_and_is_byte_identical_after_touch() {
    let work = tempfile::tempdir().unwrap();
    let ctx = work.path().join("ctx");
    fs::create_dir(&ctx).unwrap();
    for (p, c) in [
        ("Dockerfile", "FROM scratch\n"),
        ("a.txt", "a\n"),
        ("sub/b.txt", "b\n"),
    ] {
        let path = ctx.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, c).unwrap();
    }
    let out1 = work.path().join("p1");
    let out2 = work.path().join("p2");
    let mut args = one_shot(&ctx);
    args.extend(["--out".into(), out1.to_str().unwrap().into()]);
    sm().args(&args).assert().success();
    for f in [
        "plan.json",
        "my-kernel/context.zip",
        "my-kernel/buildspec.yml",
        "my-kernel/app-image-config.json",
        "my-kernel/create-image-version.json",
        "my-kernel/domain-update.json",
    ] {
        assert!(out1.join(f).is_file(), "{f} missing");
    }
    let domain: serde_json::Value =
        serde_json::from_slice(&fs::read(out1.join("my-kernel/domain-update.json")).unwrap())
            .unwrap();
    assert_eq!(domain["current_settings"], "unknown");
    assert_eq!(domain["request"]["DomainId"], "d-abc123");

    touch_all(&ctx);
    let mut args = one_shot(&ctx);
    args.extend(["--out".into(), out2.to_str().unwrap().into()]);
    sm().args(&args).assert().success();
    assert_eq!(all_files(&out1), all_files(&out2));

    // A second plan into the same folder replaces its own files.
    let mut args = one_shot(&ctx);
    args.extend(["--out".into(), out1.to_str().unwrap().into()]);
    sm().args(&args).assert().success();
    assert_eq!(all_files(&out1), all_files(&out2));
}

#[test]
fn zip_lists_exactly_the_context_minus_dockerignore() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    sm().args(["plan", "--config", "examples/python/kernel.toml", "--out"])
        .arg(&out)
        .assert()
        .success();
    let zip = fs::read(out.join("datascience-py312/context.zip")).unwrap();
    let names: Vec<String> = zip_names(&zip)
        .into_iter()
        .filter(|n| !n.ends_with('/'))
        .collect();
    assert_eq!(
        names,
        [
            ".dockerignore",
            "Dockerfile",
            "kernel.toml",
            "requirements.txt"
        ]
    );
}

#[test]
fn publish_dry_run_equals_plan() {
    let plan = sm()
        .args([
            "--output",
            "json",
            "plan",
            "--config",
            "examples/jupyterlab/kernel.toml",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let dry = sm()
        .args([
            "--output",
            "json",
            "publish",
            "--dry-run",
            "--config",
            "examples/jupyterlab/kernel.toml",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(plan, dry);
}

#[test]
fn environment_overrides_manifest_and_flags_override_environment() {
    let json = |cmd: &mut Command| -> serde_json::Value {
        let out = cmd.assert().success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap()
    };
    let base = [
        "--output",
        "json",
        "plan",
        "--config",
        "examples/python/kernel.toml",
    ];
    let v = json(
        sm().args(base)
            .env("SM_KERNEL_BUCKET", "sagemaker-from-env"),
    );
    assert_eq!(v["kernels"][0]["resources"]["bucket"], "sagemaker-from-env");
    let v = json(
        sm().args(base)
            .args(["--bucket", "sagemaker-from-flag"])
            .env("SM_KERNEL_BUCKET", "sagemaker-from-env"),
    );
    assert_eq!(
        v["kernels"][0]["resources"]["bucket"],
        "sagemaker-from-flag"
    );
}

#[test]
fn names_outside_the_published_policy_are_flagged_not_refused() {
    let out = sm()
        .args([
            "plan",
            "--config",
            "examples/python/kernel.toml",
            "--bucket",
            "team-builds",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("outside the published policy"), "{text}");
}

#[test]
fn init_writes_a_kernel_that_plans() {
    for template in ["python", "jupyterlab", "code-editor"] {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("my-kernel");
        sm().args([
            "--region",
            "eu-west-1",
            "init",
            "--template",
            template,
            "--role",
            ROLE,
            "--domain-id",
            "d-abc123",
        ])
        .arg(&dir)
        .assert()
        .success()
        // Everything was passed: nothing left to fill in.
        .stderr(predicate::str::contains("next: `sm-kernel plan --config"))
        .stderr(predicate::str::contains("fill in").not());
        for f in ["kernel.toml", "Dockerfile", ".dockerignore"] {
            assert!(dir.join(f).is_file(), "{template}: {f}");
        }
        let docker = fs::read_to_string(dir.join("Dockerfile")).unwrap();
        if template != "code-editor" {
            assert!(docker.contains("NB_UID=1000") && docker.contains("NB_GID=100"));
            assert!(docker.contains("--name \"my-kernel\""), "{docker}");
        }
        // The manifest plans as written, from any folder.
        sm().args(["plan", "--config"])
            .arg(dir.join("kernel.toml"))
            .assert()
            .success()
            .stdout(predicate::str::contains("kernel \"my-kernel\""));
        // A second init refuses and leaves the files alone.
        fs::write(dir.join("Dockerfile"), "mine").unwrap();
        sm().args(["init", "--template", template])
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("never overwrites"));
        assert_eq!(fs::read_to_string(dir.join("Dockerfile")).unwrap(), "mine");
    }
    // Without the values, the next step names exactly the missing ones.
    let work = tempfile::tempdir().unwrap();
    sm().args(["init", "--role", ROLE])
        .arg(work.path().join("k"))
        .assert()
        .success()
        .stderr(predicate::str::contains("fill in domain-id and region in"));
}

/// Plans a manifest in `dir` and returns its one kernel's JSON plan.
fn plan_json_of(dir: &Path) -> serde_json::Value {
    let out = sm()
        .args(["--output", "json", "plan", "--config"])
        .arg(dir.join("kernel.toml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["kernels"][0].clone()
}

fn compose_manifest(dir: &Path, dockerfile: &str) {
    fs::write(
        dir.join("kernel.toml"),
        format!("{GOOD_DEFAULTS}\n[[kernel]]\nname = \"k\"\ncontext = \"app\"\ndockerfile = {dockerfile:?}\n"),
    )
    .unwrap();
}

#[test]
fn dockerfile_is_resolved_against_the_context_as_compose_does() {
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    fs::create_dir(&app).unwrap();
    fs::write(app.join("Dockerfile"), "FROM scratch\nCOPY main.py /\n").unwrap();
    fs::write(app.join("main.py"), "print(1)\n").unwrap();
    // No Dockerfile next to the manifest: the old rule would have failed here.
    compose_manifest(work.path(), "Dockerfile");
    let k = plan_json_of(work.path());
    assert_eq!(k["context"]["dockerfile"], "Dockerfile");
    assert_eq!(
        Path::new(k["context"]["dockerfile_path"].as_str().unwrap()),
        work.path().join("app/Dockerfile")
    );

    // A sub-folder of the context.
    fs::create_dir(app.join("docker")).unwrap();
    fs::write(app.join("docker/dev.Dockerfile"), "FROM scratch\n").unwrap();
    compose_manifest(work.path(), "docker/dev.Dockerfile");
    assert_eq!(
        plan_json_of(work.path())["context"]["dockerfile"],
        "docker/dev.Dockerfile"
    );

    // Missing: the message names the resolved path, under the context.
    compose_manifest(work.path(), "Nope.Dockerfile");
    sm().args(["plan", "--config"])
        .arg(work.path().join("kernel.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dockerfile"))
        .stderr(predicate::str::contains("Nope.Dockerfile"))
        .stderr(predicate::str::contains(format!(
            "app{}",
            std::path::MAIN_SEPARATOR
        )));
}

#[test]
fn dockerfile_outside_the_context_is_sent_like_docker_sends_it() {
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    fs::create_dir_all(&app).unwrap();
    fs::create_dir_all(work.path().join("docker")).unwrap();
    fs::write(app.join("main.py"), "print(1)\n").unwrap();
    fs::write(
        work.path().join("docker/app.Dockerfile"),
        "FROM scratch\nCOPY main.py /\n",
    )
    .unwrap();
    let check = |k: serde_json::Value| {
        assert_eq!(k["context"]["dockerfile"], ".sm-kernel/Dockerfile", "{k}");
    };
    // Relative to the context, leaving it.
    compose_manifest(work.path(), "../docker/app.Dockerfile");
    check(plan_json_of(work.path()));
    // Absolute: itself.
    let abs = work.path().join("docker/app.Dockerfile");
    compose_manifest(work.path(), abs.to_str().unwrap());
    check(plan_json_of(work.path()));

    // And the zip carries it where the buildspec looks for it.
    let out = work.path().join("plan");
    sm().args(["plan", "--config"])
        .arg(work.path().join("kernel.toml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let zip = fs::read(out.join("k/context.zip")).unwrap();
    let names = zip_names(&zip);
    assert!(
        names.contains(&".sm-kernel/Dockerfile".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"main.py".to_string()), "{names:?}");
    let buildspec = fs::read_to_string(out.join("k/buildspec.yml")).unwrap();
    assert!(buildspec.contains(".sm-kernel/Dockerfile"), "{buildspec}");
}

#[test]
fn file_flag_is_relative_to_the_current_folder_like_docker_build_f() {
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    fs::create_dir_all(&app).unwrap();
    fs::write(app.join("main.py"), "print(1)\n").unwrap();
    fs::write(work.path().join("k.Dockerfile"), "FROM scratch\n").unwrap();
    let out = sm()
        .current_dir(work.path())
        .args([
            "--output",
            "json",
            "plan",
            "--image-name",
            "k",
            "--context",
            "app",
            "--file",
            "k.Dockerfile",
            "--role",
            ROLE,
            "--domain-id",
            "d-abc123",
            "--region",
            "us-east-1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["kernels"][0]["context"]["dockerfile"],
        ".sm-kernel/Dockerfile"
    );
}

#[test]
fn completions_are_generated() {
    sm().args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sm-kernel"));
}

#[test]
fn help_speaks_to_studio_users() {
    sm().arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("SageMaker Studio"));
}

// ---- bad input: exit 2, a message naming the field, nothing written ----

struct Bad {
    name: &'static str,
    args: Vec<String>,
    manifest: Option<&'static str>,
    expect: &'static str,
}

fn bad(name: &'static str, extra: &[&str], expect: &'static str) -> Bad {
    Bad {
        name,
        args: extra.iter().map(|s| s.to_string()).collect(),
        manifest: None,
        expect,
    }
}

fn bad_manifest(name: &'static str, manifest: &'static str, expect: &'static str) -> Bad {
    Bad {
        name,
        args: vec![],
        manifest: Some(manifest),
        expect,
    }
}

const GOOD_DEFAULTS: &str = "[defaults]\nregion = \"us-east-1\"\nrole = \"arn:aws:iam::123456789012:role/r\"\ndomain-id = \"d-abc123\"\n";

#[test]
fn bad_input_exits_2_names_the_field_and_writes_nothing() {
    let cases = vec![
        bad("image name with a leading hyphen", &["--image-name=-bad"], "-bad"),
        bad("image name too long", &["--image-name", &"a".repeat(64)], "name"),
        bad("image name with underscore", &["--image-name", "my_kernel"], "my_kernel"),
        bad("role not an ARN", &["--role", "MyRole"], "role"),
        bad("role of another service", &["--role", "arn:aws:iam::123456789012:user/bob"], "role"),
        bad("domain id", &["--domain-id", "domain-1"], "domain-id"),
        bad("bucket uppercase", &["--bucket", "Sagemaker-Bucket"], "bucket"),
        bad("bucket IP address", &["--bucket", "192.168.1.1"], "bucket"),
        bad("repository uppercase", &["--repository", "Sagemaker-Studio-X"], "repository"),
        bad("project too long", &["--project", &format!("sagemaker-studio-{}", "x".repeat(140))], "project"),
        bad("uid/gid Studio rejects", &["--uid", "1001"], "uid"),
        bad("relative mount path", &["--mount-path", "home/user"], "mount-path"),
        bad("reserved mount path", &["--mount-path", "/opt/ml/x"], "mount-path"),
        bad("aws: tag key", &["--tag", "aws:team=x"], "aws:"),
        bad("tag without =", &["--tag", "team"], "--tag"),
        bad("compute type", &["--compute-type", "HUGE"], "compute-type"),
        bad("lambda compute cannot run docker", &["--compute-type", "BUILD_LAMBDA_1GB"], "compute-type"),
        bad("build arg without =", &["--build-arg", "NOVALUE"], "--build-arg"),
        bad("build arg bad key", &["--build-arg", "1X=2"], "--build-arg"),
        bad("build secret without =", &["--build-secret", "PIP_TOKEN"], "--build-secret"),
        bad("build secret not an ARN", &["--build-secret", "PIP_TOKEN=pip-token"], "--build-secret"),
        bad(
            "build secret of another service",
            &["--build-secret", "T=arn:aws:s3:us-east-1:123456789012:bucket/x"],
            "secretsmanager or ssm",
        ),
        bad("unknown check", &["--checks-skip", "uid,nosuch"], "checks-skip"),
        bad("unknown attach place", &["--attach", "user-settings,shared"], "attach"),
        bad(
            "code editor in space settings",
            &["--app", "code-editor", "--attach", "space-settings"],
            "DefaultSpaceSettings has KernelGateway and JupyterLab settings only",
        ),
        bad(
            "user profile without user settings",
            &["--user-profile", "alice", "--attach", "space-settings"],
            "add \"user-settings\" to attach",
        ),
        bad("scan severity", &["--scan", "LOW"], "scan"),
        bad("scan timeout out of range", &["--scan", "HIGH", "--scan-timeout-minutes", "0"], "scan-timeout-minutes"),
        bad("scan timeout without scan", &["--scan-timeout-minutes", "10"], "without scan"),
        bad("kms key alias", &["--kms-key", "arn:aws:kms:us-east-1:123456789012:alias/team"], "kms-key"),
        bad(
            "kms key of another region",
            &["--kms-key", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            "S3 and CodeBuild use only keys of their own Region",
        ),
        bad("timeout too short", &["--timeout-minutes", "1"], "timeout-minutes"),
        bad("missing context", &["--context", "/nonexistent/ctx"], "context"),
        bad("missing dockerfile", &["--file", "/nonexistent/Dockerfile"], "dockerfile"),
        bad("kernel spec on jupyterlab", &["--app", "jupyterlab", "--kernel-name", "py"], "kernel-specs"),
        bad("container on kernel gateway", &["--entrypoint", "x"], "container"),
        bad("registry not ECR", &["--registry", "docker.io"], "registries"),
        bad("subnets without vpc", &["--subnet-ids", "subnet-12345678"], "vpc"),
        bad("bad region", &["--region", "mars-1"], "region"),
        bad("display name too long", &["--display-name", &"x".repeat(200)], "display-name"),
        bad_manifest("bad TOML", "[[kernel]\nname = \"a\"\n", "kernel.toml"),
        bad_manifest("unknown key with line", "[[kernel]]\nname = \"a\"\ncontxt = \".\"\n", "contxt"),
        bad_manifest("unknown nested key", "[[kernel]]\nname = \"a\"\n[kernel.vpc]\nsubnet = []\n", "subnet"),
        bad_manifest("duplicate kernel names", "[[kernel]]\nname = \"a\"\n[[kernel]]\nname = \"a\"\n", "twice"),
        bad_manifest("kernel without name", "[[kernel]]\napp = \"jupyterlab\"\n", "no name"),
        bad_manifest("unknown app", "[[kernel]]\nname = \"a\"\napp = \"vscode\"\n", "app"),
        bad_manifest("endpoint-url without a scheme", "[[kernel]]\nname = \"a\"\nendpoint-url = \"127.0.0.1:5199\"\n", "endpoint-url"),
        bad_manifest(
            "two endpoints in one run",
            "[[kernel]]\nname = \"a\"\nendpoint-url = \"http://127.0.0.1:5199\"\n[[kernel]]\nname = \"b\"\n",
            "different endpoints",
        ),
        bad_manifest(
            "six kernel specs",
            "[[kernel]]\nname = \"a\"\nkernel-specs = [{name=\"a\"},{name=\"b\"},{name=\"c\"},{name=\"d\"},{name=\"e\"},{name=\"f\"}]\n",
            "kernel-specs",
        ),
        bad_manifest(
            "build secret with a version stage",
            "[[kernel]]\nname = \"a\"\nbuild-secrets = { T = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:t:key:AWSCURRENT\" }\n",
            "build-secrets",
        ),
        bad_manifest("wrong type", "[[kernel]]\nname = \"a\"\nuid = \"1000\"\n", "uid"),
        bad_manifest("empty attach", "[[kernel]]\nname = \"a\"\nattach = []\n", "attach: empty"),
        bad_manifest("scan severity in the manifest", "[[kernel]]\nname = \"a\"\nscan = \"severe\"\n", "kernel \"a\": scan"),
        bad_manifest("kms key not an ARN", "[[kernel]]\nname = \"a\"\nkms-key = \"my-key\"\n", "kernel \"a\": kms-key"),
        bad_manifest("no kernels", "[defaults]\nregion = \"us-east-1\"\n", "[[kernel]]"),
    ];
    assert!(cases.len() >= 20);
    for case in cases {
        let work = tempfile::tempdir().unwrap();
        let ctx = kernel_dir();
        let out = work.path().join("out");
        let mut cmd = sm();
        if let Some(m) = case.manifest {
            let path = ctx.path().join("kernel.toml");
            let text = if m.starts_with("[defaults]") {
                m.to_string()
            } else {
                format!("{GOOD_DEFAULTS}\n{m}")
            };
            fs::write(&path, text).unwrap();
            cmd.args(["plan", "--config"]).arg(&path);
        } else {
            // The base one-shot flags, minus any the case overrides (clap would otherwise
            // reject the repeat and the case would pass for the wrong reason).
            let base = one_shot(ctx.path());
            let mut i = 1;
            cmd.arg(&base[0]);
            while i < base.len() {
                let flag = &base[i];
                let overridden = case
                    .args
                    .iter()
                    .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
                if !overridden {
                    cmd.args(&base[i..i + 2]);
                }
                i += 2;
            }
        }
        cmd.args(&case.args).arg("--out").arg(&out);
        let assert = cmd.assert();
        let output = assert.get_output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.name);
        assert!(
            stderr.contains(case.expect),
            "{}: expected {:?} in: {stderr}",
            case.name,
            case.expect
        );
        assert!(output.stdout.is_empty(), "{}: printed a plan", case.name);
        assert!(!out.exists(), "{}: wrote {}", case.name, out.display());
    }
}

#[test]
fn out_folder_with_foreign_files_is_refused() {
    let ctx = kernel_dir();
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("thesis.tex"), "mine").unwrap();
    sm().args(one_shot(ctx.path()))
        .arg("--out")
        .arg(work.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("thesis.tex"));
    assert_eq!(fs::read_dir(work.path()).unwrap().count(), 1);
}

#[test]
fn out_folder_inside_the_context_is_refused() {
    let ctx = kernel_dir();
    sm().args(one_shot(ctx.path()))
        .arg("--out")
        .arg(ctx.path().join("plan-out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the build context"));
    assert!(!ctx.path().join("plan-out").exists());
}

#[test]
fn unknown_kernel_and_ambiguous_flags_are_refused() {
    sm().args(["plan", "--config", "examples/release/kernel.toml", "nope"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nope").and(predicate::str::contains("datascience-py312")),
        );
    sm().args([
        "plan",
        "--config",
        "examples/release/kernel.toml",
        "--image-name",
        "x",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--image-name"));
}

#[test]
fn missing_role_domain_and_region_say_where_to_set_them() {
    let ctx = kernel_dir();
    sm().args(["plan", "--image-name", "k", "--context"])
        .arg(ctx.path())
        .args(["--domain-id", "d-abc123", "--region", "us-east-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("role").and(predicate::str::contains("--role")));
    sm().args(["plan", "--image-name", "k", "--context"])
        .arg(ctx.path())
        .args(["--role", ROLE, "--region", "us-east-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--domain-id"));
    sm().args(["plan", "--image-name", "k", "--context"])
        .arg(ctx.path())
        .args(["--role", ROLE, "--domain-id", "d-abc123"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--region"));
}

// ---- permissions ----

const ALL_POLICIES: [&str; 3] = [
    "policies/codebuild-permissions.json",
    "policies/sagemaker-domain.json",
    "policies/sm-kernel-extras.json",
];

/// A whole execution-role trust policy: SageMaker (as every execution role has) plus the
/// published CodeBuild statement.
fn whole_trust(dir: &Path) -> PathBuf {
    let p = dir.join("trust.json");
    fs::write(
        &p,
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Service":["codebuild.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#,
    )
    .unwrap();
    p
}

#[test]
fn the_policies_allow_every_need_of_every_example_for_every_principal() {
    let work = tempfile::tempdir().unwrap();
    let trust = whole_trust(work.path());
    for example in ["python", "jupyterlab", "code-editor", "release"] {
        let out = sm()
            .args(["--output", "json", "permissions", "check", "--config"])
            .arg(format!("examples/{example}/kernel.toml"))
            .arg("--policy-file")
            .args(ALL_POLICIES)
            .arg("--trust-file")
            .arg(&trust)
            .arg("--strict")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["denied"], 0, "{example}: {v:#}");
        assert_eq!(v["unknown"], 0, "{example}: {v:#}");
        let principals: std::collections::BTreeSet<String> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["principal"].to_string())
            .collect();
        assert!(principals.len() >= 4, "{example}: {principals:?}");
    }
}

#[test]
fn without_the_extras_the_check_names_exactly_the_missing_needs() {
    let out = sm()
        .args([
            "--output",
            "json",
            "permissions",
            "check",
            "--config",
            "examples/python/kernel.toml",
        ])
        .arg("--policy-file")
        .args(&ALL_POLICIES[..2])
        .args(["--trust-file", "policies/codebuild-trust.json"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let denied: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["decision"] == "denied")
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    for must in [
        "sagemaker:DescribeDomain",
        "sagemaker:DescribeImage",
        "sagemaker:DescribeImageVersion",
        "codebuild:StopBuild",
        "iam:PassRole",
        "ecr:GetDownloadUrlForLayer",
    ] {
        assert!(
            denied.iter().any(|d| d == must),
            "{must} not reported: {denied:?}"
        );
    }
    // The seed grants these, so they must not be reported.
    for granted in [
        "codebuild:CreateProject",
        "sagemaker:CreateImage",
        "sagemaker:UpdateDomain",
    ] {
        assert!(
            !denied.iter().any(|d| d == granted),
            "{granted} wrongly denied"
        );
    }
    // The seed's PassRole to CodeBuild is allowed; to SageMaker it is not.
    let pass: Vec<(&str, &str)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "iam:PassRole")
        .map(|r| {
            (
                r["context"]["iam:PassedToService"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        pass.contains(&("codebuild.amazonaws.com", "allowed")),
        "{pass:?}"
    );
    assert!(
        pass.contains(&("sagemaker.amazonaws.com", "denied")),
        "{pass:?}"
    );
}

#[test]
fn evaluate_answers_every_vector_through_the_binary() {
    let text = fs::read_to_string("tests/data/iam-vectors.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (i, case) in v["cases"].as_array().unwrap().iter().enumerate() {
        let mut cmd = sm();
        cmd.args(["--output", "json", "permissions", "evaluate"]);
        for (j, p) in case["policies"].as_array().unwrap().iter().enumerate() {
            let path = if let Some(f) = p["file"].as_str() {
                PathBuf::from(f)
            } else {
                let path = work.path().join(format!("c{i}-p{j}.json"));
                let doc = &p["document"];
                let body = match doc.as_str() {
                    Some(s) => s.to_string(),
                    None => doc.to_string(),
                };
                fs::write(&path, body).unwrap();
                path
            };
            cmd.arg("--policy-file").arg(path);
        }
        if let Some(b) = case.get("boundary").filter(|b| !b.is_null()) {
            let path = work.path().join(format!("c{i}-b.json"));
            let doc = if b.get("document").is_some() {
                &b["document"]
            } else {
                b
            };
            fs::write(
                &path,
                doc.as_str().map(str::to_string).unwrap_or(doc.to_string()),
            )
            .unwrap();
            cmd.arg("--boundary-file").arg(path);
        }
        for u in case["unseen"].as_array().into_iter().flatten() {
            cmd.args(["--unseen", u.as_str().unwrap()]);
        }
        let req = &case["request"];
        cmd.args(["--action", req["action"].as_str().unwrap()]);
        cmd.args(["--resource", req["resource"].as_str().unwrap()]);
        for (k, vals) in req["context"].as_object().into_iter().flatten() {
            let vals: Vec<String> = match vals {
                serde_json::Value::Array(a) => {
                    a.iter().map(|x| x.as_str().unwrap().to_string()).collect()
                }
                other => vec![other.as_str().unwrap().to_string()],
            };
            for val in vals {
                cmd.arg("--context").arg(format!("{k}={val}"));
            }
        }
        for a in req["absent"].as_array().into_iter().flatten() {
            cmd.args(["--absent", a.as_str().unwrap()]);
        }
        if req["context_complete"].as_bool() == Some(true) {
            cmd.arg("--context-complete");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "case {:?}: {}",
            case["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            got["decision"], case["expected"],
            "case {:?}: {got:#}",
            case["name"]
        );
        n += 1;
    }
    assert!(n >= 80, "only {n} cases");
}

#[test]
fn permissions_bad_input_is_clear() {
    let work = tempfile::tempdir().unwrap();
    let bad = work.path().join("bad.json");
    fs::write(&bad, "{ not json").unwrap();
    sm().args([
        "permissions",
        "evaluate",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--policy-file",
    ])
    .arg(&bad)
    .assert()
    .code(2)
    .stderr(predicate::str::contains("bad.json"));
    sm().args([
        "permissions",
        "evaluate",
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--policy-file",
        "policies/codebuild-trust.json",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--trust-file"));
    sm().args([
        "permissions",
        "evaluate",
        "--action",
        "s3:GetObject",
        "--resource",
        "bucket/key",
        "--policy-file",
        "policies/codebuild-permissions.json",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("ARN"));
    sm().args([
        "permissions",
        "check",
        "--config",
        "examples/python/kernel.toml",
        "--policy-file",
        "policies/codebuild-trust.json",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--trust-file"));
}

#[test]
fn permissions_show_prints_every_document_and_fills_in_the_account() {
    let out = sm()
        .args([
            "--output",
            "json",
            "permissions",
            "show",
            "--account",
            "111122223333",
            "--region",
            "eu-west-1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for name in [
        "codebuild-trust",
        "codebuild-permissions",
        "sagemaker-domain",
        "sm-kernel-extras",
    ] {
        assert!(v.get(name).is_some(), "{name}");
    }
    let text = v["codebuild-permissions"]["document"].to_string();
    assert!(
        text.contains("arn:aws:codebuild:eu-west-1:111122223333:project/sagemaker-studio*"),
        "{text}"
    );
    sm().args(["permissions", "show", "sagemaker-domain"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sagemaker:UpdateDomain"));
}

/// A manifest of two kernels in `dir`, with `extra` appended to `[defaults]`.
fn two_kernel_manifest(dir: &Path, defaults_extra: &str, kernel_extra: &str) -> PathBuf {
    for name in ["a", "b"] {
        let d = dir.join(name);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("Dockerfile"), "FROM scratch\nCOPY app.py /app.py\n").unwrap();
        fs::write(d.join("app.py"), format!("print({name:?})\n")).unwrap();
    }
    let m = dir.join("kernel.toml");
    fs::write(
        &m,
        format!(
            "[defaults]\nrole = \"{ROLE}\"\ndomain-id = \"d-abcdefghijkl\"\nregion = \"eu-west-1\"\napp = \"jupyterlab\"\n{defaults_extra}\n\
             [[kernel]]\nname = \"a\"\ncontext = \"a\"\n{kernel_extra}\n\
             [[kernel]]\nname = \"b\"\ncontext = \"b\"\n"
        ),
    )
    .unwrap();
    m
}

#[test]
fn region_flag_wins_over_the_manifest() {
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(d.path(), "", "");
    let out = sm()
        .args(["--output", "json", "--config", m.to_str().unwrap()])
        .args(["--region", "us-west-2", "plan"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in plan["kernels"].as_array().unwrap() {
        assert_eq!(k["resources"]["region"], "us-west-2");
    }
    // Without the flag the manifest's region stands, whatever AWS_REGION says.
    let out = sm()
        .env("AWS_REGION", "ap-south-1")
        .args(["--output", "json", "--config", m.to_str().unwrap(), "plan"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["kernels"][0]["resources"]["region"], "eu-west-1");
}

#[test]
fn jobs_is_a_release_setting_checked_before_anything_runs() {
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(d.path(), "jobs = 0", "");
    sm().args(["--config", m.to_str().unwrap(), "publish"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("jobs = 0: must be 1 to 64"));
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(d.path(), "", "jobs = 2");
    sm().args(["--config", m.to_str().unwrap(), "plan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("set it in [defaults]"));
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(d.path(), "jobs = 2", "");
    sm().args(["--config", m.to_str().unwrap(), "plan"])
        .assert()
        .success();
    sm().args(["--config", m.to_str().unwrap(), "publish", "--jobs", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--jobs"));
}

#[test]
fn a_user_profile_plan_writes_the_update_user_profile_body() {
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(d.path(), "", "user-profile = \"alice\"");
    let out = d.path().join("out");
    sm().args(["--config", m.to_str().unwrap(), "plan", "--out"])
        .arg(&out)
        .assert()
        .success();
    let a: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("a/domain-update.json")).unwrap()).unwrap();
    assert_eq!(a["operation"], "UpdateUserProfile");
    assert_eq!(a["request"]["UserProfileName"], "alice");
    assert_eq!(
        a["request"]["UserSettings"]["JupyterLabAppSettings"]["CustomImages"][0]["ImageName"],
        "a"
    );
    assert!(a["request"].get("DefaultUserSettings").is_none());
    let b: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("b/domain-update.json")).unwrap()).unwrap();
    assert_eq!(b["operation"], "UpdateDomain");
    assert!(b["request"]["DefaultUserSettings"].is_object());
}

#[test]
fn space_settings_plan_one_update_domain_or_a_profile_update_and_a_domain_update() {
    let d = tempfile::tempdir().unwrap();
    let m = two_kernel_manifest(
        d.path(),
        "attach = [\"space-settings\", \"user-settings\"]",
        "user-profile = \"alice\"",
    );
    let out = d.path().join("out");
    let text = sm()
        .args(["--config", m.to_str().unwrap(), "plan", "--out"])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("user profile alice's UserSettings.JupyterLabAppSettings.CustomImages and DefaultSpaceSettings.JupyterLabAppSettings.CustomImages gets a"),
        "{text}"
    );
    let read = |k: &str| -> serde_json::Value {
        serde_json::from_slice(&fs::read(out.join(k).join("domain-update.json")).unwrap()).unwrap()
    };
    // a: its profile, then the domain's shared-space defaults.
    let a = read("a");
    assert_eq!(a["operation"], "UpdateUserProfile");
    let ops: Vec<&str> = a["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["UpdateUserProfile", "UpdateDomain"]);
    let domain = &a["updates"][1]["request"];
    assert_eq!(
        domain["DefaultSpaceSettings"]["JupyterLabAppSettings"]["CustomImages"][0]["ImageName"],
        "a"
    );
    assert!(domain.get("DefaultUserSettings").is_none(), "{domain}");
    // b: both lists of the domain in one UpdateDomain.
    let b = read("b");
    assert_eq!(b["updates"].as_array().unwrap().len(), 1);
    assert!(b["request"]["DefaultUserSettings"]["JupyterLabAppSettings"].is_object());
    assert!(b["request"]["DefaultSpaceSettings"]["JupyterLabAppSettings"].is_object());
    // The attach step declares the profile's write and the domain's.
    let plan: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("plan.json")).unwrap()).unwrap();
    let attach: Vec<&str> = plan["kernels"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "domain-attach")
        .unwrap()["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    for op in [
        "DescribeUserProfile",
        "UpdateUserProfile",
        "DescribeDomain",
        "UpdateDomain",
    ] {
        assert!(attach.contains(&op), "{op} not declared: {attach:?}");
    }
}

#[test]
fn build_secrets_are_declared_for_the_build_role_on_exactly_their_arns() {
    let ctx = kernel_dir();
    let inside = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagemaker-pip-AbCdEf";
    let outside = "arn:aws:ssm:us-east-1:123456789012:parameter/ci/npmrc";
    let out = sm()
        .args(["--output", "json"])
        .args(one_shot(ctx.path()))
        .args(["--build-secret", &format!("PIP={inside}:token")])
        .args(["--build-secret", &format!("NPMRC={outside}")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let calls: Vec<(String, String)> = v["kernels"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["calls"].as_array().unwrap().clone())
        .filter(|c| {
            let a = c["action"].as_str().unwrap();
            a.starts_with("secretsmanager:") || a.starts_with("ssm:")
        })
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("ssm:GetParameters".to_string(), outside.to_string()),
            (
                "secretsmanager:GetSecretValue".to_string(),
                inside.to_string()
            ),
        ],
        "{v:#}"
    );
}

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn plan_out_shows_the_scan_gate_and_the_kms_calls() {
    let ctx = kernel_dir();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("plan");
    sm().args(one_shot(ctx.path()))
        .args(["--scan", "critical", "--kms-key", KMS_KEY, "--out"])
        .arg(&out)
        .assert()
        .success();
    let plan: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("plan.json")).unwrap()).unwrap();
    let k = &plan["kernels"][0];
    let ids: Vec<&str> = k["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    assert!(at("verify-image") < at("image-scan") && at("image-scan") < at("image-version"));
    let calls = |id: &str| -> Vec<(String, String, String)> {
        k["steps"][at(id)]["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["operation"].as_str().unwrap().to_string(),
                    c["action"].as_str().unwrap().to_string(),
                    c["resource"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let repo = "arn:aws:ecr:us-east-1:123456789012:repository/sagemaker-studio-my-kernel";
    assert_eq!(
        calls("image-scan"),
        [
            (
                "DescribeImageScanFindings".to_string(),
                "ecr:DescribeImageScanFindings".to_string(),
                repo.to_string()
            ),
            (
                "StartImageScan".into(),
                "ecr:StartImageScan".into(),
                repo.into()
            ),
        ]
    );
    let kms = |id: &str| -> Vec<(String, String)> {
        calls(id)
            .into_iter()
            .filter(|(_, a, r)| a.starts_with("kms:") && r == KMS_KEY)
            .map(|(o, a, _)| (o, a))
            .collect()
    };
    assert_eq!(
        kms("upload"),
        [
            ("PutObject".to_string(), "kms:GenerateDataKey".to_string()),
            ("CreateMultipartUpload".into(), "kms:GenerateDataKey".into()),
            ("UploadPart".into(), "kms:Decrypt".into()),
        ]
    );
    assert_eq!(
        kms("build"),
        [("GetObject".to_string(), "kms:Decrypt".to_string())]
    );
    assert_eq!(k["resources"]["kms_key_arn"], KMS_KEY);
    // Without them, the plan has neither.
    let plain = sm()
        .args(["--output", "json"])
        .args(one_shot(ctx.path()))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(plain).unwrap();
    assert!(
        !text.contains("image-scan") && !text.contains("kms:"),
        "{text}"
    );
}

#[test]
fn the_policies_allow_the_scan_gate_and_a_kms_key_through_s3() {
    let ctx = kernel_dir();
    let work = tempfile::tempdir().unwrap();
    let trust = whole_trust(work.path());
    let check = |policies: &[&str]| -> serde_json::Value {
        let out = sm()
            .args(["--output", "json", "permissions", "check"])
            .args(&one_shot(ctx.path())[1..])
            .args(["--scan", "HIGH", "--kms-key", KMS_KEY])
            .arg("--policy-file")
            .args(policies)
            .arg("--trust-file")
            .arg(&trust)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = check(&ALL_POLICIES);
    assert_eq!(v["denied"], 0, "{v:#}");
    assert_eq!(v["unknown"], 0, "{v:#}");
    let kms: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"].as_str().unwrap().starts_with("kms:"))
        .collect();
    assert_eq!(kms.len(), 3, "{kms:#?}");
    assert!(kms
        .iter()
        .all(|r| r["context"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"));
    // Without the extras, exactly these needs are denied.
    let v = check(&ALL_POLICIES[..2]);
    let denied: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["decision"] == "denied")
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for must in [
        "ecr:DescribeImageScanFindings",
        "ecr:StartImageScan",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    ] {
        assert!(denied.contains(&must), "{must} not denied: {denied:?}");
    }
}
