//! The naming rules against their sources' examples and counter-examples.
use super::*;
use proptest::prelude::*;

type Check = fn(&str, &str) -> Result<(), NameError>;

/// The error names the field, the value and the rule, and its example passes.
fn assert_rejects(check: Check, value: &str, detail: &str) {
    let field = "kernel \"ds\": name";
    let e = check(field, value).expect_err(value);
    assert_eq!(e.field, field);
    assert_eq!(e.value, value);
    assert!(
        e.rule.contains(detail),
        "rule {:?} should mention {:?}",
        e.rule,
        detail
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{field}: {value:?} is not valid — ")),
        "{shown}"
    );
    assert!(shown.contains(&e.rule), "{shown}");
    assert!(
        shown.ends_with(&format!(". For example: {}", e.example)),
        "{shown}"
    );
    check("example", &e.example).unwrap_or_else(|e2| panic!("example fails: {e2}"));
}

fn assert_accepts(check: Check, value: &str) {
    check("f", value).unwrap_or_else(|e| panic!("{value:?} should pass: {e}"));
}

fn s(n: usize, c: char) -> String {
    std::iter::repeat_n(c, n).collect()
}

// --- image name ---------------------------------------------------------------------

#[test]
fn image_name_valid() {
    for v in [
        "a",
        "A",
        "7",
        "my-image",
        "my.image",
        "a-b.c-d",
        "Py3.11",
        &s(63, 'x'),
    ] {
        assert_accepts(image_name, v);
    }
    let boundary = format!("a{}", "-b".repeat(31)); // 63 characters
    assert_eq!(boundary.len(), 63);
    assert_accepts(image_name, &boundary);
}

#[test]
fn image_name_invalid() {
    assert_rejects(image_name, "", "it is empty");
    assert_rejects(image_name, &s(64, 'x'), "it is 64 characters long");
    // 64 characters that the pattern alone would accept: only the length limit stops it.
    let sep64 = format!("a{}c", "-b".repeat(31));
    assert_rejects(image_name, &sep64, "it is 64 characters long");
    assert_rejects(
        image_name,
        &sep64.replace('-', "."),
        "it is 64 characters long",
    );
    assert_rejects(image_name, "my_image", "\"_\" is not allowed");
    assert_rejects(image_name, "my image", "a space is not allowed");
    assert_rejects(image_name, "-image", "it starts with \"-\"");
    assert_rejects(image_name, "image.", "it ends with \".\"");
    assert_rejects(image_name, "a--b", "\"--\" puts two separators");
    assert_rejects(image_name, "a.-b", "\".-\" puts two separators");
    assert_rejects(image_name, "é", "\"é\" is not allowed");
}

#[test]
fn image_name_rule_is_readable() {
    let e = image_name("--image-name", "a_b").unwrap_err();
    assert_eq!(
        e.to_string(),
        "--image-name: \"a_b\" is not valid — 1–63 characters: letters, digits, and single hyphens or dots between them; must start and end with a letter or digit; \"_\" is not allowed. For example: datascience-py3.11"
    );
}

// --- app image config -----------------------------------------------------------------

#[test]
fn app_image_config_valid() {
    for v in ["a", "a-b", "a--b", "Z9", &s(63, 'q')] {
        assert_accepts(app_image_config_name, v);
    }
}

#[test]
fn app_image_config_invalid() {
    assert_rejects(app_image_config_name, "", "it is empty");
    assert_rejects(
        app_image_config_name,
        &s(64, 'q'),
        "it is 64 characters long",
    );
    assert_rejects(app_image_config_name, "a.b", "\".\" is not allowed");
    let sep64 = format!("a{}c", "-b".repeat(31));
    assert_rejects(app_image_config_name, &sep64, "it is 64 characters long");
    assert_rejects(app_image_config_name, "a-", "it ends with \"-\"");
    assert_rejects(app_image_config_name, "-a", "it starts with \"-\"");
}

#[test]
fn app_image_config_name_for_replaces_dots() {
    assert_eq!(
        app_image_config_name_for("datascience-py3.11"),
        "datascience-py3-11"
    );
    assert_eq!(app_image_config_name_for("plain"), "plain");
}

// --- display name, description --------------------------------------------------------

#[test]
fn display_name_rules() {
    assert_accepts(image_display_name, "x");
    assert_accepts(image_display_name, "Data Science (Python 3.11) — ünïcode");
    assert_accepts(image_display_name, &s(128, 'd'));
    assert_rejects(image_display_name, "", "it is empty");
    assert_rejects(
        image_display_name,
        &s(129, 'd'),
        "it is 129 characters long",
    );
    assert_rejects(image_display_name, " x", "starts with whitespace");
    assert_rejects(image_display_name, "x ", "ends with whitespace");
    assert_rejects(image_display_name, "a\nb", "line break");
}

#[test]
fn description_rules() {
    assert_accepts(image_description, "d");
    assert_accepts(image_description, " spaces are fine ");
    assert_accepts(image_description, &s(512, 'd'));
    assert_rejects(image_description, "", "it is empty");
    assert_rejects(image_description, &s(513, 'd'), "it is 513 characters long");
    assert_rejects(image_description, "one\r\ntwo", "line break");
}

