//! The app image config: how Studio runs the image (kernel specs, file system, container
//! settings). Created if missing, updated when it differs; it needs no built image, so the
//! runner creates it while the build runs.

use serde_json::Value;

use aws_sdk_sagemaker::types::{
    CodeEditorAppImageConfig, ContainerConfig, FileSystemConfig, JupyterLabAppImageConfig,
    KernelGatewayImageConfig, KernelSpec,
};

use super::image::tags;
use super::Reporter;
use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::requests;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

/// The app's member of the app image config. It is read from the one request body the plan
/// writes as `app-image-config.json` (`requests::create_app_image_config`), so what publish
/// sends and what the dry run shows cannot differ.
#[derive(Debug, PartialEq)]
enum Desired {
    KernelGateway(KernelGatewayImageConfig),
    JupyterLab(JupyterLabAppImageConfig),
    CodeEditor(CodeEditorAppImageConfig),
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
}

fn file_system(v: &Value) -> Option<FileSystemConfig> {
    v.is_object().then(|| {
        FileSystemConfig::builder()
            .set_mount_path(v["MountPath"].as_str().map(str::to_string))
            .set_default_uid(v["DefaultUid"].as_i64().map(|n| n as i32))
            .set_default_gid(v["DefaultGid"].as_i64().map(|n| n as i32))
            .build()
    })
}

fn container(v: &Value) -> Option<ContainerConfig> {
    v.is_object().then(|| {
        ContainerConfig::builder()
            .set_container_entrypoint(strings(&v["ContainerEntrypoint"]))
            .set_container_arguments(strings(&v["ContainerArguments"]))
            .set_container_environment_variables(
                v["ContainerEnvironmentVariables"].as_object().map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                }),
            )
            .build()
    })
}

fn desired(k: &Kernel) -> Result<Desired, Error> {
    let body = requests::create_app_image_config(k);
    let m = &body[k.app.image_config_member()];
    Ok(match k.app {
        App::KernelGateway => {
            let specs = m["KernelSpecs"].as_array().map(|a| {
                a.iter()
                    .map(|s| {
                        KernelSpec::builder()
                            .set_name(s["Name"].as_str().map(str::to_string))
                            .set_display_name(s["DisplayName"].as_str().map(str::to_string))
                            .build()
                    })
                    .collect::<Vec<_>>()
            });
            Desired::KernelGateway(
                KernelGatewayImageConfig::builder()
                    .set_kernel_specs(specs)
                    .set_file_system_config(file_system(&m["FileSystemConfig"]))
                    .build(),
            )
        }
        App::Jupyterlab => Desired::JupyterLab(
            JupyterLabAppImageConfig::builder()
                .set_file_system_config(file_system(&m["FileSystemConfig"]))
                .set_container_config(container(&m["ContainerConfig"]))
                .build(),
        ),
        App::CodeEditor => Desired::CodeEditor(
            CodeEditorAppImageConfig::builder()
                .set_file_system_config(file_system(&m["FileSystemConfig"]))
                .set_container_config(container(&m["ContainerConfig"]))
                .build(),
        ),
    })
}

