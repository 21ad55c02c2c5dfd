//! The app image config: how Studio runs the image (kernel specs, file system, container
//! settings). Created if missing, updated when it differs; it needs no built image, so the
//! runner creates it while the build runs.

use aws_sdk_sagemaker::types::{
    CodeEditorAppImageConfig, ContainerConfig, FileSystemConfig, JupyterLabAppImageConfig,
    KernelGatewayImageConfig, KernelSpec,
};

use super::image::tags;
use super::Reporter;
use crate::aws::Clients;
use crate::config::{App, Kernel};
use crate::error::Error;
use crate::plan::steps::{Builder, Step};
use crate::plan::{Resources, StepId};

fn file_system(k: &Kernel) -> FileSystemConfig {
    FileSystemConfig::builder()
        .mount_path(&k.mount_path)
        .default_uid(k.uid as i32)
        .default_gid(k.gid as i32)
        .build()
}

fn container(k: &Kernel) -> Option<ContainerConfig> {
    let c = k.container.as_ref()?;
    let cc = ContainerConfig::builder()
        .set_container_entrypoint((!c.entrypoint.is_empty()).then(|| c.entrypoint.clone()))
        .set_container_arguments((!c.arguments.is_empty()).then(|| c.arguments.clone()))
        .set_container_environment_variables(
            (!c.environment.is_empty()).then(|| c.environment.clone().into_iter().collect()),
        )
        .build();
    (cc != ContainerConfig::builder().build()).then_some(cc)
}

/// The app's member of the app image config, exactly as the create request body in the plan.
enum Desired {
    KernelGateway(KernelGatewayImageConfig),
    JupyterLab(JupyterLabAppImageConfig),
    CodeEditor(CodeEditorAppImageConfig),
}

fn desired(k: &Kernel) -> Result<Desired, Error> {
    Ok(match k.app {
        App::KernelGateway => {
            let specs = k
                .kernel_specs
                .iter()
                .map(|s| {
                    KernelSpec::builder()
                        .name(&s.name)
                        .set_display_name(s.display_name.clone())
                        .build()
                })
                .collect::<Vec<_>>();
            Desired::KernelGateway(
                KernelGatewayImageConfig::builder()
                    .set_kernel_specs(Some(specs))
                    .file_system_config(file_system(k))
                    .build(),
            )
        }
        App::Jupyterlab => Desired::JupyterLab(
            JupyterLabAppImageConfig::builder()
                .file_system_config(file_system(k))
                .set_container_config(container(k))
                .build(),
        ),
        App::CodeEditor => Desired::CodeEditor(
            CodeEditorAppImageConfig::builder()
                .file_system_config(file_system(k))
                .set_container_config(container(k))
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