// --- ECR ------------------------------------------------------------------------------

#[test]
fn ecr_valid() {
    for v in [
        "ab",
        "sagemaker-studio-ds",
        "a.b_c-d",
        "team/app",
        "a/b/c",
        "1abc",
        &s(256, 'r'),
    ] {
        assert_accepts(ecr_repository_name, v);
    }
}

#[test]
fn ecr_invalid() {
    assert_rejects(ecr_repository_name, "a", "it is 1 character long");
    assert_rejects(
        ecr_repository_name,
        &s(257, 'r'),
        "it is 257 characters long",
    );
    assert_rejects(
        ecr_repository_name,
        "MyRepo",
        "uppercase letters are not allowed",
    );
    assert_rejects(ecr_repository_name, "a__b", "two separators");
    assert_rejects(ecr_repository_name, "/ab", "\"/\" must have a name part");
    assert_rejects(ecr_repository_name, "ab/", "\"/\" must have a name part");
    assert_rejects(ecr_repository_name, "a//b", "\"/\" must have a name part");
    assert_rejects(ecr_repository_name, "team/-x", "it starts with \"-\"");
    assert_rejects(ecr_repository_name, "a b", "a space is not allowed");
}

// --- S3 -------------------------------------------------------------------------------

#[test]
fn bucket_valid() {
    for v in [
        "abc",
        &s(63, 'b'),
        "sagemaker-us-east-1-123456789012",
        "my.bucket.name",
        "1-2",
        "192.168.5.4x",
        "xn-single",
        "bucket-s3aliasx",
    ] {
        assert_accepts(bucket_name, v);
    }
}

#[test]
fn bucket_invalid() {
    assert_rejects(bucket_name, "ab", "it is 2 characters long");
    assert_rejects(bucket_name, &s(64, 'b'), "it is 64 characters long");
    assert_rejects(
        bucket_name,
        "My-Bucket",
        "uppercase letters are not allowed",
    );
    assert_rejects(bucket_name, "my_bucket", "\"_\" is not allowed");
    assert_rejects(
        bucket_name,
        "-bucket",
        "start and end with a letter or digit",
    );
    assert_rejects(
        bucket_name,
        "bucket.",
        "start and end with a letter or digit",
    );
    assert_rejects(bucket_name, "my..bucket", "two dots in a row");
    assert_rejects(bucket_name, "192.168.5.4", "IP address");
    for p in [
        "xn--abc",
        "sthree-abc",
        "sthree-configurator-x",
        "amzn-s3-demo-bucket",
    ] {
        assert_rejects(bucket_name, p, "is reserved for");
    }
    for v in [
        "abc-s3alias",
        "abc--ol-s3",
        "abc.mrap",
        "abc--x-s3",
        "abc--table-s3",
    ] {
        assert_rejects(bucket_name, v, "is reserved for");
    }
}

// --- CodeBuild ------------------------------------------------------------------------

#[test]
fn project_rules() {
    for v in ["ab", "A_b-9", "sagemaker-studio-ds", &s(150, 'p')] {
        assert_accepts(codebuild_project_name, v);
    }
    assert_rejects(codebuild_project_name, "a", "it is 1 character long");
    assert_rejects(
        codebuild_project_name,
        &s(151, 'p'),
        "it is 151 characters long",
    );
    assert_rejects(codebuild_project_name, "a.b", "\".\" is not allowed");
    assert_rejects(codebuild_project_name, "_ab", "it starts with \"_\"");
    assert_rejects(codebuild_project_name, "-ab", "it starts with \"-\"");
}

#[test]
fn compute_type_rules() {
    for t in COMPUTE_TYPES {
        assert_eq!(compute_type("f", t).unwrap(), *t);
    }
    assert_eq!(
        compute_type("f", "build_general1_small").unwrap(),
        "BUILD_GENERAL1_SMALL"
    );
    let e = compute_type("--compute-type", "BUILD_LAMBDA_4GB").unwrap_err();
    assert!(e.rule.contains("privileged mode"), "{e}");
    assert!(e.rule.contains("BUILD_GENERAL1_2XLARGE"), "{e}");
    assert!(compute_type("f", &e.example).is_ok());
    let e = compute_type("--compute-type", "large").unwrap_err();
    assert!(e.rule.contains("not a CodeBuild compute type"), "{e}");
    assert!(e.rule.contains(COMPUTE_TYPE.text), "{e}");
}

#[test]
fn timeout_rules() {
    assert_eq!(timeout_minutes("f", 5).unwrap(), 5);
    assert_eq!(timeout_minutes("f", 2160).unwrap(), 2160);
    for bad in [4, 2161, 0, -1, i64::MAX] {
        let e = timeout_minutes("--timeout-minutes", bad).unwrap_err();
        assert_eq!(e.value, bad.to_string());
        assert!(e.to_string().contains("5 to 2160"));
        assert!(timeout_minutes("f", e.example.parse().unwrap()).is_ok());
    }
}

// --- IAM ------------------------------------------------------------------------------

fn check_role(f: &str, v: &str) -> Result<(), NameError> {
    role_arn(f, v).map(|_| ())
}

