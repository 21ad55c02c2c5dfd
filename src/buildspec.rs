//! Renders `buildspec/buildspec.yml`.
//!
//! sm-docker pasted extra arguments into the buildspec unquoted, so a build arg could run
//! code on the build host. Here every user value becomes a single-quoted shell word, and
//! every generated command line a JSON-quoted YAML string (JSON strings are valid YAML
//! double-quoted scalars), so neither the shell nor the YAML parser can misread it.

pub mod checks;

use std::collections::BTreeMap;

pub use checks::CheckInputs;

use crate::names::{BuildSecret, SecretStore};

/// The template, embedded so the binary is self-contained.
pub const TEMPLATE: &str = include_str!("../buildspec/buildspec.yml");

/// The line the build prints after the push; `publish` and the sandbox both parse it.
pub const DIGEST_MARKER: &str = "SM_KERNEL_PUSHED_DIGEST=";

/// The tag of the BuildKit layer cache in the kernel's repository. The image tags sm-kernel
/// pushes are sha256 hex, so this can never be one of them; anything that lists versions
/// from the repository skips it (see [`is_cache_tag`]).
pub const CACHE_TAG: &str = "buildcache";

/// Whether an ECR tag is the layer cache rather than a version of the image.
pub fn is_cache_tag(tag: &str) -> bool {
    tag == CACHE_TAG
}

/// Everything the buildspec depends on. The image URI is deliberately not here: it is passed
/// as an environment variable so that the buildspec (and so the image tag derived from it)
/// does not depend on itself.
#[derive(Debug, Clone)]
pub struct BuildspecInputs<'a> {
    /// The Dockerfile's path inside the zip, relative to its root.
    pub dockerfile_in_zip: &'a str,
    pub build_args: &'a BTreeMap<String, String>,
    /// Extra ECR registries to log in to, as `ACCOUNT.dkr.ecr.REGION.amazonaws.com`.
    pub registries: &'a [String],
    /// The in-image checks to run between the build and the push; `None` with `checks = false`.
    pub checks: Option<CheckInputs<'a>>,
    /// The kernel's ECR repository name, which holds the layer cache; `None` with
    /// `build-cache = false`.
    pub cache_repository: Option<&'a str>,
    /// Build secrets: read by CodeBuild into the environment (masked in its logs), passed to
    /// BuildKit as `--secret id=ID,env=ID`, never as a build arg.
    pub secrets: &'a [BuildSecret],
}

/// Quotes one word for POSIX sh: inside single quotes nothing is special, and a single quote
/// is written as `'\''`.
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

fn yaml_item(command: &str) -> String {
    format!(
        "      - {}",
        serde_json::to_string(command).expect("a string always serialises")
    )
}

/// The region part of an ECR registry host (`123.dkr.ecr.eu-west-1.amazonaws.com`).
fn registry_region(host: &str) -> &str {
    host.split('.').nth(3).unwrap_or("")
}

