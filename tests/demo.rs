//! The README's demo, as a newcomer runs it: `tests/sandbox/run --demo`, then a publish of
//! examples/demo/kernel.toml with no AWS credentials at all (only the endpoint is moved to
//! the test's own sandbox port). The second publish must find everything done.

mod support;

use serde_json::Value;
use support::Sandbox;

const MANIFEST: &str = "examples/demo/kernel.toml";

fn publish(sb: &Sandbox) -> Value {
    let out = support::sm_kernel()
        .args([
            "--output",
            "json",
            "--no-progress",
            "publish",
            "--config",
            MANIFEST,
        ])
        .args(["--endpoint-url", &sb.url])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).expect("one JSON document on stdout");
    v["kernels"][0].clone()
}

fn skipped(k: &Value) -> Vec<String> {
    k["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_readme_demo_publishes_then_finds_nothing_to_do() {
    let sb = Sandbox::start_with(&["--demo"]);

    let first = publish(&sb);
    assert_eq!(first["name"], "datascience-py312");
    assert_eq!(first["domain_id"], "d-smkerneldemo");
    assert!(first["build_id"].is_string(), "{first}");
    assert!(!skipped(&first).contains(&"build".to_string()), "{first}");

    // The other team's image seeded on the domain is still there, next to ours.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sm = aws_sdk_sagemaker::Client::new(&sb.sdk_config(&rt));
    let domain = rt
        .block_on(sm.describe_domain().domain_id("d-smkerneldemo").send())
        .unwrap();
    let images: Vec<String> = domain
        .default_user_settings()
        .and_then(|s| s.kernel_gateway_app_settings())
        .map(|s| {
            s.custom_images()
                .iter()
                .filter_map(|i| i.image_name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(images, ["geo-r", "datascience-py312"]);

    let second = publish(&sb);
    assert!(second["build_id"].is_null(), "{second}");
    for step in ["upload", "build", "image-version", "domain-attach"] {
        assert!(
            skipped(&second).contains(&step.to_string()),
            "{step}: {second}"
        );
    }
    assert_eq!(second["image_uri"], first["image_uri"]);
}

#[test]
fn the_demo_manifest_plans_offline_with_its_endpoint() {
    let out = support::sm_kernel()
        .args(["--output", "json", "plan", "--config", MANIFEST])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let r = &v["kernels"][0]["resources"];
    assert_eq!(r["endpoint_url"], "http://127.0.0.1:5199");
    assert_eq!(r["domain_id"], "d-smkerneldemo");
    assert_eq!(
        r["role_arn"],
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-Demo"
    );
}