#[test]
fn role_arn_parts() {
    let r = role_arn("--role", "arn:aws:iam::123456789012:role/MyRole").unwrap();
    assert_eq!(
        r,
        RoleArn {
            partition: "aws".into(),
            account: "123456789012".into(),
            path: "/".into(),
            name: "MyRole".into()
        }
    );
    let r = role_arn(
        "--role",
        "arn:aws-us-gov:iam::000000000000:role/service-role/team/AmazonSageMaker-ExecutionRole+x=y,z.@",
    )
    .unwrap();
    assert_eq!(r.partition, "aws-us-gov");
    assert_eq!(r.account, "000000000000");
    assert_eq!(r.path, "/service-role/team/");
    assert_eq!(r.name, "AmazonSageMaker-ExecutionRole+x=y,z.@");
    for p in PARTITIONS {
        let v = format!("arn:{p}:iam::123456789012:role/r");
        assert_eq!(role_arn("f", &v).unwrap().to_string(), v);
    }
    let long_name = format!("arn:aws:iam::123456789012:role/{}", s(64, 'n'));
    assert_accepts(check_role, &long_name);
    let long_path = format!("arn:aws:iam::123456789012:role/{}/n", s(510, 'p'));
    assert_accepts(check_role, &long_path);
    assert_accepts(check_role, ROLE_ARN.example);
}

#[test]
fn role_arn_invalid() {
    let ok = "arn:aws:iam::123456789012:role/";
    assert_rejects(check_role, "MyRole", "looks like a role name");
    assert_rejects(check_role, "arn:aws:iam", "six \":\"-separated parts");
    assert_rejects(
        check_role,
        "arn:aws:iam::123456789012:user/bob",
        "does not start with \"role/\"",
    );
    assert_rejects(check_role, "arn:aws:s3:::bucket/role/x", "not \"iam\"");
    assert_rejects(
        check_role,
        "arn:azure:iam::123456789012:role/r",
        "not an AWS partition",
    );
    assert_rejects(
        check_role,
        "arn:aws:iam:us-east-1:123456789012:role/r",
        "no region",
    );
    assert_rejects(
        check_role,
        "arn:aws:iam::12345678901:role/r",
        "not 12 digits",
    );
    assert_rejects(
        check_role,
        &format!("{ok}{}", s(65, 'n')),
        "65 characters long (64 at most)",
    );
    assert_rejects(
        check_role,
        &format!("{ok}a/"),
        "role name after the last \"/\" is empty",
    );
    assert_rejects(
        check_role,
        &format!("{ok}bad name"),
        "role name contains a space",
    );
    assert_rejects(check_role, &format!("{ok}a//b"), "empty part");
    assert_rejects(check_role, &format!("{ok}p~x/n"), "path contains \"~\"");
    assert_rejects(
        check_role,
        &format!("{ok}{}/n", s(511, 'p')),
        "the path is 513 characters long",
    );
    let e = role_arn(
        "--role",
        "arn:aws:sts::123456789012:assumed-role/SageMakerRole/SageMaker",
    )
    .unwrap_err();
    assert!(e.rule.contains("assumed-role session"), "{e}");
    assert!(
        e.rule
            .contains("arn:aws:iam::123456789012:role/SageMakerRole"),
        "{e}"
    );
    assert!(e.rule.contains("get-role --role-name SageMakerRole"), "{e}");
}

#[test]
fn account_and_region() {
    assert_accepts(account_id, "012345678901");
    assert_rejects(account_id, "12345678901", "it has 11 digits");
    assert_rejects(account_id, "1234567890123", "it has 13 digits");
    assert_rejects(account_id, "12345678901a", "\"a\" is not a digit");
    for r in [
        "us-east-1",
        "us-gov-west-1",
        "ap-southeast-4",
        "cn-northwest-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "il-central-1",
        "eusc-de-east-1",
    ] {
        assert_accepts(region, r);
    }
    assert_rejects(region, "US-EAST-1", "lowercase");
    assert_rejects(region, "us-east-1a", "Availability Zone");
    assert_rejects(region, "useast1", "does not look like");
    assert_rejects(region, "", "does not look like");
    assert_rejects(region, "us-east", "does not look like");
}

// --- Studio ---------------------------------------------------------------------------

#[test]
fn domain_id_rules() {
    for v in [
        "d-a",
        "d-abcdefghijkl",
        "d--x",
        "d-a-b",
        &format!("d-{}", s(61, 'z')),
    ] {
        assert_accepts(domain_id, v);
    }
    assert_rejects(domain_id, "d-", "it is 2 characters long");
    assert_rejects(
        domain_id,
        &format!("d-{}", s(62, 'z')),
        "it is 64 characters long",
    );
    let sep64 = format!("d-{}bc", "-a".repeat(30));
    assert_eq!(sep64.len(), 64);
    assert_rejects(domain_id, &sep64, "it is 64 characters long");
    assert_rejects(domain_id, "x-abcdef", "does not start with \"d-\"");
    assert_rejects(domain_id, "d-ABC", "uppercase");
    assert_rejects(domain_id, "d-ab_c", "\"_\" is not allowed");
    assert_rejects(domain_id, "d-abc-", "end with a letter or digit");
}

