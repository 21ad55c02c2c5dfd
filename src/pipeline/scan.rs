//! The scan gate (`scan = "HIGH"`): once the image is in ECR and before its image version is
//! created, wait for ECR's vulnerability scan of the pushed digest and stop the kernel when
//! the scan found anything at or above the threshold. Repositories sm-kernel creates scan on
//! push (basic scanning, free); an image without a scan (a repository created without
//! scan-on-push, or an image pushed before it was turned on) gets one StartImageScan. An
//! unchanged context, whose build is skipped, is judged by its existing image's scan.
//!
//! The wait has a deadline (`scan-timeout-minutes`) and ends at Ctrl-C; a scan ECR cannot
//! finish (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, …) stops the kernel too, because
//! a gate that lets an unscanned image through is no gate: removing `scan` publishes without it.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecr::types::{
    EnhancedImageScanFinding, ImageIdentifier, ImageScanFinding, ImageScanFindings, ScanStatus,
};
use serde::Serialize;

use super::cancel::Deadline;
use super::{Backoff, Cancel, Reporter};
use crate::aws::Clients;
use crate::config::Kernel;
use crate::error::Error;
use crate::plan::steps::{Builder, Step};
use crate::plan::{KernelPlan, Resources, StepId};

/// Every severity ECR reports (basic scanning and Amazon Inspector alike), most severe first.
/// Anything else (Inspector's UNTRIAGED) ranks below them all.
pub const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
];

/// How many findings the refusal lists.
const SHOWN: usize = 5;
/// Pages of findings read for that list (1000 findings each); the counts come complete with
/// the first page whatever the number of findings.
const MAX_PAGES: usize = 10;

/// A severity's place in [`SEVERITIES`] (0 is the most severe).
pub fn rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(severity))
        .unwrap_or(SEVERITIES.len())
}

/// What the gate saw, for the JSON summary (`scan` of each kernel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanSummary {
    /// The `scan` setting: findings at or above it stop the kernel.
    pub threshold: String,
    /// ECR's `findingSeverityCounts`.
    pub severity_counts: BTreeMap<String, i32>,
    pub passed: bool,
}

/// One finding, from a basic scan or from Amazon Inspector (enhanced scanning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The CVE (or other vulnerability id).
    pub name: String,
    pub severity: String,
    pub package: Option<String>,
    pub version: Option<String>,
}

impl Finding {
    fn basic(f: &ImageScanFinding) -> Finding {
        let attribute = |key: &str| {
            f.attributes()
                .iter()
                .find(|a| a.key() == key)
                .and_then(|a| a.value())
                .map(str::to_string)
        };
        Finding {
            name: f.name().unwrap_or("unnamed finding").to_string(),
            severity: f
                .severity()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "UNDEFINED".into()),
            package: attribute("package_name"),
            version: attribute("package_version"),
        }
    }

    fn enhanced(f: &EnhancedImageScanFinding) -> Finding {
        let details = f.package_vulnerability_details();
        let package = details.and_then(|d| d.vulnerable_packages().first());
        Finding {
            name: details
                .and_then(|d| d.vulnerability_id())
                .or(f.title())
                .unwrap_or("unnamed finding")
                .to_string(),
            severity: f.severity().unwrap_or("UNDEFINED").to_string(),
            package: package.and_then(|p| p.name()).map(str::to_string),
            version: package.and_then(|p| p.version()).map(str::to_string),
        }
    }

    /// One line of the refusal, its columns padded to `widths` (name, severity).
    fn line(&self, widths: (usize, usize)) -> String {
        let mut l = format!(
            "  {:<nw$}  {:<sw$}",
            self.name,
            self.severity,
            nw = widths.0,
            sw = widths.1
        );
        if let Some(p) = &self.package {
            l.push_str(&format!("  {p}"));
            if let Some(v) = &self.version {
                l.push_str(&format!(" {v}"));
            }
        }
        l.trim_end().to_string()
    }
}

