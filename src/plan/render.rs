//! The Plan as readable text, in the spirit of `terraform plan`: what will exist, what will
//! happen in which order, and which permission each call needs.

use std::fmt::Write as _;

use super::{KernelPlan, Plan};
use crate::plan::steps::Principal;

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn text(plan: &Plan) -> String {
    let mut s = String::new();
    let n = plan.kernels.len();
    let _ = writeln!(
        s,
        "Plan for {n} kernel{} — nothing has been done yet ({}).",
        if n == 1 { "" } else { "s" },
        plan.generator
    );
    for k in &plan.kernels {
        s.push('\n');
        kernel(&mut s, k);
    }
    s
}

/// The settings lists the kernel's updates write, read off the request bodies, e.g.
/// `DefaultSpaceSettings.JupyterLabAppSettings.CustomImages`.
fn settings_lists(k: &KernelPlan) -> Vec<String> {
    let mut out = Vec::new();
    for u in &k.requests.domain_updates {
        let profile = u.request.get("UserProfileName").and_then(|p| p.as_str());
        for member in [
            "DefaultUserSettings",
            "UserSettings",
            "DefaultSpaceSettings",
        ] {
            let Some(apps) = u.request.get(member).and_then(|m| m.as_object()) else {
                continue;
            };
            for app in apps.keys() {
                let list = format!("{member}.{app}.CustomImages");
                out.push(match profile {
                    Some(p) => format!("user profile {p}'s {list}"),
                    None => list,
                });
            }
        }
    }
    out
}

fn kernel(s: &mut String, k: &KernelPlan) {
    let r = &k.resources;
    let c = &k.context;
    let _ = writeln!(
        s,
        "kernel {:?} ({}, {}, account {})",
        k.name,
        k.app.as_str(),
        r.region,
        r.account
    );
    let _ = writeln!(
        s,
        "  context   {} → {} files, {} → {} zipped",
        c.dir,
        c.report.scan.files,
        human_bytes(c.report.scan.bytes_in),
        human_bytes(c.report.bytes_out)
    );
    let _ = writeln!(
        s,
        "            {} (Dockerfile: {})",
        c.report.digest, c.report.scan.dockerfile
    );
    let _ = writeln!(s, "  image     {}", r.image_uri);

    s.push_str("\n  Resources\n");
    let rows: [(&str, String); 8] = [
        ("s3 bucket", format!("{} (created if missing)", r.bucket)),
        ("s3 object", format!("s3://{}/{}", r.bucket, r.source_key)),
        (
            "ecr repository",
            format!("{} (created if missing)", r.repository),
        ),
        ("codebuild project", format!("{} (temporary)", r.project)),
        ("log group", r.log_group.clone()),
        (
            "sagemaker image",
            format!("{} ({})", r.image_name, r.image_arn),
        ),
        (
            "app image config",
            format!("{} ({})", r.app_image_config, k.app.image_config_member()),
        ),
        (
            "domain",
            format!(
                "{}: {} gets {}",
                r.domain_id,
                settings_lists(k).join(" and "),
                r.image_name
            ),
        ),
    ];
    for (what, value) in rows {
        let _ = writeln!(s, "    {what:<18} {value}");
    }

    s.push_str("\n  Steps\n");
    for (i, step) in k.steps.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {:>2}. {} — {}",
            i + 1,
            step.id.as_str(),
            step.summary
        );
        if step.calls.is_empty() {
            let _ = writeln!(s, "          (no AWS call)");
        }
        for call in &step.calls {
            let mut notes: Vec<String> = call
                .context
                .iter()
                .filter(|(key, _)| key.as_str() != "aws:RequestedRegion")
                .map(|(key, v)| format!("{key}={v}"))
                .collect();
            let principal = match &call.principal {
                Principal::Trust(service) => {
                    notes.insert(0, format!("assumed by {service}"));
                    "trust".to_string()
                }
                other => other.label(),
            };
            let mut line = format!(
                "          {principal:<10} {:<36} {}",
                call.action, call.resource
            );
            if !notes.is_empty() {
                let _ = write!(line, " [{}]", notes.join(", "));
            }
            // Name the API call when the action alone does not say it.
            if call.action.split(':').nth(1) != Some(call.operation) {
                let _ = write!(line, " (by {})", call.operation);
            }
            if !call.needs_permission {
                line.push_str(" (no permission needed)");
            }
            if call.optional {
                line.push_str(" (read where permitted)");
            }
            let _ = writeln!(s, "{}", line.trim_end());
            if let Some(when) = call.when {
                let _ = writeln!(s, "          {:<10} ↳ {when}", "");
            }
        }
    }

    if !c.report.scan.largest.is_empty() {
        s.push_str("\n  Largest files in the context\n");
        for e in &c.report.scan.largest {
            let _ = writeln!(s, "    {:>10}  {}", human_bytes(e.size), e.path);
        }
    }

    if !k.warnings.is_empty() {
        s.push_str("\n  Warnings\n");
        for w in &k.warnings {
            let _ = writeln!(s, "    ! {w}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_are_readable() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 1), "5.0 MiB");
    }
}
