//! In-image checks: shell lines rendered into the build phase between `docker build` and
//! `docker push`, so an image Studio would reject (kernel not found, app fails to start) fails
//! its build instead of registering fine and dying minutes later as "InternalFailure".
//!
//! Each check is one command line that runs the built image (`docker run --rm --network none
//! --entrypoint …`, never the image's own entrypoint, never the network), prints exactly one
//! line `sm-kernel-check: NAME ok|FAILED: detail|WARNING: detail`, and exits non-zero on
//! FAILED, which aborts the phase before the push. The CLI finds that line in the log and
//! reports it, so nobody has to read the log tail. Every configured value is a single-quoted
//! shell word; every message is built from single-quoted pieces around `"$var"`, so nothing
//! the image prints or the user typed is ever re-read by the shell.
//!
//! The lines use only `$(…)`, `|`, `&&`, `||`, `;`, `[ ]`, `echo`, `grep`, `cut`, `tr`, `head`
//! on the build host, so they run in any POSIX shell the build image has.

use super::shell_quote;
use crate::config::App;

/// The prefix of every result line, at the start of a log line.
pub const MARKER: &str = "sm-kernel-check: ";

/// Every check name, in the order they run; `checks-skip` accepts exactly these.
pub const ALL: [&str; 7] = [
    "arch",
    "uid",
    "kernelspecs",
    "jupyterlab",
    "code-editor",
    "file-owners",
    "mount-path",
];

/// The executable Studio's Code Editor app starts when no entrypoint is configured.
pub const CODE_EDITOR: &str = "sagemaker-code-editor";

/// What the checks compare the image with (the values the app image config will declare).
#[derive(Debug, Clone)]
pub struct CheckInputs<'a> {
    pub app: App,
    pub kernel_specs: Vec<&'a str>,
    /// The configured container entrypoint, for code-editor.
    pub entrypoint: Option<&'a str>,
    pub uid: u32,
    pub gid: u32,
    pub mount_path: &'a str,
    /// Check names not to run.
    pub skip: &'a [String],
}

/// `docker run` of the built image with a chosen entrypoint, without network.
fn run(entrypoint: &str) -> String {
    format!(
        "docker run --rm --network none --entrypoint {} \"$IMAGE_URI\"",
        shell_quote(entrypoint)
    )
}

/// The tail every failing-capable check ends with: print the result line, fail unless ok.
fn report(name: &str) -> String {
    format!("echo \"{MARKER}{name} $r\"; [ \"$r\" = ok ]")
}

/// Concatenates literal text and shell variables into one shell word, literals quoted.
fn word(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => shell_quote(t),
            Part::Var(v) => format!("\"${v}\""),
        })
        .collect()
}

enum Part<'a> {
    Text(&'a str),
    Var(&'a str),
}
use Part::{Text, Var};

/// The check names that apply to an app, in run order.
pub fn applicable(app: App) -> Vec<&'static str> {
    ALL.iter()
        .copied()
        .filter(|c| match *c {
            "kernelspecs" => app == App::KernelGateway,
            "jupyterlab" => app == App::Jupyterlab,
            "code-editor" => app == App::CodeEditor,
            _ => true,
        })
        .collect()
}

/// The command lines, one per check that applies and is not skipped.
pub fn render(c: &CheckInputs) -> Vec<String> {
    applicable(c.app)
        .into_iter()
        .filter(|name| !c.skip.iter().any(|s| s == name))
        .map(|name| match name {
            "arch" => arch(),
            "uid" => uid(c.uid, c.gid),
            "kernelspecs" => kernelspecs(&c.kernel_specs),
            "jupyterlab" => jupyterlab(),
            "code-editor" => code_editor(c.entrypoint.unwrap_or(CODE_EDITOR)),
            "file-owners" => file_owners(),
            "mount-path" => mount_path(c.mount_path),
            other => unreachable!("check {other} has no renderer"),
        })
        .collect()
}