/// The findings of one page, basic and enhanced alike.
fn findings_of(f: &ImageScanFindings) -> Vec<Finding> {
    f.findings()
        .iter()
        .map(Finding::basic)
        .chain(f.enhanced_findings().iter().map(Finding::enhanced))
        .collect()
}

fn counts_of(f: &ImageScanFindings) -> BTreeMap<String, i32> {
    f.finding_severity_counts()
        .map(|m| {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| (s.as_str().to_string(), *n))
                .collect()
        })
        .unwrap_or_default()
}

/// The counts most severe first: `1 CRITICAL, 2 HIGH`, or `no findings`.
pub fn counts_text(counts: &BTreeMap<String, i32>) -> String {
    let mut v: Vec<(&String, &i32)> = counts.iter().filter(|(_, n)| **n > 0).collect();
    v.sort_by_key(|(s, _)| rank(s));
    if v.is_empty() {
        return "no findings".into();
    }
    v.iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a kernel's image is, for messages.
pub struct Target<'a> {
    pub image: &'a str,
    pub repository: &'a str,
    pub digest: &'a str,
}

/// Judges a finished scan: the summary, and the refusal's message when something is at or
/// above the threshold.
pub fn judge(
    threshold: &str,
    counts: &BTreeMap<String, i32>,
    findings: &[Finding],
    at: &Target,
) -> (ScanSummary, Option<String>) {
    let limit = rank(threshold);
    let blocking = counts.iter().any(|(s, n)| *n > 0 && rank(s) <= limit);
    let summary = ScanSummary {
        threshold: threshold.to_string(),
        severity_counts: counts.clone(),
        passed: !blocking,
    };
    if !blocking {
        return (summary, None);
    }
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut msg = format!(
        "ECR's scan of {} found {}; scan = \"{threshold}\" refuses findings at {threshold} or above, so no image version was created:",
        at.image,
        counts_text(counts)
    );
    let shown_findings = &sorted[..sorted.len().min(SHOWN)];
    let widths = shown_findings.iter().fold((0, 0), |(n, s), f| {
        (n.max(f.name.chars().count()), s.max(f.severity.len()))
    });
    for f in shown_findings {
        msg.push('\n');
        msg.push_str(&f.line(widths));
    }
    let total: i64 = counts.values().map(|n| i64::from(*n)).sum();
    let shown = shown_findings.len() as i64;
    if total > shown {
        msg.push_str(&format!(
            "\n  … and {} more: aws ecr describe-image-scan-findings --repository-name {} --image-id imageDigest={}",
            total - shown,
            at.repository,
            at.digest
        ));
    }
    let lower = match limit.checked_sub(1).map(|i| SEVERITIES[i]) {
        Some(higher) => format!(
            "set scan = \"{higher}\" to refuse only findings at {higher} or above (or remove scan to publish without the gate)"
        ),
        None => "remove scan to publish without the gate".to_string(),
    };
    msg.push_str(&format!(
        "\nfix the packages (a newer base image, or upgrade them in the Dockerfile) and publish again, or {lower}"
    ));
    (summary, Some(msg))
}

/// The gate's verdict: the summary, and the error that stops the kernel when it did not pass.
pub struct Verdict {
    pub summary: ScanSummary,
    pub refusal: Option<Error>,
}

/// One page of the scan's findings, or the scan's status while it runs.
enum Page {
    Running,
    Done {
        counts: BTreeMap<String, i32>,
        findings: Vec<Finding>,
        next: Option<String>,
    },
    Unfinished(String, String),
    NoScan,
}

