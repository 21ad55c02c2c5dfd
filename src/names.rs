//! Every AWS naming rule sm-kernel depends on, checked before any AWS call.
//!
//! Each check takes `field` — how the user wrote the setting (`--image-name`,
//! `kernel "ds": name`, …) — and the value, and returns a [`NameError`] naming the field,
//! the value, the rule in words a Studio user can act on, and a value that would pass.
//! The rule text is also what `--help`-level documentation should quote.
//!
//! Every pattern and limit below was checked against the service models shipped with
//! botocore (`botocore/data/<service>/<version>/service-2.json`) or, where a service has
//! no model constraint, against the AWS documentation page cited on the function. Where
//! two services constrain the same value (tags) the rule is their intersection, so a value
//! that passes here is accepted by every service sm-kernel sends it to.
//!
//! Nothing here does I/O; the regexes are compiled once.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A value that breaks an AWS naming rule.
///
/// Displayed as `FIELD: "VALUE" is not valid — RULE. For example: EXAMPLE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {value:?} is not valid — {rule}. For example: {example}")]
pub struct NameError {
    /// How the user wrote the setting, verbatim (`--image-name`, `kernel "ds": name`).
    pub field: String,
    /// The offending value, verbatim.
    pub value: String,
    /// The rule, in words, followed by what is wrong with this value in particular.
    pub rule: String,
    /// A value that satisfies the rule.
    pub example: String,
}

/// One naming rule: what it says, in words a Studio user can act on, and a value that
/// passes. Every check reports through [`Rule::fail`], so all errors read the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub text: &'static str,
    pub example: &'static str,
}

impl Rule {
    /// The error for `value` in `field`, with what is wrong with this value in particular.
    fn fail(&self, field: &str, value: &str, detail: Option<String>) -> NameError {
        fail(field, value, self.text, detail, self.example)
    }
}

fn fail(field: &str, value: &str, rule: &str, detail: Option<String>, example: &str) -> NameError {
    let rule = match detail {
        Some(d) => format!("{rule}; {d}"),
        None => rule.to_string(),
    };
    NameError {
        field: field.to_string(),
        value: value.to_string(),
        rule,
        example: example.to_string(),
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("names.rs: built-in pattern compiles")
}

fn len(value: &str) -> usize {
    value.chars().count()
}

/// `"_"`, `a space`, `a tab`, `U+0007` — how a character is named in an error.
fn show_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        '\n' | '\r' => "a line break".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("\"{c}\""),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn length_detail(value: &str, min: usize, max: usize) -> Option<String> {
    let n = len(value);
    if n == 0 {
        Some("it is empty".to_string())
    } else if n < min || n > max {
        Some(format!("it is {n} character{} long", plural(n)))
    } else {
        None
    }
}

/// Explains why `value` breaks a rule of the shape "runs of `word` characters joined by
/// separators from `seps`", e.g. `a-b.c`. Returns `None` if none of the generic reasons
/// applies (the caller then falls back to its own explanation).
fn explain_separated(
    value: &str,
    min: usize,
    max: usize,
    word: fn(char) -> bool,
    seps: &str,
    single_separators: bool,
) -> Option<String> {
    if let Some(d) = length_detail(value, min, max) {
        return Some(d);
    }
    if let Some(c) = value.chars().find(|&c| !word(c) && !seps.contains(c)) {
        if c.is_ascii_uppercase() && word('a') && !word('A') {
            return Some("uppercase letters are not allowed".to_string());
        }
        return Some(format!("{} is not allowed", show_char(c)));
    }
    let first = value.chars().next()?;
    if !word(first) {
        return Some(format!("it starts with {}", show_char(first)));
    }
    let last = value.chars().next_back()?;
    if !word(last) {
        return Some(format!("it ends with {}", show_char(last)));
    }
    if single_separators {
        let chars: Vec<char> = value.chars().collect();
        if let Some(w) = chars
            .windows(2)
            .find(|w| seps.contains(w[0]) && seps.contains(w[1]))
        {
            return Some(format!(
                "\"{}{}\" puts two separators next to each other",
                w[0], w[1]
            ));
        }
    }
    None
}

fn ascii_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

// ---------------------------------------------------------------------------------------
// SageMaker image, app-image-config, display name, description
// ---------------------------------------------------------------------------------------

const IMAGE_NAME: Rule = Rule {
    text: "1–63 characters: letters, digits, and single hyphens or dots between them; must start and end with a letter or digit",
    example: "datascience-py3.11",
};
static IMAGE_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}$"));

/// SageMaker image name (`CreateImage.ImageName`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `ImageName`:
/// min 1, max 63, pattern `^[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}$`.
pub fn image_name(field: &str, value: &str) -> Result<(), NameError> {
    if len(value) <= 63 && IMAGE_NAME_RE.is_match(value) {
        return Ok(());
    }
    let detail = explain_separated(value, 1, 63, ascii_alnum, "-.", true);
    Err(IMAGE_NAME.fail(field, value, detail))
}

const APP_IMAGE_CONFIG: Rule = Rule {
    text: "1–63 characters: letters, digits and hyphens (no dots); must start and end with a letter or digit",
    example: "datascience-py3-11",
};
/// Also SageMaker's `UserProfileName`, `DomainName`, `SpaceName`.
static ALNUM_HYPHENS_63_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"));

/// SageMaker app-image-config name (`CreateAppImageConfig.AppImageConfigName`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `AppImageConfigName`:
/// max 63, pattern `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` (anchored at the end here; the 63
/// limit does the rest). Unlike an image name it allows no dots, but it does allow
/// several hyphens in a row. Derive one from an image name with
/// [`app_image_config_name_for`].
pub fn app_image_config_name(field: &str, value: &str) -> Result<(), NameError> {
    if len(value) <= 63 && ALNUM_HYPHENS_63_RE.is_match(value) {
        return Ok(());
    }
    let detail = explain_separated(value, 1, 63, ascii_alnum, "-", false);
    Err(APP_IMAGE_CONFIG.fail(field, value, detail))
}

/// The app-image-config name sm-kernel uses for an image: the image name with every `.`
/// replaced by `-` (`datascience-py3.11` → `datascience-py3-11`).
///
/// For any valid [`image_name`] the result is a valid [`app_image_config_name`]: image
/// names put a dot only between two letters or digits and are at most 63 characters, and
/// the replacement keeps the length. Two images differing only in `.` versus `-` map to
/// the same app-image-config name; the plan should flag such a pair.
pub fn app_image_config_name_for(image_name: &str) -> String {
    image_name.replace('.', "-")
}

const DISPLAY_NAME: Rule = Rule {
    text: "1–128 characters on one line, not starting or ending with a space",
    example: "Data Science (Python 3.11)",
};

