"""The whole publish flow sm-kernel drives, through boto3 against the sandbox:
role, domain, zip upload, CodeBuild project, build with logs, image in ECR,
SageMaker image + version, app-image-config, UpdateDomain."""
from __future__ import annotations

import re

from conftest import (
    ACCOUNT, REGISTRY, default_context, ecr_setup, env_for, make_project, make_role, make_zip, upload, wait_for,
)


def test_publish_flow_end_to_end(sandbox):
    sb = sandbox
    sm, cb, logs, ecr = sb.client("sagemaker"), sb.client("codebuild"), sb.client("logs"), sb.client("ecr")
    role = make_role(sb)
    dom = sm.create_domain(DomainName="studio", AuthMode="IAM",
                           DefaultUserSettings={"ExecutionRole": role}, SubnetIds=["subnet-1"], VpcId="vpc-1")
    domain_id = dom["DomainId"]
    assert re.fullmatch(r"d-[a-z0-9]{12}", domain_id)
    assert dom["DomainArn"].endswith("/" + domain_id)

    repo = "sagemaker-studio-demo"
    ecr_setup(sb, repo)
    location = upload(sb, f"sagemaker-us-east-1-{ACCOUNT}", "sm-kernel/demo/context.zip", make_zip(default_context()))
    make_project(sb, "sagemaker-studio-demo", role, location, env_vars=env_for(repo, "v1"))
    build = cb.start_build(projectName="sagemaker-studio-demo")["build"]
    assert build["buildStatus"] == "IN_PROGRESS"

    seen_phases, seen_lines, token = [], [], None
    while True:
        b = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
        if not seen_phases or seen_phases[-1] != b["currentPhase"]:
            seen_phases.append(b["currentPhase"])
        if b["logs"].get("streamName"):
            kw = {"logGroupName": b["logs"]["groupName"], "logStreamName": b["logs"]["streamName"],
                  "startFromHead": True}
            if token:
                kw["nextToken"] = token
            page = logs.get_log_events(**kw)
            seen_lines += [e["message"].rstrip("\n") for e in page["events"]]
            token = page["nextForwardToken"]
        if b["buildComplete"]:
            break
    # drain the rest
    page = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"],
                               startFromHead=True, nextToken=token)
    seen_lines += [e["message"].rstrip("\n") for e in page["events"]]
    assert b["buildStatus"] == "SUCCEEDED", seen_lines
    assert b["logs"]["groupName"] == "/aws/codebuild/sagemaker-studio-demo"
    assert seen_phases[0] in ("QUEUED", "PROVISIONING") and "BUILD" in seen_phases and seen_phases[-1] == "COMPLETED"
    digest_line = [m for m in seen_lines if m.startswith("SM_KERNEL_PUSHED_DIGEST=")]
    assert len(digest_line) == 1
    pushed = digest_line[0].split("=", 1)[1]
    assert pushed.startswith(f"{REGISTRY}/{repo}@sha256:")

    img = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert img["imageDigest"] == pushed.split("@", 1)[1]

    sm.create_image(ImageName="demo", RoleArn=role, DisplayName="Demo")
    sm.create_image_version(ImageName="demo", BaseImage=f"{REGISTRY}/{repo}:v1")
    v = wait_for(lambda: sm.describe_image_version(ImageName="demo"),
                 lambda d: d["ImageVersionStatus"] != "CREATING")
    assert v["ImageVersionStatus"] == "CREATED", v
    assert v["ContainerImage"] == pushed
    sm.create_app_image_config(
        AppImageConfigName="demo-config",
        JupyterLabAppImageConfig={"FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000,
                                                       "DefaultGid": 100}})
    wait_for(lambda: sm.describe_domain(DomainId=domain_id)["Status"], lambda s: s == "InService")
    sb.config(domain_update_seconds=1.0)
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": [
        {"ImageName": "demo", "AppImageConfigName": "demo-config", "ImageVersionNumber": 1}]}})
    assert sm.describe_domain(DomainId=domain_id)["Status"] == "Updating"
    d = wait_for(lambda: sm.describe_domain(DomainId=domain_id), lambda d: d["Status"] == "InService")
    assert d["DefaultUserSettings"]["ExecutionRole"] == role
    assert d["DefaultUserSettings"]["JupyterLabAppSettings"]["CustomImages"][0]["ImageName"] == "demo"
