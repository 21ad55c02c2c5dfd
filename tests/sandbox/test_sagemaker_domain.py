"""Domains (CreateDomain ids, UpdateDomain merge semantics, status, refusals),
apps and user profiles in the sandbox."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import REGISTRY, make_role, wait_for
from test_sagemaker_images import err, push_image


def make_domain(sb, role, **kw):
    sm = sb.client("sagemaker")
    settings = {"ExecutionRole": role,
                "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}},
                "KernelGatewayAppSettings": {"CustomImages": [], "DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}}}
    d = sm.create_domain(DomainName="studio", AuthMode="IAM", DefaultUserSettings=settings,
                         SubnetIds=["subnet-1"], VpcId="vpc-1", **kw)
    wait_for(lambda: sm.describe_domain(DomainId=d["DomainId"])["Status"], lambda s: s == "InService")
    return d["DomainId"]


def ready_image(sb, role, name="k", kinds=("JupyterLabAppImageConfig",)):
    sm = sb.client("sagemaker")
    push_image(sb, f"sagemaker-studio-{name}", "v1")
    sm.create_image(ImageName=name, RoleArn=role)
    sm.create_image_version(ImageName=name, BaseImage=f"{REGISTRY}/sagemaker-studio-{name}:v1")
    wait_for(lambda: sm.describe_image_version(ImageName=name)["ImageVersionStatus"], lambda s: s == "CREATED")
    for kind in kinds:
        cfg = {"KernelSpecs": [{"Name": "python3"}]} if kind == "KernelGatewayImageConfig" else {}
        sm.create_app_image_config(AppImageConfigName=f"{name}-{kind[:2].lower()}", **{kind: cfg})


def test_create_domain_returns_id_and_goes_in_service(sandbox):
    sandbox.config(domain_update_seconds=1.0)
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    d = sm.create_domain(DomainName="studio", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role},
                         SubnetIds=["subnet-1"], VpcId="vpc-1")
    assert d["DomainArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:domain/{d['DomainId']}"
    desc = sm.describe_domain(DomainId=d["DomainId"])
    assert desc["Status"] == "Pending" and desc["DomainId"] == d["DomainId"]
    assert wait_for(lambda: sm.describe_domain(DomainId=d["DomainId"])["Status"], lambda s: s != "Pending") == "InService"
    assert [x["DomainId"] for x in sm.list_domains()["Domains"]] == [d["DomainId"]]
    with pytest.raises(ClientError) as e:
        sm.describe_domain(DomainId="d-000000000000")
    assert err(e)[0] == "ResourceNotFound"


def test_update_domain_merges_like_aws(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    domain_id = make_domain(sandbox, role)
    ready_image(sandbox, role, "k", kinds=("JupyterLabAppImageConfig", "KernelGatewayImageConfig"))
    sandbox.config(domain_update_seconds=1.5)
    before = sm.describe_domain(DomainId=domain_id)
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": [
        {"ImageName": "k", "AppImageConfigName": "k-ju"}]}})
    d = sm.describe_domain(DomainId=domain_id)
    assert d["Status"] == "Updating"
    us = d["DefaultUserSettings"]
    # the provided sub-structure replaced the old one member by member...
    assert us["JupyterLabAppSettings"]["CustomImages"] == [{"ImageName": "k", "AppImageConfigName": "k-ju"}]
    # ...and everything absent was kept
    assert us["JupyterLabAppSettings"]["DefaultResourceSpec"] == {"InstanceType": "ml.t3.medium"}
    assert us["ExecutionRole"] == role
    assert us["KernelGatewayAppSettings"] == before["DefaultUserSettings"]["KernelGatewayAppSettings"]
    assert d["LastModifiedTime"] >= before["LastModifiedTime"]
    # a second update while Updating is refused
    with pytest.raises(ClientError) as e:
        sm.update_domain(DomainId=domain_id, DefaultUserSettings={"KernelGatewayAppSettings": {"CustomImages": []}})
    assert err(e)[0] == "ResourceInUse" and "Updating" in err(e)[1]
    wait_for(lambda: sm.describe_domain(DomainId=domain_id)["Status"], lambda s: s == "InService")
    # lists are replaced whole: a new CustomImages list replaces the old one
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": []},
                                                              "KernelGatewayAppSettings": {"CustomImages": [
                                                                  {"ImageName": "k", "AppImageConfigName": "k-ke",
                                                                   "ImageVersionNumber": 1}]}},
                     DomainSettingsForUpdate={"SecurityGroupIds": ["sg-1"]})
    d = wait_for(lambda: sm.describe_domain(DomainId=domain_id), lambda d: d["Status"] == "InService")
    assert d["DefaultUserSettings"]["JupyterLabAppSettings"]["CustomImages"] == []
    assert d["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"][0]["ImageVersionNumber"] == 1
    assert d["DefaultUserSettings"]["KernelGatewayAppSettings"]["DefaultResourceSpec"] == {"InstanceType": "ml.t3.medium"}
    assert d["DomainSettings"]["SecurityGroupIds"] == ["sg-1"]


@pytest.mark.parametrize("ci,code", [
    ({"ImageName": "nope", "AppImageConfigName": "k-ju"}, "ResourceNotFound"),
    ({"ImageName": "k", "AppImageConfigName": "nope"}, "ResourceNotFound"),
    ({"ImageName": "k", "AppImageConfigName": "k-ju", "ImageVersionNumber": 7}, "ResourceNotFound"),
    ({"ImageName": "k", "AppImageConfigName": "k-ke"}, "ValidationException"),  # wrong app-image-config kind
])
def test_update_domain_checks_referenced_images(sandbox, ci, code):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    domain_id = make_domain(sandbox, role)
    ready_image(sandbox, role, "k", kinds=("JupyterLabAppImageConfig", "KernelGatewayImageConfig"))
    with pytest.raises(ClientError) as e:
        sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": [ci]}})
    assert err(e)[0] == code
    assert sm.describe_domain(DomainId=domain_id)["Status"] == "InService"
    assert "CustomImages" not in sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["JupyterLabAppSettings"]


def test_update_unknown_domain(sandbox):
    with pytest.raises(ClientError) as e:
        sandbox.client("sagemaker").update_domain(DomainId="d-000000000000", DefaultUserSettings={})
    assert err(e)[0] == "ResourceNotFound"


def test_inservice_app_blocks_update_domain(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    domain_id = make_domain(sandbox, role)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    sandbox.config(app_seconds=1.0)
    arn = sm.create_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab", AppName="default")["AppArn"]
    assert arn.endswith(f"app/{domain_id}/alice/jupyterlab/default")
    assert sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab",
                           AppName="default")["Status"] == "Pending"
    wait_for(lambda: sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab",
                                     AppName="default")["Status"], lambda s: s == "InService")
    assert [a["Status"] for a in sm.list_apps(DomainIdEquals=domain_id)["Apps"]] == ["InService"]
    with pytest.raises(ClientError) as e:
        sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": []}})
    assert err(e)[:2] == ("ValidationException",
                          f"Unable to update Domain {domain_id} with InService App. Delete all InService apps "
                          "for the Domain and try again.")
    with pytest.raises(ClientError) as e:
        sm.create_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab", AppName="default")
    assert err(e)[0] == "ResourceInUse"
    sm.delete_app(DomainId=domain_id, UserProfileName="alice", AppType="JupyterLab", AppName="default")
    wait_for(lambda: sm.list_apps(DomainIdEquals=domain_id)["Apps"][0]["Status"], lambda s: s == "Deleted")
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": []}})
    with pytest.raises(ClientError) as e:
        sm.create_app(DomainId=domain_id, UserProfileName="bob", AppType="JupyterLab", AppName="default")
    assert err(e)[0] == "ResourceNotFound"


def test_user_profile_settings_merge(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    domain_id = make_domain(sandbox, role)
    ready_image(sandbox, role, "k")
    arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
        "ExecutionRole": role, "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.large"}}})["UserProfileArn"]
    assert arn.endswith(f"user-profile/{domain_id}/alice")
    with pytest.raises(ClientError) as e:
        sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    assert err(e)[0] == "ResourceInUse"
    sandbox.config(domain_update_seconds=1.5)
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
        "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "k", "AppImageConfigName": "k-ju"}]}})
    p = sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")
    assert p["Status"] == "Updating"
    assert p["UserSettings"]["ExecutionRole"] == role
    assert p["UserSettings"]["JupyterLabAppSettings"] == {
        "DefaultResourceSpec": {"InstanceType": "ml.t3.large"},
        "CustomImages": [{"ImageName": "k", "AppImageConfigName": "k-ju"}]}
    with pytest.raises(ClientError) as e:
        sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={})
    assert err(e)[0] == "ResourceInUse"
    wait_for(lambda: sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["Status"],
             lambda s: s == "InService")
    with pytest.raises(ClientError) as e:
        sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
            "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "missing", "AppImageConfigName": "k-ju"}]}})
    assert err(e)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as e:
        sm.describe_user_profile(DomainId=domain_id, UserProfileName="bob")
    assert err(e)[0] == "ResourceNotFound"
    assert [u["UserProfileName"] for u in sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]] == ["alice"]


def test_space_apps(sandbox):
    sm = sandbox.client("sagemaker")
    domain_id = make_domain(sandbox, make_role(sandbox))
    sm.create_space(DomainId=domain_id, SpaceName="shared")
    wait_for(lambda: sm.describe_space(DomainId=domain_id, SpaceName="shared")["Status"], lambda s: s == "InService")
    sm.create_app(DomainId=domain_id, SpaceName="shared", AppType="CodeEditor", AppName="default")
    wait_for(lambda: sm.list_apps(SpaceNameEquals="shared")["Apps"][0]["Status"], lambda s: s == "InService")
    with pytest.raises(ClientError) as e:
        sm.create_app(DomainId=domain_id, AppType="CodeEditor", AppName="x")  # neither user nor space
    assert err(e)[0] == "ValidationException"