#[test]
fn user_profile_rules() {
    for v in ["u", "Data-Scientist-1", "a--b", &s(63, 'u')] {
        assert_accepts(user_profile_name, v);
    }
    assert_rejects(user_profile_name, "", "it is empty");
    assert_rejects(user_profile_name, &s(64, 'u'), "it is 64 characters long");
    let sep64 = format!("a{}c", "-b".repeat(31));
    assert_rejects(user_profile_name, &sep64, "it is 64 characters long");
    assert_rejects(user_profile_name, "first.last", "\".\" is not allowed");
    assert_rejects(user_profile_name, "user-", "it ends with \"-\"");
}

#[test]
fn kernel_rules() {
    for v in ["python3", "ir", "conda-env-ds-py", "a.b_c-d", &s(1024, 'k')] {
        assert_accepts(kernel_spec_name, v);
    }
    assert_rejects(kernel_spec_name, "", "it is empty");
    assert_rejects(
        kernel_spec_name,
        &s(1025, 'k'),
        "it is 1025 characters long",
    );
    assert_rejects(
        kernel_spec_name,
        "Python3",
        "uppercase letters are not allowed",
    );
    assert_rejects(kernel_spec_name, "my kernel", "a space is not allowed");
    assert_rejects(kernel_spec_name, "a/b", "\"/\" is not allowed");
    assert_accepts(kernel_display_name, "Python 3 (ds)");
    assert_accepts(kernel_display_name, &s(1024, 'k'));
    assert_rejects(kernel_display_name, "", "it is empty");
    assert_rejects(
        kernel_display_name,
        &s(1025, 'k'),
        "it is 1025 characters long",
    );
}

#[test]
fn uid_gid_rules() {
    assert_eq!(uid_gid("f", 1000, 100).unwrap(), (1000, 100));
    assert_eq!(uid_gid("f", 0, 0).unwrap(), (0, 0));
    for (u, g, detail) in [
        (1000, 1000, "app fails to start"),
        (0, 100, "app fails to start"),
        (1001, 100, "app fails to start"),
        (65535, 65535, "app fails to start"),
        (65536, 100, "0–65535"),
        (1000, -1, "0–65535"),
    ] {
        let e = uid_gid("kernel \"ds\": uid/gid", u, g).unwrap_err();
        assert_eq!(e.value, format!("{u}/{g}"));
        assert!(e.rule.contains(detail), "{e}");
        assert!(e.rule.contains("1000/100") && e.rule.contains("0/0"), "{e}");
        let (eu, eg) = e.example.split_once('/').unwrap();
        assert!(uid_gid("f", eu.parse().unwrap(), eg.parse().unwrap()).is_ok());
    }
}

#[test]
fn mount_path_rules() {
    for v in [
        DEFAULT_MOUNT_PATH,
        "/home/sagemaker-user/",
        "/opt/mlflow",
        "/opt/conda",
        "/mnt/data",
        "/x",
        &format!("/{}", s(1023, 'm')),
    ] {
        assert_accepts(mount_path, v);
    }
    assert_rejects(mount_path, "", "it is empty");
    assert_rejects(mount_path, "home/user", "does not start with \"/\"");
    assert_rejects(
        mount_path,
        &format!("/{}", s(1024, 'm')),
        "1025 characters long",
    );
    assert_rejects(mount_path, "/home/a\nb", "line break");
    assert_rejects(mount_path, "/home/a\u{0}b", "U+0000");
    assert_rejects(mount_path, "/", "root directory");
    assert_rejects(mount_path, "/./", "root directory");
    assert_rejects(mount_path, "/home/../opt", "\"..\"");
    for v in [
        "/opt/ml",
        "/opt/ml/",
        "/opt/ml/code",
        "//opt/./ml",
        "/opt/.sagemakerinternal/x",
    ] {
        assert_rejects(mount_path, v, "is reserved");
    }
}

// --- tags -----------------------------------------------------------------------------

fn check_tag_key(f: &str, k: &str) -> Result<(), NameError> {
    tag(f, k, "v")
}

fn check_tag_value(f: &str, v: &str) -> Result<(), NameError> {
    tag(f, "k", v)
}

fn check_tag_flag(f: &str, v: &str) -> Result<(), NameError> {
    tag_flag(f, v).map(|_| ())
}

#[test]
fn tag_rules() {
    for k in [
        "k",
        "team",
        "Cost Center",
        "a_.:/=+-@",
        "日本語",
        "ключ",
        "١٢٣",
        &s(127, 'k'),
    ] {
        assert_accepts(check_tag_key, k);
    }
    for v in ["", "v", "ml platform", &s(255, 'v')] {
        assert_accepts(check_tag_value, v);
    }
    assert_rejects(check_tag_key, "", "it is empty");
    assert_rejects(check_tag_key, &s(128, 'k'), "it is 128 characters long");
    assert_rejects(check_tag_key, "a,b", "\",\" is not allowed");
    assert_rejects(check_tag_key, "aws:cloudformation", "\"aws:\" is reserved");
    assert_rejects(check_tag_key, "AwS:x", "\"AwS:\" is reserved");
    assert_rejects(check_tag_value, &s(256, 'v'), "it is 256 characters long");
    assert_rejects(check_tag_value, "a\tb", "a tab is not allowed");
    assert_rejects(check_tag_value, "AWS:x", "reserved");
    let e = tag("--tag", "k", "a;b").unwrap_err();
    assert_eq!(e.value, "a;b");
    assert!(e.rule.starts_with("a tag value"));
}