fn is_line_break(c: char) -> bool {
    // What Java's `.` (the services' regex dialect) refuses to match.
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// SageMaker image display name (`CreateImage.DisplayName`), shown in the Studio UI.
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `ImageDisplayName`:
/// min 1, max 128, pattern `^\S(.*\S)?$` (Java regex: no line breaks, no leading or
/// trailing whitespace).
pub fn image_display_name(field: &str, value: &str) -> Result<(), NameError> {
    let detail = if let Some(d) = length_detail(value, 1, 128) {
        Some(d)
    } else if value.chars().any(is_line_break) {
        Some("it contains a line break".to_string())
    } else if value.starts_with(char::is_whitespace) {
        Some("it starts with whitespace".to_string())
    } else if value.ends_with(char::is_whitespace) {
        Some("it ends with whitespace".to_string())
    } else {
        None
    };
    match detail {
        None => Ok(()),
        d => Err(DISPLAY_NAME.fail(field, value, d)),
    }
}

const DESCRIPTION: Rule = Rule {
    text: "1–512 characters on one line",
    example: "Python 3.11 with pandas and scikit-learn",
};

/// SageMaker image description (`CreateImage.Description`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `ImageDescription`:
/// min 1, max 512, pattern `.*` (Java regex: no line breaks).
pub fn image_description(field: &str, value: &str) -> Result<(), NameError> {
    let detail = if let Some(d) = length_detail(value, 1, 512) {
        Some(d)
    } else if value.chars().any(is_line_break) {
        Some("it contains a line break".to_string())
    } else {
        None
    };
    match detail {
        None => Ok(()),
        d => Err(DESCRIPTION.fail(field, value, d)),
    }
}

// ---------------------------------------------------------------------------------------
// ECR, S3, CodeBuild
// ---------------------------------------------------------------------------------------

const ECR_REPO: Rule = Rule {
    text: "2–256 characters: lowercase letters and digits, with single \".\", \"_\" or \"-\" between them, optionally grouped into namespaces with \"/\" (team/name); each part starts and ends with a letter or digit",
    example: "sagemaker-studio-datascience",
};
static ECR_REPO_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"));

/// ECR repository name (`CreateRepository.repositoryName`).
///
/// Source: botocore `ecr/2015-09-21/service-2.json`, shape `RepositoryName`: min 2,
/// max 256, pattern `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
/// (The API reference's prose says "must start with a letter"; the service enforces the
/// pattern, which also allows a leading digit, and that is what is checked here.)
pub fn ecr_repository_name(field: &str, value: &str) -> Result<(), NameError> {
    if (2..=256).contains(&len(value)) && ECR_REPO_RE.is_match(value) {
        return Ok(());
    }
    let detail = length_detail(value, 2, 256).or_else(|| {
        if value.starts_with('/') || value.ends_with('/') || value.contains("//") {
            return Some("a \"/\" must have a name part on both sides".to_string());
        }
        value
            .split('/')
            .find_map(|part| explain_separated(part, 1, usize::MAX, lower_alnum, "._-", true))
    });
    Err(ECR_REPO.fail(field, value, detail))
}

const BUCKET: Rule = Rule {
    text: "3–63 characters: lowercase letters, digits, dots and hyphens; must start and end with a letter or digit, have no two dots in a row, not look like an IP address, not start with \"xn--\", \"sthree-\" or \"amzn-s3-demo-\", and not end with \"-s3alias\", \"--ol-s3\", \".mrap\", \"--x-s3\" or \"--table-s3\"",
    example: "sagemaker-us-east-1-123456789012",
};
static BUCKET_CHARS_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"));
static IPV4_LIKE_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"));

/// Prefixes S3 reserves: (prefix, what it is reserved for).
const BUCKET_RESERVED_PREFIXES: &[(&str, &str)] = &[
    ("xn--", "internationalized domain names"),
    ("sthree-", "Amazon S3"),
    ("amzn-s3-demo-", "Amazon S3 documentation examples"),
];
/// Suffixes S3 reserves: (suffix, what it is reserved for).
const BUCKET_RESERVED_SUFFIXES: &[(&str, &str)] = &[
    ("-s3alias", "access point aliases"),
    ("--ol-s3", "Object Lambda access point aliases"),
    (".mrap", "Multi-Region Access Points"),
    ("--x-s3", "directory buckets"),
    ("--table-s3", "S3 table buckets"),
];

/// S3 general purpose bucket name.
///
/// Source: AWS docs "General purpose bucket naming rules"
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>):
/// 3–63 characters; lowercase letters, digits, `.` and `-`; begin and end with a letter or
/// digit; no two adjacent periods; not formatted as an IP address; must not start with
/// `xn--`, `sthree-` (which covers `sthree-configurator`) or `amzn-s3-demo-`; must not end
/// with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or `--table-s3`.
///
/// Not enforced: the current page also reserves the suffix `-an` for buckets in an
/// account regional namespace (`prefix-ACCOUNT-REGION-an`). Whether a global bucket may
/// still end in `-an` is not stated unambiguously, and existing buckets may, so such names
/// are accepted and left to S3.
pub fn bucket_name(field: &str, value: &str) -> Result<(), NameError> {
    let detail = if let Some(d) = length_detail(value, 3, 63) {
        Some(d)
    } else if let Some(c) = value
        .chars()
        .find(|&c| !(lower_alnum(c) || c == '.' || c == '-'))
    {
        if c.is_ascii_uppercase() {
            Some("uppercase letters are not allowed".to_string())
        } else {
            Some(format!("{} is not allowed", show_char(c)))
        }
    } else if !BUCKET_CHARS_RE.is_match(value) {
        Some("it must start and end with a letter or digit".to_string())
    } else if value.contains("..") {
        Some("it has two dots in a row".to_string())
    } else if IPV4_LIKE_RE.is_match(value) {
        Some("it is formatted like an IP address".to_string())
    } else if let Some((p, what)) = BUCKET_RESERVED_PREFIXES
        .iter()
        .find(|(p, _)| value.starts_with(p))
    {
        Some(format!("the prefix \"{p}\" is reserved for {what}"))
    } else if let Some((s, what)) = BUCKET_RESERVED_SUFFIXES
        .iter()
        .find(|(s, _)| value.ends_with(s))
    {
        Some(format!("the suffix \"{s}\" is reserved for {what}"))
    } else {
        None
    };
    match detail {
        None => Ok(()),
        d => Err(BUCKET.fail(field, value, d)),
    }
}

const PROJECT: Rule = Rule {
    text: "2–150 characters: letters, digits, hyphens and underscores, starting with a letter or digit",
    example: "sagemaker-studio-datascience",
};
static PROJECT_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,149}$"));

/// CodeBuild project name (`CreateProject.name`). The log group follows it:
/// `/aws/codebuild/NAME`.
///
/// Source: botocore `codebuild/2016-10-06/service-2.json`, shape `ProjectName`: min 2,
/// max 150, pattern `[A-Za-z0-9][A-Za-z0-9\-_]{1,149}`.
pub fn codebuild_project_name(field: &str, value: &str) -> Result<(), NameError> {
    if PROJECT_RE.is_match(value) {
        return Ok(());
    }
    let detail = length_detail(value, 2, 150).or_else(|| {
        if let Some(c) = value
            .chars()
            .find(|&c| !(ascii_alnum(c) || c == '-' || c == '_'))
        {
            Some(format!("{} is not allowed", show_char(c)))
        } else {
            value
                .chars()
                .next()
                .map(|c| format!("it starts with {}", show_char(c)))
        }
    });
    Err(PROJECT.fail(field, value, detail))
}

