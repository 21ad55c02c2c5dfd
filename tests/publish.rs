//! `check`, `build` and `publish` end to end against the local sandbox (moto plus our
//! SageMaker and CodeBuild extension): the real binary, the real SDK serialisation.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{json, Value};
use support::studio::{Studio as World, ROLE_ARN};

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

impl World {
    fn new() -> World {
        World::start(
            r#"{"build_seconds": 2, "image_seconds": 0.2, "image_version_seconds": 0.3, "domain_update_seconds": 0.3}"#,
        )
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
    // The test's own reads are not what is under test: read without the faults.
    w.sb.post(
        "/_sandbox/faults",
        r#"{"throttle_rate": null, "error_rate": null}"#,
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

impl World {
    /// A second Studio domain, in another region.
    /// A kernel.toml for `kernels` of (name, app, region, domain, context).
    fn manifest(&self, kernels: &[(&str, &str, &str, &str, &Path)]) -> PathBuf {
        let mut text = format!("[defaults]\nrole = \"{ROLE_ARN}\"\n");
        for (name, app, region, domain, ctx) in kernels {
            text.push_str(&format!(
                "\n[[kernel]]\nname = \"{name}\"\napp = \"{app}\"\nregion = \"{region}\"\ndomain-id = \"{domain}\"\ncontext = {:?}\n",
                ctx.display().to_string()
            ));
            if *app == "kernel-gateway" {
                text.push_str("kernel-specs = [{ name = \"python3\" }]\n");
            }
        }
        let p = self.dir.path().join("kernel.toml");
        fs::write(&p, text).unwrap();
        p
    }
}

fn artifact(dir: &Path, file: &str) -> Value {
    serde_json::from_slice(&fs::read(dir.join(file)).unwrap()).unwrap()
}

#[test]
fn a_release_of_three_kernels_in_two_regions_runs_the_plan_with_one_update_per_domain() {
    let w = World::new();
    let eu = w.domain_in("eu-west-1");
    let (a, b, c) = (
        w.context("rel-a", "1"),
        w.context("rel-b", "1"),
        w.context("rel-c", "1"),
    );
    let m = w.manifest(&[
        ("rel-a", "jupyterlab", "us-east-1", &w.domain, &a),
        ("rel-b", "kernel-gateway", "us-east-1", &w.domain, &b),
        ("rel-c", "jupyterlab", "eu-west-1", &eu, &c),
    ]);
    let out = w.dir.path().join("plan-out");
    let plan = w
        .cmd()
        .args([
            "--output",
            "json",
            "--config",
            m.to_str().unwrap(),
            "plan",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let plan = json_out(&plan);

    let n = w.sb.requests().len();
    let o = w
        .cmd()
        .args([
            "--output",
            "json",
            "--config",
            m.to_str().unwrap(),
            "publish",
        ])
        .output()
        .unwrap();
    let summary = json_out(&o);
    let made = w.requests_since(n);

    // Every kernel published, each in its own region.
    for k in summary["kernels"].as_array().unwrap() {
        assert_eq!(k["status"], "published", "{k}");
    }
    assert_eq!(summary["kernels"][2]["region"], "eu-west-1");
    // One domain update per domain, in the domain's region, carrying all its kernels.
    let updates: Vec<&Value> = made
        .iter()
        .filter(|r| r["operation"] == "UpdateDomain")
        .collect();
    assert_eq!(updates.len(), 2, "{updates:#?}");
    let us = updates.iter().find(|r| r["region"] == "us-east-1").unwrap();
    assert_eq!(us["params"]["DomainId"], json!(w.domain));
    let names = |r: &Value, member: &str| -> Vec<String> {
        r["params"]["DefaultUserSettings"][member]["CustomImages"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|c| c["ImageName"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(us, "JupyterLabAppSettings"), vec!["rel-a"]);
    assert_eq!(names(us, "KernelGatewayAppSettings"), vec!["rel-b"]);
    let eu_update = updates.iter().find(|r| r["region"] == "eu-west-1").unwrap();
    assert_eq!(eu_update["params"]["DomainId"], json!(eu));
    assert_eq!(names(eu_update, "JupyterLabAppSettings"), vec!["rel-c"]);
    assert_eq!(summary["domain_updates"].as_array().unwrap().len(), 2);

    // The bodies sent are the plan's artifacts, call for call.
    for (name, region) in [
        ("rel-a", "us-east-1"),
        ("rel-b", "us-east-1"),
        ("rel-c", "eu-west-1"),
    ] {
        let sent = |op: &str, key: &str| -> Value {
            let found: Vec<&Value> = made
                .iter()
                .filter(|r| r["operation"] == op && r["params"][key] == json!(name))
                .collect();
            assert_eq!(found.len(), 1, "{op} for {name}: {found:#?}");
            assert_eq!(found[0]["region"], region, "{op} for {name}");
            found[0]["params"].clone()
        };
        assert_eq!(
            sent("CreateImageVersion", "ImageName"),
            artifact(&out, &format!("{name}/create-image-version.json")),
            "{name}"
        );
        assert_eq!(
            sent("CreateAppImageConfig", "AppImageConfigName"),
            artifact(&out, &format!("{name}/app-image-config.json")),
            "{name}"
        );
        // The plan's entry for this kernel is in the update sent to its domain.
        let planned = artifact(&out, &format!("{name}/domain-update.json"));
        let upd = if region == "us-east-1" { us } else { eu_update };
        let settings = planned["request"]["DefaultUserSettings"]
            .as_object()
            .unwrap();
        for (member, v) in settings {
            for entry in v["CustomImages"].as_array().unwrap() {
                let list = upd["params"]["DefaultUserSettings"][member]["CustomImages"]
                    .as_array()
                    .unwrap();
                assert!(list.contains(entry), "{name}: {entry} not in {list:?}");
            }
        }
    }

    // Every (service, operation) made by the caller is one the Plan declares for the caller.
    let mut declared = std::collections::BTreeSet::new();
    let mut build_role = std::collections::BTreeSet::new();
    for k in plan["kernels"].as_array().unwrap() {
        for s in k["steps"].as_array().unwrap() {
            for c in s["calls"].as_array().unwrap() {
                let key = (
                    c["service"].as_str().unwrap().to_string(),
                    c["operation"].as_str().unwrap().to_string(),
                );
                if c["principal"] == "caller" {
                    declared.insert(key);
                } else {
                    build_role.insert(key);
                }
            }
        }
    }
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
    // What the buildspec does as the build role (log in, push, write logs, read the
    // context) is declared for the build role.
    let spec = fs::read_to_string(out.join("rel-a/buildspec.yml")).unwrap();
    assert!(spec.contains("aws ecr get-login-password") && spec.contains("docker push"));
    for (svc, op) in [
        ("ecr", "GetAuthorizationToken"),
        ("ecr", "PutImage"),
        ("ecr", "InitiateLayerUpload"),
        ("logs", "PutLogEvents"),
        ("s3", "GetObject"),
    ] {
        assert!(
            build_role.contains(&(svc.to_string(), op.to_string())),
            "the build role's {svc}:{op} is not declared: {build_role:?}"
        );
    }

    // Again: nothing is built, registered or updated; --verbose names every call.
    let n = w.sb.requests().len();
    let o = w
        .cmd()
        .args([
            "--verbose",
            "--output",
            "json",
            "--config",
            m.to_str().unwrap(),
            "publish",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let again = json_out(&o);
    assert!(stderr.contains("aws: ecr:DescribeImages"), "{stderr}");
    assert!(stderr.contains("aws: sagemaker:DescribeDomain"), "{stderr}");
    let made = w.requests_since(n);
    for op in [
        "StartBuild",
        "CreateImageVersion",
        "UpdateDomain",
        "PutObject",
    ] {
        assert_eq!(World::ops(&made, op), 0, "{op} on an unchanged release");
    }
    assert!(again["domain_updates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["sent"] == false));
}

#[test]
fn a_failing_kernel_does_not_stop_the_others_and_is_reported_with_its_step() {
    let w = World::new();
    let good = w.context("rel-good", "1");
    let bad = w.context("rel-bad", "1");
    fs::write(
        bad.join("Dockerfile"),
        "FROM public.ecr.aws/docker/library/python:3.12-slim\nCOPY missing.txt /missing.txt\n",
    )
    .unwrap();
    let m = w.manifest(&[
        ("rel-good", "jupyterlab", "us-east-1", &w.domain, &good),
        ("rel-bad", "jupyterlab", "us-east-1", &w.domain, &bad),
    ]);
    let o = w
        .cmd()
        .args([
            "--output",
            "json",
            "--config",
            m.to_str().unwrap(),
            "publish",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    // The JSON report is printed although the release failed.
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_name = |n: &str| {
        summary["kernels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("rel-good")["status"], "published");
    let bad_k = by_name("rel-bad");
    assert_eq!(bad_k["status"], "failed");
    assert_eq!(bad_k["error"]["step"], "build");
    assert!(
        bad_k["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.txt"),
        "{bad_k}"
    );
    assert!(stderr.contains("1 of 2 kernels failed"), "{stderr}");
    assert!(
        stderr.contains("last ") && stderr.contains("log lines"),
        "{stderr}"
    );
    assert_eq!(w.custom_images("jl"), vec!["rel-good".to_string()]);
    assert!(!w.project_exists("sagemaker-studio-rel-bad"));
    assert!(!w.project_exists("sagemaker-studio-rel-good"));
}

#[test]
fn an_aws_refusal_is_reported_with_its_code_operation_and_request_id() {
    let w = World::new();
    w.sb.post("/_sandbox/faults", r#"{"inservice_app": true}"#);
    let o = w.publish("refused", &w.context("refused", "1"), "jupyterlab", &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let k = &summary["kernels"][0];
    assert_eq!(k["status"], "failed");
    assert_eq!(k["error"]["step"], "domain-attach");
    assert_eq!(k["error"]["aws"]["service"], "sagemaker");
    assert_eq!(k["error"]["aws"]["operation"], "UpdateDomain");
    assert_eq!(k["error"]["aws"]["kind"], "service");
    assert_eq!(k["error"]["aws"]["code"], "ValidationException");
    assert!(k["error"]["aws"]["message"]
        .as_str()
        .unwrap()
        .contains("InService App"));
    // The version was created before the refusal: a re-run only attaches.
    assert!(k["image_version"].as_i64().is_some(), "{k}");
}

impl World {
    /// `sm-kernel --config MANIFEST publish` as a child process, to signal it.
    fn spawn_release(&self, manifest: &Path) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("sm-kernel"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .args(["--endpoint-url", &self.sb.url, "--output", "json"])
            .arg("--config")
            .arg(manifest)
            .arg("publish")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits until `n` builds have started.
    fn wait_builds_started(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let started = self
                .sb
                .requests()
                .iter()
                .filter(|r| r["operation"] == "StartBuild" && r["status"] == 200)
                .count();
            if started >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {started} of {n} builds started"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn build_statuses(&self) -> Vec<String> {
        let cb = aws_sdk_codebuild::Client::new(&self.cfg);
        let ids = self
            .rt
            .block_on(cb.list_builds().send())
            .map(|o| o.ids().to_vec())
            .unwrap_or_default();
        self.rt
            .block_on(cb.batch_get_builds().set_ids(Some(ids)).send())
            .unwrap()
            .builds()
            .iter()
            .map(|b| b.build_status().unwrap().as_str().to_string())
            .collect()
    }
}

#[test]
fn ctrl_c_stops_every_build_of_a_release_and_says_what_each_kernel_was_left_as() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"build_seconds": 60}"#);
    let (a, b) = (w.context("int-a", "1"), w.context("int-b", "1"));
    let m = w.manifest(&[
        ("int-a", "jupyterlab", "us-east-1", &w.domain, &a),
        ("int-b", "kernel-gateway", "us-east-1", &w.domain, &b),
    ]);
    let child = w.spawn_release(&m);
    w.wait_builds_started(2);
    std::thread::sleep(Duration::from_millis(1000));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let statuses = w.build_statuses();
    assert_eq!(statuses, vec!["STOPPED", "STOPPED"], "{stderr}");
    assert_eq!(
        w.sb.requests()
            .iter()
            .filter(|r| r["operation"] == "StopBuild")
            .count(),
        2
    );
    for k in ["int-a", "int-b"] {
        assert!(
            !w.project_exists(&format!("sagemaker-studio-{k}")),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("  {k}: build:")), "{stderr}");
    }
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in summary["kernels"].as_array().unwrap() {
        assert_eq!(k["status"], "stopped", "{k}");
    }
    assert!(w.custom_images("jl").is_empty() && w.custom_images("kg").is_empty());
}

#[test]
fn a_release_killed_mid_build_is_finished_by_the_next_run() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"build_seconds": 8}"#);
    let a = w.context("kill-a", "1");
    let m = w.manifest(&[("kill-a", "jupyterlab", "us-east-1", &w.domain, &a)]);
    let mut child = w.spawn_release(&m);
    w.wait_builds_started(1);
    // SIGKILL: no cleanup at all; the project and the running build are left behind.
    child.kill().unwrap();
    let _ = child.wait();
    assert!(w.project_exists("sagemaker-studio-kill-a"));
    w.sb.post("/_sandbox/config", r#"{"build_seconds": 2}"#);
    let o = w
        .cmd()
        .args([
            "--output",
            "json",
            "--config",
            m.to_str().unwrap(),
            "publish",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let summary = json_out(&o);
    assert_eq!(summary["kernels"][0]["status"], "published");
    assert!(stderr.contains("left by an earlier run"), "{stderr}");
    assert!(!w.project_exists("sagemaker-studio-kill-a"));
    assert_eq!(w.custom_images("jl"), vec!["kill-a".to_string()]);
}

#[test]
fn two_releases_at_once_into_one_domain_keep_each_others_images() {
    let w = World::new();
    let (a, b) = (w.context("conc-a", "1"), w.context("conc-b", "1"));
    let ma = w.dir.path().join("a.toml");
    let mb = w.dir.path().join("b.toml");
    fs::rename(
        w.manifest(&[("conc-a", "jupyterlab", "us-east-1", &w.domain, &a)]),
        &ma,
    )
    .unwrap();
    fs::rename(
        w.manifest(&[("conc-b", "jupyterlab", "us-east-1", &w.domain, &b)]),
        &mb,
    )
    .unwrap();
    let (pa, pb) = (w.spawn_release(&ma), w.spawn_release(&mb));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut images = w.custom_images("jl");
    images.sort();
    assert_eq!(images, vec!["conc-a".to_string(), "conc-b".to_string()]);
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

// ---- the scan gate ----

/// The JSON report of a release that failed (printed on stdout all the same).
fn failed_json(o: &Output) -> (Value, String) {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    (serde_json::from_slice(&o.stdout).unwrap(), stderr)
}

#[test]
fn a_high_finding_stops_the_kernel_at_image_scan_and_nothing_is_registered() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"scan_seconds": 0.5}"#);
    w.sb.post(
        "/_sandbox/faults",
        r#"{"scan_findings": [
            {"name": "CVE-2024-0003", "severity": "LOW", "package": "tar", "version": "1.34"},
            {"name": "CVE-2024-0001", "severity": "HIGH", "package": "openssl", "version": "3.0.2"}]}"#,
    );
    let n = w.sb.requests().len();
    let o = w.publish(
        "vuln",
        &w.context("vuln", "1"),
        "jupyterlab",
        &["--scan", "high"],
    );
    let (v, stderr) = failed_json(&o);
    let k = &v["kernels"][0];
    assert_eq!(k["status"], "failed", "{k:#}");
    assert_eq!(k["error"]["step"], "image-scan", "{k:#}");
    assert_eq!(
        k["scan"],
        json!({"threshold": "HIGH", "severity_counts": {"HIGH": 1, "LOW": 1}, "passed": false})
    );
    assert!(k["image_uri"].as_str().unwrap().contains("@sha256:"));
    assert!(stderr.contains("image-scan: ECR's scan of "), "{stderr}");
    assert!(
        stderr.contains("found 1 HIGH, 1 LOW; scan = \"HIGH\" refuses"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CVE-2024-0001  HIGH  openssl 3.0.2\n"),
        "{stderr}"
    );
    assert!(stderr.contains("set scan = \"CRITICAL\""), "{stderr}");
    let reqs = w.requests_since(n);
    assert_eq!(World::ops(&reqs, "CreateImageVersion"), 0);
    assert_eq!(World::ops(&reqs, "UpdateDomain"), 0);
    // sm-kernel created the repository scanning on push: no StartImageScan was needed.
    assert_eq!(World::ops(&reqs, "StartImageScan"), 0);
    assert!(World::ops(&reqs, "DescribeImageScanFindings") >= 1);
    let create = reqs
        .iter()
        .find(|r| r["operation"] == "CreateRepository")
        .unwrap();
    assert_eq!(
        create["params"]["imageScanningConfiguration"],
        json!({"scanOnPush": true})
    );
    assert!(w.custom_images("jl").is_empty());
}

#[test]
fn below_the_threshold_publishes_and_an_unchanged_context_is_gated_again() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"scan_seconds": 0.5}"#);
    w.sb.post(
        "/_sandbox/faults",
        r#"{"scan_findings": [{"name": "CVE-2024-0002", "severity": "MEDIUM", "package": "zlib"}]}"#,
    );
    let ctx = w.context("medium", "1");
    let v = json_out(&w.publish("medium", &ctx, "jupyterlab", &["--scan", "HIGH"]));
    let k = &v["kernels"][0];
    assert_eq!(k["status"], "published");
    assert_eq!(
        k["scan"],
        json!({"threshold": "HIGH", "severity_counts": {"MEDIUM": 1}, "passed": true})
    );
    assert!(k["seconds"]["image-scan"].is_number(), "{k:#}");
    assert!(w.custom_images("jl").contains(&"medium".to_string()));

    // The same context again with a stricter gate: the build is skipped, and the image
    // already in ECR is judged by its scan.
    let n = w.sb.requests().len();
    let o = w.publish("medium", &ctx, "jupyterlab", &["--scan", "MEDIUM"]);
    let (v, stderr) = failed_json(&o);
    assert_eq!(v["kernels"][0]["error"]["step"], "image-scan", "{stderr}");
    assert!(stderr.contains("CVE-2024-0002  MEDIUM  zlib\n"), "{stderr}");
    let reqs = w.requests_since(n);
    assert_eq!(World::ops(&reqs, "StartBuild"), 0);
    assert_eq!(World::ops(&reqs, "CreateImageVersion"), 0);

    // Without scan, no scan call at all.
    let n = w.sb.requests().len();
    json_out(&w.publish("medium", &ctx, "jupyterlab", &[]));
    let reqs = w.requests_since(n);
    assert_eq!(World::ops(&reqs, "DescribeImageScanFindings"), 0);
}

#[test]
fn a_repository_without_scan_on_push_gets_one_start_image_scan_then_the_gate() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"scan_seconds": 0.5}"#);
    w.sb.post(
        "/_sandbox/faults",
        r#"{"scan_findings": [{"name": "CVE-2024-0009", "severity": "CRITICAL", "package": "glibc", "version": "2.35"}]}"#,
    );
    // The user's own repository, created without scan-on-push.
    let ecr = aws_sdk_ecr::Client::new(&w.cfg);
    w.rt.block_on(
        ecr.create_repository()
            .repository_name("sagemaker-studio-mine")
            .send(),
    )
    .unwrap();
    let n = w.sb.requests().len();
    let o = w.publish(
        "mine",
        &w.context("mine", "1"),
        "kernel-gateway",
        &["--scan", "CRITICAL"],
    );
    let (v, stderr) = failed_json(&o);
    assert_eq!(v["kernels"][0]["error"]["step"], "image-scan", "{stderr}");
    assert!(
        stderr.contains("CVE-2024-0009  CRITICAL  glibc 2.35\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("remove scan to publish without the gate"),
        "{stderr}"
    );
    let reqs = w.requests_since(n);
    assert_eq!(World::ops(&reqs, "StartImageScan"), 1);
    let scans: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["operation"] == "DescribeImageScanFindings")
        .collect();
    assert_eq!(scans[0]["status"], 400, "the first read finds no scan");
    assert_eq!(scans.last().unwrap()["status"], 200);
    let start = reqs
        .iter()
        .position(|r| r["operation"] == "StartImageScan")
        .unwrap();
    let first_read = reqs
        .iter()
        .position(|r| r["operation"] == "DescribeImageScanFindings")
        .unwrap();
    assert!(first_read < start);
    assert!(reqs[start]["params"]["imageId"]["imageDigest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(World::ops(&reqs, "CreateImageVersion"), 0);
}

#[test]
fn a_scan_that_fails_stops_the_kernel_saying_how_to_publish_without_the_gate() {
    let w = World::new();
    w.sb.post("/_sandbox/config", r#"{"scan_seconds": 0.2}"#);
    w.sb.post(
        "/_sandbox/faults",
        r#"{"scan_status": "UNSUPPORTED_IMAGE"}"#,
    );
    let o = w
        .cmd()
        .args(["--output", "json", "build"])
        .args(w.kernel_args("odd", &w.context("odd", "1"), "jupyterlab"))
        .args(["--scan", "MEDIUM"])
        .output()
        .unwrap();
    let (v, stderr) = failed_json(&o);
    assert_eq!(v["kernels"][0]["error"]["step"], "image-scan", "{stderr}");
    assert!(
        stderr.contains("ended UNSUPPORTED_IMAGE") && stderr.contains("remove scan"),
        "{stderr}"
    );
}

// ---- kms-key ----

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn kms_key_encrypts_the_context_and_is_the_projects_encryption_key() {
    let w = World::new();
    let ctx = w.context("sealed", "1");
    // A first attempt without the key uploads the context and fails its build.
    w.sb.post("/_sandbox/faults", r#"{"build_fail_phase": "BUILD"}"#);
    assert_eq!(
        w.publish("sealed", &ctx, "jupyterlab", &[]).status.code(),
        Some(1)
    );
    w.sb.post("/_sandbox/faults", r#"{"build_fail_phase": null}"#);
    let n = w.sb.requests().len();
    json_out(&w.publish("sealed", &ctx, "jupyterlab", &["--kms-key", KMS_KEY]));
    let reqs = w.requests_since(n);
    // The object the failed attempt left is not encrypted with the key: it is sent again.
    let put = reqs
        .iter()
        .find(|r| r["operation"] == "PutObject")
        .expect("the context is uploaded again with the key");
    assert_eq!(put["params"]["ServerSideEncryption"], "aws:kms", "{put:#}");
    assert_eq!(put["params"]["SSEKMSKeyId"], KMS_KEY, "{put:#}");
    let create = reqs
        .iter()
        .find(|r| r["operation"] == "CreateProject")
        .unwrap();
    assert_eq!(create["params"]["encryptionKey"], KMS_KEY, "{create:#}");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&w.cfg)
            .force_path_style(true)
            .build(),
    );
    let key = put["params"]["Key"].as_str().unwrap().to_string();
    let bucket = put["params"]["Bucket"].as_str().unwrap().to_string();
    let head =
        w.rt.block_on(s3.head_object().bucket(bucket).key(key).send())
            .unwrap();
    assert_eq!(head.ssekms_key_id(), Some(KMS_KEY));
}
