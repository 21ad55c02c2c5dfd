//! `sm-kernel init`: a kernel.toml, a Dockerfile Studio accepts and a .dockerignore. It never
//! overwrites: if any of the files exists, nothing is written and the user is told which.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{InitArgs, Template};
use crate::error::Error;
use crate::names;

const PYTHON: &str = include_str!("../dockerfiles/python.Dockerfile");
const JUPYTERLAB: &str = include_str!("../dockerfiles/jupyterlab.Dockerfile");
const CODE_EDITOR: &str = include_str!("../dockerfiles/code-editor.Dockerfile");
const DOCKERIGNORE: &str = include_str!("../dockerfiles/dockerignore");

/// What `init` wrote, for the caller to report.
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub image_name: String,
    /// What to do next: fill in only what was not passed, then plan.
    pub next: String,
}

/// The next step after `init`: names only the settings still missing from the manifest
/// (a value passed to `init` is already written, and a region in the environment is used).
fn next_step(manifest: &Path, role: bool, domain: bool, region: bool) -> String {
    let region = region
        || ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let missing: Vec<&str> = [("role", role), ("domain-id", domain), ("region", region)]
        .iter()
        .filter(|(_, set)| !set)
        .map(|(key, _)| *key)
        .collect();
    let plan = format!("`sm-kernel plan --config {}`", manifest.display());
    match missing.as_slice() {
        [] => format!("next: {plan}"),
        [one] => format!("next: fill in {one} in {}, then {plan}", manifest.display()),
        [rest @ .., last] => format!(
            "next: fill in {} and {last} in {}, then {plan}",
            rest.join(", "),
            manifest.display()
        ),
    }
}

/// Turns a folder name into a valid SageMaker image name (letters, digits, single hyphens).
fn image_name_from_dir(dir: &Path) -> String {
    let raw = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "my-kernel".to_string()
    } else {
        out
    }
}

