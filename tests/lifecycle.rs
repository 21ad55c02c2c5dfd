//! The kernel lifecycle end to end against the local sandbox: aliases and version metadata
//! on publish, status, rollback, delete, prune and the smoke test.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use support::studio::{Studio as World, ROLE_ARN};

impl World {
    fn new() -> World {
        World::start(
            r#"{"build_seconds": 1, "image_seconds": 0.2, "image_version_seconds": 0.3, "domain_update_seconds": 0.3, "app_seconds": 0.3}"#,
        )
    }

    /// A kernel.toml for `name` whose context holds one file with `version` in it.
    fn manifest(&self, name: &str, version: &str, extra: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("Dockerfile"),
            "FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu\nCOPY app.py /opt/app.py\n",
        )
        .unwrap();
        fs::write(d.join("app.py"), format!("print({version:?})\n")).unwrap();
        let m = d.join("kernel.toml");
        fs::write(
            &m,
            format!(
                "[defaults]\nregion = \"us-east-1\"\nrole = \"{ROLE_ARN}\"\ndomain-id = \"{}\"\n\n[[kernel]]\nname = \"{name}\"\napp = \"jupyterlab\"\n{extra}\n",
                self.domain
            ),
        )
        .unwrap();
        m
    }

    fn cmd(&self) -> Command {
        self.sb.sm_kernel()
    }

    fn run(&self, manifest: &Path, args: &[&str]) -> Output {
        self.cmd()
            .arg("--config")
            .arg(manifest)
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap()
    }

    fn aliases(&self, image: &str, version: i32) -> Vec<String> {
        self.rt
            .block_on(
                self.sm()
                    .list_aliases()
                    .image_name(image)
                    .version(version)
                    .send(),
            )
            .unwrap()
            .sage_maker_image_version_aliases()
            .to_vec()
    }
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

const META: &str = "aliases = [\"stable\"]\nrelease-notes = \"first\"\njob-type = \"notebook-kernel\"\nprocessor = \"cpu\"\nml-framework = \"PyTorch 2.3\"\nprogramming-lang = \"Python 3.12\"\nhorovod = false\nvendor-guidance = \"stable\"\n";

#[test]
fn aliases_move_to_the_new_version_and_metadata_is_sent() {
    let w = World::new();
    let m = w.manifest("sagemaker-ds", "1", META);
    let out = json_out(&w.run(&m, &["publish"]));
    assert_eq!(out["kernels"][0]["image_version"], 1);
    assert_eq!(w.aliases("sagemaker-ds", 1), ["stable"]);

    let m = w.manifest("sagemaker-ds", "2", META);
    let out = json_out(&w.run(&m, &["publish"]));
    assert_eq!(out["kernels"][0]["image_version"], 2);
    assert_eq!(w.aliases("sagemaker-ds", 2), ["stable"]);
    assert!(
        w.aliases("sagemaker-ds", 1).is_empty(),
        "stable stayed on 1"
    );

    let v =
        w.rt.block_on(
            w.sm()
                .describe_image_version()
                .image_name("sagemaker-ds")
                .version(2)
                .send(),
        )
        .unwrap();
    assert_eq!(v.release_notes(), Some("first"));
    assert_eq!(v.job_type().map(|j| j.as_str()), Some("NOTEBOOK_KERNEL"));
    assert_eq!(v.processor().map(|j| j.as_str()), Some("CPU"));
    assert_eq!(v.ml_framework(), Some("PyTorch 2.3"));
    assert_eq!(v.programming_lang(), Some("Python 3.12"));
    assert_eq!(v.vendor_guidance().map(|j| j.as_str()), Some("STABLE"));
    assert_eq!(v.horovod(), Some(false));

    // The second CreateImageVersion could not carry `stable` (version 1 held it).
    let creates: Vec<Value> =
        w.sb.requests()
            .into_iter()
            .filter(|r| r["operation"] == "CreateImageVersion")
            .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(
        creates[0]["params"]["Aliases"],
        serde_json::json!(["stable"])
    );
    assert!(creates[1]["params"].get("Aliases").is_none());
}