const COMPUTE_TYPE: Rule = Rule {
    text: "one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE",
    example: "BUILD_GENERAL1_MEDIUM",
};

/// CodeBuild compute types that can build a Docker image (they support privileged mode).
pub const COMPUTE_TYPES: &[&str] = &[
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
];

/// CodeBuild compute type for the image build; returns the canonical (upper-case) name.
/// Case is ignored on input (`build_general1_small` is accepted).
///
/// Source: botocore `codebuild/2016-10-06/service-2.json`, enum `ComputeType`:
/// `BUILD_GENERAL1_{SMALL,MEDIUM,LARGE,XLARGE,2XLARGE}`, `BUILD_LAMBDA_{1,2,4,8,10}GB`.
/// The Lambda types are rejected: a Docker build needs privileged mode (to run the Docker
/// daemon), which Lambda compute does not offer (AWS docs "Limitations of AWS Lambda
/// compute", <https://docs.aws.amazon.com/codebuild/latest/userguide/lambda.html>).
pub fn compute_type(field: &str, value: &str) -> Result<&'static str, NameError> {
    let upper = value.trim().to_ascii_uppercase();
    if let Some(t) = COMPUTE_TYPES.iter().find(|t| **t == upper) {
        return Ok(*t);
    }
    let detail = if upper.starts_with("BUILD_LAMBDA_") {
        "Lambda compute has no privileged mode, so it cannot run the Docker daemon a docker build needs".to_string()
    } else {
        "it is not a CodeBuild compute type".to_string()
    };
    Err(COMPUTE_TYPE.fail(field, value, Some(detail)))
}

const TIMEOUT: Rule = Rule {
    text: "a whole number of minutes from 5 to 2160 (36 hours)",
    example: "60",
};

/// CodeBuild build timeout in minutes (`timeoutInMinutes`, `timeoutInMinutesOverride`).
///
/// Source: botocore `codebuild/2016-10-06/service-2.json`, shape `BuildTimeOut`:
/// integer, min 5, max 2160.
pub fn timeout_minutes(field: &str, minutes: i64) -> Result<u32, NameError> {
    if (5..=2160).contains(&minutes) {
        return Ok(minutes as u32);
    }
    let detail = if minutes < 5 {
        "it is less than 5"
    } else {
        "it is more than 2160"
    };
    Err(TIMEOUT.fail(field, &minutes.to_string(), Some(detail.to_string())))
}

// ---------------------------------------------------------------------------------------
// IAM role ARN, account, partition, region
// ---------------------------------------------------------------------------------------

/// AWS partitions an ARN may name.
///
/// Source: botocore `data/partitions.json` (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso`,
/// `aws-iso-b`, `aws-iso-e`, `aws-iso-f`) and the S3 docs "Namespaces for general purpose
/// buckets", which list `aws-eusc` (European Sovereign Cloud) as the fourth public one.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// An IAM role ARN taken apart: `arn:PARTITION:iam::ACCOUNT:role{PATH}{NAME}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleArn {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
    /// The 12-digit account id.
    pub account: String,
    /// `/` or `/a/b/` — always starts and ends with `/`.
    pub path: String,
    /// The role name, without its path.
    pub name: String,
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}

const ROLE_ARN: Rule = Rule {
    text: "an IAM role ARN: arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, with a 12-digit account, a role name of 1–64 letters, digits and _+=,.@- characters, and optional path parts of the same characters",
    example: "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20240101T000000",
};

fn iam_name_char(c: char) -> bool {
    // IAM's `[\w+=,.@-]` with Java's ASCII `\w`.
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

static ACCOUNT_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9]{12}$"));

/// IAM role ARN (the SageMaker execution role passed to CreateImage and CodeBuild).
///
/// Sources: botocore `iam/2010-05-08/service-2.json`, shapes `roleNameType` (min 1, max
/// 64, `[\w+=,.@-]+`) and `pathType` (max 512, `/` or `/…/` of `\u0021-\u007E`); botocore
/// `sagemaker/2017-07-24/service-2.json`, shape `RoleArn` (min 20, max 2048,
/// `^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`). Path parts are held to
/// the role-name characters, the intersection of the two. An STS assumed-role ARN is
/// refused with a hint: SageMaker needs the role itself.
pub fn role_arn(field: &str, value: &str) -> Result<RoleArn, NameError> {
    let err = |detail: String| ROLE_ARN.fail(field, value, Some(detail));
    let n = len(value);
    if n > 2048 {
        return Err(err(format!("it is {n} characters long (2048 at most)")));
    }
    if !value.is_empty() && !value.contains(':') && value.chars().all(iam_name_char) {
        return Err(err(format!(
            "this looks like a role name; give the whole ARN, arn:aws:iam::ACCOUNT:role/{value} if it has no path (aws iam get-role --role-name {value} shows it)"
        )));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(err(
            "it does not start with \"arn:\" and have six \":\"-separated parts".to_string(),
        ));
    }
    let (partition, service, region, account, resource) =
        (parts[1], parts[2], parts[3], parts[4], parts[5]);
    if service == "sts" && resource.starts_with("assumed-role/") {
        let role = resource.split('/').nth(1).unwrap_or("NAME");
        return Err(err(format!(
            "this is an assumed-role session, not a role; use the role's ARN, arn:{partition}:iam::{account}:role/{role} if it has no path (aws iam get-role --role-name {role} shows it)"
        )));
    }
    if !PARTITIONS.contains(&partition) {
        return Err(err(format!(
            "\"{partition}\" is not an AWS partition ({})",
            PARTITIONS.join(", ")
        )));
    }
    if service != "iam" {
        return Err(err(format!("the service is \"{service}\", not \"iam\"")));
    }
    if !region.is_empty() {
        return Err(err(format!(
            "IAM ARNs have no region, but this one has \"{region}\""
        )));
    }
    if !ACCOUNT_RE.is_match(account) {
        return Err(err(format!("the account \"{account}\" is not 12 digits")));
    }
    let Some(rest) = resource.strip_prefix("role/") else {
        return Err(err(format!(
            "the resource \"{resource}\" does not start with \"role/\""
        )));
    };
    let rest = format!("/{rest}");
    let cut = rest.rfind('/').unwrap_or(0);
    let (path, name) = (&rest[..=cut], &rest[cut + 1..]);
    if name.is_empty() {
        return Err(err(
            "the role name after the last \"/\" is empty".to_string()
        ));
    }
    if len(name) > 64 {
        return Err(err(format!(
            "the role name is {} characters long (64 at most)",
            len(name)
        )));
    }
    if let Some(c) = name.chars().find(|&c| !iam_name_char(c)) {
        return Err(err(format!("the role name contains {}", show_char(c))));
    }
    if len(path) > 512 {
        return Err(err(format!(
            "the path is {} characters long (512 at most)",
            len(path)
        )));
    }
    if path.contains("//") {
        return Err(err("the path has an empty part (\"//\")".to_string()));
    }
    if let Some(c) = path.chars().find(|&c| c != '/' && !iam_name_char(c)) {
        return Err(err(format!("the path contains {}", show_char(c))));
    }
    if n < 20 {
        return Err(err(format!("it is {n} characters long (20 at least)")));
    }
    Ok(RoleArn {
        partition: partition.to_string(),
        account: account.to_string(),
        path: path.to_string(),
        name: name.to_string(),
    })
}