fn title(name: &str) -> String {
    name.split(['-', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn manifest(
    template: Template,
    name: &str,
    display: &str,
    role: Option<&str>,
    domain: Option<&str>,
    region: Option<&str>,
) -> String {
    let setting = |key: &str, value: Option<&str>, example: &str, help: &str| match value {
        Some(v) => format!("{key} = {}\n", toml_string(v)),
        None => format!("# {key} = \"{example}\"   # {help}\n"),
    };
    let mut s = String::new();
    s.push_str("# kernel.toml, written by `sm-kernel init`. Reference: the README's kernel.toml section.\n");
    s.push_str("# `sm-kernel plan` shows everything a publish would do without touching AWS.\n\n");
    s.push_str("[defaults]\n");
    s.push_str(&setting(
        "region",
        region,
        "us-east-1",
        "or --region / AWS_REGION",
    ));
    s.push_str(&setting(
        "role",
        role,
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "your Studio execution role",
    ));
    s.push_str(&setting(
        "domain-id",
        domain,
        "d-xxxxxxxxxxxx",
        "`aws sagemaker list-domains` shows it",
    ));
    s.push_str("\n[[kernel]]\n");
    s.push_str(&format!("name = {}\n", toml_string(name)));
    s.push_str(&format!("display-name = {}\n", toml_string(display)));
    let app = match template {
        Template::Python => "kernel-gateway",
        Template::Jupyterlab => "jupyterlab",
        Template::CodeEditor => "code-editor",
    };
    s.push_str(&format!("app = \"{app}\"\n"));
    s.push_str("context = \".\"\ndockerfile = \"Dockerfile\"\n");
    s.push_str("uid = 1000\ngid = 100\nmount-path = \"/home/sagemaker-user\"\n");
    if template == Template::Python {
        s.push_str(
            "\n# Must match the kernelspec the Dockerfile installs (ipykernel install --name).\n",
        );
        s.push_str("[[kernel.kernel-specs]]\n");
        s.push_str(&format!("name = {}\n", toml_string(name)));
        s.push_str(&format!("display-name = {}\n", toml_string(display)));
    }
    s
}

pub fn run(args: &InitArgs, region: Option<&str>) -> Result<Written, Error> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(format!(
            "DIR: {} is a file; give a folder for the new kernel",
            dir.display()
        )));
    }
    let name = match &args.image_name {
        Some(n) => n.clone(),
        None => image_name_from_dir(&dir),
    };
    names::image_name("--image-name", &name)?;
    if let Some(r) = &args.role {
        names::role_arn("--role", r)?;
    }
    if let Some(d) = &args.domain_id {
        names::domain_id("--domain-id", d)?;
    }
    if let Some(r) = region {
        names::region("--region", r)?;
    }
    let display = title(&name);
    let dockerfile = match args.template {
        Template::Python => PYTHON,
        Template::Jupyterlab => JUPYTERLAB,
        Template::CodeEditor => CODE_EDITOR,
    }
    .replace("{{KERNEL_NAME}}", &name)
    .replace("{{DISPLAY_NAME}}", &display);
    let files = [
        (
            "kernel.toml",
            manifest(
                args.template,
                &name,
                &display,
                args.role.as_deref(),
                args.domain_id.as_deref(),
                region,
            ),
        ),
        ("Dockerfile", dockerfile),
        (".dockerignore", DOCKERIGNORE.to_string()),
    ];
    let existing: Vec<String> = files
        .iter()
        .map(|(f, _)| dir.join(f))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::input(format!(
            "init never overwrites: {} already exist{}; move {} aside or run init in another folder",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" },
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    fs::create_dir_all(&dir)
        .map_err(|e| Error::failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (file, content) in files {
        let path = dir.join(file);
        // create_new closes the race with a file appearing since the check above.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::failed(format!("cannot create {}: {e}", path.display())))?;
        f.write_all(content.as_bytes())
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
    }
    let next = next_step(
        &dir.join("kernel.toml"),
        args.role.is_some(),
        args.domain_id.is_some(),
        region.is_some(),
    );
    Ok(Written {
        dir,
        files: written,
        image_name: name,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_valid_image_names() {
        for (dir, want) in [
            ("My Kernel_2", "my-kernel-2"),
            ("--x--", "x"),
            ("___", "my-kernel"),
            ("data.science", "data-science"),
        ] {
            let got = image_name_from_dir(Path::new(dir));
            assert_eq!(got, want);
            names::image_name("t", &got).unwrap();
        }
    }

    #[test]
    fn manifest_parses_and_kernelspec_matches_dockerfile() {
        let text = manifest(
            Template::Python,
            "ds",
            "Ds",
            Some("arn:aws:iam::123456789012:role/r"),
            None,
            None,
        );
        let m = crate::config::manifest::Manifest::parse(&text).unwrap();
        let k = &m.kernels[0];
        assert_eq!(k.kernel_specs.as_ref().unwrap()[0].name, "ds");
        assert_eq!(
            m.defaults.role.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert!(m.defaults.domain_id.is_none());
        let dockerfile = PYTHON.replace("{{KERNEL_NAME}}", "ds");
        assert!(dockerfile.contains("--name \"ds\""));
        assert!(dockerfile.contains("NB_UID=1000") && dockerfile.contains("NB_GID=100"));
    }

    #[test]
    fn never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("Dockerfile"), "mine").unwrap();
        let args = InitArgs {
            dir: Some(tmp.path().to_path_buf()),
            template: Template::Python,
            image_name: Some("k".into()),
            role: None,
            domain_id: None,
        };
        let err = run(&args, None).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            fs::read_to_string(tmp.path().join("Dockerfile")).unwrap(),
            "mine"
        );
        assert!(!tmp.path().join("kernel.toml").exists());
    }

    #[test]
    fn next_step_names_only_what_is_missing() {
        let m = Path::new("k/kernel.toml");
        assert_eq!(
            next_step(m, true, true, true),
            "next: `sm-kernel plan --config k/kernel.toml`"
        );
        let one = next_step(m, false, true, true);
        assert!(
            one.starts_with("next: fill in role in k/kernel.toml"),
            "{one}"
        );
        let two = next_step(m, false, false, true);
        assert!(
            two.starts_with("next: fill in role and domain-id in"),
            "{two}"
        );
    }
}
