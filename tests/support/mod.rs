//! The local AWS sandbox for end-to-end tests: started per test with `tests/sandbox/run
//! --port 0`, stopped on drop. A test that needs it fails, with the command to run by hand,
//! when it cannot start; it never skips.

#![allow(dead_code)]

pub mod studio;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary with an empty environment: no AWS credentials, no SM_KERNEL_* settings, run
/// from the repository root.
pub fn sm_kernel() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("sm-kernel").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub struct Sandbox {
    child: Child,
    pub url: String,
    addr: String,
}

impl Sandbox {
    pub fn start() -> Sandbox {
        Sandbox::start_with(&[])
    }

    /// Starts the sandbox with extra arguments of `tests/sandbox/run` (e.g. `--demo`).
    pub fn start_with(extra: &[&str]) -> Sandbox {
        let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/run");
        let mut child = Command::new(&run)
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the local AWS sandbox could not be started ({}: {e}); run `tests/sandbox/run --port 5199` to see why",
                    run.display()
                )
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // The first start may install the sandbox's venv (well under two minutes).
        let line = rx
            .recv_timeout(Duration::from_secs(240))
            .unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("ready ").map(str::to_string) else {
            let _ = child.kill();
            panic!(
                "the local AWS sandbox did not start (first line: {line:?}); run `tests/sandbox/run --port 5199` to see why"
            );
        };
        let addr = url.trim_start_matches("http://").to_string();
        Sandbox { child, url, addr }
    }

    fn http(&self, method: &str, path: &str, body: &str) -> String {
        let mut s = TcpStream::connect(&self.addr).expect("sandbox reachable");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "{method} {path}: {head}"
        );
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        }
    }

    pub fn post(&self, path: &str, json: &str) -> String {
        self.http("POST", path, json)
    }

    /// Every request the sandbox received, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.http("GET", "/_sandbox/requests", "")).unwrap()
    }

    /// An SDK configuration pointed at the sandbox, for setting up fixtures.
    pub fn sdk_config(&self, rt: &tokio::runtime::Runtime) -> aws_config::SdkConfig {
        let url = self.url.clone();
        rt.block_on(async move {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(url)
                .credentials_provider(aws_sdk_iam::config::Credentials::new(
                    "testing", "testing", None, None, "sandbox",
                ))
                .load()
                .await
        })
    }

    /// The binary with an empty environment, pointed at the sandbox.
    pub fn sm_kernel(&self) -> assert_cmd::Command {
        let mut c = sm_kernel();
        self.env(&mut c);
        c
    }

    /// The environment the binary runs with against the sandbox.
    pub fn env(&self, cmd: &mut assert_cmd::Command) {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("--endpoint-url")
            .arg(&self.url);
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
