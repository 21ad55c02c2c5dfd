"""Kernel lifecycle calls in the sandbox: version metadata and aliases, deletes,
DefaultSpaceSettings, spaces and apps with their state machines and the app_fail fault."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import REGISTRY, make_role, wait_for
from test_sagemaker_domain import make_domain, ready_image
from test_sagemaker_images import err, push_image

META = {"ReleaseNotes": "first", "VendorGuidance": "STABLE", "JobType": "NOTEBOOK_KERNEL", "Processor": "CPU",
        "MLFramework": "PyTorch 2.3", "ProgrammingLang": "Python 3.11", "Horovod": False}


def two_versions(sb, name="k"):
    sm = sb.client("sagemaker")
    role = make_role(sb)
    push_image(sb, f"sagemaker-studio-{name}", "v1")
    sm.create_image(ImageName=name, RoleArn=role)
    wait_for(lambda: sm.describe_image(ImageName=name)["ImageStatus"], lambda s: s == "CREATED")
    for tag in ("v1", "v1"):
        sm.create_image_version(ImageName=name, BaseImage=f"{REGISTRY}/sagemaker-studio-{name}:{tag}",
                                Aliases=["stable"] if not sm.list_aliases(ImageName=name)["SageMakerImageVersionAliases"]
                                else [], **META)
        wait_for(lambda: sm.describe_image_version(ImageName=name)["ImageVersionStatus"], lambda s: s != "CREATING")
    return sm, role


def test_version_metadata_is_stored_and_described(sandbox):
    sm, _ = two_versions(sandbox)
    d = sm.describe_image_version(ImageName="k", Version=1)
    assert {k: d[k] for k in META} == META
    # the summary shape of ListImageVersions has no metadata members (botocore model)
    v = sm.list_image_versions(ImageName="k")["ImageVersions"][0]
    assert "ReleaseNotes" not in v and v["Version"] == 2
    sm.update_image_version(ImageName="k", Version=2, ReleaseNotes="second", VendorGuidance="TO_BE_ARCHIVED")
    d = sm.describe_image_version(ImageName="k", Version=2)
    assert (d["ReleaseNotes"], d["VendorGuidance"], d["Processor"]) == ("second", "TO_BE_ARCHIVED", "CPU")


def test_metadata_enums_are_validated(sandbox):
    sm, _ = two_versions(sandbox)
    with pytest.raises(ClientError) as e:
        sm.update_image_version(ImageName="k", Version=1, Processor="TPU")
    code, msg, status = err(e)
    assert (code, status) == ("ValidationException", 400) and "processor" in msg


def test_alias_lives_on_one_version_only(sandbox):
    sm, _ = two_versions(sandbox)
    assert sm.list_aliases(ImageName="k", Version=1)["SageMakerImageVersionAliases"] == ["stable"]
    with pytest.raises(ClientError) as e:
        sm.update_image_version(ImageName="k", Version=2, AliasesToAdd=["stable"])
    code, msg, _ = err(e)
    assert code == "ValidationException" and "stable" in msg and "version 1" in msg
    with pytest.raises(ClientError) as e:
        sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v1", Aliases=["stable"])
    assert err(e)[0] == "ValidationException"
    # moving it: delete from the holder, then add to the target
    sm.update_image_version(ImageName="k", Alias="stable", AliasesToDelete=["stable"])
    sm.update_image_version(ImageName="k", Version=2, AliasesToAdd=["stable", "latest-good"])
    assert sm.list_aliases(ImageName="k", Version=1)["SageMakerImageVersionAliases"] == []
    assert sorted(sm.list_aliases(ImageName="k")["SageMakerImageVersionAliases"]) == ["latest-good", "stable"]
    assert sm.list_aliases(ImageName="k", Alias="stable")["SageMakerImageVersionAliases"] == ["stable"]
    assert sm.describe_image_version(ImageName="k", Alias="stable")["Version"] == 2
    with pytest.raises(ClientError) as e:
        sm.update_image_version(ImageName="k", Version=2, AliasesToAdd=["-bad"])
    assert err(e)[0] == "ValidationException"


def test_delete_version_by_alias_image_and_app_image_config(sandbox):
    sandbox.config(image_version_seconds=0.2, image_seconds=0.2)
    sm, _ = two_versions(sandbox)
    sm.delete_image_version(ImageName="k", Alias="stable")
    wait_for(lambda: [v["Version"] for v in sm.list_image_versions(ImageName="k")["ImageVersions"]], lambda v: v == [2])
    with pytest.raises(ClientError) as e:
        sm.delete_image_version(ImageName="k")  # neither Version nor Alias
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.delete_image_version(ImageName="k", Version=1)
    assert err(e)[0] == "ResourceNotFound"
    sm.create_app_image_config(AppImageConfigName="k-config", JupyterLabAppImageConfig={})
    sm.delete_app_image_config(AppImageConfigName="k-config")
    with pytest.raises(ClientError) as e:
        sm.describe_app_image_config(AppImageConfigName="k-config")
    assert err(e)[0] == "ResourceNotFound"
    sm.delete_image(ImageName="k")
    assert sm.describe_image(ImageName="k")["ImageStatus"] == "DELETING"

    def gone():
        try:
            sm.describe_image(ImageName="k")
            return False
        except ClientError as e:
            return e.response["Error"]["Code"] == "ResourceNotFound"
    wait_for(gone, bool)


def test_default_space_settings_on_create_and_update(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    ready_image(sandbox, role, "k", kinds=("JupyterLabAppImageConfig",))
    ci = {"ImageName": "k", "AppImageConfigName": "k-ju"}
    domain_id = make_domain(sandbox, role, DefaultSpaceSettings={"ExecutionRole": role,
                                                                 "JupyterLabAppSettings": {"CustomImages": [ci]}})
    d = sm.describe_domain(DomainId=domain_id)
    assert d["DefaultSpaceSettings"]["JupyterLabAppSettings"]["CustomImages"] == [ci]
    sm.update_domain(DomainId=domain_id, DefaultSpaceSettings={"JupyterLabAppSettings": {"CustomImages": [
        {**ci, "ImageVersionNumber": 1}]}})
    d = sm.describe_domain(DomainId=domain_id)
    assert d["DefaultSpaceSettings"]["JupyterLabAppSettings"]["CustomImages"][0]["ImageVersionNumber"] == 1
    assert d["DefaultSpaceSettings"]["ExecutionRole"] == role  # merged, not replaced
    wait_for(lambda: sm.describe_domain(DomainId=domain_id)["Status"], lambda s: s == "InService")
    with pytest.raises(ClientError) as e:
        sm.update_domain(DomainId=domain_id, DefaultSpaceSettings={"JupyterLabAppSettings": {"CustomImages": [
            {"ImageName": "nope", "AppImageConfigName": "k-ju"}]}})
    assert err(e)[0] == "ResourceNotFound"


def private_space(sm, domain_id, name="sagemaker-smoke", app_type="JupyterLab"):
    sm.create_space(DomainId=domain_id, SpaceName=name, SpaceSettings={"AppType": app_type},
                    OwnershipSettings={"OwnerUserProfileName": "alice"}, SpaceSharingSettings={"SharingType": "Private"})


def test_space_state_machine_and_validation(sandbox):
    sm = sandbox.client("sagemaker")
    domain_id = make_domain(sandbox, make_role(sandbox))
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    with pytest.raises(ClientError) as e:
        sm.create_space(DomainId=domain_id, SpaceName="s", OwnershipSettings={"OwnerUserProfileName": "alice"})
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        private_space(sm, domain_id, app_type="KernelGateway")
    assert err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        sm.create_space(DomainId=domain_id, SpaceName="s", SpaceSettings={"AppType": "JupyterLab"},
                        OwnershipSettings={"OwnerUserProfileName": "nobody"}, SpaceSharingSettings={"SharingType": "Private"})
    assert err(e)[0] == "ResourceNotFound"
    private_space(sm, domain_id)
    assert sm.describe_space(DomainId=domain_id, SpaceName="sagemaker-smoke")["Status"] == "Pending"
    wait_for(lambda: sm.describe_space(DomainId=domain_id, SpaceName="sagemaker-smoke")["Status"], lambda s: s == "InService")
    summary = sm.list_spaces(DomainIdEquals=domain_id)["Spaces"][0]
    assert summary["SpaceSettingsSummary"] == {"AppType": "JupyterLab"}
    assert summary["OwnershipSettingsSummary"] == {"OwnerUserProfileName": "alice"}
    with pytest.raises(ClientError) as e:  # the space's AppType decides
        sm.create_app(DomainId=domain_id, SpaceName="sagemaker-smoke", AppType="CodeEditor", AppName="default")
    assert err(e)[0] == "ValidationException"
    sm.delete_space(DomainId=domain_id, SpaceName="sagemaker-smoke")
    assert sm.describe_space(DomainId=domain_id, SpaceName="sagemaker-smoke")["Status"] == "Deleting"
    wait_for(lambda: sm.list_spaces(DomainIdEquals=domain_id)["Spaces"], lambda s: s == [])


def test_app_fault_fails_with_reason_and_cleans_up(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    ready_image(sandbox, role, "k")
    domain_id = make_domain(sandbox, role)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    private_space(sm, domain_id)
    wait_for(lambda: sm.describe_space(DomainId=domain_id, SpaceName="sagemaker-smoke")["Status"], lambda s: s == "InService")
    image_arn = sm.describe_image(ImageName="k")["ImageArn"]
    app = {"DomainId": domain_id, "SpaceName": "sagemaker-smoke", "AppType": "JupyterLab", "AppName": "default"}
    with pytest.raises(ClientError) as e:
        sm.create_app(**app, ResourceSpec={"SageMakerImageArn": image_arn, "SageMakerImageVersionAlias": "9.9.9"})
    assert err(e)[0] == "ResourceNotFound"
    assert sandbox.faults(app_fail="kernel exited: ModuleNotFoundError: ipykernel") == {
        "app_fail": "kernel exited: ModuleNotFoundError: ipykernel"}
    sm.create_app(**app, ResourceSpec={"SageMakerImageArn": image_arn, "InstanceType": "ml.t3.medium"})
    assert sm.describe_app(**app)["Status"] == "Pending"
    d = wait_for(lambda: sm.describe_app(**app), lambda d: d["Status"] != "Pending")
    assert (d["Status"], d["FailureReason"]) == ("Failed", "kernel exited: ModuleNotFoundError: ipykernel")
    assert d["ResourceSpec"]["SageMakerImageArn"] == image_arn
    sm.delete_app(**app)
    assert sm.describe_app(**app)["Status"] == "Deleting"
    wait_for(lambda: sm.describe_app(**app)["Status"], lambda s: s == "Deleted")
    sm.delete_space(DomainId=domain_id, SpaceName="sagemaker-smoke")
    ops = [r["operation"] for r in sandbox.requests() if r["service"] == "sagemaker"]
    assert {"CreateSpace", "CreateApp", "DescribeApp", "DeleteApp", "DeleteSpace"} <= set(ops)
    sandbox.faults(app_fail=None)
    sm.create_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab", AppName="default")
    d = wait_for(lambda: sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab",
                                         AppName="default"), lambda d: d["Status"] != "Pending")
    assert d["Status"] == "InService" and "FailureReason" not in d


def test_app_fail_fault_input_is_checked(sandbox):
    status, body = sandbox.call("POST", "/_sandbox/faults", {"app_fail": 3})
    assert status == 400 and "app_fail" in body["error"]
    assert sandbox.faults(app_fail=True) == {"app_fail": True}