fn arch() -> String {
    format!(
        "a=$(docker image inspect --format '{{{{.Os}}}}/{{{{.Architecture}}}}' \"$IMAGE_URI\"); r={}; [ \"$a\" = linux/amd64 ] && r=ok; {}",
        word(&[
            Text("FAILED: the image is "),
            Var("a"),
            Text(", Studio runs linux/amd64 only: use an amd64 base image and drop --platform from the FROM lines"),
        ]),
        report("arch")
    )
}

fn uid(uid: u32, gid: u32) -> String {
    let want = format!("{uid}:{gid}");
    let fix = format!(
        ", but the app image config starts it as uid {uid} gid {gid} (uid/gid in kernel.toml): end the Dockerfile with USER {uid}:{gid}, or set uid/gid to the image's"
    );
    format!(
        "u=$({} -u 2>&1); g=$({} -g 2>&1); r={}; [ \"$u:$g\" = {} ] && r=ok; {}",
        run("id"),
        run("id"),
        word(&[
            Text("FAILED: the image's default user is uid "),
            Var("u"),
            Text(" gid "),
            Var("g"),
            Text(&fix),
        ]),
        shell_quote(&want),
        report("uid")
    )
}

fn kernelspecs(names: &[&str]) -> String {
    // `jupyter kernelspec list --json` indents by two: the kernel names are the only keys
    // four spaces in whose value is an object.
    let mut line = format!(
        "n=$({} kernelspec list --json 2>/dev/null | grep -E '^    \"[^\"]+\": [{{]' | cut -d '\"' -f 2 | tr '\\n' ' '); m=",
        run("jupyter")
    );
    for name in names {
        line.push_str(&format!(
            "; echo \" $n\" | grep -qF {} || m=\"$m\"{}",
            shell_quote(&format!(" {name} ")),
            shell_quote(&format!(" {name}"))
        ));
    }
    line.push_str(&format!(
        "; [ -n \"$n\" ] || n='none (is jupyter on the PATH of the image?) '; r={}; [ -z \"$m\" ] && r=ok; {}",
        word(&[
            Text("FAILED: kernel-specs name(s)"),
            Var("m"),
            Text(" not in the image; jupyter kernelspec list --json found: "),
            Var("n"),
            Text("- set kernel-specs to one of those, or install yours with python -m ipykernel install --name NAME"),
        ]),
        report("kernelspecs")
    ));
    line
}

fn jupyterlab() -> String {
    format!(
        "v=$({} --version 2>/dev/null | head -n 1); r={}; [ -n \"$v\" ] || r={}; echo \"$v\" | grep -Eq '^([4-9]|[1-9][0-9]+)[.]' && r=ok; {}",
        run("jupyter-lab"),
        word(&[
            Text("FAILED: jupyter-lab --version says "),
            Var("v"),
            Text(", Studio's JupyterLab app needs JupyterLab 4 or later: pip install 'jupyterlab>=4'"),
        ]),
        shell_quote("FAILED: jupyter-lab is not on the PATH of the image, and Studio's JupyterLab app runs it: pip install 'jupyterlab>=4'"),
        report("jupyterlab")
    )
}

fn code_editor(entrypoint: &str) -> String {
    format!(
        "p=$({} -c 'command -v \"$0\"' {} 2>/dev/null); r={}; [ -n \"$p\" ] && r=ok; {}",
        run("sh"),
        shell_quote(entrypoint),
        shell_quote(&format!(
            "FAILED: {entrypoint} is not on the PATH of the image, and Studio's Code Editor app starts it: build FROM a SageMaker Distribution image, or set container.entrypoint to the program your image has"
        )),
        report("code-editor")
    )
}

/// Whether the image has a working `find`, which both file checks run: an image without it
/// (`FROM scratch`, some distroless bases) gets a warning instead of a silent pass.
fn has_find() -> String {
    format!("{} / -maxdepth 0 >/dev/null 2>&1", run("find"))
}