#[test]
fn tag_flag_rules() {
    assert_eq!(
        tag_flag("f", "team=ml").unwrap(),
        ("team".into(), "ml".into())
    );
    assert_eq!(tag_flag("f", "k=").unwrap(), ("k".into(), String::new()));
    assert_eq!(tag_flag("f", "k=a=b").unwrap(), ("k".into(), "a=b".into()));
    assert_rejects(check_tag_flag, "team", "there is no \"=\"");
    assert_rejects(check_tag_flag, "=v", "it is empty");
    assert_rejects(check_tag_flag, "aws:k=v", "reserved");
    assert_rejects(check_tag_flag, "k=v;", "\";\" is not allowed");
}

#[test]
fn tag_set_rules() {
    let mk = |n: usize| -> Vec<(String, String)> {
        (0..n).map(|i| (format!("k{i}"), "v".to_string())).collect()
    };
    assert!(tags("f", &mk(0)).is_ok());
    assert!(tags("f", &mk(50)).is_ok());
    let e = tags("--tag", &mk(51)).unwrap_err();
    assert!(
        e.rule.contains("at most 50") && e.rule.contains("there are 51"),
        "{e}"
    );
    assert!(tag_flag("f", &e.example).is_ok());
    let dup = vec![
        ("a".to_string(), "1".to_string()),
        ("a".to_string(), "2".to_string()),
    ];
    let e = tags("--tag", &dup).unwrap_err();
    assert_eq!(e.value, "a=1,a=2");
    assert!(e.rule.contains("\"a\" appears more than once"), "{e}");
    let case = vec![
        ("a".to_string(), "1".to_string()),
        ("A".to_string(), "2".to_string()),
    ];
    assert!(tags("f", &case).is_ok());
    let bad = vec![
        ("ok".to_string(), "1".to_string()),
        ("aws:x".to_string(), "2".to_string()),
    ];
    assert_eq!(tags("f", &bad).unwrap_err().value, "aws:x");
}

// --- build args, network, registries ------------------------------------------------

fn check_build_arg(f: &str, v: &str) -> Result<(), NameError> {
    build_arg(f, v).map(|_| ())
}

#[test]
fn build_arg_rules() {
    assert_eq!(build_arg("f", "A=1").unwrap(), ("A".into(), "1".into()));
    assert_eq!(
        build_arg("f", "_x9=").unwrap(),
        ("_x9".into(), String::new())
    );
    assert_eq!(
        build_arg("f", "OPTS=--a=b \"c d\"\nline2 'q'").unwrap(),
        ("OPTS".into(), "--a=b \"c d\"\nline2 'q'".into())
    );
    assert_rejects(check_build_arg, "NOVALUE", "there is no \"=\"");
    assert_rejects(check_build_arg, "=v", "the key before \"=\" is empty");
    assert_rejects(check_build_arg, "1A=v", "the key starts with a digit");
    assert_rejects(check_build_arg, "MY-ARG=v", "the key contains \"-\"");
    assert_rejects(check_build_arg, "A B=v", "the key contains a space");
}

#[test]
fn ec2_ids() {
    assert_accepts(vpc_id, "vpc-0a1b2c3d");
    assert_accepts(vpc_id, "vpc-0a1b2c3d4e5f67890");
    assert_accepts(subnet_id, "subnet-12345678");
    assert_accepts(security_group_id, "sg-0123456789abcdef0");
    assert_rejects(vpc_id, "vpc-0a1b2c3", "it has 7 digits");
    assert_rejects(vpc_id, "vpc-0a1b2c3d4", "it has 9 digits");
    assert_rejects(vpc_id, "vpc-0a1b2c3d4e5f678901", "it has 18 digits");
    assert_rejects(vpc_id, "vpc-0A1B2C3D", "lowercase");
    assert_rejects(vpc_id, "vpc-0a1b2c3g", "\"g\" is not a hexadecimal digit");
    assert_rejects(vpc_id, "subnet-0a1b2c3d", "does not start with \"vpc-\"");
    assert_rejects(subnet_id, "sg-0a1b2c3d", "does not start with \"subnet-\"");
    assert_rejects(security_group_id, "sg-", "it has 0 digits");
}

fn check_registry(f: &str, v: &str) -> Result<(), NameError> {
    ecr_registry(f, v).map(|_| ())
}

