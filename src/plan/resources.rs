//! Every resource name and ARN of one kernel, derived from the resolved configuration and the
//! context digest alone, so a plan needs no network and two machines derive the same names.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Kernel;

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub role_arn: String,
    pub bucket: String,
    pub bucket_arn: String,
    /// `sm-kernel/IMAGE/CONTEXT-DIGEST.zip`: content-addressed, so an unchanged context is
    /// found again and not uploaded twice.
    pub source_key: String,
    pub source_arn: String,
    /// `BUCKET/KEY`, the form CodeBuild's S3 source location takes.
    pub source_location: String,
    pub repository: String,
    pub repository_arn: String,
    pub registry: String,
    /// Derived from the context digest and the buildspec: the same inputs give the same tag,
    /// which is how a re-run finds the image it already built.
    pub image_tag: String,
    pub image_uri: String,
    pub project: String,
    pub project_arn: String,
    pub log_group: String,
    pub log_group_arn: String,
    pub image_name: String,
    pub image_arn: String,
    pub image_versions_arn: String,
    pub app_image_config: String,
    pub app_image_config_arn: String,
    pub domain_id: String,
    pub domain_arn: String,
    /// Idempotency token for CreateImageVersion: a retry of the same build never makes a
    /// second version.
    pub image_version_client_token: String,
    /// `kms-key`: the key S3 encrypts the context with and the CodeBuild project names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// `endpoint-url` from kernel.toml (a local emulator), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

/// The image tag for a context digest (`sha256:HEX`) and the rendered buildspec. The
/// buildspec holds the build args and Dockerfile path, which change the image as much as the
/// files do.
pub fn image_tag(context_digest: &str, buildspec: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sm-kernel image tag v1\n");
    h.update(context_digest.as_bytes());
    h.update(b"\n");
    h.update(buildspec.as_bytes());
    hex::encode(h.finalize())
}

impl Resources {
    pub fn derive(k: &Kernel, context_digest: &str, buildspec: &str) -> Resources {
        let p = &k.partition;
        let r = &k.region;
        let a = &k.account;
        let hex_digest = context_digest.trim_start_matches("sha256:");
        let source_key = format!("sm-kernel/{}/{hex_digest}.zip", k.name);
        let tag = image_tag(context_digest, buildspec);
        let dns_suffix = if p == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let registry = format!("{a}.dkr.ecr.{r}.{dns_suffix}");
        let log_group = format!("/aws/codebuild/{}", k.project);
        // SageMaker ARNs carry resource names in lower case.
        let image_lc = k.name.to_lowercase();
        Resources {
            partition: p.clone(),
            region: r.clone(),
            account: a.clone(),
            role_arn: k.role_arn.clone(),
            bucket: k.bucket.clone(),
            bucket_arn: format!("arn:{p}:s3:::{}", k.bucket),
            source_arn: format!("arn:{p}:s3:::{}/{source_key}", k.bucket),
            source_location: format!("{}/{source_key}", k.bucket),
            source_key,
            repository: k.repository.clone(),
            repository_arn: format!("arn:{p}:ecr:{r}:{a}:repository/{}", k.repository),
            image_uri: format!("{registry}/{}:{tag}", k.repository),
            registry,
            image_version_client_token: format!("sm-kernel-{}", &tag[..26]),
            endpoint_url: k.endpoint_url.clone(),
            kms_key_arn: k.build.kms_key.as_ref().map(|key| key.arn.clone()),
            image_tag: tag,
            project: k.project.clone(),
            project_arn: format!("arn:{p}:codebuild:{r}:{a}:project/{}", k.project),
            log_group_arn: format!("arn:{p}:logs:{r}:{a}:log-group:{log_group}"),
            log_group,
            image_name: k.name.clone(),
            image_arn: format!("arn:{p}:sagemaker:{r}:{a}:image/{image_lc}"),
            image_versions_arn: format!("arn:{p}:sagemaker:{r}:{a}:image-version/{image_lc}/*"),
            app_image_config: k.app_image_config.clone(),
            app_image_config_arn: format!(
                "arn:{p}:sagemaker:{r}:{a}:app-image-config/{}",
                k.app_image_config.to_lowercase()
            ),
            domain_id: k.domain_id.clone(),
            domain_arn: format!("arn:{p}:sagemaker:{r}:{a}:domain/{}", k.domain_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_depends_on_both_inputs_and_is_stable() {
        let a = image_tag("sha256:aa", "spec");
        assert_eq!(a, image_tag("sha256:aa", "spec"));
        assert_ne!(a, image_tag("sha256:ab", "spec"));
        assert_ne!(a, image_tag("sha256:aa", "spec2"));
        assert_eq!(a.len(), 64);
    }
}