async fn describe(
    clients: &Clients,
    res: &Resources,
    digest: &str,
    token: Option<String>,
) -> Result<Page, Error> {
    let out = clients
        .ecr
        .describe_image_scan_findings()
        .repository_name(&res.repository)
        .image_id(ImageIdentifier::builder().image_digest(digest).build())
        .max_results(1000)
        .set_next_token(token)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_scan_not_found_exception()) =>
        {
            return Ok(Page::NoScan)
        }
        Err(e) => {
            return Err(Error::aws(
                &format!("ecr:DescribeImageScanFindings on {}", res.repository),
                &e,
            ))
        }
    };
    let status = out.image_scan_status();
    let description = status
        .and_then(|s| s.description())
        .unwrap_or_default()
        .to_string();
    match status.and_then(|s| s.status()) {
        // ACTIVE: Amazon Inspector (enhanced scanning) scans continuously and has findings.
        Some(ScanStatus::Complete) | Some(ScanStatus::Active) => {
            let f = out.image_scan_findings();
            Ok(Page::Done {
                counts: f.map(counts_of).unwrap_or_default(),
                findings: f.map(findings_of).unwrap_or_default(),
                next: out.next_token().map(str::to_string),
            })
        }
        Some(ScanStatus::InProgress) | Some(ScanStatus::Pending) | None => Ok(Page::Running),
        Some(other) => Ok(Page::Unfinished(other.as_str().to_string(), description)),
    }
}

async fn start_scan(clients: &Clients, res: &Resources, digest: &str) -> Result<(), Error> {
    clients
        .ecr
        .start_image_scan()
        .repository_name(&res.repository)
        .image_id(ImageIdentifier::builder().image_digest(digest).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let hint = if e
                .as_service_error()
                .is_some_and(|s| s.is_limit_exceeded_exception())
            {
                " (ECR scans an image at most once a day; remove scan to publish without the gate)"
            } else if e
                .as_service_error()
                .is_some_and(|s| s.is_unsupported_image_type_exception())
            {
                " (ECR cannot scan this kind of image; remove scan to publish without the gate)"
            } else {
                ""
            };
            Error::aws(&format!("ecr:StartImageScan{hint}"), &e)
        })
}