const ACCOUNT: Rule = Rule {
    text: "an AWS account id: exactly 12 digits",
    example: "123456789012",
};

/// AWS account id (12 digits, as in every ARN and ECR registry host).
///
/// Source: botocore `ecr/2015-09-21/service-2.json`, shape `RegistryId`: `[0-9]{12}`.
pub fn account_id(field: &str, value: &str) -> Result<(), NameError> {
    if ACCOUNT_RE.is_match(value) {
        return Ok(());
    }
    let detail = value
        .chars()
        .find(|c| !c.is_ascii_digit())
        .map(|c| format!("{} is not a digit", show_char(c)))
        .unwrap_or_else(|| format!("it has {} digit{}", len(value), plural(len(value))));
    Err(ACCOUNT.fail(field, value, Some(detail)))
}

const REGION: Rule = Rule {
    text: "an AWS Region code: lowercase words joined by hyphens, ending in a number",
    example: "us-east-1",
};
static REGION_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$"));

/// AWS Region code (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`,
/// `eusc-de-east-1`).
///
/// Source: botocore `data/partitions.json`, the partitions' `regionRegex`es
/// (`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, `^cn\-\w+\-\d+$`, `^us\-gov\-\w+\-\d+$`,
/// `^us\-iso\-\w+\-\d+$`, …) generalized to any 2–4-letter area so new Regions and
/// `aws-eusc` (`eusc-de-east-1`) pass without an update. Whether the Region exists is left
/// to the endpoint.
pub fn region(field: &str, value: &str) -> Result<(), NameError> {
    if REGION_RE.is_match(value) {
        return Ok(());
    }
    let detail = if value.chars().any(|c| c.is_ascii_uppercase()) {
        "Region codes are lowercase".to_string()
    } else if value.ends_with(|c: char| c.is_ascii_lowercase())
        && value
            .trim_end_matches(|c: char| c.is_ascii_lowercase())
            .ends_with(|c: char| c.is_ascii_digit())
    {
        "that is an Availability Zone; drop the final letter".to_string()
    } else {
        "it does not look like a Region code".to_string()
    };
    Err(REGION.fail(field, value, Some(detail)))
}

// ---------------------------------------------------------------------------------------
// Studio domain, user profile, kernels, file system
// ---------------------------------------------------------------------------------------

const DOMAIN_ID: Rule = Rule {
    text: "a Studio domain id: \"d-\" followed by lowercase letters and digits (hyphens allowed between them), at most 63 characters in all, as shown by aws sagemaker list-domains",
    example: "d-abcdefghijkl",
};
static DOMAIN_ID_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^d-(-*[a-z0-9]){1,61}$"));

/// Studio domain id (`UpdateDomain.DomainId`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `DomainId`: max 63,
/// pattern `^d-(-*[a-z0-9]){1,61}` (anchored at the end here).
pub fn domain_id(field: &str, value: &str) -> Result<(), NameError> {
    if len(value) <= 63 && DOMAIN_ID_RE.is_match(value) {
        return Ok(());
    }
    let detail = if let Some(d) = length_detail(value, 3, 63) {
        d
    } else if !value.starts_with("d-") {
        "it does not start with \"d-\"".to_string()
    } else if value.chars().any(|c| c.is_ascii_uppercase()) {
        "uppercase letters are not allowed".to_string()
    } else if let Some(c) = value[2..].chars().find(|&c| !(lower_alnum(c) || c == '-')) {
        format!("{} is not allowed", show_char(c))
    } else {
        "it must end with a letter or digit".to_string()
    };
    Err(DOMAIN_ID.fail(field, value, Some(detail)))
}

const USER_PROFILE: Rule = Rule {
    text: "1–63 characters: letters, digits and hyphens; must start and end with a letter or digit",
    example: "data-scientist-1",
};

/// Studio user profile name (`UpdateUserProfile.UserProfileName`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `UserProfileName`:
/// max 63, pattern `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` (anchored at the end here).
pub fn user_profile_name(field: &str, value: &str) -> Result<(), NameError> {
    if len(value) <= 63 && ALNUM_HYPHENS_63_RE.is_match(value) {
        return Ok(());
    }
    let detail = explain_separated(value, 1, 63, ascii_alnum, "-", false);
    Err(USER_PROFILE.fail(field, value, detail))
}

const KERNEL_NAME: Rule = Rule {
    text: "1–1024 characters: lowercase letters, digits, \".\", \"_\" and \"-\"; it must equal the name jupyter-kernelspec list shows inside the image, and Jupyter lists kernelspec names in lowercase",
    example: "python3",
};
static KERNEL_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9._-]+$"));

/// Kernel spec name (`KernelGatewayImageConfig.KernelSpecs[].Name`).
///
/// Sources: botocore `sagemaker/2017-07-24/service-2.json`, shape `KernelName`: max 1024,
/// no pattern. The name must equal a kernelspec name inside the image (else Studio fails
/// with "Kernel with name [x] does not exist"), and jupyter_client
/// (`jupyter_client/kernelspec.py`) accepts only `^[a-z0-9._\-]+$` (ignoring case) and
/// lower-cases kernelspec directory names when it lists and installs them — so a name
/// with an upper-case letter can never match.
pub fn kernel_spec_name(field: &str, value: &str) -> Result<(), NameError> {
    if len(value) <= 1024 && KERNEL_NAME_RE.is_match(value) {
        return Ok(());
    }
    let detail = length_detail(value, 1, 1024).or_else(|| {
        value
            .chars()
            .find(|&c| !KERNEL_NAME_RE.is_match(&c.to_string()))
            .map(|c| {
                if c.is_ascii_uppercase() {
                    "uppercase letters are not allowed".to_string()
                } else {
                    format!("{} is not allowed", show_char(c))
                }
            })
    });
    Err(KERNEL_NAME.fail(field, value, detail))
}

const KERNEL_DISPLAY: Rule = Rule {
    text: "1–1024 characters",
    example: "Python 3 (Data Science)",
};

/// Kernel display name (`KernelGatewayImageConfig.KernelSpecs[].DisplayName`).
///
/// Source: botocore `sagemaker/2017-07-24/service-2.json`, shape `KernelDisplayName`:
/// max 1024, no pattern. An empty display name is refused too: leave the setting out to
/// let Studio show the kernel name instead.
pub fn kernel_display_name(field: &str, value: &str) -> Result<(), NameError> {
    match length_detail(value, 1, 1024) {
        None => Ok(()),
        d => Err(KERNEL_DISPLAY.fail(field, value, d)),
    }
}