#[test]
fn bad_metadata_exits_2_before_any_call() {
    let w = World::new();
    let m = w.manifest("sagemaker-bad", "1", "processor = \"tpu\"\n");
    let n = w.sb.requests().len();
    let o = w.run(&m, &["publish"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("processor") && err.contains("cpu, gpu"),
        "{err}"
    );
    assert_eq!(w.sb.requests().len(), n);
}

impl World {
    fn writes_since(&self, n: usize) -> Vec<String> {
        self.sb
            .requests()
            .into_iter()
            .skip(n)
            .filter_map(|r| r["operation"].as_str().map(str::to_string))
            .filter(|op| {
                ["Create", "Update", "Delete", "Put", "Start", "Batch"]
                    .iter()
                    .any(|p| op.starts_with(p))
                    && op != "BatchGetBuilds"
            })
            .collect()
    }
}

#[test]
fn status_rollback_and_publish_again() {
    let w = World::new();
    let other = w.manifest("sagemaker-other", "1", "");
    json_out(&w.run(&other, &["publish"]));
    let m = w.manifest("sagemaker-ds", "1", "aliases = [\"stable\"]\n");
    let s = json_out(&w.run(&m, &["status"]));
    assert_eq!(s["kernels"][0]["verdict"], "missing");
    json_out(&w.run(&m, &["publish"]));
    let m = w.manifest("sagemaker-ds", "2", "aliases = [\"stable\"]\n");
    let s = json_out(&w.run(&m, &["status"]));
    assert_eq!(s["kernels"][0]["verdict"], "would-build", "{s}");
    assert_eq!(w.run(&m, &["status", "--exit-code"]).status.code(), Some(4));
    json_out(&w.run(&m, &["publish"]));
    let s = json_out(&w.run(&m, &["status", "--exit-code"]));
    assert_eq!(s["kernels"][0]["verdict"], "up-to-date", "{s}");
    assert_eq!(s["kernels"][0]["attached_version"], 2);

    // Without --yes nothing changes.
    let n = w.sb.requests().len();
    let plan = json_out(&w.run(&m, &["rollback", "sagemaker-ds", "--to", "1"]));
    assert_eq!(plan["kernels"][0]["applied"], false);
    assert_eq!(plan["kernels"][0]["from_version"], 2);
    assert!(w.writes_since(n).is_empty(), "{:?}", w.writes_since(n));

    let done = json_out(&w.run(&m, &["rollback", "sagemaker-ds", "--to", "1", "--yes"]));
    assert_eq!(done["kernels"][0]["applied"], true);
    assert_eq!(
        w.list("user"),
        [
            ("sagemaker-other".to_string(), None),
            ("sagemaker-ds".to_string(), Some(1))
        ]
    );
    assert_eq!(w.aliases("sagemaker-ds", 1), ["stable"]);
    assert!(w.aliases("sagemaker-ds", 2).is_empty());
    let o = w.run(&m, &["status", "--exit-code"]);
    assert_eq!(o.status.code(), Some(4));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["kernels"][0]["verdict"], "would-attach");
    assert_eq!(s["kernels"][0]["pinned_version"], 1);

    // An unchanged publish restores the newest version.
    let out = json_out(&w.run(&m, &["publish"]));
    assert_eq!(out["kernels"][0]["image_version"], 2);
    assert_eq!(
        w.list("user"),
        [
            ("sagemaker-other".to_string(), None),
            ("sagemaker-ds".to_string(), None)
        ]
    );
    assert_eq!(w.aliases("sagemaker-ds", 2), ["stable"]);
    json_out(&w.run(&m, &["status", "--exit-code"]));
}

