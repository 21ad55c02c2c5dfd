//! A Studio account in the sandbox, as the end-to-end tests need it: the execution role
//! (trusting SageMaker and CodeBuild, holding the three documents of `policies/`) and an
//! InService domain in us-east-1; more domains in other regions on request.

use std::fs;
use std::time::{Duration, Instant};

use super::Sandbox;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Exec";

pub struct Studio {
    pub sb: Sandbox,
    pub rt: tokio::runtime::Runtime,
    pub cfg: aws_config::SdkConfig,
    /// The us-east-1 domain.
    pub domain: String,
    /// Scratch space for contexts and manifests.
    pub dir: tempfile::TempDir,
}

impl Studio {
    /// A fresh sandbox with `config` (the sandbox's timing settings, as JSON), the role and
    /// the domain.
    pub fn start(config: &str) -> Studio {
        let sb = Sandbox::start();
        sb.post("/_sandbox/config", config);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cfg = sb.sdk_config(&rt);
        let iam = aws_sdk_iam::Client::new(&cfg);
        rt.block_on(async {
            iam.create_role()
                .role_name("Exec")
                .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["sagemaker.amazonaws.com","codebuild.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#)
                .send()
                .await
                .unwrap();
            for p in ["codebuild-permissions", "sagemaker-domain", "sm-kernel-extras"] {
                iam.put_role_policy()
                    .role_name("Exec")
                    .policy_name(p)
                    .policy_document(fs::read_to_string(format!("policies/{p}.json")).unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        });
        let mut s = Studio {
            sb,
            rt,
            cfg,
            domain: String::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        s.domain = s.domain_in("us-east-1");
        s
    }

    pub fn sm(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.cfg)
    }

    fn sm_in(&self, region: &str) -> aws_sdk_sagemaker::Client {
        let conf = aws_sdk_sagemaker::config::Builder::from(&self.cfg)
            .region(aws_sdk_sagemaker::config::Region::new(region.to_string()))
            .build();
        aws_sdk_sagemaker::Client::from_conf(conf)
    }

    /// A new InService domain in `region`.
    pub fn domain_in(&self, region: &str) -> String {
        let sm = self.sm_in(region);
        let id = self.rt.block_on(async {
            sm.create_domain()
                .domain_name(format!("studio-{region}"))
                .auth_mode(aws_sdk_sagemaker::types::AuthMode::Iam)
                .default_user_settings(
                    aws_sdk_sagemaker::types::UserSettings::builder()
                        .execution_role(ROLE_ARN)
                        .build(),
                )
                .subnet_ids("subnet-12345678")
                .vpc_id("vpc-12345678")
                .send()
                .await
                .unwrap()
                .domain_id()
                .unwrap()
                .to_string()
        });
        self.wait_in_service(region, &id);
        id
    }

    /// Waits until the us-east-1 domain is InService again (after an update).
    pub fn wait_domain(&self) {
        self.wait_in_service("us-east-1", &self.domain);
    }

    fn wait_in_service(&self, region: &str, id: &str) {
        let sm = self.sm_in(region);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let d = self
                .rt
                .block_on(sm.describe_domain().domain_id(id).send())
                .unwrap();
            if d.status().map(|s| s.as_str()) == Some("InService") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("domain {id} in {region} never InService");
    }
}