const UID_GID: Rule = Rule {
    text: "Studio runs custom images only as UID/GID 1000/100 (the default sagemaker-user) or 0/0 (root)",
    example: "1000/100",
};

/// The POSIX user and group a custom image runs as (`FileSystemConfig.DefaultUid`,
/// `DefaultGid`); the error's value and example are written `UID/GID`.
///
/// Sources: botocore `sagemaker/2017-07-24/service-2.json`, shapes `DefaultUid` and
/// `DefaultGid`: integers 0–65535 (the outer bound); SageMaker docs "Custom SageMaker
/// image specifications": only 1000/100 and 0/0 work, anything else
/// fails with "SageMaker is unable to launch the app".
pub fn uid_gid(field: &str, uid: i64, gid: i64) -> Result<(u32, u32), NameError> {
    match (uid, gid) {
        (1000, 100) => return Ok((1000, 100)),
        (0, 0) => return Ok((0, 0)),
        _ => {}
    }
    let value = format!("{uid}/{gid}");
    let range = 0..=65535;
    let detail = if !range.contains(&uid) || !range.contains(&gid) {
        "UID and GID must each be 0–65535".to_string()
    } else {
        "other pairs are accepted by the API but the app fails to start".to_string()
    };
    Err(UID_GID.fail(field, &value, Some(detail)))
}

/// The home directory Studio mounts storage at.
pub const DEFAULT_MOUNT_PATH: &str = "/home/sagemaker-user";
const MOUNT_PATH: Rule = Rule {
    text: "an absolute directory path of at most 1024 characters, on one line, not \"/\" itself and not under /opt/ml or /opt/.sagemakerinternal (reserved by SageMaker)",
    example: DEFAULT_MOUNT_PATH,
};

/// Where Studio mounts the user's storage in the container (`FileSystemConfig.MountPath`).
///
/// Sources: botocore `sagemaker/2017-07-24/service-2.json`, shape `MountPath`: max 1024,
/// pattern `^\/.*` (Java regex: no line breaks); SageMaker docs "Custom SageMaker image
/// specifications": `/opt/ml` and `/opt/.sagemakerinternal` are
/// reserved. `.` parts are ignored and `..` parts refused, so the reserved directories
/// cannot be reached by spelling them differently. `/` itself is refused: mounting over
/// the root of the image cannot work. Default: [`DEFAULT_MOUNT_PATH`].
pub fn mount_path(field: &str, value: &str) -> Result<(), NameError> {
    let parts: Vec<&str> = value
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let detail = if value.is_empty() {
        Some("it is empty".to_string())
    } else if !value.starts_with('/') {
        Some("it does not start with \"/\"".to_string())
    } else if len(value) > 1024 {
        Some(format!("it is {} characters long", len(value)))
    } else if value.chars().any(is_line_break) {
        Some("it contains a line break".to_string())
    } else if let Some(c) = value.chars().find(|c| c.is_control()) {
        Some(format!("it contains {}", show_char(c)))
    } else if parts.contains(&"..") {
        Some("it contains \"..\"".to_string())
    } else if parts.is_empty() {
        Some("it is the root directory".to_string())
    } else if parts.len() >= 2
        && parts[0] == "opt"
        && (parts[1] == "ml" || parts[1] == ".sagemakerinternal")
    {
        Some(format!("/opt/{} is reserved", parts[1]))
    } else {
        None
    };
    match detail {
        None => Ok(()),
        d => Err(MOUNT_PATH.fail(field, value, d)),
    }
}

// ---------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------

/// The most tags sm-kernel puts on one resource (SageMaker `TagList` max 50, IAM
/// `tagListType` max 50; ECR allows more).
pub const MAX_TAGS: usize = 50;
const TAG_KEY_MAX: usize = 127;
const TAG_VALUE_MAX: usize = 255;
const TAG_KEY: Rule = Rule {
    text: "a tag key is 1–127 characters: letters, digits, spaces and _ . : / = + - @, and must not start with \"aws:\" (reserved for AWS)",
    example: "team",
};
const TAG_VALUE: Rule = Rule {
    text: "a tag value is 0–255 characters: letters, digits, spaces and _ . : / = + - @, and must not start with \"aws:\" (reserved for AWS)",
    example: "ml-platform",
};
const TAG_FLAG: Rule = Rule {
    text: "KEY=VALUE, where a tag key is 1–127 characters and a value 0–255, of letters, digits, spaces and _ . : / = + - @, neither starting with \"aws:\"",
    example: "team=ml-platform",
};
static TAG_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"));

fn tag_detail(s: &str, min: usize, max: usize) -> Option<String> {
    if let Some(d) = length_detail(s, min, max) {
        if !(min == 0 && s.is_empty()) {
            return Some(d);
        }
    }
    if !TAG_RE.is_match(s) {
        let c = s
            .chars()
            .find(|c| !TAG_RE.is_match(&c.to_string()))
            .unwrap_or('?');
        return Some(format!("{} is not allowed", show_char(c)));
    }
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Some(format!("\"{}\" is reserved for AWS", &s[..4]));
    }
    None
}

const TAG_COUNT: Rule = Rule {
    text: "at most 50 tags per resource",
    example: TAG_FLAG.example,
};
const TAG_UNIQUE: Rule = Rule {
    text: "each tag key may appear once per resource",
    example: TAG_FLAG.example,
};

/// One resource tag.
///
/// Sources: botocore `sagemaker/2017-07-24/service-2.json` shapes `TagKey` (1–128) and
/// `TagValue` (0–256), pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`; botocore
/// `codebuild/2016-10-06/service-2.json` shapes `KeyInput` (1–**127**) and `ValueInput`
/// (0–**255**), same characters; ECR 128/256. sm-kernel tags the SageMaker image, the ECR
/// repository and the CodeBuild project alike, so the CodeBuild limits apply. The `aws:`
/// prefix (any case) is reserved on keys and values (AWS docs "Tag restrictions", e.g.
/// <https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html>).
pub fn tag(field: &str, key: &str, value: &str) -> Result<(), NameError> {
    if let Some(d) = tag_detail(key, 1, TAG_KEY_MAX) {
        return Err(TAG_KEY.fail(field, key, Some(d)));
    }
    if let Some(d) = tag_detail(value, 0, TAG_VALUE_MAX) {
        return Err(TAG_VALUE.fail(field, value, Some(d)));
    }
    Ok(())
}