pub fn render(inputs: &BuildspecInputs) -> String {
    let logins: Vec<String> = inputs
        .registries
        .iter()
        .map(|host| {
            yaml_item(&format!(
                "aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {}",
                shell_quote(registry_region(host)),
                shell_quote(host)
            ))
        })
        .collect();

    let mut builds = Vec::new();
    let mut build = match inputs.cache_repository {
        // --secret needs BuildKit, the default builder only since Docker 23.
        None if !inputs.secrets.is_empty() => format!(
            "DOCKER_BUILDKIT=1 docker build --platform linux/amd64 --progress plain -f {} -t \"$IMAGE_URI\"",
            shell_quote(inputs.dockerfile_in_zip)
        ),
        None => format!(
            "docker build --platform linux/amd64 --progress plain -f {} -t \"$IMAGE_URI\"",
            shell_quote(inputs.dockerfile_in_zip)
        ),
        Some(repo) => {
            // The docker driver cannot export a cache: a docker-container builder can, and
            // --load brings the image back for the checks and the push.
            //
            // --cache-to exports during the build, before the in-image checks run, so a build
            // whose check fails still updates REPOSITORY:buildcache. That is deliberate: the
            // fix is usually the last Dockerfile lines (USER, a kernelspec install), and the
            // rebuild then reuses every earlier layer. Cache entries are keyed by instruction
            // and inputs, so a fixed Dockerfile never picks up a layer it would not have built
            // itself, and the buildcache tag is never registered with SageMaker.
            builds.push(yaml_item(
                "docker buildx create --name sm-kernel --driver docker-container --use",
            ));
            let cache = |extra: &str| {
                format!(
                    "\"type=registry,ref=$ECR_REGISTRY/\"{}",
                    shell_quote(&format!("{repo}:{CACHE_TAG}{extra}"))
                )
            };
            format!(
                "docker buildx build --platform linux/amd64 --progress plain -f {} -t \"$IMAGE_URI\" --load --cache-from {} --cache-to {}",
                shell_quote(inputs.dockerfile_in_zip),
                cache(""),
                cache(",mode=max,image-manifest=true,oci-mediatypes=true")
            )
        }
    };
    for s in inputs.secrets {
        build.push_str(" --secret ");
        build.push_str(&shell_quote(&format!("id={},env={}", s.id, s.id)));
    }
    for (k, v) in inputs.build_args {
        build.push_str(" --build-arg ");
        build.push_str(&shell_quote(&format!("{k}={v}")));
    }
    build.push_str(" .");
    builds.push(yaml_item(&build));

    let checks: Vec<String> = inputs
        .checks
        .as_ref()
        .map(checks::render)
        .unwrap_or_default()
        .iter()
        .map(|c| yaml_item(c))
        .collect();

    let text = TEMPLATE
        .replace("@@ENV@@\n", &env_section(inputs.secrets))
        .replace("@@EXTRA_REGISTRY_LOGINS@@\n", &join_lines(&logins))
        .replace("@@DOCKER_BUILD@@\n", &join_lines(&builds))
        .replace("@@CHECKS@@\n", &join_lines(&checks));
    debug_assert!(!text.contains("@@"));
    text
}

/// The buildspec's `env` section: CodeBuild resolves each entry before the first phase. The
/// ids are environment variable names (checked), so they are plain YAML keys; the values are
/// JSON-quoted like every command.
fn env_section(secrets: &[BuildSecret]) -> String {
    if secrets.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nenv:\n");
    for (store, key) in [
        (SecretStore::SecretsManager, "secrets-manager"),
        (SecretStore::ParameterStore, "parameter-store"),
    ] {
        let of_store: Vec<&BuildSecret> = secrets.iter().filter(|s| s.store == store).collect();
        if of_store.is_empty() {
            continue;
        }
        out.push_str(&format!("  {key}:\n"));
        for s in of_store {
            out.push_str(&format!(
                "    {}: {}\n",
                s.id,
                serde_json::to_string(&s.reference).expect("a string always serialises")
            ));
        }
    }
    out
}

