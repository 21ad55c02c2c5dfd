"""The /_sandbox/ control endpoints, the request log, faults, model validation
and the handling of calls moto does not implement."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import (
    FAST, REGISTRY, default_context, ecr_setup, env_for, log_messages, make_project, make_role, make_zip, upload,
    wait_build, wait_for,
)
from test_sagemaker_domain import make_domain, ready_image
from test_sagemaker_images import err, push_image


# ---------------------------------------------------------------------- reset / config
def test_reset_clears_resources_log_config_and_faults(sandbox):
    role = make_role(sandbox)
    sm = sandbox.client("sagemaker")
    sm.create_image(ImageName="k", RoleArn=role)
    sandbox.config(build_seconds=9)
    sandbox.faults(latency_ms=1)
    assert sandbox.requests()
    sandbox.reset()
    assert sandbox.requests() == []
    assert sandbox.call("GET", "/_sandbox/config")[1] == {
        "build_seconds": 6.0, "image_seconds": 0.5, "image_version_seconds": 1.0, "domain_update_seconds": 1.0,
        "app_seconds": 1.0, "scan_seconds": 2.0}
    assert sandbox.call("GET", "/_sandbox/faults")[1] == {}
    assert sandbox.client("iam").list_roles()["Roles"] == []
    assert sm.list_images()["Images"] == []


def test_config_validation_and_partial_updates(sandbox):
    assert sandbox.config(build_seconds=3)["build_seconds"] == 3
    assert sandbox.config(image_seconds=0.1)["build_seconds"] == 3  # other keys kept
    status, body = sandbox.call("POST", "/_sandbox/config", {"build_seconds": -1})
    assert status == 400 and "build_seconds" in body["error"]
    status, body = sandbox.call("POST", "/_sandbox/config", {"nope": 1})
    assert status == 400
    assert sandbox.call("GET", "/_sandbox/nothing")[0] == 404


def test_faults_validation(sandbox):
    assert sandbox.call("POST", "/_sandbox/faults", {"build_fail_phase": "LUNCH"})[0] == 400
    assert sandbox.call("POST", "/_sandbox/faults", {"throttle_rate": 2})[0] == 400
    assert sandbox.call("POST", "/_sandbox/faults", {"what": True})[0] == 400
    assert sandbox.faults(latency_ms=5, error_rate=0.5) == {"latency_ms": 5, "error_rate": 0.5}
    assert sandbox.faults(latency_ms=None) == {"error_rate": 0.5}
    assert sandbox.faults(error_rate=None) == {}


# ---------------------------------------------------------------------- request log
def test_request_log_records_every_service_in_order(sandbox):
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="sandbox-bucket")
    s3.head_bucket(Bucket="sandbox-bucket")
    s3.put_object(Bucket="sandbox-bucket", Key="k/ctx.zip", Body=b"hello")
    s3.head_object(Bucket="sandbox-bucket", Key="k/ctx.zip")
    s3.get_object(Bucket="sandbox-bucket", Key="k/ctx.zip")["Body"].read()
    mpu = s3.create_multipart_upload(Bucket="sandbox-bucket", Key="big")
    part = s3.upload_part(Bucket="sandbox-bucket", Key="big", UploadId=mpu["UploadId"], PartNumber=1, Body=b"x" * 10)
    s3.complete_multipart_upload(Bucket="sandbox-bucket", Key="big", UploadId=mpu["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    sandbox.client("sts").get_caller_identity()
    make_role(sandbox)
    sandbox.call("GET", "/_sandbox/config")  # control calls are not logged
    with pytest.raises(ClientError):
        sandbox.client("sagemaker", attempts=1).describe_image(ImageName="nope")
    log = sandbox.requests()
    assert [(r["service"], r["operation"]) for r in log] == [
        ("s3", "CreateBucket"), ("s3", "HeadBucket"), ("s3", "PutObject"), ("s3", "HeadObject"), ("s3", "GetObject"),
        ("s3", "CreateMultipartUpload"), ("s3", "UploadPart"), ("s3", "CompleteMultipartUpload"),
        ("sts", "GetCallerIdentity"), ("iam", "CreateRole"), ("sagemaker", "DescribeImage"),
    ]
    assert log[2]["params"]["Bucket"] == "sandbox-bucket" and log[2]["params"]["Key"] == "k/ctx.zip"
    assert log[9]["params"]["RoleName"] == "sm-kernel-role"
    assert log[-1]["params"] == {"ImageName": "nope"} and log[-1]["status"] == 400
    assert all(r["status"] == 200 for r in log[:-1])
    assert [r["time"] for r in log] == sorted(r["time"] for r in log)


def test_request_log_shows_json_params_of_codebuild_and_logs(sandbox):
    role = make_role(sandbox)
    loc = upload(sandbox, "sandbox-bucket", "c.zip", make_zip(default_context()))
    make_project(sandbox, "sagemaker-studio-x", role, loc, env_vars=env_for("sagemaker-studio-x", "t"))
    b = sandbox.client("codebuild").start_build(projectName="sagemaker-studio-x", timeoutInMinutesOverride=20)["build"]
    log = sandbox.requests()
    start = [r for r in log if r["operation"] == "StartBuild"][0]
    assert start["service"] == "codebuild" and start["params"] == {"projectName": "sagemaker-studio-x",
                                                                     "timeoutInMinutesOverride": 20}
    done = wait_build(sandbox, b["id"])
    log_messages(sandbox, done)
    assert any(r["service"] == "logs" and r["operation"] == "GetLogEvents" for r in sandbox.requests())


# ---------------------------------------------------------------------- faults
def test_throttling_fault_json_and_xml(sandbox):
    sandbox.faults(throttle_rate=1.0)
    with pytest.raises(ClientError) as e:
        sandbox.client("sagemaker", attempts=1).list_images()
    assert err(e)[0] == "ThrottlingException" and err(e)[2] == 400
    with pytest.raises(ClientError) as e:
        sandbox.client("codebuild", attempts=1).list_projects()
    assert err(e)[0] == "ThrottlingException"
    with pytest.raises(ClientError) as e:
        sandbox.client("iam", attempts=1).list_roles()
    assert err(e)[0] == "Throttling" and err(e)[2] == 400
    with pytest.raises(ClientError) as e:
        sandbox.client("s3", attempts=1).list_buckets()
    assert err(e)[0] == "SlowDown" and err(e)[2] == 503
    assert [r["status"] for r in sandbox.requests()] == [400, 400, 400, 503]
    sandbox.faults(throttle_rate=None)
    assert sandbox.client("sagemaker").list_images()["Images"] == []


def test_throttles_are_retried_by_sdks(sandbox):
    # seeded: the first and third requests are throttled, the others pass
    sandbox.faults(throttle_rate=0.5, seed=3)
    sm = sandbox.client("sagemaker", attempts=5)
    sm.list_images()
    sm.list_images()
    log = sandbox.requests()
    assert [r["status"] for r in log] == [400, 200, 400, 200]
    assert [r.get("fault") for r in log] == ["throttle", None, "throttle", None]


def test_error_fault_is_5xx_with_aws_body(sandbox):
    sandbox.faults(error_rate=1.0)
    with pytest.raises(ClientError) as e:
        sandbox.client("ecr", attempts=1).describe_repositories()
    assert err(e)[0] == "InternalFailure" and err(e)[2] == 500
    with pytest.raises(ClientError) as e:
        sandbox.client("sts", attempts=1).get_caller_identity()
    assert err(e)[0] == "ServiceFailure" and err(e)[2] == 500
    with pytest.raises(ClientError) as e:
        sandbox.client("s3", attempts=1).list_buckets()
    assert err(e)[0] == "InternalError" and err(e)[2] == 500
    # the raw bodies are AWS-shaped, never HTML
    req = urllib.request.Request(sandbox.url + "/", data=b"{}", method="POST", headers={
        "X-Amz-Target": "SageMaker.ListImages", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/sagemaker/aws4_request, "
                         "SignedHeaders=host, Signature=x"})
    with pytest.raises(urllib.error.HTTPError) as h:
        urllib.request.urlopen(req, timeout=10)
    assert h.value.code == 500 and json.loads(h.value.read())["__type"] == "InternalFailure"


def test_latency_fault(sandbox):
    sts = sandbox.client("sts")
    sts.get_caller_identity()
    sandbox.faults(latency_ms=700)
    t = time.time()
    sts.get_caller_identity()
    slow = time.time() - t
    assert slow >= 0.7
    sandbox.faults(latency_ms=None)
    t = time.time()
    sts.get_caller_identity()
    assert time.time() - t < slow - 0.5


def test_build_fail_phase_fault(sandbox):
    role = make_role(sandbox)
    ecr_setup(sandbox, "sagemaker-studio-x")
    loc = upload(sandbox, "sandbox-bucket", "c.zip", make_zip(default_context()))
    make_project(sandbox, "sagemaker-studio-x", role, loc, env_vars=env_for("sagemaker-studio-x", "t"))
    sandbox.faults(build_fail_phase="BUILD")
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-x")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    assert [p["phaseType"] for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0] == "BUILD"
    assert any("injected failure" in m for m in log_messages(sandbox, done))
    sandbox.faults(build_fail_phase="PROVISIONING")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-x")["build"]["id"])
    assert [p["phaseType"] for p in done["phases"]] == ["SUBMITTED", "QUEUED", "PROVISIONING", "FINALIZING", "COMPLETED"]
    sandbox.faults(build_fail_phase=None)
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-x")["build"]["id"])
    assert done["buildStatus"] == "SUCCEEDED"


def test_image_version_fail_fault(sandbox):
    sm = sandbox.client("sagemaker")
    push_image(sandbox, "sagemaker-studio-k", "v1")
    sm.create_image(ImageName="k", RoleArn=make_role(sandbox))
    sandbox.faults(image_version_fail=True)
    sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v1")
    v = wait_for(lambda: sm.describe_image_version(ImageName="k"), lambda v: v["ImageVersionStatus"] != "CREATING")
    assert v["ImageVersionStatus"] == "CREATE_FAILED" and v["FailureReason"]
    sandbox.faults(image_version_fail=None)
    sm.create_image_version(ImageName="k", BaseImage=f"{REGISTRY}/sagemaker-studio-k:v1")
    v = wait_for(lambda: sm.describe_image_version(ImageName="k"), lambda v: v["ImageVersionStatus"] != "CREATING")
    assert v["ImageVersionStatus"] == "CREATED" and v["Version"] == 2


def test_domain_stuck_fault(sandbox):
    sm = sandbox.client("sagemaker")
    domain_id = make_domain(sandbox, make_role(sandbox))
    sandbox.faults(domain_stuck_seconds=2)
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": []}})
    time.sleep(FAST["domain_update_seconds"] + 0.5)
    assert sm.describe_domain(DomainId=domain_id)["Status"] == "Updating"
    wait_for(lambda: sm.describe_domain(DomainId=domain_id)["Status"], lambda s: s == "InService", timeout=5)


def test_inservice_app_fault(sandbox):
    sm = sandbox.client("sagemaker")
    role = make_role(sandbox)
    domain_id = make_domain(sandbox, role)
    ready_image(sandbox, role)
    sandbox.faults(inservice_app=True)
    with pytest.raises(ClientError) as e:
        sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": [
            {"ImageName": "k", "AppImageConfigName": "k-ju"}]}})
    assert err(e)[:2] == ("ValidationException",
                          f"Unable to update Domain {domain_id} with InService App. Delete all InService apps for "
                          "the Domain and try again.")
    sandbox.faults(inservice_app=None)
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": [
        {"ImageName": "k", "AppImageConfigName": "k-ju"}]}})


# ---------------------------------------------------------------------- validation
def test_sagemaker_requests_are_validated_against_the_model(sandbox):
    sm = sandbox.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_image(ImageName="x" * 64)
    code, msg, status = err(e)
    assert (code, status) == ("ValidationException", 400)
    assert msg.startswith("3 validation errors detected: ")
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in msg
    assert "at 'imageName' failed to satisfy constraint: Member must have length less than or equal to 63" in msg
    assert "at 'imageName' failed to satisfy constraint: Member must satisfy regular expression pattern" in msg
    with pytest.raises(ClientError) as e:
        sm.list_images(SortBy="SIZE")
    assert "Member must satisfy enum value set: [CREATION_TIME, LAST_MODIFIED_TIME, IMAGE_NAME]" in err(e)[1]
    with pytest.raises(ClientError) as e:
        sm.describe_image(ImageName=123)
    assert err(e)[0] == "SerializationException"
    assert sandbox.requests()[-1]["status"] == 400


def test_codebuild_requests_are_validated_against_the_model(sandbox):
    cb = sandbox.client("codebuild")
    with pytest.raises(ClientError) as e:
        cb.start_build(projectName="p", computeTypeOverride="HUGE", timeoutInMinutesOverride=9999,
                       environmentVariablesOverride=[{"name": "", "value": "x"}])
    code, msg, _ = err(e)
    assert code == "ValidationException" and msg.startswith("3 validation errors detected")
    assert "'environmentVariablesOverride.1.member.name' failed to satisfy constraint" in msg
    assert "'timeoutInMinutesOverride' failed to satisfy constraint: Member must have value less than or equal to 2160" in msg


# ---------------------------------------------------------------------- unimplemented
def test_unimplemented_calls_are_aws_errors_not_html_and_not_retried(sandbox):
    sm = sandbox.client("sagemaker", attempts=5)
    with pytest.raises(ClientError) as e:
        sm.list_hubs()
    r = e.value.response
    assert r["Error"]["Code"] == "NotImplemented" and r["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert r["ResponseMetadata"]["RetryAttempts"] == 0
    assert "ListHubs" in r["Error"]["Message"]
    assert len([x for x in sandbox.requests() if x["operation"] == "ListHubs"]) == 1


def test_control_health(sandbox):
    status, body = sandbox.call("GET", "/_sandbox/health")
    assert status == 200 and body["ok"] and body["moto"] == "5.2.5"


def test_s3_aws_chunked_upload_like_the_rust_sdk(sandbox):
    """The Rust SDK streams PutObject bodies as aws-chunked with a CRC32 trailer."""
    import base64
    import zlib

    sandbox.client("s3").create_bucket(Bucket="sandbox-bucket")
    data = make_zip(default_context())
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" +
            f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode())
    req = urllib.request.Request(sandbox.url + "/sandbox-bucket/ctx.zip?x-id=PutObject", data=body, method="PUT", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIASANDBOXTEST00000/20260101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=x",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Type": "application/zip",
    })
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert sandbox.client("s3").get_object(Bucket="sandbox-bucket", Key="ctx.zip")["Body"].read() == data
    assert [(r["service"], r["operation"]) for r in sandbox.requests()][-2] == ("s3", "PutObject")


def test_ecr_authorization_token_is_not_expired(sandbox):
    import datetime

    data = sandbox.client("ecr").get_authorization_token()["authorizationData"][0]
    assert data["expiresAt"] > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=11)
    assert data["proxyEndpoint"] == f"https://{REGISTRY}"


def test_sse_kms_headers_are_logged_as_params_and_stored(sandbox):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="sandbox-bucket")
    s3.put_object(Bucket="sandbox-bucket", Key="k.zip", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    s3.create_multipart_upload(Bucket="sandbox-bucket", Key="big", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    s3.put_object(Bucket="sandbox-bucket", Key="plain", Body=b"x")
    log = {r["operation"]: r["params"] for r in sandbox.requests() if r["service"] == "s3"}
    put, mpu = [r["params"] for r in sandbox.requests() if r["operation"] in ("PutObject", "CreateMultipartUpload")][:2]
    for p in (put, mpu):
        assert p["ServerSideEncryption"] == "aws:kms" and p["SSEKMSKeyId"] == key, p
    assert "ServerSideEncryption" not in log["PutObject"]  # the last PutObject had none
    head = s3.head_object(Bucket="sandbox-bucket", Key="k.zip")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key)
