//! One error type whose variant decides the exit code, so every failure path maps to the
//! contract in the README without each call site knowing the numbers.

use std::fmt;

/// Exit codes of the CLI contract.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const MISSING_PERMISSIONS: i32 = 3;
    /// `status --exit-code`: some kernel is not up to date.
    pub const NOT_UP_TO_DATE: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug)]
pub enum Error {
    /// The user's flags, manifest, names or files are wrong; found before any AWS call.
    Input(String),
    /// An operation failed (a build failed, a file could not be written, a wait ran out).
    Failed(String),
    /// AWS refused a call or could not be reached; keeps what AWS said, for the user and
    /// for `--output json`.
    Aws(Box<AwsError>),
    /// The preflight found permissions missing.
    Permissions(String),
    /// Ctrl-C, after cleanup.
    Interrupted(String),
    /// `status --exit-code` found a kernel that is not up to date.
    NotUpToDate(String),
}

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        Error::Failed(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit::BAD_INPUT,
            Error::Failed(_) | Error::Aws(_) => exit::FAILED,
            Error::Permissions(_) => exit::MISSING_PERMISSIONS,
            Error::Interrupted(_) => exit::INTERRUPTED,
            Error::NotUpToDate(_) => exit::NOT_UP_TO_DATE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m)
            | Error::Failed(m)
            | Error::Permissions(m)
            | Error::Interrupted(m)
            | Error::NotUpToDate(m) => f.write_str(m),
            Error::Aws(a) => a.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// How an AWS call failed: the service answered with an error, or the request never got an
/// answer (network, DNS, TLS, timeout). Both exit 1; only the hint differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwsErrorKind {
    Service,
    Transport,
    Timeout,
    Other,
}

/// One failed AWS call, as AWS reported it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AwsError {
    /// `sagemaker`, `codebuild`, … (the IAM action prefix).
    pub service: String,
    /// `UpdateDomain`, …
    pub operation: String,
    pub kind: AwsErrorKind,
    /// The service's error code, e.g. `ResourceInUse`, `ThrottlingException`.
    pub code: Option<String>,
    pub request_id: Option<String>,
    pub message: String,
    /// What sm-kernel adds: the resource, or what to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.operation)?;
        if let Some(h) = &self.hint {
            write!(f, " {h}")?;
        }
        match (&self.code, self.kind) {
            (Some(c), _) => write!(f, ": {c}: {}", self.message)?,
            (None, AwsErrorKind::Transport) => write!(
                f,
                ": could not reach AWS ({}); check your network, --region and --endpoint-url",
                self.message
            )?,
            (None, AwsErrorKind::Timeout) => write!(f, ": timed out ({})", self.message)?,
            (None, _) => write!(f, ": {}", self.message)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl Error {
    /// Wraps a failed SDK call. `call` is `service:Operation`, optionally followed by a space
    /// and a hint (`"codebuild:StopBuild stop it by hand: …"`).
    pub fn aws<E, R>(call: &str, err: &aws_sdk_iam::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        Error::Aws(Box::new(AwsError::from_sdk(call, err)))
    }

    /// The AWS error code when this is an AWS refusal.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws(a) => a.code.as_deref(),
            _ => None,
        }
    }
}

impl AwsError {
    pub fn from_sdk<E, R>(call: &str, err: &aws_sdk_iam::error::SdkError<E, R>) -> AwsError
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        use aws_sdk_iam::error::SdkError;
        use aws_sdk_iam::operation::RequestId as _;
        let (op, hint) = match call.split_once(' ') {
            Some((op, hint)) => (op, Some(hint.to_string())),
            None => (call, None),
        };
        let (service, operation) = op.split_once(':').unwrap_or(("aws", op));
        let (kind, code, request_id, message) = match err {
            SdkError::ServiceError(e) => {
                let inner = e.err();
                (
                    AwsErrorKind::Service,
                    inner.code().map(str::to_string),
                    inner.meta().request_id().map(str::to_string),
                    inner
                        .message()
                        .map(str::to_string)
                        .unwrap_or_else(|| inner.to_string()),
                )
            }
            SdkError::DispatchFailure(e) => (AwsErrorKind::Transport, None, None, format!("{e:?}")),
            SdkError::TimeoutError(_) => (AwsErrorKind::Timeout, None, None, "no answer".into()),
            SdkError::ResponseError(e) => (AwsErrorKind::Other, None, None, format!("{e:?}")),
            other => (AwsErrorKind::Other, None, None, other.to_string()),
        };
        AwsError {
            service: service.to_string(),
            operation: operation.to_string(),
            kind,
            code,
            request_id,
            message,
            hint,
        }
    }
}

impl From<crate::names::NameError> for Error {
    fn from(e: crate::names::NameError) -> Self {
        Error::Input(e.to_string())
    }
}

impl From<crate::context::ContextError> for Error {
    fn from(e: crate::context::ContextError) -> Self {
        if e.is_bad_input() {
            Error::Input(e.to_string())
        } else {
            Error::Failed(e.to_string())
        }
    }
}