/// Returns true when something was created or updated.
pub async fn ensure_app_image_config(
    clients: &Clients,
    k: &Kernel,
    reporter: &dyn Reporter,
) -> Result<bool, Error> {
    let want = desired(k)?;
    let name = &k.app_image_config;
    let found = clients
        .sagemaker
        .describe_app_image_config()
        .app_image_config_name(name)
        .send()
        .await;
    match found {
        Ok(cur) => {
            let same = match &want {
                Desired::KernelGateway(w) => cur.kernel_gateway_image_config() == Some(w),
                Desired::JupyterLab(w) => cur.jupyter_lab_app_image_config() == Some(w),
                Desired::CodeEditor(w) => cur.code_editor_app_image_config() == Some(w),
            };
            if same {
                reporter.skipped(
                    &k.name,
                    StepId::AppImageConfig,
                    &format!("{name} is up to date"),
                );
                return Ok(false);
            }
            reporter.step(
                &k.name,
                StepId::AppImageConfig,
                &format!("updating app image config {name}"),
            );
            let call = clients
                .sagemaker
                .update_app_image_config()
                .app_image_config_name(name);
            let call = match want {
                Desired::KernelGateway(w) => call.kernel_gateway_image_config(w),
                Desired::JupyterLab(w) => call.jupyter_lab_app_image_config(w),
                Desired::CodeEditor(w) => call.code_editor_app_image_config(w),
            };
            call.send()
                .await
                .map_err(|e| Error::aws("sagemaker:UpdateAppImageConfig", &e))?;
            Ok(true)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found()) =>
        {
            reporter.step(
                &k.name,
                StepId::AppImageConfig,
                &format!("creating app image config {name}"),
            );
            let call = clients
                .sagemaker
                .create_app_image_config()
                .app_image_config_name(name)
                .set_tags(tags(k)?);
            let call = match want {
                Desired::KernelGateway(w) => call.kernel_gateway_image_config(w),
                Desired::JupyterLab(w) => call.jupyter_lab_app_image_config(w),
                Desired::CodeEditor(w) => call.code_editor_app_image_config(w),
            };
            call.send()
                .await
                .map_err(|e| Error::aws("sagemaker:CreateAppImageConfig", &e))?;
            Ok(true)
        }
        Err(e) => Err(Error::aws("sagemaker:DescribeAppImageConfig", &e)),
    }
}

/// The calls this step declares in the Plan, beside the code that makes them.
pub fn needs(k: &Kernel, r: &Resources) -> Step {
    let tagged = !k.tags.is_empty();
    let mut b = Builder::new(r);
    b.caller(
        "sagemaker",
        "DescribeAppImageConfig",
        "sagemaker:DescribeAppImageConfig",
        &r.app_image_config_arn,
    );
    b.caller(
        "sagemaker",
        "CreateAppImageConfig",
        "sagemaker:CreateAppImageConfig",
        &r.app_image_config_arn,
    )
    .when("only if it does not exist");
    if tagged {
        b.caller(
            "sagemaker",
            "CreateAppImageConfig",
            "sagemaker:AddTags",
            &r.app_image_config_arn,
        )
        .when("only if it does not exist (tags are set at creation)");
    }
    b.caller(
        "sagemaker",
        "UpdateAppImageConfig",
        "sagemaker:UpdateAppImageConfig",
        &r.app_image_config_arn,
    )
    .when("only if it exists with different settings");
    b.done(
        StepId::AppImageConfig,
        format!(
            "create or update the app image config {} ({})",
            r.app_image_config,
            k.app.image_config_member()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK member publish sends is the JSON body's member, field for field.
    #[test]
    fn desired_is_read_from_the_request_body() {
        let mut k = crate::plan::tests::sample_kernel();
        let Desired::KernelGateway(kg) = desired(&k).unwrap() else {
            panic!("kernel gateway")
        };
        assert_eq!(kg.kernel_specs()[0].name(), Some("python3"));
        let fs = kg.file_system_config().unwrap();
        assert_eq!(
            (fs.default_uid(), fs.default_gid(), fs.mount_path()),
            (Some(1000), Some(100), Some("/home/sagemaker-user"))
        );
        k.app = App::Jupyterlab;
        k.container = Some(crate::config::Container {
            entrypoint: vec!["jupyter-lab".into()],
            arguments: vec![],
            environment: [("A".to_string(), "1".to_string())].into(),
        });
        let Desired::JupyterLab(jl) = desired(&k).unwrap() else {
            panic!("jupyterlab")
        };
        let c = jl.container_config().unwrap();
        assert_eq!(c.container_entrypoint(), ["jupyter-lab"]);
        assert!(c.container_arguments().is_empty());
        assert_eq!(c.container_environment_variables().unwrap()["A"], "1");
    }
}