fn no_find(name: &str, unchecked: &str) -> String {
    format!(
        "WARNING: the image has no find, so {unchecked} were not checked: add findutils to the image, or skip this check with checks-skip = [\"{name}\"]"
    )
}

fn file_owners() -> String {
    // Empty output is either no such file or no find: only the second run tells them apart,
    // and it runs only then.
    format!(
        "f=$({} / -xdev '(' -uid +65535 -o -gid +65535 ')' -print 2>/dev/null | head -n 5 | tr '\\n' ' '); r=ok; [ -n \"$f\" ] && r={}; [ -z \"$f\" ] && r={} && {} && r=ok; echo \"{MARKER}file-owners $r\"; [ -z \"$f\" ]",
        run("find"),
        word(&[
            Text("FAILED: files owned by a UID or GID above 65535, which Studio cannot start: "),
            Var("f"),
            Text("- chown them in the Dockerfile (archives unpacked with their owners: tar --no-same-owner)"),
        ]),
        shell_quote(&no_find(
            "file-owners",
            "files owned by a UID or GID above 65535 (which Studio cannot start)"
        )),
        has_find(),
    )
}

fn mount_path(path: &str) -> String {
    let warning = format!(
        "WARNING: Studio mounts the user's storage over {path} and hides what the image put there: "
    );
    format!(
        "h=$({} {} -mindepth 1 -maxdepth 1 '!' -name .bashrc '!' -name .bash_logout '!' -name .profile -print 2>/dev/null | head -n 5 | tr '\\n' ' '); r={}; [ -n \"$h\" ] && r={}; [ -z \"$h\" ] && {} && r=ok; echo \"{MARKER}mount-path $r\"",
        run("find"),
        shell_quote(path),
        shell_quote(&no_find(
            "mount-path",
            &format!("the files under {path} (which Studio's storage hides)")
        )),
        word(&[Text(&warning), Var("h")]),
        has_find(),
    )
}

/// One result line from the build log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed(String),
    Warning(String),
}

/// Reads a result line. Only lines that start with the marker count: CodeBuild also logs each
/// command it runs (`Running command …`), which contains the marker text mid-line.
pub fn parse_line(line: &str) -> Option<Outcome> {
    let rest = line.trim_end().strip_prefix(MARKER)?;
    let (name, result) = rest.split_once(' ')?;
    if !ALL.contains(&name) {
        return None;
    }
    let status = if result == "ok" {
        Status::Ok
    } else if let Some(d) = result.strip_prefix("FAILED: ") {
        Status::Failed(d.trim().to_string())
    } else if let Some(d) = result.strip_prefix("WARNING: ") {
        Status::Warning(d.trim().to_string())
    } else {
        return None;
    };
    Some(Outcome {
        name: name.to_string(),
        status,
    })
}

