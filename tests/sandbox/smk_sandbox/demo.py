"""`tests/sandbox/run --demo`: the sandbox seeded as a small Studio account, so that
`sm-kernel publish --config examples/demo/kernel.toml` works without AWS.

Seeded through the sandbox's own API (the same calls a real account was set up with):
- the execution role `service-role/AmazonSageMaker-ExecutionRole-Demo`, trusting CodeBuild
  and SageMaker and holding the documents of `policies/` as inline policies;
- the Studio domain `d-smkerneldemo` (fixed, so the example manifest can name it);
- another team's image, `geo-r`, pushed to ECR, registered and attached to the domain, so
  the demo shows that publishing keeps other teams' images.
Then the timings become realistic: a build takes about 20 seconds, with log lines.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_NAME = "AmazonSageMaker-ExecutionRole-Demo"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/{ROLE_NAME}"
DOMAIN_ID = "d-smkerneldemo"
OTHER_IMAGE = "geo-r"
OTHER_REPOSITORY = "sagemaker-studio-geo-r"

# Seeding runs fast; the demo itself runs at these (about what a small CodeBuild build and
# SageMaker's control plane take, scaled down).
SEED_CONFIG = {"image_seconds": 0.1, "image_version_seconds": 0.1, "domain_update_seconds": 0.1}
DEMO_CONFIG = {"build_seconds": 20.0, "image_seconds": 1.0, "image_version_seconds": 2.0,
               "domain_update_seconds": 2.0, "app_seconds": 1.0}

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": ["sagemaker.amazonaws.com", "codebuild.amazonaws.com"]},
        "Action": "sts:AssumeRole",
    }],
}

POLICIES = ("codebuild-permissions", "sagemaker-domain", "sm-kernel-extras")


def _policies_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "policies"


def _wait(what: str, probe: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"demo seeding: {what} did not finish: {value}")
        time.sleep(0.1)


def _manifest(tag: str) -> str:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                   "digest": "sha256:" + "b" * 64},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9,
                    "digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64]}],
    })


def seed(url: str) -> None:
    import boto3

    from . import sagemaker_ext
    from .state import SANDBOX

    SANDBOX.set_config(SEED_CONFIG)
    session = boto3.session.Session(aws_access_key_id="sm-kernel-sandbox",
                                    aws_secret_access_key="sm-kernel-sandbox", region_name=REGION)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=url)

    iam, ecr, sm = client("iam"), client("ecr"), client("sagemaker")
    iam.create_role(RoleName=ROLE_NAME, Path="/service-role/", AssumeRolePolicyDocument=json.dumps(TRUST),
                    Description="Studio execution role of the sm-kernel demo")
    for p in POLICIES:
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName=f"sm-kernel-{p}" if p != "sm-kernel-extras" else p,
                            PolicyDocument=(_policies_dir() / f"{p}.json").read_text())

    sagemaker_ext.NEXT_DOMAIN_IDS.append(DOMAIN_ID)
    sm.create_domain(DomainName="demo-studio", AuthMode="IAM",
                     DefaultUserSettings={"ExecutionRole": ROLE_ARN},
                     SubnetIds=["subnet-0a1b2c3d"], VpcId="vpc-0a1b2c3d")
    _wait("the domain", lambda: sm.describe_domain(DomainId=DOMAIN_ID)["Status"], lambda s: s == "InService")

    # The other team's image, attached the way they published it.
    ecr.create_repository(repositoryName=OTHER_REPOSITORY)
    ecr.put_image(repositoryName=OTHER_REPOSITORY, imageManifest=_manifest("4.4"), imageTag="4.4")
    sm.create_image(ImageName=OTHER_IMAGE, RoleArn=ROLE_ARN, DisplayName="R 4.4 (geo team)")
    _wait("the geo-r image", lambda: sm.describe_image(ImageName=OTHER_IMAGE)["ImageStatus"],
          lambda s: s == "CREATED")
    sm.create_image_version(ImageName=OTHER_IMAGE, ClientToken="demo-geo-r-4-4",
                            BaseImage=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{OTHER_REPOSITORY}:4.4")
    _wait("the geo-r image version",
          lambda: sm.describe_image_version(ImageName=OTHER_IMAGE)["ImageVersionStatus"],
          lambda s: s == "CREATED")
    sm.create_app_image_config(AppImageConfigName=OTHER_IMAGE, KernelGatewayImageConfig={
        "KernelSpecs": [{"Name": "ir", "DisplayName": "R 4.4 (geo team)"}],
        "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100},
    })
    sm.update_domain(DomainId=DOMAIN_ID, DefaultUserSettings={"KernelGatewayAppSettings": {"CustomImages": [
        {"ImageName": OTHER_IMAGE, "AppImageConfigName": OTHER_IMAGE}]}})
    _wait("the domain update", lambda: sm.describe_domain(DomainId=DOMAIN_ID)["Status"], lambda s: s == "InService")

    SANDBOX.set_config(DEMO_CONFIG)