#[test]
fn ecr_registry_rules() {
    let r = ecr_registry("f", "123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
    assert_eq!(
        r,
        EcrRegistry {
            account: "123456789012".into(),
            region: "eu-west-1".into()
        }
    );
    let r = ecr_registry("f", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").unwrap();
    assert_eq!(r.region, "cn-north-1");
    assert_accepts(
        check_registry,
        "763104351884.dkr.ecr.us-gov-west-1.amazonaws.com",
    );
    assert_rejects(
        check_registry,
        "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "without scheme",
    );
    assert_rejects(
        check_registry,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo",
        "without scheme",
    );
    assert_rejects(
        check_registry,
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "shape",
    );
    assert_rejects(check_registry, "docker.io", "shape");
    assert_rejects(
        check_registry,
        "123456789012.dkr.ecr.useast1.amazonaws.com",
        "not a Region code",
    );
    assert_rejects(
        check_registry,
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
        "China",
    );
    assert_rejects(
        check_registry,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
        "China",
    );
}

// --- KMS key ------------------------------------------------------------------------

fn check_kms(f: &str, v: &str) -> Result<(), NameError> {
    kms_key_arn(f, v).map(|_| ())
}

#[test]
fn kms_key_rules() {
    let k = kms_key_arn(
        "f",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    .unwrap();
    assert_eq!(
        (k.region.as_str(), k.account.as_str()),
        ("eu-west-1", "123456789012")
    );
    assert_eq!(
        k.arn,
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    assert_accepts(
        check_kms,
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:us-east-1:123456789012:alias/team-key",
        "this is an alias",
    );
    assert_rejects(check_kms, "alias/aws/s3", "this is an alias");
    assert_rejects(
        check_kms,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "bare key id",
    );
    assert_rejects(check_kms, "my-key", "six");
    assert_rejects(
        check_kms,
        "arn:aws:s3:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "not \"kms\"",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:useast1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "not a region",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:us-east-1:12345:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "12 digits",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:us-east-1:123456789012:keys/1234abcd-12ab-34cd-56ef-1234567890ab",
        "does not start with \"key/\"",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:us-east-1:123456789012:key/1234ABCD-12AB-34CD-56EF-1234567890AB",
        "neither a lowercase UUID",
    );
    assert_rejects(
        check_kms,
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
        "neither a lowercase UUID",
    );
    assert_rejects(
        check_kms,
        "arn:nope:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "not an AWS partition",
    );
}

// --- seed policy and defaults ---------------------------------------------------------

#[test]
fn seed_policy_patterns() {
    assert!(project_in_seed_policy("sagemaker-studio-ds"));
    assert!(project_in_seed_policy("sagemaker-studio"));
    assert!(project_in_seed_policy("sagemaker-studioX"));
    assert!(!project_in_seed_policy("SageMaker-Studio-ds"));
    assert!(!project_in_seed_policy("my-build"));
    assert!(repository_in_seed_policy("sagemaker-studio-ds/team"));
    assert!(!repository_in_seed_policy("team/sagemaker-studio-ds"));
    assert!(bucket_in_seed_policy("sagemaker-us-east-1-123456789012"));
    assert!(!bucket_in_seed_policy("sagemaker"));
    assert!(!bucket_in_seed_policy("sagemakerbucket"));
    assert!(!bucket_in_seed_policy("my-bucket"));
}

#[test]
fn defaults() {
    assert_eq!(default_repository_name("DS.Py3"), "sagemaker-studio-ds.py3");
    assert_eq!(default_project_name("DS.Py3"), "sagemaker-studio-DS-Py3");
    assert_eq!(
        default_bucket_name("us-east-1", "123456789012"),
        "sagemaker-us-east-1-123456789012"
    );
}

#[test]
fn every_example_passes_its_rule() {
    let checks: &[(Check, &str)] = &[
        (image_name, IMAGE_NAME.example),
        (app_image_config_name, APP_IMAGE_CONFIG.example),
        (image_display_name, DISPLAY_NAME.example),
        (image_description, DESCRIPTION.example),
        (ecr_repository_name, ECR_REPO.example),
        (bucket_name, BUCKET.example),
        (codebuild_project_name, PROJECT.example),
        (check_role, ROLE_ARN.example),
        (account_id, ACCOUNT.example),
        (region, REGION.example),
        (domain_id, DOMAIN_ID.example),
        (user_profile_name, USER_PROFILE.example),
        (kernel_spec_name, KERNEL_NAME.example),
        (kernel_display_name, KERNEL_DISPLAY.example),
        (mount_path, DEFAULT_MOUNT_PATH),
        (check_tag_key, TAG_KEY.example),
        (check_tag_value, TAG_VALUE.example),
        (check_tag_flag, TAG_FLAG.example),
        (check_build_arg, BUILD_ARG.example),
        (check_registry, ECR_REGISTRY.example),
        (check_kms, KMS_KEY.example),
        (vpc_id, "vpc-0a1b2c3d4e5f67890"),
        (subnet_id, "subnet-0a1b2c3d4e5f67890"),
        (security_group_id, "sg-0a1b2c3d4e5f67890"),
    ];
    for (check, example) in checks {
        assert_accepts(*check, example);
    }
    assert!(compute_type("f", COMPUTE_TYPE.example).is_ok());
    assert!(timeout_minutes("f", TIMEOUT.example.parse().unwrap()).is_ok());
    // Every error's example comes from the same constant, so a bad value of each
    // kind yields an example that passes.
    let bad: &[(Check, &str)] = &[
        (image_name, "_"),
        (app_image_config_name, "."),
        (image_display_name, ""),
        (image_description, ""),
        (ecr_repository_name, "A"),
        (bucket_name, "A"),
        (codebuild_project_name, "."),
        (check_role, "x"),
        (account_id, "x"),
        (region, "x"),
        (domain_id, "x"),
        (user_profile_name, "."),
        (kernel_spec_name, "A"),
        (kernel_display_name, ""),
        (mount_path, "x"),
        (check_tag_key, ""),
        (check_tag_value, "aws:"),
        (check_tag_flag, "x"),
        (check_build_arg, "x"),
        (check_registry, "x"),
        (check_kms, "x"),
        (vpc_id, "x"),
        (subnet_id, "x"),
        (security_group_id, "x"),
    ];
    for (check, value) in bad {
        let e = check("f", value).expect_err(value);
        assert_accepts(*check, &e.example);
    }
}

// --- properties -----------------------------------------------------------------------

/// `value` with `c` put in at a position chosen by `at`.
fn insert(value: &str, at: usize, c: char) -> String {
    let chars: Vec<char> = value.chars().collect();
    let i = at % (chars.len() + 1);
    chars[..i]
        .iter()
        .chain([c].iter())
        .chain(chars[i..].iter())
        .collect()
}

proptest! {
    #[test]
    fn prop_image_names_from_the_grammar_pass(v in "[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,31}") {
        prop_assert!(image_name("f", &v).is_ok());
        // ...and derive names that pass their own rules.
        prop_assert!(app_image_config_name("f", &app_image_config_name_for(&v)).is_ok());
        let repo = default_repository_name(&v);
        prop_assert!(ecr_repository_name("f", &repo).is_ok());
        prop_assert!(repository_in_seed_policy(&repo));
        let project = default_project_name(&v);
        prop_assert!(codebuild_project_name("f", &project).is_ok());
        prop_assert!(project_in_seed_policy(&project));
    }

    #[test]
    fn prop_image_name_forbidden_char_fails(
        v in "[a-z0-9]{1,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !c.is_ascii_alphanumeric() && *c != '-' && *c != '.'),
    ) {
        let bad = insert(&v, at, c);
        let e = image_name("f", &bad).unwrap_err();
        prop_assert!(image_name("f", &e.example).is_ok());
    }

    #[test]
    fn prop_hyphen_names_pass(v in "[a-zA-Z0-9](-{0,2}[a-zA-Z0-9]){0,20}") {
        prop_assert!(app_image_config_name("f", &v).is_ok());
        prop_assert!(user_profile_name("f", &v).is_ok());
    }

    #[test]
    fn prop_hyphen_names_forbidden_char_fails(
        v in "[a-z0-9]{1,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !c.is_ascii_alphanumeric() && *c != '-'),
    ) {
        let bad = insert(&v, at, c);
        prop_assert!(app_image_config_name("f", &bad).is_err());
        prop_assert!(user_profile_name("f", &bad).is_err());
    }

    #[test]
    fn prop_ecr_names_pass(v in "([a-z0-9]{1,5}([._-][a-z0-9]{1,5}){0,3}/){0,3}[a-z0-9]{2,5}([._-][a-z0-9]{1,5}){0,3}") {
        prop_assert!(ecr_repository_name("f", &v).is_ok());
    }

    #[test]
    fn prop_ecr_forbidden_char_fails(
        v in "[a-z0-9]{2,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(*c))),
    ) {
        prop_assert!(ecr_repository_name("f", &insert(&v, at, c)).is_err());
    }

    #[test]
    fn prop_buckets_pass(v in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,2}") {
        let reserved = ["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| v.starts_with(p))
            || ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().any(|s| v.ends_with(s))
            || IPV4_LIKE_RE.is_match(&v);
        prop_assert_eq!(bucket_name("f", &v).is_ok(), v.len() >= 3 && !reserved);
    }

    #[test]
    fn prop_bucket_forbidden_char_fails(
        v in "[a-z0-9]{3,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')),
    ) {
        prop_assert!(bucket_name("f", &insert(&v, at, c)).is_err());
    }

    #[test]
    fn prop_default_bucket_passes(r in "[a-z]{2,4}(-[a-z]{1,10}){1,2}-[0-9]{1,2}", a in "[0-9]{12}") {
        prop_assert!(region("f", &r).is_ok());
        let b = default_bucket_name(&r, &a);
        prop_assert!(bucket_name("f", &b).is_ok(), "{}", b);
        prop_assert!(bucket_in_seed_policy(&b));
    }

    #[test]
    fn prop_projects_pass(v in "[A-Za-z0-9][A-Za-z0-9_-]{1,149}") {
        prop_assert!(codebuild_project_name("f", &v).is_ok());
    }

    #[test]
    fn prop_project_forbidden_char_fails(
        v in "[a-z0-9]{2,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')),
    ) {
        prop_assert!(codebuild_project_name("f", &insert(&v, at, c)).is_err());
    }

    #[test]
    fn prop_role_arn_round_trips(
        p in prop::sample::select(PARTITIONS),
        a in "[0-9]{12}",
        path in "(/[A-Za-z0-9_+=,.@-]{1,10}){0,3}/",
        n in "[A-Za-z0-9_+=,.@-]{1,64}",
    ) {
        let arn = format!("arn:{p}:iam::{a}:role{path}{n}");
        let r = role_arn("f", &arn).unwrap();
        prop_assert_eq!(&r.partition, p);
        prop_assert_eq!(&r.account, &a);
        prop_assert_eq!(&r.path, &path);
        prop_assert_eq!(&r.name, &n);
        prop_assert_eq!(r.to_string(), arn);
    }

    #[test]
    fn prop_role_name_forbidden_char_fails(
        n in "[a-z]{1,20}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(iam_name_char(*c) || *c == '/')),
    ) {
        let arn = format!("arn:aws:iam::123456789012:role/{}", insert(&n, at, c));
        prop_assert!(role_arn("f", &arn).is_err());
    }

    #[test]
    fn prop_domain_ids_pass(v in "d-(-{0,2}[a-z0-9]){1,20}") {
        prop_assert!(domain_id("f", &v).is_ok());
    }

    #[test]
    fn prop_kernel_names_pass(v in "[a-z0-9._-]{1,100}") {
        prop_assert!(kernel_spec_name("f", &v).is_ok());
    }

    #[test]
    fn prop_kernel_name_forbidden_char_fails(
        v in "[a-z0-9]{1,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c))),
    ) {
        prop_assert!(kernel_spec_name("f", &insert(&v, at, c)).is_err());
    }

    #[test]
    fn prop_tags_pass(k in "[\\p{L}\\p{N} _.:/+@-]{1,60}", v in "[\\p{L}\\p{N} _.:/=+@-]{0,60}") {
        prop_assume!(!k.to_ascii_lowercase().starts_with("aws:") && !v.to_ascii_lowercase().starts_with("aws:"));
        prop_assert!(tag("f", &k, &v).is_ok());
        let flag = format!("{k}={v}");
        prop_assert_eq!(tag_flag("f", &flag).unwrap(), (k.clone(), v.clone()));
    }

    #[test]
    fn prop_tag_forbidden_char_fails(
        k in "[a-z]{1,30}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !TAG_RE.is_match(&c.to_string())),
    ) {
        prop_assert!(tag("f", &insert(&k, at, c), "v").is_err());
        prop_assert!(tag("f", "k", &insert(&k, at, c)).is_err());
    }

    #[test]
    fn prop_build_args_split_at_first_equals(k in "[A-Za-z_][A-Za-z0-9_]{0,20}", v in any::<String>()) {
        let arg = format!("{k}={v}");
        prop_assert_eq!(build_arg("f", &arg).unwrap(), (k, v));
    }

    #[test]
    fn prop_build_arg_key_forbidden_char_fails(
        k in "[A-Z]{1,20}",
        at in any::<usize>(),
        c in any::<char>().prop_filter("forbidden", |c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '=')),
    ) {
        let arg = format!("{}=v", insert(&k, at, c));
        prop_assert!(build_arg("f", &arg).is_err());
    }

    #[test]
    fn prop_ec2_ids_pass(h in "[0-9a-f]{8}|[0-9a-f]{17}") {
        let (vpc, subnet, sg) = (format!("vpc-{h}"), format!("subnet-{h}"), format!("sg-{h}"));
        prop_assert!(vpc_id("f", &vpc).is_ok());
        prop_assert!(subnet_id("f", &subnet).is_ok());
        prop_assert!(security_group_id("f", &sg).is_ok());
    }

    #[test]
    fn prop_registries_parse(a in "[0-9]{12}", r in "[a-z]{2}-[a-z]{4,9}-[0-9]") {
        prop_assume!(!r.starts_with("cn-"));
        let got = ecr_registry("f", &format!("{a}.dkr.ecr.{r}.amazonaws.com")).unwrap();
        prop_assert_eq!(got, EcrRegistry { account: a, region: r });
    }

    #[test]
    fn prop_mount_paths_under_home_pass(p in "(/[a-zA-Z0-9_-]{1,12}){1,6}/?") {
        let reserved = p.starts_with("/opt/ml") && (p.len() == 7 || p[7..].starts_with('/'));
        prop_assume!(!reserved && !p.starts_with("/opt/.sagemakerinternal"));
        prop_assert!(mount_path("f", &p).is_ok());
        let under_ml = format!("/opt/ml{p}");
        prop_assert!(mount_path("f", &under_ml).is_err());
    }

    #[test]
    fn prop_uid_gid_only_two_pairs(u in -1i64..70000, g in -1i64..70000) {
        let ok = matches!((u, g), (1000, 100) | (0, 0));
        prop_assert_eq!(uid_gid("f", u, g).is_ok(), ok);
    }
}

#[test]
fn rule_texts_agree_with_the_limits_they_state() {
    assert!(TAG_COUNT.text.contains(&MAX_TAGS.to_string()));
    for (check, rule) in [
        (vpc_id as Check, VPC_ID),
        (subnet_id, SUBNET_ID),
        (security_group_id, SECURITY_GROUP_ID),
    ] {
        assert!(check("f", rule.example).is_ok(), "{}", rule.example);
        let e = check("f", "x-1").unwrap_err();
        assert!(e.rule.starts_with(rule.text), "{e}");
        assert_eq!(e.example, rule.example);
    }
}