/// The failure message for a check that failed in the build.
pub fn failure_message(name: &str, detail: &str) -> String {
    format!(
        "in-image check {name} failed: {detail}\nnothing was pushed or registered; fix the Dockerfile, or skip this check with checks-skip = [\"{name}\"] (or all with --no-checks)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(app: App, skip: &[String]) -> CheckInputs<'_> {
        CheckInputs {
            app,
            kernel_specs: vec!["python3"],
            entrypoint: None,
            uid: 1000,
            gid: 100,
            mount_path: "/home/sagemaker-user",
            skip,
        }
    }

    #[test]
    fn each_app_gets_its_own_app_check() {
        assert_eq!(
            applicable(App::KernelGateway),
            ["arch", "uid", "kernelspecs", "file-owners", "mount-path"]
        );
        assert!(applicable(App::Jupyterlab).contains(&"jupyterlab"));
        assert!(!applicable(App::Jupyterlab).contains(&"kernelspecs"));
        assert!(applicable(App::CodeEditor).contains(&"code-editor"));
    }

    #[test]
    fn skipped_checks_are_not_rendered() {
        let skip = vec!["uid".to_string(), "mount-path".to_string()];
        let lines = render(&inputs(App::KernelGateway, &skip));
        assert_eq!(lines.len(), 3);
        assert!(lines
            .iter()
            .all(|l| !l.contains("check: uid") && !l.contains("mount-path")));
    }

    #[test]
    fn parses_only_lines_that_start_with_the_marker() {
        assert_eq!(
            parse_line("sm-kernel-check: uid FAILED: the image's default user is uid 0 gid 0\n"),
            Some(Outcome {
                name: "uid".into(),
                status: Status::Failed("the image's default user is uid 0 gid 0".into())
            })
        );
        assert_eq!(
            parse_line("sm-kernel-check: arch ok").unwrap().status,
            Status::Ok
        );
        assert!(matches!(
            parse_line("sm-kernel-check: mount-path WARNING: x")
                .unwrap()
                .status,
            Status::Warning(_)
        ));
        assert_eq!(
            parse_line(
                "[Container] 2026/12/04 Running command echo \"sm-kernel-check: uid FAILED: x\""
            ),
            None
        );
        assert_eq!(parse_line("sm-kernel-check: nosuch FAILED: x"), None);
        assert_eq!(parse_line("sm-kernel-check: uid maybe"), None);
    }
}

/// The rendered checks run through the real `sh`, with `docker` and `aws` replaced by shell
/// functions that answer like the image described by `STUB_*` variables and log each call.
#[cfg(test)]
mod sh_tests {
    use super::*;
    use crate::buildspec::{render as render_buildspec, BuildspecInputs};
    use std::collections::BTreeMap;
    use std::process::Command;