#[test]
fn rollback_to_an_unknown_version_fails_and_changes_nothing() {
    let w = World::new();
    let m = w.manifest("sagemaker-rb", "1", "");
    json_out(&w.run(&m, &["publish"]));
    let n = w.sb.requests().len();
    let o = w.run(&m, &["rollback", "sagemaker-rb", "--to", "7", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no version 7"));
    let o = w.run(&m, &["rollback", "sagemaker-rb", "--to", "nope", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(w.writes_since(n).is_empty());
}

impl World {
    fn image_gone(&self, name: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self
                .rt
                .block_on(self.sm().describe_image().image_name(name).send())
            {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found()) =>
                {
                    return true
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        false
    }

    fn repository_exists(&self, name: &str) -> bool {
        let ecr = aws_sdk_ecr::Client::new(&self.cfg);
        self.rt
            .block_on(ecr.describe_repositories().repository_names(name).send())
            .is_ok()
    }
}

#[test]
fn delete_is_dry_without_yes_refuses_running_apps_and_keeps_others() {
    let w = World::new();
    let other = w.manifest("sagemaker-other", "1", "");
    json_out(&w.run(&other, &["publish"]));
    let m = w.manifest("sagemaker-gone", "1", "");
    json_out(&w.run(&m, &["publish"]));

    let n = w.sb.requests().len();
    let dry = json_out(&w.run(&m, &["delete", "sagemaker-gone"]));
    assert_eq!(dry["kernels"][0]["applied"], false);
    assert_eq!(dry["kernels"][0]["versions"], serde_json::json!([1]));
    assert!(w.writes_since(n).is_empty(), "{:?}", w.writes_since(n));

    // An app running the image blocks the delete.
    let sm = w.sm();
    let image_arn = "arn:aws:sagemaker:us-east-1:123456789012:image/sagemaker-gone";
    w.rt.block_on(async {
        sm.create_user_profile()
            .domain_id(&w.domain)
            .user_profile_name("alice")
            .send()
            .await
            .unwrap();
        sm.create_app()
            .domain_id(&w.domain)
            .user_profile_name("alice")
            .app_type(aws_sdk_sagemaker::types::AppType::JupyterLab)
            .app_name("default")
            .resource_spec(
                aws_sdk_sagemaker::types::ResourceSpec::builder()
                    .sage_maker_image_arn(image_arn)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let o = w.run(&m, &["delete", "sagemaker-gone", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("JupyterLab app default of user profile alice"),
        "{err}"
    );
    assert!(w
        .writes_since(n)
        .iter()
        .all(|op| op == "CreateUserProfile" || op == "CreateApp"));
    w.rt.block_on(async {
        // Pending apps cannot be deleted yet; wait for InService, then delete it.
        for _ in 0..100 {
            let a = sm
                .describe_app()
                .domain_id(&w.domain)
                .user_profile_name("alice")
                .app_type(aws_sdk_sagemaker::types::AppType::JupyterLab)
                .app_name("default")
                .send()
                .await
                .unwrap();
            if a.status().map(|s| s.as_str()) == Some("InService") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sm.delete_app()
            .domain_id(&w.domain)
            .user_profile_name("alice")
            .app_type(aws_sdk_sagemaker::types::AppType::JupyterLab)
            .app_name("default")
            .send()
            .await
            .unwrap();
    });

    let done = json_out(&w.run(&m, &["delete", "sagemaker-gone", "--yes"]));
    assert_eq!(done["kernels"][0]["applied"], true);
    assert_eq!(w.list("user"), [("sagemaker-other".to_string(), None)]);
    assert!(w.image_gone("sagemaker-gone"));
    let aic = w.rt.block_on(
        sm.describe_app_image_config()
            .app_image_config_name("sagemaker-gone")
            .send(),
    );
    assert!(aic.is_err(), "app image config still there");
    assert!(w.repository_exists("sagemaker-studio-sagemaker-gone"));
    assert!(
        w.rt.block_on(sm.describe_image().image_name("sagemaker-other").send())
            .is_ok(),
        "the other team's image was deleted"
    );
}

#[test]
fn prune_keeps_the_newest_the_attached_and_the_aliased() {
    let w = World::new();
    let mut m = PathBuf::new();
    let mut tags = Vec::new();
    let mut keys = Vec::new();
    for v in 1..=4 {
        m = w.manifest("sagemaker-pr", &v.to_string(), "");
        let out = json_out(&w.run(&m, &["publish"]));
        assert_eq!(out["kernels"][0]["image_version"], v);
        let plan = json_out(&w.run(&m, &["plan"]));
        keys.push((
            plan["kernels"][0]["resources"]["bucket"]
                .as_str()
                .unwrap()
                .to_string(),
            plan["kernels"][0]["resources"]["source_key"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
        tags.push(
            plan["kernels"][0]["resources"]["image_tag"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    w.rt.block_on(
        w.sm()
            .update_image_version()
            .image_name("sagemaker-pr")
            .version(2)
            .aliases_to_add("legacy")
            .send(),
    )
    .unwrap();
    json_out(&w.run(&m, &["rollback", "sagemaker-pr", "--to", "3", "--yes"]));

    let n = w.sb.requests().len();
    let dry = json_out(&w.run(&m, &["prune", "sagemaker-pr", "--keep", "1"]));
    assert_eq!(
        dry["kernels"][0]["deleted_versions"],
        serde_json::json!([1])
    );
    assert!(w.writes_since(n).is_empty(), "{:?}", w.writes_since(n));

    let done = json_out(&w.run(&m, &["prune", "sagemaker-pr", "--keep", "1", "--yes"]));
    let kept: Vec<(i64, String)> = done["kernels"][0]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["version"].as_i64().unwrap(),
                k["why"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (4, "one of the newest 1".to_string()),
            (3, "attached".to_string()),
            (2, "holds legacy".to_string())
        ]
    );
    assert_eq!(
        done["kernels"][0]["deleted_tags"],
        serde_json::json!([tags[0]])
    );
    // The deleted version's context goes from S3; the kept versions' contexts stay.
    assert_eq!(
        done["kernels"][0]["deleted_contexts"],
        serde_json::json!([format!("s3://{}/{}", keys[0].0, keys[0].1)])
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&w.cfg)
            .force_path_style(true)
            .build(),
    );
    for (i, (bucket, key)) in keys.iter().enumerate() {
        let there =
            w.rt.block_on(s3.head_object().bucket(bucket).key(key).send())
                .is_ok();
        assert_eq!(there, i > 0, "context of version {}", i + 1);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let versions: Vec<i32> =
            w.rt.block_on(
                w.sm()
                    .list_image_versions()
                    .image_name("sagemaker-pr")
                    .send(),
            )
            .unwrap()
            .image_versions()
            .iter()
            .filter_map(|v| v.version())
            .collect();
        if versions == [4, 3, 2] {
            break;
        }
        assert!(Instant::now() < deadline, "versions left: {versions:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ecr = aws_sdk_ecr::Client::new(&w.cfg);
    let left: Vec<String> =
        w.rt.block_on(
            ecr.list_images()
                .repository_name("sagemaker-studio-sagemaker-pr")
                .send(),
        )
        .unwrap()
        .image_ids()
        .iter()
        .filter_map(|i| i.image_tag().map(str::to_string))
        .collect();
    assert!(!left.contains(&tags[0]), "{left:?}");
    for t in &tags[1..] {
        assert!(
            left.contains(t),
            "tag {t} of a kept version was deleted: {left:?}"
        );
    }
}

impl World {
    fn create_profile(&self, name: &str) {
        self.rt
            .block_on(
                self.sm()
                    .create_user_profile()
                    .domain_id(&self.domain)
                    .user_profile_name(name)
                    .send(),
            )
            .unwrap();
    }

    /// Apps that are not Deleted, and spaces, left in the domain.
    fn leftovers(&self) -> (Vec<String>, Vec<String>) {
        let sm = self.sm();
        self.rt.block_on(async {
            let apps = sm
                .list_apps()
                .domain_id_equals(&self.domain)
                .send()
                .await
                .unwrap()
                .apps()
                .iter()
                .filter(|a| a.status().map(|s| s.as_str()) != Some("Deleted"))
                .map(|a| a.app_name().unwrap_or_default().to_string())
                .collect();
            let spaces = sm
                .list_spaces()
                .domain_id_equals(&self.domain)
                .send()
                .await
                .unwrap()
                .spaces()
                .iter()
                .map(|s| s.space_name().unwrap_or_default().to_string())
                .collect();
            (apps, spaces)
        })
    }
}

#[test]
fn smoke_test_passes_and_a_failing_one_reports_the_reason_and_leaves_nothing() {
    let w = World::new();
    let m = w.manifest("sagemaker-smk", "1", "");
    json_out(&w.run(&m, &["publish"]));
    w.create_profile("alice");

    let o = w.run(&m, &["smoke-test", "sagemaker-smk"]);
    assert_eq!(o.status.code(), Some(2), "no --user-profile is bad input");

    let ok = json_out(&w.run(
        &m,
        &["smoke-test", "sagemaker-smk", "--user-profile", "alice"],
    ));
    assert_eq!(ok["passed"], true);
    assert_eq!(ok["status"], "InService");
    assert_eq!(ok["cleaned_up"], true);

    w.sb.post(
        "/_sandbox/faults",
        r#"{"app_fail": "kernel died: No module named ipykernel"}"#,
    );
    let o = w.run(
        &m,
        &["smoke-test", "sagemaker-smk", "--user-profile", "alice"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], "Failed");
    assert_eq!(
        out["failure_reason"],
        "kernel died: No module named ipykernel"
    );
    assert_eq!(out["cleaned_up"], true);
    assert!(String::from_utf8_lossy(&o.stderr).contains("No module named ipykernel"));
    // Space deletion is asynchronous: it is gone after Deleting.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (apps, spaces) = w.leftovers();
        if apps.is_empty() && spaces.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: apps {apps:?}, spaces {spaces:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ops: Vec<String> =
        w.sb.requests()
            .iter()
            .filter_map(|r| r["operation"].as_str().map(str::to_string))
            .collect();
    assert_eq!(ops.iter().filter(|o| *o == "CreateSpace").count(), 2);
    assert_eq!(ops.iter().filter(|o| *o == "DeleteSpace").count(), 2);
    assert_eq!(ops.iter().filter(|o| *o == "DeleteApp").count(), 2);
}

const ALL_POLICIES: [&str; 4] = [
    "policies/codebuild-permissions.json",
    "policies/sagemaker-domain.json",
    "policies/sm-kernel-extras.json",
    "policies/codebuild-trust.json",
];

#[test]
fn the_policies_allow_every_need_of_every_lifecycle_command() {
    for example in ["python", "jupyterlab"] {
        for command in ["status", "rollback", "delete", "prune", "smoke-test"] {
            let out = support::sm_kernel()
                .args(["--output", "json", "permissions", "check", "--config"])
                .arg(format!("examples/{example}/kernel.toml"))
                .args(["--command", command, "--strict", "--policy-file"])
                .args(&ALL_POLICIES[..3])
                .output()
                .unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            assert!(
                out.status.success(),
                "{example} {command}: {v:#}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(v["denied"], 0, "{example} {command}: {v:#}");
            assert!(
                !v["results"].as_array().unwrap().is_empty(),
                "{example} {command}: no needs checked"
            );
        }
    }
    let o = support::sm_kernel()
        .args([
            "permissions",
            "check",
            "--config",
            "examples/python/kernel.toml",
        ])
        .args(["--command", "deploy", "--policy-file", ALL_POLICIES[2]])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Every call a lifecycle command makes is one its step declares.
fn declared(w: &World, m: &Path, command: &str) -> Vec<(String, String)> {
    let o = w
        .cmd()
        .arg("--config")
        .arg(m)
        .args([
            "--output",
            "json",
            "permissions",
            "check",
            "--command",
            command,
        ])
        .args(["--policy-file", "policies/sm-kernel-extras.json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let service = r["action"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_string();
            r["operations"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |op| (service.clone(), op.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_call_a_lifecycle_command_makes_is_declared() {
    let w = World::new();
    let m = w.manifest("sagemaker-audit", "1", "aliases = [\"stable\"]\n");
    json_out(&w.run(&m, &["publish"]));
    let m = w.manifest("sagemaker-audit", "2", "aliases = [\"stable\"]\n");
    json_out(&w.run(&m, &["publish"]));
    w.create_profile("alice");
    let runs: [(&str, Vec<&str>); 5] = [
        ("status", vec!["status"]),
        (
            "rollback",
            vec!["rollback", "sagemaker-audit", "--to", "1", "--yes"],
        ),
        (
            "smoke-test",
            vec!["smoke-test", "sagemaker-audit", "--user-profile", "alice"],
        ),
        (
            "prune",
            vec!["prune", "sagemaker-audit", "--keep", "1", "--yes"],
        ),
        (
            "delete",
            vec!["delete", "sagemaker-audit", "--delete-repository", "--yes"],
        ),
    ];
    for (command, args) in runs {
        let known = declared(&w, &m, command);
        let n = w.sb.requests().len();
        json_out(&w.run(&m, &args));
        for r in w.sb.requests().into_iter().skip(n) {
            let key = (
                r["service"].as_str().unwrap_or("").to_string(),
                r["operation"].as_str().unwrap_or("").to_string(),
            );
            assert!(
                known.contains(&key),
                "{command}: call {key:?} is not declared"
            );
        }
    }
}

#[test]
fn publish_smoke_test_starts_the_published_kernel_and_fails_with_the_reason() {
    let w = World::new();
    let m = w.manifest("sagemaker-pst", "1", "");
    let o = w.run(&m, &["publish", "--smoke-test"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "no user profile to run as is bad input"
    );
    w.create_profile("alice");
    let ok = json_out(&w.run(
        &m,
        &["publish", "--smoke-test", "--smoke-user-profile", "alice"],
    ));
    assert_eq!(ok["kernels"][0]["status"], "published");
    assert_eq!(ok["smoke_tests"][0]["passed"], true, "{ok}");
    assert_eq!(ok["smoke_tests"][0]["cleaned_up"], true);

    w.sb.post(
        "/_sandbox/faults",
        r#"{"app_fail": "kernel died at start"}"#,
    );
    let o = w.run(
        &m,
        &["publish", "--smoke-test", "--smoke-user-profile", "alice"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["kernels"][0]["status"], "published");
    assert_eq!(
        out["smoke_tests"][0]["failure_reason"],
        "kernel died at start"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("kernel died at start"));
}

impl World {
    /// JupyterLab custom images of one settings list — `"user"` (the domain's default user
    /// settings), `"space"` (its default space settings) or a user profile's name — as
    /// (image, pinned version).
    fn list(&self, of: &str) -> Vec<(String, Option<i32>)> {
        let sm = self.sm();
        let images = self.rt.block_on(async {
            match of {
                "user" | "space" => {
                    let d = sm
                        .describe_domain()
                        .domain_id(&self.domain)
                        .send()
                        .await
                        .unwrap();
                    if of == "user" {
                        d.default_user_settings()
                            .and_then(|s| s.jupyter_lab_app_settings())
                            .map(|a| a.custom_images().to_vec())
                    } else {
                        d.default_space_settings()
                            .and_then(|s| s.jupyter_lab_app_settings())
                            .map(|a| a.custom_images().to_vec())
                    }
                }
                profile => sm
                    .describe_user_profile()
                    .domain_id(&self.domain)
                    .user_profile_name(profile)
                    .send()
                    .await
                    .unwrap()
                    .user_settings()
                    .and_then(|s| s.jupyter_lab_app_settings())
                    .map(|a| a.custom_images().to_vec()),
            }
        });
        images
            .unwrap_or_default()
            .iter()
            .map(|c| {
                (
                    c.image_name().unwrap_or_default().to_string(),
                    c.image_version_number(),
                )
            })
            .collect()
    }

    fn count_since(&self, n: usize, operation: &str) -> usize {
        self.writes_since(n)
            .iter()
            .filter(|op| *op == operation)
            .count()
    }
}

fn entries(list: &[(&str, Option<i32>)]) -> Vec<(String, Option<i32>)> {
    list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

const BOTH: &str = "attach = [\"user-settings\", \"space-settings\"]\n";

#[test]
fn space_settings_join_the_domain_update_and_every_lifecycle_command_follows_them() {
    use aws_sdk_sagemaker::types::{
        AppInstanceType, DefaultSpaceSettings, JupyterLabAppSettings, ResourceSpec,
    };
    let w = World::new();
    // The shared-space defaults already hold settings of their own, which must survive.
    w.rt.block_on(
        w.sm()
            .update_domain()
            .domain_id(&w.domain)
            .default_space_settings(
                DefaultSpaceSettings::builder()
                    .execution_role(ROLE_ARN)
                    .jupyter_lab_app_settings(
                        JupyterLabAppSettings::builder()
                            .default_resource_spec(
                                ResourceSpec::builder()
                                    .instance_type(AppInstanceType::MlT3Large)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .unwrap();
    w.wait_domain();
    let team = w.manifest("sagemaker-team", "1", BOTH);
    json_out(&w.run(&team, &["publish"]));

    let m = w.manifest("sagemaker-sp", "1", BOTH);
    let n = w.sb.requests().len();
    let out = json_out(&w.run(&m, &["publish"]));
    assert_eq!(
        w.count_since(n, "UpdateDomain"),
        1,
        "one update for both lists"
    );
    let updates = out["domain_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "{out}");
    assert_eq!(
        updates[0]["settings"],
        serde_json::json!(["DefaultSpaceSettings", "DefaultUserSettings"])
    );
    assert_eq!(
        out["kernels"][0]["attached_to"],
        serde_json::json!([
            format!("domain {} default user settings", w.domain),
            format!("domain {} default space settings", w.domain)
        ])
    );
    let both = entries(&[("sagemaker-team", None), ("sagemaker-sp", None)]);
    assert_eq!(w.list("user"), both);
    assert_eq!(w.list("space"), both);
    let d =
        w.rt.block_on(w.sm().describe_domain().domain_id(&w.domain).send())
            .unwrap();
    let space = d.default_space_settings().unwrap();
    assert_eq!(space.execution_role(), Some(ROLE_ARN));
    assert_eq!(
        space
            .jupyter_lab_app_settings()
            .and_then(|a| a.default_resource_spec())
            .and_then(|r| r.instance_type()),
        Some(&AppInstanceType::MlT3Large),
        "the space defaults lost their own settings"
    );

    let m = w.manifest("sagemaker-sp", "2", BOTH);
    json_out(&w.run(&m, &["publish"]));
    let s = json_out(&w.run(&m, &["status", "--exit-code"]));
    let places = s["kernels"][0]["places"].as_array().unwrap();
    assert_eq!(places.len(), 2, "{s}");
    assert!(places
        .iter()
        .all(|p| p["attached"] == true && p["attached_version"] == 2));

    // Rollback pins the entry in both lists with one update.
    let n = w.sb.requests().len();
    json_out(&w.run(&m, &["rollback", "sagemaker-sp", "--to", "1", "--yes"]));
    assert_eq!(w.count_since(n, "UpdateDomain"), 1);
    let pinned = entries(&[("sagemaker-team", None), ("sagemaker-sp", Some(1))]);
    assert_eq!(w.list("user"), pinned);
    assert_eq!(w.list("space"), pinned);
    let o = w.run(&m, &["status", "--exit-code"]);
    assert_eq!(o.status.code(), Some(4));

    // A colleague pins version 1 in a profile of their own, which sm-kernel was never told of.
    w.create_profile("bob");
    w.rt.block_on(
        w.sm()
            .update_user_profile()
            .domain_id(&w.domain)
            .user_profile_name("bob")
            .user_settings(
                aws_sdk_sagemaker::types::UserSettings::builder()
                    .jupyter_lab_app_settings(
                        JupyterLabAppSettings::builder()
                            .custom_images(
                                aws_sdk_sagemaker::types::CustomImage::builder()
                                    .image_name("sagemaker-sp")
                                    .app_image_config_name("sagemaker-sp")
                                    .image_version_number(1)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .unwrap();

    // Publishing the unchanged context un-pins both lists; bob's pin is his.
    json_out(&w.run(&m, &["publish"]));
    assert_eq!(w.list("user"), both);
    assert_eq!(w.list("space"), both);
    assert_eq!(w.list("bob"), entries(&[("sagemaker-sp", Some(1))]));
    json_out(&w.run(&m, &["status", "--exit-code"]));

    // Prune keeps what any list of the domain starts.
    let p = json_out(&w.run(&m, &["prune", "sagemaker-sp", "--keep", "1"]));
    assert_eq!(
        p["kernels"][0]["deleted_versions"],
        serde_json::json!([]),
        "{p}"
    );
    assert_eq!(p["kernels"][0]["kept"][1]["why"], "attached");

    // Delete removes the entry from every list that names it, the team's entries kept.
    let dry = json_out(&w.run(&m, &["delete", "sagemaker-sp"]));
    assert_eq!(
        dry["kernels"][0]["entries"],
        serde_json::json!([
            format!("domain {} default user settings", w.domain),
            format!("domain {} default space settings", w.domain),
            "user profile bob"
        ])
    );
    json_out(&w.run(&m, &["delete", "sagemaker-sp", "--yes"]));
    let team_only = entries(&[("sagemaker-team", None)]);
    assert_eq!(w.list("user"), team_only);
    assert_eq!(w.list("space"), team_only);
    assert!(w.list("bob").is_empty());
    assert!(w.image_gone("sagemaker-sp"));
    json_out(&w.run(&team, &["status", "--exit-code"]));
}

#[test]
fn a_user_profile_with_space_settings_updates_the_profile_and_the_domain() {
    let w = World::new();
    w.create_profile("alice");
    let m = w.manifest(
        "sagemaker-ap",
        "1",
        &format!("user-profile = \"alice\"\n{BOTH}"),
    );
    let n = w.sb.requests().len();
    let out = json_out(&w.run(&m, &["publish"]));
    assert_eq!(w.count_since(n, "UpdateDomain"), 1);
    assert_eq!(w.count_since(n, "UpdateUserProfile"), 1);
    let updates = out["domain_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2, "{out}");
    assert_eq!(out["kernels"][0]["status"], "published");
    assert_eq!(out["kernels"][0]["user_profile"], "alice");
    let mine = entries(&[("sagemaker-ap", None)]);
    assert_eq!(w.list("alice"), mine);
    assert_eq!(w.list("space"), mine);
    assert!(
        w.list("user").is_empty(),
        "the domain's user defaults were not asked for"
    );
    let s = json_out(&w.run(&m, &["status", "--exit-code"]));
    assert_eq!(s["kernels"][0]["settings"], "user profile alice");
    // Nothing to do the second time.
    let n = w.sb.requests().len();
    let again = json_out(&w.run(&m, &["publish"]));
    assert_eq!(
        w.count_since(n, "UpdateDomain") + w.count_since(n, "UpdateUserProfile"),
        0
    );
    assert!(again["domain_updates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["sent"] == false));
}

#[test]
fn lifecycle_commands_act_in_each_kernels_own_region() {
    let w = World::new();
    let eu = w.domain_in("eu-west-1");
    let us = w.manifest("sagemaker-us", "1", "");
    let eu_ctx = w.manifest("sagemaker-eu", "1", "");
    let m = w.dir.path().join("two-regions.toml");
    fs::write(
        &m,
        format!(
            "[defaults]\nrole = \"{ROLE_ARN}\"\napp = \"jupyterlab\"\n\n\
             [[kernel]]\nname = \"sagemaker-us\"\nregion = \"us-east-1\"\ndomain-id = \"{}\"\ncontext = \"{}\"\n\n\
             [[kernel]]\nname = \"sagemaker-eu\"\nregion = \"eu-west-1\"\ndomain-id = \"{eu}\"\ncontext = \"{}\"\n",
            w.domain,
            us.parent().unwrap().display(),
            eu_ctx.parent().unwrap().display()
        ),
    )
    .unwrap();
    json_out(&w.run(&m, &["publish"]));
    let s = json_out(&w.run(&m, &["status", "--exit-code"]));
    let verdicts: Vec<&str> = s["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["up-to-date", "up-to-date"], "{s}");
    let n = w.sb.requests().len();
    let d = json_out(&w.run(&m, &["delete", "sagemaker-eu", "--yes"]));
    assert_eq!(d["kernels"][0]["applied"], true);
    let regions: Vec<String> =
        w.sb.requests()
            .into_iter()
            .skip(n)
            .filter(|r| r["service"] == "sagemaker")
            .map(|r| r["region"].as_str().unwrap_or_default().to_string())
            .collect();
    assert!(
        !regions.is_empty() && regions.iter().all(|r| r == "eu-west-1"),
        "{regions:?}"
    );
    let s = json_out(&w.run(&m, &["status"]));
    assert_eq!(s["kernels"][0]["verdict"], "up-to-date");
    assert_eq!(s["kernels"][1]["verdict"], "missing");
}

#[test]
fn publish_right_after_delete_waits_for_the_old_image_and_makes_it_anew() {
    let w = World::new();
    let m = w.manifest("sagemaker-again", "1", "");
    json_out(&w.run(&m, &["publish"]));
    // Deleting takes a while, as it does in AWS.
    w.sb.post("/_sandbox/config", r#"{"image_seconds": 3}"#);
    json_out(&w.run(&m, &["delete", "sagemaker-again", "--yes"]));
    let o = w.run(&m, &["publish"]);
    let out = json_out(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("finish deleting"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out["kernels"][0]["status"], "published");
    assert_eq!(out["kernels"][0]["image_version"], 1, "{out}");
    json_out(&w.run(&m, &["status", "--exit-code"]));
}