/// A whole tag set: every tag valid, keys unique (case-sensitive), at most [`MAX_TAGS`].
/// On a count or duplicate error the value is the list written `K=V,K=V`.
pub fn tags(field: &str, tags: &[(String, String)]) -> Result<(), NameError> {
    for (k, v) in tags {
        tag(field, k, v)?;
    }
    let written = || {
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    if tags.len() > MAX_TAGS {
        return Err(TAG_COUNT.fail(field, &written(), Some(format!("there are {}", tags.len()))));
    }
    for (i, (k, _)) in tags.iter().enumerate() {
        if tags[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(TAG_UNIQUE.fail(
                field,
                &written(),
                Some(format!("\"{k}\" appears more than once")),
            ));
        }
    }
    Ok(())
}

/// A `--tag KEY=VALUE` flag: split at the first `=` (the value may contain more), then
/// checked as [`tag`]. `KEY=` gives an empty value, which tags allow.
pub fn tag_flag(field: &str, value: &str) -> Result<(String, String), NameError> {
    let Some((k, v)) = value.split_once('=') else {
        return Err(TAG_FLAG.fail(field, value, Some("there is no \"=\"".to_string())));
    };
    if let Some(d) = tag_detail(k, 1, TAG_KEY_MAX).or_else(|| tag_detail(v, 0, TAG_VALUE_MAX)) {
        return Err(TAG_FLAG.fail(field, value, Some(d)));
    }
    Ok((k.to_string(), v.to_string()))
}

// ---------------------------------------------------------------------------------------
// Build arguments, network, registries
// ---------------------------------------------------------------------------------------

const BUILD_ARG: Rule = Rule {
    text: "KEY=VALUE, where KEY is a letter or underscore followed by letters, digits and underscores; VALUE is anything, including \"=\", quotes and line breaks",
    example: "PYTHON_VERSION=3.11",
};
static ENV_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_][A-Za-z0-9_]*$"));

/// A `--build-arg KEY=VALUE`: split at the first `=`; returns `(KEY, VALUE)`.
///
/// KEY follows the portable shell variable name (`[A-Za-z_][A-Za-z0-9_]*`, POSIX "Name";
/// also SageMaker's `TrainingEnvironmentKey` pattern in the sagemaker model) because the
/// buildspec passes it through an environment variable; VALUE is passed through unchanged.
pub fn build_arg(field: &str, value: &str) -> Result<(String, String), NameError> {
    let detail = match value.split_once('=') {
        None => "there is no \"=\"".to_string(),
        Some((k, v)) if ENV_NAME_RE.is_match(k) => return Ok((k.to_string(), v.to_string())),
        Some(("", _)) => "the key before \"=\" is empty".to_string(),
        Some((k, _)) => match k.chars().next() {
            Some(c) if c.is_ascii_digit() => "the key starts with a digit".to_string(),
            _ => {
                let c = k
                    .chars()
                    .find(|&c| !(c.is_ascii_alphanumeric() || c == '_'));
                format!("the key contains {}", show_char(c.unwrap_or('?')))
            }
        },
    };
    Err(BUILD_ARG.fail(field, value, Some(detail)))
}

static VPC_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$"));
static SUBNET_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$"));
static SG_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$"));

const VPC_ID: Rule = Rule {
    text: "\"vpc-\" followed by 8 or 17 lowercase hexadecimal digits",
    example: "vpc-0a1b2c3d4e5f67890",
};
const SUBNET_ID: Rule = Rule {
    text: "\"subnet-\" followed by 8 or 17 lowercase hexadecimal digits",
    example: "subnet-0a1b2c3d4e5f67890",
};
const SECURITY_GROUP_ID: Rule = Rule {
    text: "\"sg-\" followed by 8 or 17 lowercase hexadecimal digits",
    example: "sg-0a1b2c3d4e5f67890",
};

fn ec2_id(
    field: &str,
    value: &str,
    prefix: &str,
    re: &Regex,
    rule: &Rule,
) -> Result<(), NameError> {
    if re.is_match(value) {
        return Ok(());
    }
    let detail = match value.strip_prefix(prefix) {
        None => format!("it does not start with \"{prefix}\""),
        Some(hex) if hex.chars().any(|c| c.is_ascii_uppercase()) => {
            "the digits must be lowercase".to_string()
        }
        Some(hex) if hex.chars().any(|c| !c.is_ascii_hexdigit()) => {
            let c = hex.chars().find(|c| !c.is_ascii_hexdigit()).unwrap_or('?');
            format!("{} is not a hexadecimal digit", show_char(c))
        }
        Some(hex) => format!("it has {} digit{}", len(hex), plural(len(hex))),
    };
    Err(rule.fail(field, value, Some(detail)))
}

/// VPC id for the CodeBuild project's `vpcConfig`.
///
/// Source: EC2 resource id format, 8 or 17 hexadecimal characters after the prefix
/// (AWS docs "Resource IDs", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).
/// The sagemaker and codebuild models only say `[-0-9a-zA-Z]+`, max 32 / non-empty.
pub fn vpc_id(field: &str, value: &str) -> Result<(), NameError> {
    ec2_id(field, value, "vpc-", &VPC_RE, &VPC_ID)
}

/// Subnet id; same format as [`vpc_id`].
pub fn subnet_id(field: &str, value: &str) -> Result<(), NameError> {
    ec2_id(field, value, "subnet-", &SUBNET_RE, &SUBNET_ID)
}

/// Security group id; same format as [`vpc_id`].
pub fn security_group_id(field: &str, value: &str) -> Result<(), NameError> {
    ec2_id(field, value, "sg-", &SG_RE, &SECURITY_GROUP_ID)
}

/// An ECR registry host taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcrRegistry {
    /// The 12-digit account id that owns the registry.
    pub account: String,
    /// The registry's Region.
    pub region: String,
}

const ECR_REGISTRY: Rule = Rule {
    text: "an ECR registry host: ACCOUNT.dkr.ecr.REGION.amazonaws.com (.amazonaws.com.cn in China), with a 12-digit account and no scheme or path",
    example: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
};
static ECR_REGISTRY_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$"));