    const STUBS: &str = r#"
docker() {
  printf '%s\n' "$*" >> "$CALLS"
  case "$1" in
    run)
      shift; ep=
      while [ $# -gt 0 ]; do
        case "$1" in
          --entrypoint) ep=$2; shift 2 ;;
          --network) shift 2 ;;
          --rm) shift ;;
          *) break ;;
        esac
      done
      shift
      if [ "$ep" = find ] && [ -n "$STUB_NO_FIND" ]; then
        echo 'docker: Error response from daemon: exec: "find": executable file not found in $PATH: unknown.' >&2
        return 127
      fi
      case "$ep $*" in
        "id -u") echo "${STUB_UID:-1000}" ;;
        "id -g") echo "${STUB_GID:-100}" ;;
        "jupyter kernelspec list --json")
          printf '{\n  "kernelspecs": {\n    "%s": {\n      "resource_dir": "/k",\n      "spec": {\n        "display_name": "x"\n      }\n    }\n  }\n}\n' "${STUB_KERNEL:-python3}" ;;
        "jupyter-lab --version") [ -n "${STUB_LAB-4.2.5}" ] && echo "${STUB_LAB-4.2.5}" ;;
        "find / "*) [ -n "$STUB_HIGH_UID" ] && printf '%s\n' "$STUB_HIGH_UID" ;;
        "find "*) [ -n "$STUB_HOME" ] && printf '%s\n' "$STUB_HOME" ;;
        "sh "*) echo /usr/local/bin/sagemaker-code-editor ;;
      esac ;;
    image) echo "${STUB_PLATFORM:-linux/amd64}" ;;
    inspect) echo "repo@sha256:00" ;;
  esac
  return 0
}
aws() { echo password; }
"#;

    struct Run {
        ok: bool,
        output: String,
        calls: String,
        dir: tempfile::TempDir,
    }

    /// Runs the pre_build and build commands as CodeBuild does with on-failure: ABORT: one
    /// shell, in order, stopping at the first command that exits non-zero.
    fn run(checks: Option<CheckInputs>, env: &[(&str, &str)]) -> Run {
        let args = BTreeMap::new();
        let yaml = render_buildspec(&BuildspecInputs {
            dockerfile_in_zip: "Dockerfile",
            build_args: &args,
            registries: &[],
            checks,
            cache_repository: None,
            secrets: &[],
        });
        let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        let mut script = String::from(STUBS);
        for phase in ["pre_build", "build", "post_build"] {
            let Some(cmds) = doc["phases"][phase]["commands"].as_sequence() else {
                continue;
            };
            for c in cmds {
                script.push_str(c.as_str().unwrap());
                script.push_str("\nst=$?; [ $st -eq 0 ] || exit $st\n");
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("CALLS", &calls)
            .env("IMAGE_URI", "123.dkr.ecr.us-east-1.amazonaws.com/r:t")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            ok: out.status.success(),
            output: String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
            calls: std::fs::read_to_string(&calls).unwrap_or_default(),
            dir,
        }
    }

    fn kg<'a>(specs: Vec<&'a str>, mount: &'a str, skip: &'a [String]) -> CheckInputs<'a> {
        CheckInputs {
            app: App::KernelGateway,
            kernel_specs: specs,
            entrypoint: None,
            uid: 1000,
            gid: 100,
            mount_path: mount,
            skip,
        }
    }

    fn outcomes(output: &str) -> Vec<Outcome> {
        output.lines().filter_map(parse_line).collect()
    }

    fn pushed(r: &Run) -> bool {
        r.calls.lines().any(|c| c.starts_with("push "))
    }

    #[test]
    fn a_good_image_passes_every_check_and_is_pushed() {
        let r = run(Some(kg(vec!["python3"], "/home/sagemaker-user", &[])), &[]);
        assert!(r.ok, "{}", r.output);
        let o = outcomes(&r.output);
        assert_eq!(o.len(), 5, "{}", r.output);
        assert!(o.iter().all(|o| o.status == Status::Ok), "{o:?}");
        assert!(pushed(&r));
    }

    #[test]
    fn a_wrong_uid_fails_its_check_and_stops_before_the_push() {
        let r = run(
            Some(kg(vec!["python3"], "/home/sagemaker-user", &[])),
            &[("STUB_UID", "0"), ("STUB_GID", "0")],
        );
        assert!(!r.ok, "{}", r.output);
        let failed: Vec<Outcome> = outcomes(&r.output)
            .into_iter()
            .filter(|o| matches!(o.status, Status::Failed(_)))
            .collect();
        assert_eq!(failed.len(), 1, "{}", r.output);
        assert_eq!(failed[0].name, "uid");
        let Status::Failed(d) = &failed[0].status else {
            unreachable!()
        };
        assert!(
            d.contains("uid 0 gid 0") && d.contains("USER 1000:100"),
            "{d}"
        );
        assert!(!pushed(&r), "{}", r.calls);
    }

    #[test]
    fn a_missing_kernelspec_names_both_and_stops_before_the_push() {
        let r = run(
            Some(kg(vec!["python3", "ir"], "/home/sagemaker-user", &[])),
            &[("STUB_KERNEL", "conda-env-base-py")],
        );
        assert!(!r.ok);
        let o = outcomes(&r.output);
        let failed = o.iter().find(|o| o.name == "kernelspecs").unwrap();
        let Status::Failed(d) = &failed.status else {
            panic!("{o:?}")
        };
        assert!(
            d.contains("name(s) python3 ir not in the image")
                && d.contains("found: conda-env-base-py"),
            "{d}"
        );
        assert!(!pushed(&r));
    }

    #[test]
    fn arm64_old_jupyterlab_and_high_owners_fail() {
        let r = run(
            Some(kg(vec!["python3"], "/home/sagemaker-user", &[])),
            &[("STUB_PLATFORM", "linux/arm64")],
        );
        assert!(
            !r.ok
                && r.output
                    .contains("sm-kernel-check: arch FAILED: the image is linux/arm64")
        );
        let lab = CheckInputs {
            app: App::Jupyterlab,
            ..kg(vec![], "/home/sagemaker-user", &[])
        };
        let r = run(Some(lab.clone()), &[("STUB_LAB", "3.6.7")]);
        assert!(
            !r.ok
                && r.output
                    .contains("jupyterlab FAILED: jupyter-lab --version says 3.6.7"),
            "{}",
            r.output
        );
        let r = run(Some(lab.clone()), &[("STUB_LAB", "")]);
        assert!(
            !r.ok
                && r.output
                    .contains("jupyterlab FAILED: jupyter-lab is not on the PATH"),
            "{}",
            r.output
        );
        let r = run(Some(lab.clone()), &[("STUB_LAB", "10.0.1")]);
        assert!(r.ok, "{}", r.output);
        let r = run(Some(lab), &[("STUB_HIGH_UID", "/opt/a\n/opt/b")]);
        assert!(
            !r.ok && r.output.contains("file-owners FAILED: files owned by a UID or GID above 65535, which Studio cannot start: /opt/a /opt/b "),
            "{}",
            r.output
        );
        assert!(!pushed(&r));
    }

    #[test]
    fn files_under_the_mount_path_only_warn_and_the_path_stays_inert() {
        let hostile = "/home/it's $(touch pwned) `touch pwned2`";
        let r = run(
            Some(kg(vec!["python3"], hostile, &[])),
            &[("STUB_HOME", "/home/x/notebook.ipynb")],
        );
        assert!(r.ok, "{}", r.output);
        let w = outcomes(&r.output)
            .into_iter()
            .find(|o| o.name == "mount-path")
            .unwrap();
        assert_eq!(
            w.status,
            Status::Warning(format!("Studio mounts the user's storage over {hostile} and hides what the image put there: /home/x/notebook.ipynb"))
        );
        assert!(pushed(&r));
        let names: Vec<_> = std::fs::read_dir(r.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["calls"], "a command from the mount path ran");
    }

    #[test]
    fn an_image_without_find_warns_for_both_file_checks_and_is_pushed() {
        let r = run(
            Some(kg(vec!["python3"], "/home/sagemaker-user", &[])),
            &[("STUB_NO_FIND", "1")],
        );
        assert!(r.ok, "{}", r.output);
        let o = outcomes(&r.output);
        for name in ["file-owners", "mount-path"] {
            let w = o.iter().find(|o| o.name == name).unwrap();
            let Status::Warning(d) = &w.status else {
                panic!("{name}: {w:?}")
            };
            assert!(
                d.starts_with("the image has no find, so ")
                    && d.contains(&format!("checks-skip = [\"{name}\"]")),
                "{d}"
            );
        }
        assert!(o
            .iter()
            .filter(|o| o.name != "file-owners" && o.name != "mount-path")
            .all(|o| o.status == Status::Ok));
        assert!(pushed(&r));
        // The probe runs only when the search found nothing.
        let r = run(
            Some(kg(vec!["python3"], "/home/sagemaker-user", &[])),
            &[("STUB_HIGH_UID", "/opt/a"), ("STUB_HOME", "/home/x/a")],
        );
        assert!(!r.ok);
        assert!(!r.calls.contains("-maxdepth 0"), "{}", r.calls);
    }

    #[test]
    fn without_checks_no_docker_run_is_executed() {
        let r = run(None, &[("STUB_UID", "0")]);
        assert!(r.ok, "{}", r.output);
        assert!(
            !r.calls.lines().any(|c| c.starts_with("run ")),
            "{}",
            r.calls
        );
        assert!(pushed(&r));
    }

    #[test]
    fn skipped_check_does_not_run() {
        let skip = ["uid".to_string()];
        let r = run(
            Some(kg(vec!["python3"], "/home/sagemaker-user", &skip)),
            &[("STUB_UID", "0")],
        );
        assert!(r.ok, "{}", r.output);
        assert!(!r.calls.contains("--entrypoint id"), "{}", r.calls);
    }
}
