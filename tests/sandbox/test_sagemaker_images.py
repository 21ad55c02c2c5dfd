"""SageMaker images, image versions and app-image-configs in the sandbox."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGISTRY, make_role, wait_for


def err(e: pytest.ExceptionInfo) -> tuple[str, str, int]:
    r = e.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def push_image(sb, repo: str, tag: str) -> str:
    ecr = sb.client("ecr")
    try:
        ecr.create_repository(repositoryName=repo)
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass
    manifest = ('{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
                '"config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7, '
                f'"digest": "sha256:{"a" * 64}"}}, "layers": [{{"mediaType": '
                '"application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9, '
                f'"digest": "sha256:{tag.encode().hex().ljust(64, "0")[:64]}"}}]}}')
    return ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"]["imageId"]["imageDigest"]


def test_create_describe_image_with_status_transition(sandbox):
    sandbox.config(image_seconds=1.0)  # wide enough to observe CREATING under load
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    arn = sm.create_image(ImageName="my-kernel", RoleArn=role, DisplayName="My kernel", Description="d")["ImageArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:image/my-kernel"
    d = sm.describe_image(ImageName="my-kernel")
    assert d["ImageStatus"] == "CREATING"
    assert (d["DisplayName"], d["Description"], d["RoleArn"]) == ("My kernel", "d", role)
    d = wait_for(lambda: sm.describe_image(ImageName="my-kernel"), lambda d: d["ImageStatus"] != "CREATING")
    assert d["ImageStatus"] == "CREATED"


def test_create_image_errors(sandbox):
    sm = sandbox.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_image(ImageName="k", RoleArn="arn:aws:iam::123456789012:role/nobody")
    code, msg, status = err(e)
    assert (code, status) == ("ValidationException", 400) and "role" in msg
    role = make_role(sandbox)
    sm.create_image(ImageName="k", RoleArn=role)
    with pytest.raises(ClientError) as e:
        sm.create_image(ImageName="k", RoleArn=role)
    assert err(e)[0] == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        sm.describe_image(ImageName="unknown")
    assert err(e)[:1] == ("ResourceNotFound",) and err(e)[2] == 400
    with pytest.raises(ClientError) as e:
        sm.create_image(ImageName="bad_name", RoleArn=role)
    code, msg, _ = err(e)
    assert code == "ValidationException"
    assert msg.startswith("1 validation error detected: Value 'bad_name' at 'imageName' failed to satisfy constraint: "
                          "Member must satisfy regular expression pattern")


def test_update_delete_and_list_images(sandbox):
    sandbox.config(image_seconds=0.8)
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    for n in ("img-a", "img-b", "img-c"):
        sm.create_image(ImageName=n, RoleArn=role)
        time.sleep(0.01)
    wait_for(lambda: sm.describe_image(ImageName="img-c")["ImageStatus"], lambda s: s == "CREATED")
    sm.update_image(ImageName="img-a", DisplayName="A", Description="first")
    assert sm.describe_image(ImageName="img-a")["ImageStatus"] == "UPDATING"
    d = wait_for(lambda: sm.describe_image(ImageName="img-a"), lambda d: d["ImageStatus"] == "CREATED")
    assert d["DisplayName"] == "A"
    sm.update_image(ImageName="img-a", DeleteProperties=["Description"])
    assert "Description" not in sm.describe_image(ImageName="img-a")
    names = [i["ImageName"] for i in sm.list_images()["Images"]]
    assert names == ["img-c", "img-b", "img-a"]  # newest first by default
    page = sm.list_images(MaxResults=2, SortBy="IMAGE_NAME", SortOrder="ASCENDING")
    assert [i["ImageName"] for i in page["Images"]] == ["img-a", "img-b"] and page["NextToken"]
    page2 = sm.list_images(MaxResults=2, SortBy="IMAGE_NAME", SortOrder="ASCENDING", NextToken=page["NextToken"])
    assert [i["ImageName"] for i in page2["Images"]] == ["img-c"] and "NextToken" not in page2
    assert [i["ImageName"] for i in sm.list_images(NameContains="-b")["Images"]] == ["img-b"]
    sm.delete_image(ImageName="img-b")
    assert sm.describe_image(ImageName="img-b")["ImageStatus"] == "DELETING"
    wait_for(lambda: [i["ImageName"] for i in sm.list_images()["Images"]], lambda n: "img-b" not in n)
    with pytest.raises(ClientError) as e:
        sm.describe_image(ImageName="img-b")
    assert err(e)[0] == "ResourceNotFound"


def test_image_versions_lifecycle(sandbox):
    sandbox.config(image_version_seconds=1.0)
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    d1 = push_image(sandbox, "sagemaker-studio-k", "v1")
    d2 = push_image(sandbox, "sagemaker-studio-k", "v2")
    sm.create_image(ImageName="k", RoleArn=role)
    arn1 = sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v1", ClientToken="t1",
                                   Aliases=["stable"], ReleaseNotes="first", JobType="NOTEBOOK_KERNEL")["ImageVersionArn"]
    assert arn1 == "arn:aws:sagemaker:us-east-1:123456789012:image-version/k/1"
    # same ClientToken: same version, no new one
    assert sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v1",
                                   ClientToken="t1")["ImageVersionArn"] == arn1
    # a second version while the first is CREATING: refused like AWS ("modified concurrently")
    with pytest.raises(ClientError) as e:
        sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v2", ClientToken="t2")
    assert err(e)[0] == "ResourceInUse"
    v = sm.describe_image_version(ImageName="k", Version=1)
    assert v["ImageVersionStatus"] == "CREATING" and "ContainerImage" not in v
    v = wait_for(lambda: sm.describe_image_version(ImageName="k", Version=1),
                 lambda v: v["ImageVersionStatus"] != "CREATING")
    assert v["ImageVersionStatus"] == "CREATED"
    assert v["BaseImage"] == f"{REGISTRY}/sagemaker-studio-k:v1"
    assert v["ContainerImage"] == f"{REGISTRY}/sagemaker-studio-k@{d1}"
    assert v["ReleaseNotes"] == "first" and v["JobType"] == "NOTEBOOK_KERNEL"
    # by digest
    arn2 = sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k@{d2}")["ImageVersionArn"]
    assert arn2.endswith("/k/2")
    v2 = wait_for(lambda: sm.describe_image_version(ImageName="k"), lambda v: v["ImageVersionStatus"] != "CREATING")
    assert v2["Version"] == 2 and v2["ImageVersionStatus"] == "CREATED"
    assert v2["ContainerImage"] == f"{REGISTRY}/sagemaker-studio-k@{d2}"
    assert sm.describe_image_version(ImageName="k", Alias="stable")["Version"] == 1
    assert [x["Version"] for x in sm.list_image_versions(ImageName="k")["ImageVersions"]] == [2, 1]
    assert sm.list_aliases(ImageName="k")["SageMakerImageVersionAliases"] == ["stable"]
    with pytest.raises(ClientError) as e:
        sm.describe_image_version(ImageName="k", Version=9)
    assert err(e)[0] == "ResourceNotFound"
    sm.delete_image_version(ImageName="k", Version=1)
    wait_for(lambda: [x["Version"] for x in sm.list_image_versions(ImageName="k")["ImageVersions"]], lambda v: v == [2])
    # numbers are never reused
    push_image(sandbox, "sagemaker-studio-k", "v3")
    arn3 = sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v3")["ImageVersionArn"]
    assert arn3.endswith("/k/3")
    with pytest.raises(ClientError) as e:
        sm.create_image_version(ImageName="unknown", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v3")
    assert err(e)[0] == "ResourceNotFound"


@pytest.mark.parametrize("base,why", [
    (f"{REGISTRY}/sagemaker-studio-missing:v1", "repository 'sagemaker-studio-missing' does not exist"),
    (f"{REGISTRY}/sagemaker-studio-k:nope", "no image with tag 'nope'"),
    (f"{REGISTRY}/sagemaker-studio-k@sha256:{'0' * 64}", "no image with digest"),
    ("python:3.11", "not a valid Amazon ECR image URI"),
])
def test_version_of_missing_base_image_ends_create_failed(sandbox, base, why):
    sm = sandbox.client("sagemaker")
    push_image(sandbox, "sagemaker-studio-k", "v1")
    sm.create_image(ImageName="k", RoleArn=make_role(sandbox))
    sm.create_image_version(ImageName="k", BaseImage=base)
    v = wait_for(lambda: sm.describe_image_version(ImageName="k"), lambda v: v["ImageVersionStatus"] != "CREATING")
    assert v["ImageVersionStatus"] == "CREATE_FAILED"
    assert why in v["FailureReason"]
    assert "ContainerImage" not in v


def test_app_image_configs_all_kinds(sandbox):
    sm = sandbox.client("sagemaker")
    kg = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}],
          "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}}
    arn = sm.create_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig=kg)["AppImageConfigArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/kg"
    sm.create_app_image_config(AppImageConfigName="jl", JupyterLabAppImageConfig={
        "FileSystemConfig": {"DefaultUid": 1000},
        "ContainerConfig": {"ContainerArguments": ["--x"], "ContainerEntrypoint": ["entrypoint.sh"],
                            "ContainerEnvironmentVariables": {"A": "1"}}})
    sm.create_app_image_config(AppImageConfigName="ce", CodeEditorAppImageConfig={})
    d = sm.describe_app_image_config(AppImageConfigName="kg")
    assert d["KernelGatewayImageConfig"] == kg
    jl = sm.describe_app_image_config(AppImageConfigName="jl")["JupyterLabAppImageConfig"]
    assert jl["FileSystemConfig"] == {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}
    assert jl["ContainerConfig"]["ContainerEntrypoint"] == ["entrypoint.sh"]
    assert "CodeEditorAppImageConfig" in sm.describe_app_image_config(AppImageConfigName="ce")
    with pytest.raises(ClientError) as e:
        sm.create_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig=kg)
    assert err(e)[0] == "ResourceInUse"
    sm.update_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig={
        "KernelSpecs": [{"Name": "python3"}, {"Name": "ir", "DisplayName": "R"}]})
    assert len(sm.describe_app_image_config(AppImageConfigName="kg")["KernelGatewayImageConfig"]["KernelSpecs"]) == 2
    names = [a["AppImageConfigName"] for a in sm.list_app_image_configs(SortBy="Name", SortOrder="Ascending")["AppImageConfigs"]]
    assert names == ["ce", "jl", "kg"]
    sm.delete_app_image_config(AppImageConfigName="ce")
    with pytest.raises(ClientError) as e:
        sm.describe_app_image_config(AppImageConfigName="ce")
    assert err(e)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as e:
        sm.delete_app_image_config(AppImageConfigName="ce")
    assert err(e)[0] == "ResourceNotFound"


@pytest.mark.parametrize("cfg,fragment", [
    ({"KernelSpecs": []}, "Member must have length greater than or equal to 1"),
    ({"KernelSpecs": [{"Name": f"k{i}"} for i in range(6)]}, "Member must have length less than or equal to 5"),
    ({"KernelSpecs": [{"Name": "k"}], "FileSystemConfig": {"DefaultUid": 65536}},
     "'kernelGatewayImageConfig.fileSystemConfig.defaultUid' failed to satisfy constraint: Member must have value less than or equal to 65535"),
    ({"KernelSpecs": [{"Name": "k"}], "FileSystemConfig": {"DefaultGid": -1}},
     "Member must have value greater than or equal to 0"),
    ({"KernelSpecs": [{"Name": "k"}], "FileSystemConfig": {"MountPath": "home/user"}},
     "'kernelGatewayImageConfig.fileSystemConfig.mountPath' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    ({"KernelSpecs": [{"DisplayName": "no name"}]},
     "Value null at 'kernelGatewayImageConfig.kernelSpecs.1.member.name' failed to satisfy constraint: Member must not be null"),
])
def test_app_image_config_limits(sandbox, cfg, fragment):
    sm = sandbox.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_app_image_config(AppImageConfigName="bad", KernelGatewayImageConfig=cfg)
    code, msg, status = err(e)
    assert (code, status) == ("ValidationException", 400)
    assert fragment in msg


def test_app_image_config_container_limits(sandbox):
    sm = sandbox.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_app_image_config(AppImageConfigName="bad", JupyterLabAppImageConfig={
            "ContainerConfig": {"ContainerEntrypoint": ["a", "b"]}})
    assert "Member must have length less than or equal to 1" in err(e)[1]
    with pytest.raises(ClientError) as e:
        sm.create_app_image_config(AppImageConfigName="bad", CodeEditorAppImageConfig={
            "ContainerConfig": {"ContainerEnvironmentVariables": {f"K{i}": "v" for i in range(26)}}})
    assert "Member must have length less than or equal to 25" in err(e)[1]
    with pytest.raises(ClientError) as e:
        sm.create_app_image_config(AppImageConfigName="two", CodeEditorAppImageConfig={},
                                   JupyterLabAppImageConfig={})
    assert err(e)[0] == "ValidationException"