/// An extra ECR registry to log in to during the build; returns its account and Region
/// (for `aws ecr get-login-password --region REGION`).
///
/// Source: ECR docs "Private registry concepts": the registry URL is
/// `aws_account_id.dkr.ecr.region.amazonaws.com`
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html>), with the
/// `amazonaws.com.cn` DNS suffix in the `aws-cn` partition (botocore `partitions.json`).
/// FIPS, dual-stack and ISO-partition hosts are not accepted.
pub fn ecr_registry(field: &str, value: &str) -> Result<EcrRegistry, NameError> {
    let err = |d: String| ECR_REGISTRY.fail(field, value, Some(d));
    if value.contains("://") || value.contains('/') {
        return Err(err("give the host only, without scheme or path".to_string()));
    }
    let Some(c) = ECR_REGISTRY_RE.captures(value) else {
        return Err(err("it does not have that shape".to_string()));
    };
    let (account, region_code, china) = (&c[1], &c[2], c.get(3).is_some());
    if !REGION_RE.is_match(region_code) {
        return Err(err(format!("\"{region_code}\" is not a Region code")));
    }
    if china != region_code.starts_with("cn-") {
        return Err(err(
            "China Regions (cn-…) use amazonaws.com.cn, and only they do".to_string(),
        ));
    }
    Ok(EcrRegistry {
        account: account.to_string(),
        region: region_code.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Defaults, and the seed policy's resource patterns
// ---------------------------------------------------------------------------------------

/// Resource pattern of the seed policy's CodeBuild and ECR statements (and, through the
/// project, of its CloudWatch Logs statements): `…:project/sagemaker-studio*`,
/// `…:repository/sagemaker-studio*`, `…:log-group:/aws/codebuild/sagemaker-studio*`.
pub const SEED_STUDIO_PREFIX: &str = "sagemaker-studio";
/// Resource pattern of the seed policy's S3 object statement: `arn:aws:s3:::sagemaker-*/*`
/// (its `s3:CreateBucket` statement, `arn:aws:s3:::sagemaker*`, is wider).
pub const SEED_BUCKET_PREFIX: &str = "sagemaker-";

/// Whether the published (seed) policy covers a CodeBuild project of this name and its
/// log group. IAM matches resource ARNs case-sensitively, so `SageMaker-Studio-x` is not
/// covered. A name outside the pattern is allowed; the plan flags it as needing
/// permissions beyond the published policy.
pub fn project_in_seed_policy(project: &str) -> bool {
    project.starts_with(SEED_STUDIO_PREFIX)
}

/// Whether the seed policy covers an ECR repository of this name (see
/// [`project_in_seed_policy`]).
pub fn repository_in_seed_policy(repository: &str) -> bool {
    repository.starts_with(SEED_STUDIO_PREFIX)
}

/// Whether the seed policy lets sm-kernel create this bucket and put, get and delete
/// objects in it (`sagemaker-*`).
pub fn bucket_in_seed_policy(bucket: &str) -> bool {
    bucket.starts_with(SEED_BUCKET_PREFIX)
}

/// Default ECR repository for an image: `sagemaker-studio-` + the image name in lower
/// case. Valid for every valid [`image_name`] and inside the seed policy.
pub fn default_repository_name(image_name: &str) -> String {
    format!("{SEED_STUDIO_PREFIX}-{}", image_name.to_ascii_lowercase())
}

/// Default CodeBuild project for an image: `sagemaker-studio-` + the image name with
/// dots replaced by hyphens (CodeBuild names allow no dots). At most 17 + 63 = 80
/// characters; valid for every valid [`image_name`] and inside the seed policy.
pub fn default_project_name(image_name: &str) -> String {
    format!("{SEED_STUDIO_PREFIX}-{}", image_name.replace('.', "-"))
}

/// Default bucket: `sagemaker-REGION-ACCOUNT`, the bucket the SageMaker Python SDK also
/// uses. Valid whenever `region` passes [`region`] and `account` passes [`account_id`]
/// (and the Region code is at most 40 characters), and inside the seed policy.
pub fn default_bucket_name(region: &str, account: &str) -> String {
    format!("sagemaker-{region}-{account}")
}

/// Where CodeBuild reads a build secret from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStore {
    /// `env.secrets-manager`, read with `secretsmanager:GetSecretValue`.
    SecretsManager,
    /// `env.parameter-store`, read with `ssm:GetParameters`.
    ParameterStore,
}

/// A build secret: its BuildKit id, where it lives and the ARN IAM sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSecret {
    /// The BuildKit secret id and the build's environment variable name.
    pub id: String,
    pub store: SecretStore,
    /// What the buildspec names: the secret ARN with its `:json-key` (Secrets Manager), or the
    /// parameter name (Parameter Store).
    pub reference: String,
    /// The resource of the IAM action: the secret ARN without the JSON key, or the parameter
    /// ARN.
    pub resource_arn: String,
}

const BUILD_SECRET_RULE: &str = "ID=ARN with an ID of letters, digits and _ (not starting with a digit) and the ARN of a Secrets Manager secret (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON-KEY]) or a Parameter Store parameter (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME)";
const BUILD_SECRET_EXAMPLE: &str =
    "PIP_TOKEN=arn:aws:secretsmanager:us-east-1:123456789012:secret:pip-token-AbCdEf:token";

static SECRET_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9/_+=.@-]{1,512}$"));
static JSON_KEY_RE: LazyLock<Regex> = LazyLock::new(|| re(r#"^[^:\s'"`$\\]{1,256}$"#));
static PARAMETER_NAME_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_.\-/]{1,1011}$"));

/// A build secret given as `ID` and `ARN` (the manifest's `build-secrets` table, or one
/// `--build-secret ID=ARN`).
///
/// Sources: Secrets Manager secret names (1–512 of `[A-Za-z0-9/_+=.@-]`) and Parameter Store
/// parameter names (1–1011 of `[A-Za-z0-9_.-/]`), from their API references; CodeBuild's
/// `env.secrets-manager` syntax `secret-id:json-key:version-stage:version-id`, of which only
/// the JSON key is accepted here so that a value is always one secret's one key.
pub fn build_secret(field: &str, id: &str, arn: &str) -> Result<BuildSecret, NameError> {
    let value = format!("{id}={arn}");
    let err = |d: String| {
        fail(
            field,
            &value,
            BUILD_SECRET_RULE,
            Some(d),
            BUILD_SECRET_EXAMPLE,
        )
    };
    if !ENV_NAME_RE.is_match(id) {
        return Err(err(format!(
            "the ID {id:?} is not an environment variable name"
        )));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(err(
            "the ARN does not start with \"arn:\" and have six \":\"-separated parts".to_string(),
        ));
    }
    let (partition, service, region_part, account, resource) =
        (parts[1], parts[2], parts[3], parts[4], parts[5]);
    if !PARTITIONS.contains(&partition) {
        return Err(err(format!("\"{partition}\" is not an AWS partition")));
    }
    if region(field, region_part).is_err() {
        return Err(err(format!("the region \"{region_part}\" is not a region")));
    }
    if !ACCOUNT_RE.is_match(account) {
        return Err(err(format!("the account \"{account}\" is not 12 digits")));
    }
    match service {
        "secretsmanager" => {
            let Some(rest) = resource.strip_prefix("secret:") else {
                return Err(err(
                    "a Secrets Manager ARN names \"secret:NAME\"".to_string()
                ));
            };
            let (name, key) = match rest.split_once(':') {
                Some((n, k)) => (n, Some(k)),
                None => (rest, None),
            };
            if !SECRET_NAME_RE.is_match(name) {
                return Err(err(format!(
                    "the secret name {name:?} is not 1–512 of A-Z a-z 0-9 / _ + = . @ -"
                )));
            }
            if let Some(k) = key {
                if !JSON_KEY_RE.is_match(k) {
                    return Err(err(format!(
                        "the JSON key {k:?} must be 1–256 characters without \":\", spaces, quotes, $ or \\ (version stages and ids are not supported)"
                    )));
                }
            }
            Ok(BuildSecret {
                id: id.to_string(),
                store: SecretStore::SecretsManager,
                reference: arn.to_string(),
                resource_arn: format!(
                    "arn:{partition}:secretsmanager:{region_part}:{account}:secret:{name}"
                ),
            })
        }
        "ssm" => {
            let Some(rest) = resource.strip_prefix("parameter/") else {
                return Err(err(
                    "a Parameter Store ARN names \"parameter/NAME\"".to_string()
                ));
            };
            if !PARAMETER_NAME_RE.is_match(rest) || rest.starts_with('/') || rest.contains("//") {
                return Err(err(format!(
                    "the parameter name {rest:?} is not 1–1011 of A-Z a-z 0-9 _ . - / (without a leading or double /)"
                )));
            }
            // Hierarchical names start with "/", which the ARN drops after "parameter".
            let name = if rest.contains('/') {
                format!("/{rest}")
            } else {
                rest.to_string()
            };
            Ok(BuildSecret {
                id: id.to_string(),
                store: SecretStore::ParameterStore,
                reference: name,
                resource_arn: arn.to_string(),
            })
        }
        other => Err(err(format!(
            "the service is \"{other}\"; build secrets come from secretsmanager or ssm"
        ))),
    }
}

/// One `--build-secret ID=ARN` flag value.
pub fn build_secret_flag(field: &str, value: &str) -> Result<(String, String), NameError> {
    match value.split_once('=') {
        Some((id, arn)) => build_secret(field, id, arn).map(|_| (id.to_string(), arn.to_string())),
        None => Err(fail(
            field,
            value,
            BUILD_SECRET_RULE,
            Some("there is no \"=\"".to_string()),
            BUILD_SECRET_EXAMPLE,
        )),
    }
}

/// A KMS key ARN taken apart (`kms-key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmsKey {
    /// The whole ARN, as S3 (`SSEKMSKeyId`), CodeBuild (`encryptionKey`) and IAM name it.
    pub arn: String,
    /// The key's Region: S3 and CodeBuild use only keys of their own Region.
    pub region: String,
    pub account: String,
}

