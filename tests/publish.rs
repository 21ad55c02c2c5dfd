//! `check`, `build` and `publish` end to end against the local sandbox (moto plus our
//! SageMaker and CodeBuild extension): the real binary, the real SDK serialisation.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{json, Value};
use support::Sandbox;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Exec";
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

struct World {
    sb: Sandbox,
    rt: tokio::runtime::Runtime,
    cfg: aws_config::SdkConfig,
    domain: String,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let sb = Sandbox::start();
        sb.post(
            "/_sandbox/config",
            r#"{"build_seconds": 2, "image_seconds": 0.2, "image_version_seconds": 0.3, "domain_update_seconds": 0.3}"#,
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cfg = sb.sdk_config(&rt);
        let iam = aws_sdk_iam::Client::new(&cfg);
        let sm = aws_sdk_sagemaker::Client::new(&cfg);
        let domain = rt.block_on(async {
            iam.create_role()
                .role_name("Exec")
                .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["sagemaker.amazonaws.com","codebuild.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#)
                .send()
                .await
                .unwrap();
            for p in ["codebuild-permissions", "sagemaker-domain", "sm-kernel-extras"] {
                iam.put_role_policy()
                    .role_name("Exec")
                    .policy_name(p)
                    .policy_document(fs::read_to_string(format!("policies/{p}.json")).unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            let d = sm
                .create_domain()
                .domain_name("studio")
                .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
                .default_user_settings(
                    aws_sdk_sagemaker::types::UserSettings::builder()
                        .execution_role(ROLE_ARN)
                        .build(),
                )
                .subnet_ids("subnet-12345678")
                .vpc_id("vpc-12345678")
                .send()
                .await
                .unwrap();
            d.domain_id().unwrap().to_string()
        });
        let dir = tempfile::tempdir().unwrap();
        let w = World {
            sb,
            rt,
            cfg,
            domain,
            dir,
        };
        w.wait_domain();
        w
    }

    fn sm(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.cfg)
    }

    fn wait_domain(&self) {
        let sm = self.sm();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let s = self
                .rt
                .block_on(sm.describe_domain().domain_id(&self.domain).send())
                .unwrap();
            if s.status().map(|s| s.as_str()) == Some("InService") {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("domain never InService");
    }

    /// A kernel context with one file whose content is `version`, on a base that passes the
    /// in-image checks of every app type (user 1000:100, python3 kernel, JupyterLab 4, Code
    /// Editor).
    fn context(&self, name: &str, version: &str) -> PathBuf {
        self.context_with(
            name,
            version,
            "FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu\nCOPY app.py /opt/app.py\n",
        )
    }

    fn context_with(&self, name: &str, version: &str, dockerfile: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("Dockerfile"), dockerfile).unwrap();
        fs::write(d.join("app.py"), format!("print({version:?})\n")).unwrap();
        d
    }

    /// Tags in the kernel's ECR repository (none when it does not exist).
    fn pushed_tags(&self, repo: &str) -> Vec<String> {
        let ecr = aws_sdk_ecr::Client::new(&self.cfg);
        match self
            .rt
            .block_on(ecr.list_images().repository_name(repo).send())
        {
            Ok(out) => out
                .image_ids()
                .iter()
                .filter_map(|i| i.image_tag().map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn cmd(&self) -> Command {
        self.sb.sm_kernel()
    }

    fn kernel_args(&self, name: &str, ctx: &Path, app: &str) -> Vec<String> {
        let mut v: Vec<String> = [
            "--image-name",
            name,
            "--role",
            ROLE_ARN,
            "--domain-id",
            &self.domain,
            "--region",
            "us-east-1",
            "--app",
            app,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push("--context".into());
        v.push(ctx.display().to_string());
        if app == "kernel-gateway" {
            v.extend(["--kernel-name".into(), "python3".into()]);
        }
        v
    }

    fn publish(&self, name: &str, ctx: &Path, app: &str, extra: &[&str]) -> Output {
        self.cmd()
            .args(["--output", "json", "publish"])
            .args(self.kernel_args(name, ctx, app))
            .args(extra)
            .output()
            .unwrap()
    }

    fn requests_since(&self, n: usize) -> Vec<Value> {
        self.sb.requests().into_iter().skip(n).collect()
    }

    fn ops(reqs: &[Value], op: &str) -> usize {
        reqs.iter().filter(|r| r["operation"] == op).count()
    }

    fn custom_images(&self, member: &str) -> Vec<String> {
        let d = self
            .rt
            .block_on(self.sm().describe_domain().domain_id(&self.domain).send())
            .unwrap();
        let s = d
            .default_user_settings()
            .cloned()
            .unwrap_or_else(|| aws_sdk_sagemaker::types::UserSettings::builder().build());
        let imgs = match member {
            "kg" => s
                .kernel_gateway_app_settings()
                .map(|a| a.custom_images().to_vec()),
            "jl" => s
                .jupyter_lab_app_settings()
                .map(|a| a.custom_images().to_vec()),
            _ => s
                .code_editor_app_settings()
                .map(|a| a.custom_images().to_vec()),
        };
        imgs.unwrap_or_default()
            .iter()
            .map(|c| c.image_name().unwrap_or_default().to_string())
            .collect()
    }

    fn project_exists(&self, name: &str) -> bool {
        let cb = aws_sdk_codebuild::Client::new(&self.cfg);
        let out = self
            .rt
            .block_on(cb.batch_get_projects().names(name).send())
            .unwrap();
        !out.projects().is_empty()
    }
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn happy_path_for_every_app_type_reads_back_from_the_sandbox() {
    let w = World::new();
    for (name, app, member) in [
        ("kg-kernel", "kernel-gateway", "kg"),
        ("lab-space", "jupyterlab", "jl"),
        ("editor-space", "code-editor", "ce"),
    ] {
        let ctx = w.context(name, "1");
        let out = json_out(&w.publish(name, &ctx, app, &[]));
        let k = &out["kernels"][0];
        assert_eq!(k["name"], name);
        let uri = k["image_uri"].as_str().unwrap();
        assert!(
            uri.starts_with(&format!("{REGISTRY}/sagemaker-studio-{name}@sha256:")),
            "{uri}"
        );
        assert_eq!(k["image_version"], 1);
        assert_eq!(k["domain_id"], json!(w.domain));
        assert!(k["build_id"]
            .as_str()
            .unwrap()
            .contains("sagemaker-studio-"));
        // Read the sandbox back.
        let sm = w.sm();
        let v =
            w.rt.block_on(
                sm.describe_image_version()
                    .image_name(name)
                    .version(1)
                    .send(),
            )
            .unwrap();
        assert_eq!(v.image_version_status().unwrap().as_str(), "CREATED");
        assert_eq!(v.container_image().unwrap(), uri);
        let cfg =
            w.rt.block_on(
                sm.describe_app_image_config()
                    .app_image_config_name(name)
                    .send(),
            )
            .unwrap();
        let fs_cfg = match app {
            "kernel-gateway" => {
                let kg = cfg.kernel_gateway_image_config().unwrap();
                assert_eq!(kg.kernel_specs()[0].name(), Some("python3"));
                kg.file_system_config().cloned()
            }
            "jupyterlab" => cfg
                .jupyter_lab_app_image_config()
                .unwrap()
                .file_system_config()
                .cloned(),
            _ => cfg
                .code_editor_app_image_config()
                .unwrap()
                .file_system_config()
                .cloned(),
        }
        .unwrap();
        assert_eq!(
            (fs_cfg.default_uid(), fs_cfg.default_gid()),
            (Some(1000), Some(100))
        );
        assert!(w.custom_images(member).contains(&name.to_string()));
        assert!(
            !w.project_exists(&format!("sagemaker-studio-{name}")),
            "project left behind"
        );
    }
}

#[test]
fn check_publish_again_and_changed_context() {
    let w = World::new();
    let ctx = w.context("ds", "1");
    // check changes nothing.
    let before = w.sb.requests().len();
    w.cmd()
        .arg("check")
        .args(w.kernel_args("ds", &ctx, "kernel-gateway"))
        .assert()
        .success();
    let reqs = w.requests_since(before);
    for r in &reqs {
        let op = r["operation"].as_str().unwrap_or("");
        assert!(
            op.starts_with("Get")
                || op.starts_with("Describe")
                || op.starts_with("List")
                || op == "SimulatePrincipalPolicy",
            "check made a changing call: {r}"
        );
    }

    let first = json_out(&w.publish("ds", &ctx, "kernel-gateway", &[]));
    let uri = first["kernels"][0]["image_uri"].clone();

    // Again with the same context: no build, no upload, no new version.
    let n = w.sb.requests().len();
    let started = Instant::now();
    let again = json_out(&w.publish("ds", &ctx, "kernel-gateway", &[]));
    let reqs = w.requests_since(n);
    assert_eq!(World::ops(&reqs, "StartBuild"), 0);
    assert_eq!(
        World::ops(&reqs, "PutObject") + World::ops(&reqs, "UploadPart"),
        0
    );
    assert_eq!(World::ops(&reqs, "CreateImageVersion"), 0);
    assert_eq!(World::ops(&reqs, "UpdateDomain"), 0);
    assert_eq!(again["kernels"][0]["image_uri"], uri);
    assert_eq!(again["kernels"][0]["build_id"], Value::Null);
    assert_eq!(again["kernels"][0]["image_version"], 1);
    let skipped: Vec<&str> = again["kernels"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for s in ["upload", "build", "image-version", "domain-attach"] {
        assert!(skipped.contains(&s), "{s} not skipped: {skipped:?}");
    }
    eprintln!(
        "no-op re-publish took {:?} (measured in bench/, not asserted)",
        started.elapsed()
    );

    // A changed file: a new build and version; the domain entry (unpinned) follows it.
    w.context("ds", "2");
    let changed = json_out(&w.publish("ds", &ctx, "kernel-gateway", &[]));
    assert_ne!(changed["kernels"][0]["image_uri"], uri);
    assert_eq!(changed["kernels"][0]["image_version"], 2);
    assert_eq!(w.custom_images("kg"), ["ds"]);
}

#[test]
fn other_images_in_every_app_type_are_kept() {
    let w = World::new();
    let sm = w.sm();
    // Someone else's images, one per app type, already on the domain.
    w.rt.block_on(async {
        for (img, cfg_name) in [
            ("other-kg", "other-kg"),
            ("other-jl", "other-jl"),
            ("other-ce", "other-ce"),
        ] {
            sm.create_image()
                .image_name(img)
                .role_arn(ROLE_ARN)
                .send()
                .await
                .unwrap();
            let fsc = aws_sdk_sagemaker::types::FileSystemConfig::builder()
                .default_uid(1000)
                .default_gid(100)
                .mount_path("/home/sagemaker-user")
                .build();
            let mut call = sm.create_app_image_config().app_image_config_name(cfg_name);
            call = match img {
                "other-kg" => call.kernel_gateway_image_config(
                    aws_sdk_sagemaker::types::KernelGatewayImageConfig::builder()
                        .kernel_specs(
                            aws_sdk_sagemaker::types::KernelSpec::builder()
                                .name("python3")
                                .build(),
                        )
                        .file_system_config(fsc)
                        .build(),
                ),
                "other-jl" => call.jupyter_lab_app_image_config(
                    aws_sdk_sagemaker::types::JupyterLabAppImageConfig::builder()
                        .file_system_config(fsc)
                        .build(),
                ),
                _ => call.code_editor_app_image_config(
                    aws_sdk_sagemaker::types::CodeEditorAppImageConfig::builder()
                        .file_system_config(fsc)
                        .build(),
                ),
            };
            call.send().await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let ci = |n: &str| {
        aws_sdk_sagemaker::types::CustomImage::builder()
            .image_name(n)
            .app_image_config_name(n)
            .build()
    };
    let settings = aws_sdk_sagemaker::types::UserSettings::builder()
        .kernel_gateway_app_settings(
            aws_sdk_sagemaker::types::KernelGatewayAppSettings::builder()
                .custom_images(ci("other-kg"))
                .lifecycle_config_arns(
                    "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/keep-me",
                )
                .build(),
        )
        .jupyter_lab_app_settings(
            aws_sdk_sagemaker::types::JupyterLabAppSettings::builder()
                .custom_images(ci("other-jl"))
                .build(),
        )
        .code_editor_app_settings(
            aws_sdk_sagemaker::types::CodeEditorAppSettings::builder()
                .custom_images(ci("other-ce"))
                .build(),
        )
        .build();
    let r = w.rt.block_on(
        sm.update_domain()
            .domain_id(&w.domain)
            .default_user_settings(settings)
            .send(),
    );
    assert!(r.is_ok(), "{r:?}");
    w.wait_domain();

    for (name, app) in [
        ("mine-kg", "kernel-gateway"),
        ("mine-jl", "jupyterlab"),
        ("mine-ce", "code-editor"),
    ] {
        json_out(&w.publish(name, &w.context(name, "1"), app, &[]));
    }
    assert_eq!(w.custom_images("kg"), ["other-kg", "mine-kg"]);
    assert_eq!(w.custom_images("jl"), ["other-jl", "mine-jl"]);
    assert_eq!(w.custom_images("ce"), ["other-ce", "mine-ce"]);
    let d =
        w.rt.block_on(sm.describe_domain().domain_id(&w.domain).send())
            .unwrap();
    let s = d.default_user_settings().unwrap();
    assert_eq!(s.execution_role(), Some(ROLE_ARN), "other settings kept");
    assert_eq!(
        s.kernel_gateway_app_settings()
            .unwrap()
            .lifecycle_config_arns(),
        ["arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/keep-me"],
        "the app's other settings kept"
    );
}

#[test]
fn a_domain_updating_at_start_is_waited_for() {
    let w = World::new();
    w.sb.post(
        "/_sandbox/config",
        r#"{"build_seconds": 1, "domain_update_seconds": 6}"#,
    );
    let sm = w.sm();
    let r = w.rt.block_on(
        sm.update_domain()
            .domain_id(&w.domain)
            .default_user_settings(
                aws_sdk_sagemaker::types::UserSettings::builder()
                    .execution_role(ROLE_ARN)
                    .build(),
            )
            .send(),
    );
    assert!(r.is_ok(), "{r:?}");
    let o = w.publish("waits", &w.context("waits", "1"), "jupyterlab", &[]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    json_out(&o);
    assert!(stderr.contains("Updating"), "{stderr}");
    assert!(w.custom_images("jl").contains(&"waits".to_string()));
}

#[test]
fn a_build_failing_in_build_exits_1_with_phase_and_log_tail_and_no_project() {
    let w = World::new();
    w.sb.post("/_sandbox/faults", r#"{"build_fail_phase": "BUILD"}"#);
    let o = w.publish("broken", &w.context("broken", "1"), "jupyterlab", &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("FAILED in phase BUILD"), "{stderr}");
    assert!(
        stderr.contains("last ") && stderr.contains("log lines"),
        "{stderr}"
    );
    assert!(!w.project_exists("sagemaker-studio-broken"));
    assert!(w.custom_images("jl").is_empty());
}

#[test]
fn an_image_version_that_fails_exits_1_with_the_reason() {
    let w = World::new();
    w.sb.post("/_sandbox/faults", r#"{"image_version_fail": true}"#);
    let o = w.publish("badver", &w.context("badver", "1"), "jupyterlab", &[]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("version 1 of SageMaker image badver failed:"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_during_the_build_stops_it_and_deletes_the_project() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"build_seconds": 30}"#);
    let ctx = w.context("stopme", "1");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sm-kernel"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .args(["--endpoint-url", &w.sb.url, "publish"])
        .args(w.kernel_args("stopme", &ctx, "jupyterlab"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until the build has started, then let it run a little.
    while !w
        .sb
        .requests()
        .iter()
        .any(|r| r["operation"] == "StartBuild" && r["status"] == 200)
    {
        assert!(Instant::now() < deadline, "the build never started");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id() as i32;
    // SIGINT, as Ctrl-C sends.
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let cb = aws_sdk_codebuild::Client::new(&w.cfg);
    let ids =
        w.rt.block_on(cb.list_builds().send())
            .map(|o| o.ids().to_vec())
            .unwrap_or_default();
    let builds =
        w.rt.block_on(cb.batch_get_builds().set_ids(Some(ids)).send())
            .unwrap();
    let b = &builds.builds()[0];
    assert_eq!(b.build_status().unwrap().as_str(), "STOPPED", "{stderr}");
    assert!(!w.project_exists("sagemaker-studio-stopme"), "{stderr}");
    assert!(w
        .sb
        .requests()
        .iter()
        .any(|r| r["operation"] == "StopBuild"));
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let w = World::new();
    w.sb.post(
        "/_sandbox/faults",
        r#"{"throttle_rate": 0.2, "error_rate": 0.05}"#,
    );
    let o = w.publish("flaky", &w.context("flaky", "1"), "kernel-gateway", &[]);
    json_out(&o);
    let reqs = w.sb.requests();
    assert!(
        reqs.iter().any(|r| r["status"] == 400),
        "no throttle was injected"
    );
    assert!(w.custom_images("kg").contains(&"flaky".to_string()));
}

#[test]
fn every_call_made_is_a_need_the_plan_declares() {
    let w = World::new();
    let ctx = w.context("audit", "1");
    let plan = w
        .cmd()
        .args(["--output", "json", "plan"])
        .args(w.kernel_args("audit", &ctx, "jupyterlab"))
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let declared: Vec<(String, String)> = plan["kernels"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["calls"].as_array().unwrap().iter())
        .filter(|c| c["principal"] == "caller")
        .map(|c| {
            (
                c["service"].as_str().unwrap().to_string(),
                c["operation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let n = w.sb.requests().len();
    json_out(&w.publish("audit", &ctx, "jupyterlab", &[]));
    json_out(&w.publish("audit", &ctx, "jupyterlab", &[]));
    let made = w.requests_since(n);
    assert!(made.len() > 20);
    for r in &made {
        let key = (
            r["service"].as_str().unwrap_or("").to_string(),
            r["operation"].as_str().unwrap_or("").to_string(),
        );
        assert!(
            declared.contains(&key),
            "call {key:?} is not declared by the plan"
        );
    }
}

#[test]
fn bad_input_never_reaches_the_sandbox() {
    let w = World::new();
    let n = w.sb.requests().len();
    let ctx = w.context("ok", "1");
    for bad in [
        vec!["--image-name=-bad"],
        vec!["--bucket", "Not_A_Bucket"],
        vec!["--uid", "5"],
    ] {
        let mut args = w.kernel_args("ok", &ctx, "jupyterlab");
        let flag = bad[0].split('=').next().unwrap().to_string();
        if let Some(i) = args.iter().position(|a| *a == flag) {
            args.drain(i..i + 2);
        }
        let o = w
            .cmd()
            .arg("publish")
            .args(&args)
            .args(&bad)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(w.sb.requests().len(), n, "a bad input reached AWS");
}

#[test]
fn build_pushes_the_image_and_registers_nothing() {
    let w = World::new();
    let ctx = w.context("onlybuild", "1");
    let o = w
        .cmd()
        .args(["--output", "json", "build"])
        .args(w.kernel_args("onlybuild", &ctx, "jupyterlab"))
        .output()
        .unwrap();
    let v = json_out(&o);
    let k = &v["kernels"][0];
    assert!(k["image_uri"].as_str().unwrap().contains("@sha256:"));
    assert_eq!(k["image_version"], Value::Null);
    let reqs = w.sb.requests();
    assert_eq!(World::ops(&reqs, "CreateImage"), 0);
    assert_eq!(World::ops(&reqs, "UpdateDomain"), 0);
    assert_eq!(World::ops(&reqs, "StartBuild"), 1);
}

#[test]
fn user_profile_gets_the_image_instead_of_the_domain_defaults() {
    let w = World::new();
    let sm = w.sm();
    w.rt.block_on(
        sm.create_user_profile()
            .domain_id(&w.domain)
            .user_profile_name("alice")
            .send(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    json_out(&w.publish(
        "alices",
        &w.context("alices", "1"),
        "jupyterlab",
        &["--user-profile", "alice"],
    ));
    let p =
        w.rt.block_on(
            sm.describe_user_profile()
                .domain_id(&w.domain)
                .user_profile_name("alice")
                .send(),
        )
        .unwrap();
    let imgs: Vec<&str> = p
        .user_settings()
        .and_then(|s| s.jupyter_lab_app_settings())
        .map(|a| {
            a.custom_images()
                .iter()
                .filter_map(|c| c.image_name())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(imgs, ["alices"]);
    assert!(
        w.custom_images("jl").is_empty(),
        "the domain defaults were changed"
    );
}

/// A failed in-image check: exit 1, the check named with its detail, no push, no image.
fn assert_check_failed(w: &World, o: &Output, image: &str, check: &str, details: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("in-image check {check} failed: ")),
        "{stderr}"
    );
    for d in details {
        assert!(stderr.contains(d), "{d:?} missing from:\n{stderr}");
    }
    assert!(
        !stderr.contains("last 30 log lines"),
        "the check replaces the log tail: {stderr}"
    );
    // The layer cache is exported by the build itself, before the checks, so that the
    // rebuild after the fix reuses the layers; the image is not pushed.
    let tags: Vec<String> = w
        .pushed_tags(&format!("sagemaker-studio-{image}"))
        .into_iter()
        .filter(|t| t != "buildcache")
        .collect();
    assert_eq!(tags, Vec::<String>::new(), "an image was pushed");
    let reqs = w.sb.requests();
    assert_eq!(
        World::ops(&reqs, "CreateImageVersion"),
        0,
        "an image version was registered"
    );
    assert_eq!(World::ops(&reqs, "UpdateDomain"), 0);
}

#[test]
fn a_kernelspec_name_mismatch_fails_the_build_naming_the_check_and_both_names() {
    let w = World::new();
    let ctx = w.context("wrongspec", "1");
    let mut args = w.kernel_args("wrongspec", &ctx, "kernel-gateway");
    let at = args.iter().position(|a| a == "--kernel-name").unwrap();
    args[at + 1] = "ds-kernel".into();
    let o = w
        .cmd()
        .args(["--output", "json", "publish"])
        .args(&args)
        .output()
        .unwrap();
    assert_check_failed(
        &w,
        &o,
        "wrongspec",
        "kernelspecs",
        &[
            "ds-kernel not in the image",
            "found: python3",
            "checks-skip",
        ],
    );
}

#[test]
fn a_root_default_user_fails_the_uid_check_and_no_checks_lets_it_through() {
    let w = World::new();
    let df = "FROM public.ecr.aws/docker/library/python:3.12-slim\nRUN pip install --no-cache-dir 'jupyterlab>=4'\n";
    let ctx = w.context_with("rootuser", "1", df);
    let o = w.publish("rootuser", &ctx, "jupyterlab", &[]);
    assert_check_failed(
        &w,
        &o,
        "rootuser",
        "uid",
        &[
            "default user is uid 0 gid 0",
            "uid 1000 gid 100",
            "USER 1000:100",
        ],
    );
    let v = json_out(&w.publish("rootuser", &ctx, "jupyterlab", &["--no-checks"]));
    assert!(v["kernels"][0]["image_uri"]
        .as_str()
        .unwrap()
        .contains("@sha256:"));
}

#[test]
fn a_rebuild_imports_the_layer_cache_and_the_cache_tag_is_never_registered() {
    let w = World::new();
    let df = "FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu\nRUN pip install --no-cache-dir polars\nCOPY app.py /opt/app.py\n";
    let ctx = w.context_with("cached", "1", df);
    let first = w.publish("cached", &ctx, "jupyterlab", &[]);
    json_out(&first);
    let cache_ref = format!("{REGISTRY}/sagemaker-studio-cached:buildcache");
    let log1 = String::from_utf8_lossy(&first.stderr);
    assert!(
        log1.contains(&format!("importing cache manifest from {cache_ref}")),
        "{log1}"
    );
    assert!(log1.contains("exporting cache to registry"), "{log1}");
    assert!(!log1.contains(" CACHED"), "{log1}");

    w.context_with("cached", "2", df);
    let second = w.publish("cached", &ctx, "jupyterlab", &[]);
    let v = json_out(&second);
    let log2 = String::from_utf8_lossy(&second.stderr);
    let lines: Vec<&str> = log2.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.contains("RUN pip install --no-cache-dir polars") && !l.contains("Running command")
        })
        .unwrap_or_else(|| panic!("{log2}"));
    assert!(lines[at + 1].trim_end().ends_with("CACHED"), "{log2}");

    let mut tags = w.pushed_tags("sagemaker-studio-cached");
    tags.sort();
    assert_eq!(tags.len(), 3, "{tags:?}");
    assert!(tags.contains(&"buildcache".to_string()));
    let image = v["kernels"][0]["image_uri"].as_str().unwrap();
    assert!(!image.contains("buildcache"), "{image}");
    let versions =
        w.rt.block_on(w.sm().list_image_versions().image_name("cached").send())
            .unwrap();
    for iv in versions.image_versions() {
        let d =
            w.rt.block_on(
                w.sm()
                    .describe_image_version()
                    .image_name("cached")
                    .version(iv.version().unwrap())
                    .send(),
            )
            .unwrap();
        assert!(!d.base_image().unwrap().contains("buildcache"), "{d:?}");
    }

    let off = w.publish(
        "cached",
        &w.context_with("cached", "3", df),
        "jupyterlab",
        &["--no-build-cache"],
    );
    json_out(&off);
    let log3 = String::from_utf8_lossy(&off.stderr);
    assert!(
        !log3.contains("buildcache") && !log3.contains("buildx"),
        "{log3}"
    );
}

#[test]
fn environment_type_reaches_the_codebuild_project() {
    let w = World::new();
    let n = w.sb.requests().len();
    let ctx = w.context("gpu", "1");
    json_out(&w.publish(
        "gpu",
        &ctx,
        "jupyterlab",
        &[
            "--environment-type",
            "LINUX_GPU_CONTAINER",
            "--compute-type",
            "BUILD_GENERAL1_LARGE",
        ],
    ));
    let reqs = w.requests_since(n);
    let create = reqs
        .iter()
        .find(|r| r["operation"] == "CreateProject")
        .expect("a CreateProject request");
    assert_eq!(
        create["params"]["environment"]["type"], "LINUX_GPU_CONTAINER",
        "{create:#}"
    );
}
