//! Thin adapters over the aws-sdk clients, all built from one `SdkConfig` so credentials,
//! region, profile, endpoint and retry policy are decided in one place.

pub mod audit;
pub mod iam;

pub use audit::CallAudit;

/// The service clients a publish uses, built once from one configuration.
#[derive(Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sagemaker: aws_sdk_sagemaker::Client,
}

impl Clients {
    pub fn new(cfg: &SdkConfig, endpoint_overridden: bool, audit: &CallAudit) -> Clients {
        // Emulators answer on localhost, where BUCKET.localhost does not resolve.
        let s3 = aws_sdk_s3::config::Builder::from(cfg)
            .force_path_style(endpoint_overridden)
            .interceptor(audit.clone())
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            ecr: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(cfg)
                    .interceptor(audit.clone())
                    .build(),
            ),
            codebuild: aws_sdk_codebuild::Client::from_conf(
                aws_sdk_codebuild::config::Builder::from(cfg)
                    .interceptor(audit.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(cfg)
                    .interceptor(audit.clone())
                    .build(),
            ),
            sagemaker: aws_sdk_sagemaker::Client::from_conf(
                aws_sdk_sagemaker::config::Builder::from(cfg)
                    .interceptor(audit.clone())
                    .build(),
            ),
        }
    }
}

impl Target {
    /// True when requests go somewhere else than AWS (flag or environment).
    pub fn endpoint_overridden(&self) -> bool {
        self.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty())
    }
}

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::error::Error;

/// How to reach AWS: the standard chain, overridden by the global flags.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// `--endpoint-url`, for local emulators; `AWS_ENDPOINT_URL` works through the chain.
    pub endpoint_url: Option<String>,
}

/// Loads the shared configuration. Adaptive retries with more attempts than the default,
/// because a release of many kernels hits the SageMaker control plane's low rate limits.
pub async fn load(target: &Target) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
        RetryConfig::adaptive()
            .with_max_attempts(8)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    if let Some(r) = &target.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &target.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// An AWS error as one line a user can act on: the service's code and message.
pub fn describe<E, R>(what: &str, err: &aws_sdk_iam::error::SdkError<E, R>) -> String
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_iam::error::SdkError;
    match err {
        SdkError::ServiceError(e) => {
            let inner = e.err();
            match (inner.code(), inner.message()) {
                (Some(c), Some(m)) => format!("{what}: {c}: {m}"),
                (Some(c), None) => format!("{what}: {c}"),
                _ => format!("{what}: {inner}"),
            }
        }
        SdkError::DispatchFailure(e) => format!(
            "{what}: could not reach AWS ({e:?}); check your network, --region and --endpoint-url"
        ),
        SdkError::TimeoutError(_) => format!("{what}: timed out"),
        other => format!("{what}: {other}"),
    }
}

/// True when AWS said no because of permissions (the check turns those into "unknown").
pub fn is_access_denied<E, R>(err: &aws_sdk_iam::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| {
            c == "AccessDenied" || c == "AccessDeniedException" || c == "UnauthorizedOperation"
        })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))
}
