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
        self.endpoint().is_some()
    }

    /// The endpoint every call goes to: `--endpoint-url`, else `AWS_ENDPOINT_URL`, else
    /// none (AWS).
    pub fn endpoint(&self) -> Option<String> {
        self.endpoint_url.clone().or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
    }

    /// Applies the kernels' `endpoint-url` (one per run) when neither `--endpoint-url` nor
    /// `AWS_ENDPOINT_URL` names one: manifest < environment < flag, as for every setting.
    pub fn with_manifest_endpoint(mut self, plan: &crate::plan::Plan) -> Target {
        if self.endpoint().is_none() {
            self.endpoint_url = plan
                .kernels
                .first()
                .and_then(|k| k.resources.endpoint_url.clone());
        }
        self
    }

    /// The local sandbox (`tests/sandbox/run`) accepts any credentials; on a loopback
    /// endpoint, with no profile or access key given, sm-kernel signs with fixed ones so the
    /// demo needs no AWS account and a shell's real credentials never go to an emulator.
    fn sandbox_credentials(&self) -> bool {
        let Some(url) = self.endpoint() else {
            return false;
        };
        let loopback = is_loopback(&url);
        let given = |v: &str| std::env::var_os(v).is_some_and(|v| !v.is_empty());
        loopback && self.profile.is_none() && !given("AWS_ACCESS_KEY_ID") && !given("AWS_PROFILE")
    }
}

/// True for an http(s) URL whose host is `localhost` or a loopback address.
fn is_loopback(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The credentials the sandbox is signed with (any are accepted; these say where they are for).
pub const SANDBOX_ACCESS_KEY: &str = "sm-kernel-sandbox";

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
    if target.sandbox_credentials() {
        loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
            SANDBOX_ACCESS_KEY,
            SANDBOX_ACCESS_KEY,
            None,
            None,
            "sm-kernel-sandbox",
        ));
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

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_endpoints_count_as_the_sandbox() {
        for url in [
            "http://127.0.0.1:5199",
            "http://localhost:4566/",
            "http://[::1]:5199",
            "http://127.0.0.2",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://sagemaker.us-east-1.amazonaws.com",
            "http://10.0.0.1:5199",
            "http://127.0.0.1.example.com",
            "127.0.0.1:5199",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