/// Waits for ECR's scan of `digest` and judges it against the kernel's `scan` threshold.
pub async fn run(
    clients: &Clients,
    k: &Kernel,
    kp: &KernelPlan,
    digest: &str,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Result<Verdict, Error> {
    let threshold = k.build.scan.as_deref().unwrap_or(SEVERITIES[0]);
    let res = &kp.resources;
    let image = format!("{}/{}@{}", res.registry, res.repository, digest);
    let deadline = Deadline::after(Duration::from_secs(
        u64::from(k.build.scan_timeout_minutes) * 60,
    ));
    let mut backoff = Backoff::new(1000, 15_000);
    let mut started = false;
    let mut waiting = false;
    loop {
        match describe(clients, res, digest, None).await? {
            Page::Done {
                mut counts,
                mut findings,
                mut next,
            } => {
                let mut pages = 1;
                while let Some(token) = next.take().filter(|_| pages < MAX_PAGES) {
                    pages += 1;
                    if let Page::Done {
                        counts: c,
                        findings: f,
                        next: n,
                    } = describe(clients, res, digest, Some(token)).await?
                    {
                        if counts.is_empty() {
                            counts = c;
                        }
                        findings.extend(f);
                        next = n;
                    }
                }
                let at = Target {
                    image: &image,
                    repository: &res.repository,
                    digest,
                };
                let (summary, refusal) = judge(threshold, &counts, &findings, &at);
                reporter.step(
                    &k.name,
                    StepId::ImageScan,
                    &format!(
                        "ECR's scan found {}: {} (scan = \"{threshold}\")",
                        counts_text(&counts),
                        if summary.passed { "passed" } else { "refused" }
                    ),
                );
                return Ok(Verdict {
                    summary,
                    refusal: refusal.map(Error::failed),
                });
            }
            Page::Unfinished(status, description) => {
                return Err(Error::failed(format!(
                    "ECR's scan of {image} ended {status}{}; the scan gate lets no unscanned image through, and nothing was registered: remove scan to publish without the gate",
                    if description.is_empty() {
                        String::new()
                    } else {
                        format!(" ({description})")
                    }
                )))
            }
            Page::NoScan if !started => {
                reporter.step(
                    &k.name,
                    StepId::ImageScan,
                    &format!("ECR has no scan of {image} (the repository does not scan on push); starting one"),
                );
                start_scan(clients, res, digest).await?;
                started = true;
            }
            Page::Running | Page::NoScan => {
                if !waiting {
                    waiting = true;
                    reporter.step(
                        &k.name,
                        StepId::ImageScan,
                        &format!("waiting for ECR's scan of {image}"),
                    );
                }
            }
        }
        deadline.check(&format!(
            "ECR's scan of {image} (scan-timeout-minutes; nothing was registered)"
        ))?;
        if cancel.sleep(backoff.next()).await {
            // Ctrl-C, or --fail-fast after another kernel failed: the error says which.
            cancel.check(&format!(
                "while waiting for ECR's scan of {image}; nothing was registered, and a re-run gates the image without building it"
            ))?;
        }
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let threshold = k.build.scan.as_deref().unwrap_or(SEVERITIES[0]);
    let mut b = Builder::new(r);
    b.caller(
        "ecr",
        "DescribeImageScanFindings",
        "ecr:DescribeImageScanFindings",
        &r.repository_arn,
    );
    b.caller(
        "ecr",
        "StartImageScan",
        "ecr:StartImageScan",
        &r.repository_arn,
    )
    .when("only if ECR has no scan of the image (its repository does not scan on push)");
    b.done(
        StepId::ImageScan,
        format!(
            "wait for ECR's scan of the pushed image; a finding at {threshold} or above stops the kernel before its image version"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::types::{
        Attribute, FindingSeverity, PackageVulnerabilityDetails, VulnerablePackage,
    };

    fn counts(v: &[(&str, i32)]) -> BTreeMap<String, i32> {
        v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    fn finding(name: &str, severity: &str) -> Finding {
        Finding {
            name: name.into(),
            severity: severity.into(),
            package: Some("openssl".into()),
            version: Some("3.0.2".into()),
        }
    }

    const AT: Target = Target {
        image: "1.dkr.ecr.us-east-1.amazonaws.com/r@sha256:ab",
        repository: "r",
        digest: "sha256:ab",
    };

    #[test]
    fn the_thresholds_are_the_most_severe_severities_in_order() {
        assert_eq!(
            crate::config::build::SCAN_THRESHOLDS,
            SEVERITIES[..3],
            "scan's choices must be a prefix of the severity order"
        );
        assert!(rank("CRITICAL") < rank("high"));
        assert!(rank("UNDEFINED") < rank("UNTRIAGED"));
    }

    #[test]
    fn findings_at_or_above_the_threshold_refuse_and_below_pass() {
        let c = counts(&[("MEDIUM", 3), ("LOW", 9)]);
        let (s, refusal) = judge("HIGH", &c, &[finding("CVE-1", "MEDIUM")], &AT);
        assert!(s.passed && refusal.is_none());
        assert_eq!(s.threshold, "HIGH");
        assert_eq!(s.severity_counts, c);
        let (s, refusal) = judge("MEDIUM", &c, &[finding("CVE-1", "MEDIUM")], &AT);
        assert!(!s.passed);
        let m = refusal.unwrap();
        assert!(m.contains("found 3 MEDIUM, 9 LOW"), "{m}");
        assert!(m.contains("set scan = \"HIGH\""), "{m}");
        let (s, refusal) = judge("CRITICAL", &counts(&[("HIGH", 1)]), &[], &AT);
        assert!(s.passed && refusal.is_none());
        let (_, refusal) = judge("HIGH", &counts(&[]), &[], &AT);
        assert!(refusal.is_none());
    }

    #[test]
    fn the_refusal_lists_the_five_most_severe_findings_first_and_how_many_more() {
        let mut fs: Vec<Finding> = (0..4)
            .map(|i| finding(&format!("CVE-L{i}"), "LOW"))
            .collect();
        fs.push(finding("CVE-2024-0002", "HIGH"));
        fs.push(Finding {
            name: "CVE-2024-0001".into(),
            severity: "CRITICAL".into(),
            package: None,
            version: None,
        });
        fs.push(finding("CVE-M", "MEDIUM"));
        let c = counts(&[("CRITICAL", 1), ("HIGH", 1), ("MEDIUM", 1), ("LOW", 4)]);
        let (_, refusal) = judge("CRITICAL", &c, &fs, &AT);
        let m = refusal.unwrap();
        let lines: Vec<&str> = m.lines().collect();
        assert!(
            lines[0].starts_with("ECR's scan of 1.dkr.ecr.us-east-1.amazonaws.com/r@sha256:ab found 1 CRITICAL, 1 HIGH, 1 MEDIUM, 4 LOW; scan = \"CRITICAL\" refuses"),
            "{m}"
        );
        assert_eq!(lines[1], "  CVE-2024-0001  CRITICAL", "{m}");
        assert_eq!(lines[2], "  CVE-2024-0002  HIGH      openssl 3.0.2", "{m}");
        assert_eq!(lines[3], "  CVE-M          MEDIUM    openssl 3.0.2", "{m}");
        assert_eq!(lines[5], "  CVE-L1         LOW       openssl 3.0.2", "{m}");
        assert!(
            lines[6].contains("… and 2 more: aws ecr describe-image-scan-findings --repository-name r --image-id imageDigest=sha256:ab"),
            "{m}"
        );
        assert!(
            lines[7].contains("remove scan to publish without the gate"),
            "{m}"
        );
        assert!(!m.contains("set scan = "), "{m}");
    }

    #[test]
    fn counts_read_most_severe_first() {
        assert_eq!(
            counts_text(&counts(&[
                ("LOW", 2),
                ("CRITICAL", 1),
                ("UNTRIAGED", 1),
                ("INFORMATIONAL", 0)
            ])),
            "1 CRITICAL, 2 LOW, 1 UNTRIAGED"
        );
        assert_eq!(counts_text(&counts(&[])), "no findings");
    }

    #[test]
    fn basic_and_inspector_findings_name_the_cve_and_the_package() {
        let basic = ImageScanFinding::builder()
            .name("CVE-2024-0001")
            .severity(FindingSeverity::Critical)
            .attributes(
                Attribute::builder()
                    .key("package_name")
                    .value("openssl")
                    .build()
                    .unwrap(),
            )
            .attributes(
                Attribute::builder()
                    .key("package_version")
                    .value("3.0.2")
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            Finding::basic(&basic),
            Finding {
                name: "CVE-2024-0001".into(),
                severity: "CRITICAL".into(),
                package: Some("openssl".into()),
                version: Some("3.0.2".into()),
            }
        );
        let enhanced = EnhancedImageScanFinding::builder()
            .severity("HIGH")
            .title("CVE-2024-0002 - zlib")
            .package_vulnerability_details(
                PackageVulnerabilityDetails::builder()
                    .vulnerability_id("CVE-2024-0002")
                    .vulnerable_packages(
                        VulnerablePackage::builder()
                            .name("zlib")
                            .version("1.2.11")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let f = Finding::enhanced(&enhanced);
        assert_eq!(
            (
                f.name.as_str(),
                f.severity.as_str(),
                f.package.as_deref(),
                f.version.as_deref()
            ),
            ("CVE-2024-0002", "HIGH", Some("zlib"), Some("1.2.11"))
        );
        let page = ImageScanFindings::builder()
            .findings(basic)
            .enhanced_findings(enhanced)
            .finding_severity_counts(FindingSeverity::Critical, 1)
            .finding_severity_counts(FindingSeverity::High, 1)
            .finding_severity_counts(FindingSeverity::Low, 0)
            .build();
        assert_eq!(findings_of(&page).len(), 2);
        assert_eq!(counts_of(&page), counts(&[("CRITICAL", 1), ("HIGH", 1)]));
    }
}