fn join_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::App;
    use std::process::Command;

    fn commands(yaml: &str) -> Vec<String> {
        let doc: serde_norway::Value = serde_norway::from_str(yaml).expect("valid YAML");
        assert_eq!(doc["version"], serde_norway::Value::from(0.2));
        let mut out = Vec::new();
        for phase in ["pre_build", "build", "post_build"] {
            let Some(cmds) = doc["phases"][phase]["commands"].as_sequence() else {
                continue;
            };
            for c in cmds {
                out.push(c.as_str().unwrap().to_string());
            }
        }
        out
    }

    fn render_with(args: &[(&str, &str)], registries: &[&str]) -> String {
        let args: BTreeMap<String, String> = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let registries: Vec<String> = registries.iter().map(|s| s.to_string()).collect();
        render(&BuildspecInputs {
            dockerfile_in_zip: "Dockerfile",
            build_args: &args,
            registries: &registries,
            checks: None,
            cache_repository: None,
            secrets: &[],
        })
    }

    #[test]
    fn renders_valid_codebuild_yaml() {
        let yaml = render_with(&[("PY", "3.11")], &[]);
        let cmds = commands(&yaml);
        assert!(cmds
            .iter()
            .any(|c| c.starts_with("aws ecr get-login-password")));
        assert!(cmds.iter().any(|c| c
            == "docker build --platform linux/amd64 --progress plain -f 'Dockerfile' -t \"$IMAGE_URI\" --build-arg 'PY=3.11' ."));
        assert!(cmds.iter().any(|c| c == "docker push \"$IMAGE_URI\""));
        assert!(cmds.iter().any(|c| c.contains(DIGEST_MARKER)));
        assert!(!yaml.contains("@@"));
    }

    #[test]
    fn extra_registries_get_their_own_login_with_their_region() {
        let yaml = render_with(&[], &["763104351884.dkr.ecr.eu-west-1.amazonaws.com"]);
        let cmds = commands(&yaml);
        assert!(cmds.contains(&"aws ecr get-login-password --region 'eu-west-1' | docker login --username AWS --password-stdin '763104351884.dkr.ecr.eu-west-1.amazonaws.com'".to_string()));
    }

    #[test]
    fn hostile_build_args_stay_inert() {
        let hostile = "$(touch pwned) `touch pwned2` ' \" \\ ; touch pwned3\nsecond line #x: y";
        let yaml = render_with(&[("EVIL", hostile)], &[]);
        let build = commands(&yaml)
            .into_iter()
            .find(|c| c.starts_with("docker build"))
            .unwrap();
        // Run the real command line through sh with `docker` replaced by a function that
        // prints its arguments one per line, NUL-terminated, in a scratch folder.
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "docker() {{ for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\nIMAGE_URI=repo:tag\n{build}\n"
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let args: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        assert!(args.contains(&format!("EVIL={hostile}")), "{args:?}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "a command ran"
        );
    }

    #[test]
    fn dockerfile_path_is_quoted() {
        let args = BTreeMap::new();
        let yaml = render(&BuildspecInputs {
            dockerfile_in_zip: "docker files/it's.Dockerfile",
            build_args: &args,
            registries: &[],
            checks: None,
            cache_repository: None,
            secrets: &[],
        });
        let cmds = commands(&yaml);
        assert!(cmds
            .iter()
            .any(|c| c.contains("-f 'docker files/it'\\''s.Dockerfile'")));
    }

    #[test]
    fn same_inputs_same_bytes() {
        assert_eq!(
            render_with(&[("A", "1")], &[]),
            render_with(&[("A", "1")], &[])
        );
        assert_ne!(
            render_with(&[("A", "1")], &[]),
            render_with(&[("A", "2")], &[])
        );
    }

    fn rendered_for(app: App, specs: Vec<&str>, entrypoint: Option<&str>) -> String {
        let args: BTreeMap<String, String> = [("PY".to_string(), "3.12".to_string())].into();
        render(&BuildspecInputs {
            dockerfile_in_zip: "Dockerfile",
            build_args: &args,
            registries: &["763104351884.dkr.ecr.us-west-2.amazonaws.com".to_string()],
            checks: Some(CheckInputs {
                app,
                kernel_specs: specs,
                entrypoint,
                uid: 1000,
                gid: 100,
                mount_path: "/home/sagemaker-user",
                skip: &[],
            }),
            cache_repository: Some("sagemaker-studio-k"),
            secrets: &[],
        })
    }

    #[test]
    fn snapshot_kernel_gateway() {
        let yaml = rendered_for(App::KernelGateway, vec!["python3", "ir"], None);
        commands(&yaml);
        insta::assert_snapshot!(yaml);
    }

    #[test]
    fn snapshot_jupyterlab() {
        let yaml = rendered_for(App::Jupyterlab, vec![], None);
        commands(&yaml);
        insta::assert_snapshot!(yaml);
    }

    #[test]
    fn snapshot_code_editor() {
        let yaml = rendered_for(App::CodeEditor, vec![], Some("entrypoint-code-editor"));
        commands(&yaml);
        insta::assert_snapshot!(yaml);
    }

    #[test]
    fn the_push_comes_after_every_check() {
        let cmds = commands(&rendered_for(App::KernelGateway, vec!["python3"], None));
        let push = cmds
            .iter()
            .position(|c| c.starts_with("docker push"))
            .unwrap();
        let build = cmds
            .iter()
            .position(|c| c.starts_with("docker build"))
            .unwrap();
        let checks: Vec<usize> = (0..cmds.len())
            .filter(|&i| cmds[i].contains(checks::MARKER))
            .collect();
        assert_eq!(checks.len(), 5);
        assert!(checks.iter().all(|&i| build < i && i < push), "{cmds:#?}");
    }

    #[test]
    fn the_cache_uses_buildkit_with_the_registry_cache_of_the_repository() {
        let cmds = commands(&rendered_for(App::Jupyterlab, vec![], None));
        let build = cmds.iter().find(|c| c.contains("buildx build")).unwrap();
        assert!(build.starts_with("docker buildx build --platform linux/amd64 --progress plain -f 'Dockerfile' -t \"$IMAGE_URI\" --load "), "{build}");
        assert!(build.contains(" --cache-from \"type=registry,ref=$ECR_REGISTRY/\"'sagemaker-studio-k:buildcache' "), "{build}");
        assert!(build.contains(" --cache-to \"type=registry,ref=$ECR_REGISTRY/\"'sagemaker-studio-k:buildcache,mode=max,image-manifest=true,oci-mediatypes=true' "), "{build}");
        let create = cmds
            .iter()
            .position(|c| c.starts_with("docker buildx create"))
            .unwrap();
        let at = cmds.iter().position(|c| c == build).unwrap();
        assert!(create < at);
        // Without the cache: the plain docker build, no builder.
        let plain = commands(&render_with(&[], &[]));
        assert!(
            !plain
                .iter()
                .any(|c| c.contains("buildx") || c.contains("cache")),
            "{plain:?}"
        );
        assert!(!is_cache_tag(&crate::plan::resources::image_tag(
            "sha256:00",
            "x"
        )));
        assert!(is_cache_tag(CACHE_TAG));
    }

    #[test]
    fn secrets_go_to_the_env_section_and_buildkit_never_to_build_args() {
        let secrets = vec![
            crate::names::build_secret(
                "f",
                "PIP_TOKEN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:pip-AbCdEf:token",
            )
            .unwrap(),
            crate::names::build_secret(
                "f",
                "NPMRC",
                "arn:aws:ssm:us-east-1:123456789012:parameter/ci/npmrc",
            )
            .unwrap(),
        ];
        let args = BTreeMap::new();
        for cache in [None, Some("sagemaker-studio-k")] {
            let yaml = render(&BuildspecInputs {
                dockerfile_in_zip: "Dockerfile",
                build_args: &args,
                registries: &[],
                checks: None,
                cache_repository: cache,
                secrets: &secrets,
            });
            let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
            assert_eq!(
                doc["env"]["secrets-manager"]["PIP_TOKEN"].as_str(),
                Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:pip-AbCdEf:token")
            );
            assert_eq!(
                doc["env"]["parameter-store"]["NPMRC"].as_str(),
                Some("/ci/npmrc")
            );
            let cmds = commands(&yaml);
            let build = cmds
                .iter()
                .find(|c| c.contains(" build --platform"))
                .unwrap();
            assert!(
                build.contains(
                    " --secret 'id=PIP_TOKEN,env=PIP_TOKEN' --secret 'id=NPMRC,env=NPMRC'"
                ),
                "{build}"
            );
            assert!(
                cache.is_some() || build.starts_with("DOCKER_BUILDKIT=1 docker build "),
                "{build}"
            );
            assert!(
                !cmds
                    .iter()
                    .any(|c| c.contains("arn:aws:s") || c.contains("--build-arg")),
                "{cmds:?}"
            );
        }
        assert!(!render_with(&[], &[]).contains("env:"));
    }

    #[test]
    fn shell_quote_handles_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote(""), "''");
    }
}
