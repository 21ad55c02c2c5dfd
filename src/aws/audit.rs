//! An SDK interceptor on every client of a run: it names each AWS call as it is made
//! (`--verbose`), and refuses, before anything is sent, a call the Plan did not declare. The
//! Plan is what the permission check evaluated and what `plan` showed the user, so a call
//! outside it would be one nobody agreed to.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use crate::plan::steps::Principal;
use crate::plan::Plan;

/// Where `--verbose` lines go (the UI; steps never print).
pub type CallLog = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone, Default)]
pub struct CallAudit {
    log: Option<CallLog>,
    /// (service, operation) pairs the caller may make; `None` allows all.
    declared: Option<Arc<BTreeSet<(String, String)>>>,
}

impl fmt::Debug for CallAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallAudit")
            .field("verbose", &self.log.is_some())
            .field("declared", &self.declared.as_ref().map(|d| d.len()))
            .finish()
    }
}

/// The SDK's service names, as the Plan (and IAM) spell them.
pub fn plan_service(sdk_service: &str) -> String {
    match sdk_service {
        "CloudWatch Logs" => "logs".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

impl CallAudit {
    pub fn new(log: Option<CallLog>) -> CallAudit {
        CallAudit {
            log,
            declared: None,
        }
    }

    /// Allows only the calls `plan` declares for the caller.
    pub fn enforcing(mut self, plan: &Plan) -> CallAudit {
        let declared = plan
            .kernels
            .iter()
            .flat_map(|k| k.steps.iter())
            .flat_map(|s| s.calls.iter())
            .filter(|c| c.principal == Principal::Caller)
            .map(|c| (c.service.to_string(), c.operation.to_string()))
            .collect();
        self.declared = Some(Arc::new(declared));
        self
    }

    /// Decides one call: the error says which call and why it was refused.
    pub fn admit(&self, service: &str, operation: &str) -> Result<(), String> {
        let service = plan_service(service);
        if let Some(log) = &self.log {
            log(&format!("aws: {service}:{operation}"));
        }
        match &self.declared {
            Some(d) if !d.contains(&(service.clone(), operation.to_string())) => Err(format!(
                "sm-kernel refused to call {service}:{operation}: the Plan does not declare it (this is a bug in sm-kernel; please report it)"
            )),
            _ => Ok(()),
        }
    }
}

impl Intercept for CallAudit {
    fn name(&self) -> &'static str {
        "sm-kernel call audit"
    }

    // Not read_before_execution: client interceptors run that hook before the operation's
    // own configuration (which holds its name) is applied.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        self.admit(meta.service(), meta.name())
            .map_err(BoxError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn sdk_service_names_map_to_the_plans() {
        assert_eq!(plan_service("CloudWatch Logs"), "logs");
        assert_eq!(plan_service("SageMaker"), "sagemaker");
        assert_eq!(plan_service("CodeBuild"), "codebuild");
        assert_eq!(plan_service("S3"), "s3");
    }

    #[test]
    fn undeclared_calls_are_refused_and_every_call_is_logged() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let mut audit = CallAudit::new(Some(Arc::new(move |l: &str| {
            s.lock().unwrap().push(l.to_string())
        })));
        audit.declared = Some(Arc::new(
            [("sagemaker".to_string(), "CreateImage".to_string())].into(),
        ));
        assert!(audit.admit("SageMaker", "CreateImage").is_ok());
        let err = audit.admit("SageMaker", "DeleteDomain").unwrap_err();
        assert!(err.contains("sagemaker:DeleteDomain"), "{err}");
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["aws: sagemaker:CreateImage", "aws: sagemaker:DeleteDomain"]
        );
    }

    #[test]
    fn an_sdk_client_with_the_audit_refuses_before_sending() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let mut audit = CallAudit::new(Some(Arc::new(move |l: &str| {
            s.lock().unwrap().push(l.to_string())
        })));
        audit.declared = Some(Arc::new(BTreeSet::new()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(async {
            let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:9")
                .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
                    "a", "b", None, None, "test",
                ))
                .load()
                .await;
            let sm = aws_sdk_sagemaker::Client::from_conf(
                aws_sdk_sagemaker::config::Builder::from(&cfg)
                    .interceptor(audit)
                    .build(),
            );
            sm.describe_domain()
                .domain_id("d-x")
                .send()
                .await
                .unwrap_err()
        });
        let text = format!("{:?}", err);
        assert!(text.contains("does not declare it"), "{text}");
        assert_eq!(*seen.lock().unwrap(), vec!["aws: sagemaker:DescribeDomain"]);
    }
}