const KMS_KEY: Rule = Rule {
    text: "the ARN of a KMS key: arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID, with a 12-digit account and a key id that is a UUID (or mrk- and 32 hex digits for a multi-Region key); not an alias, because IAM authorises the key's own ARN (aws kms describe-key --key-id alias/NAME prints it)",
    example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};
static KMS_KEY_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")
});

/// The customer managed KMS key of `kms-key`: S3 encrypts the uploaded context with it
/// (SSE-KMS) and the CodeBuild project names it as its `encryptionKey`.
///
/// Sources: KMS docs "Key identifiers (KeyId)" (key ARN `arn:aws:kms:REGION:ACCOUNT:key/ID`,
/// a key id is a UUID, a multi-Region key id is `mrk-` and 32 hexadecimal digits,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id>). S3's
/// `SSEKMSKeyId` and CodeBuild's `encryptionKey` accept aliases too, but an IAM policy is
/// evaluated against the key's ARN, which the Plan must name without calling AWS, so only
/// key ARNs are accepted.
pub fn kms_key_arn(field: &str, value: &str) -> Result<KmsKey, NameError> {
    let err = |d: String| KMS_KEY.fail(field, value, Some(d));
    if value.starts_with("alias/") || value.contains(":alias/") {
        return Err(err(
            "this is an alias; give the ARN of the key it points to".to_string(),
        ));
    }
    if !value.is_empty() && !value.starts_with("arn:") && KMS_KEY_ID_RE.is_match(value) {
        return Err(err(
            "this is a bare key id; give the whole key ARN".to_string()
        ));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(err(
            "it does not start with \"arn:\" and have six \":\"-separated parts".to_string(),
        ));
    }
    let (partition, service, region_part, account, resource) =
        (parts[1], parts[2], parts[3], parts[4], parts[5]);
    if !PARTITIONS.contains(&partition) {
        return Err(err(format!("\"{partition}\" is not an AWS partition")));
    }
    if service != "kms" {
        return Err(err(format!("the service is \"{service}\", not \"kms\"")));
    }
    if region(field, region_part).is_err() {
        return Err(err(format!("the region \"{region_part}\" is not a region")));
    }
    if !ACCOUNT_RE.is_match(account) {
        return Err(err(format!("the account \"{account}\" is not 12 digits")));
    }
    let Some(id) = resource.strip_prefix("key/") else {
        return Err(err(format!(
            "the resource \"{resource}\" does not start with \"key/\""
        )));
    };
    if !KMS_KEY_ID_RE.is_match(id) {
        return Err(err(format!(
            "the key id \"{id}\" is neither a lowercase UUID nor mrk- and 32 hex digits"
        )));
    }
    Ok(KmsKey {
        arn: value.to_string(),
        region: region_part.to_string(),
        account: account.to_string(),
    })
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secrets_manager_arn_with_json_key() {
        let s = build_secret(
            "f",
            "PIP_TOKEN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:pip/token-AbCdEf:token",
        )
        .unwrap();
        assert_eq!(s.store, SecretStore::SecretsManager);
        assert_eq!(
            s.resource_arn,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:pip/token-AbCdEf"
        );
        assert!(s.reference.ends_with(":token"));
    }

    #[test]
    fn parameter_arns_give_the_parameter_name() {
        let s = build_secret(
            "f",
            "NPMRC",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/ci/npmrc",
        )
        .unwrap();
        assert_eq!(s.store, SecretStore::ParameterStore);
        assert_eq!(s.reference, "/ci/npmrc");
        let flat = build_secret(
            "f",
            "X",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/npmrc",
        )
        .unwrap();
        assert_eq!(flat.reference, "npmrc");
    }

    #[test]
    fn bad_secrets_name_the_field_and_what_is_wrong() {
        for (id, arn, want) in [
            (
                "1X",
                "arn:aws:ssm:us-east-1:123456789012:parameter/a",
                "not an environment variable name",
            ),
            ("X", "pip-token", "six"),
            ("X", "arn:aws:s3:::bucket/key", "not a region"),
            (
                "X",
                "arn:aws:s3:us-east-1:123456789012:bucket/key",
                "secretsmanager or ssm",
            ),
            (
                "X",
                "arn:aws:secretsmanager:us-east-1:12345:secret:a",
                "12 digits",
            ),
            (
                "X",
                "arn:aws:secretsmanager:us-east-1:123456789012:token/a",
                "secret:NAME",
            ),
            (
                "X",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:a:k:AWSCURRENT",
                "JSON key",
            ),
            (
                "X",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:a b",
                "secret name",
            ),
            (
                "X",
                "arn:aws:ssm:us-east-1:123456789012:parameter/a'$(id)",
                "parameter name",
            ),
        ] {
            let e = build_secret("kernel \"k\": build-secrets", id, arn).unwrap_err();
            assert_eq!(e.field, "kernel \"k\": build-secrets");
            assert!(e.rule.contains(want), "{id}={arn}: {}", e.rule);
        }
        let e = build_secret_flag("--build-secret", "PIP_TOKEN").unwrap_err();
        assert!(e.rule.contains("no \"=\""), "{}", e.rule);
    }
}

#[cfg(test)]
mod tests;
