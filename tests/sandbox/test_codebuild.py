"""CodeBuild builds in the sandbox: phases over time, logs, overrides, ECR push,
failures, StopBuild, and that nothing from the zip is ever executed."""
from __future__ import annotations

import os
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import (
    BUILDSPEC, REGISTRY, default_context, ecr_setup, env_for, log_messages, make_project, make_role, make_zip,
    upload, wait_build, wait_for,
)

ORDER = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
         "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]


def setup_build(sb, repo="sagemaker-studio-k", tag="v1", files=None, buildspec=BUILDSPEC, project="sagemaker-studio-k",
                env=None, key="ctx.zip", create_repo=True, **kw):
    role = make_role(sb)
    if create_repo:
        ecr_setup(sb, repo)
    loc = upload(sb, "sagemaker-us-east-1-123456789012", key, make_zip(files or default_context()))
    make_project(sb, project, role, loc, buildspec=buildspec,
                 env_vars=env_for(repo, tag) if env is None else env, **kw)
    return role, loc


def test_phases_progress_over_time_and_logs_arrive_while_running(sandbox):
    sandbox.config(build_seconds=3)
    setup_build(sandbox)
    cb, logs = sandbox.client("codebuild"), sandbox.client("logs")
    build = cb.start_build(projectName="sagemaker-studio-k")["build"]
    assert build["currentPhase"] == "QUEUED" and build["buildStatus"] == "IN_PROGRESS"
    assert build["phases"][0]["phaseType"] == "SUBMITTED"
    assert "groupName" not in build["logs"]  # as in AWS: log names appear once the build starts
    phases, counts, complete_seen_running = [], [], False
    token = None
    while True:
        b = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
        phases.append(b["currentPhase"])
        if b["logs"].get("streamName") and not b["buildComplete"]:
            kw = dict(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"], startFromHead=True)
            if token:
                kw["nextToken"] = token
            page = logs.get_log_events(**kw)
            counts.append(len(page["events"]))
            token = page["nextForwardToken"]
            if page["events"]:
                complete_seen_running = True
        if b["buildComplete"]:
            break
        assert b["buildStatus"] == "IN_PROGRESS"
        time.sleep(0.05)
    distinct = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    # monotonic walk through CodeBuild's phases, with several intermediate phases observed
    assert [ORDER.index(p) for p in distinct] == sorted(ORDER.index(p) for p in distinct)
    assert len(distinct) >= 5, distinct
    assert distinct[-1] == "COMPLETED"
    assert complete_seen_running and sum(1 for c in counts if c) >= 2, counts  # lines arrived in several batches
    b = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
    assert b["buildStatus"] == "SUCCEEDED"
    assert [p["phaseType"] for p in b["phases"]] == ORDER
    assert all(p.get("phaseStatus") == "SUCCEEDED" for p in b["phases"][:-1])
    assert b["endTime"] >= b["startTime"]
    assert b["logs"]["groupName"] == "/aws/codebuild/sagemaker-studio-k"
    assert b["logs"]["streamName"] == build["id"].split(":", 1)[1]
    assert b["logs"]["deepLink"].startswith("https://console.aws.amazon.com/cloudwatch/home?region=us-east-1")
    # an empty page returns the same forward token
    page = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"],
                               startFromHead=True, nextToken=token)
    page2 = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"],
                                startFromHead=True, nextToken=page["nextForwardToken"])
    assert page2["events"] == [] and page2["nextForwardToken"] == page["nextForwardToken"]


def test_log_lines_expand_variables_and_simulate_docker(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    b = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    lines = log_messages(sandbox, b)
    uri = f"{REGISTRY}/sagemaker-studio-k:v1"
    assert any(m.endswith(f'Running command docker push "{uri}"') for m in lines), lines
    assert any("Running command aws ecr get-login-password --region \"us-east-1\" | docker login --username AWS "
               f"--password-stdin \"{REGISTRY}\"" in m for m in lines)
    assert "Login Succeeded" in lines
    assert "#1 [internal] load build definition from Dockerfile" in lines
    assert any(m.startswith("#") and "[3/3] RUN pip install -r /tmp/requirements.txt" in m for m in lines)
    assert any(m.endswith(f"naming to {uri} done") for m in lines)
    assert f"The push refers to repository [{REGISTRY}/sagemaker-studio-k]" in lines
    push = [m for m in lines if m.startswith("v1: digest: sha256:")]
    assert len(push) == 1 and " size: " in push[0]
    digest = push[0].split()[2]
    assert f"SM_KERNEL_PUSHED_DIGEST={REGISTRY}/sagemaker-studio-k@{digest}" in lines
    assert any("Phase complete: BUILD State: SUCCEEDED" in m for m in lines)
    assert all(m.startswith("[Container] 20") for m in lines if "Running command" in m)


def test_events_carry_trailing_newline_like_codebuild(sandbox):
    setup_build(sandbox)
    cb, logs = sandbox.client("codebuild"), sandbox.client("logs")
    b = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    ev = logs.get_log_events(logGroupName=b["logs"]["groupName"], logStreamName=b["logs"]["streamName"],
                             startFromHead=True)["events"]
    assert ev and all(e["message"].endswith("\n") for e in ev)
    assert [e["timestamp"] for e in ev] == sorted(e["timestamp"] for e in ev)


def test_pushed_image_lands_in_ecr_with_digest_from_source(sandbox):
    setup_build(sandbox)
    cb, ecr = sandbox.client("codebuild"), sandbox.client("ecr")
    b1 = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert b1["buildStatus"] == "SUCCEEDED"
    d1 = ecr.describe_images(repositoryName="sagemaker-studio-k", imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert d1["imageDigest"].startswith("sha256:") and len(d1["imageDigest"]) == 71
    manifest = ecr.batch_get_image(repositoryName="sagemaker-studio-k", imageIds=[{"imageTag": "v1"}])["images"][0]
    assert "application/vnd.docker.distribution.manifest.v2+json" in manifest["imageManifest"]
    # same source, same digest (under another tag)
    b2 = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k", environmentVariablesOverride=[
        {"name": "IMAGE_URI", "value": f"{REGISTRY}/sagemaker-studio-k:v2"}])["build"]["id"])
    assert b2["buildStatus"] == "SUCCEEDED"
    d2 = ecr.describe_images(repositoryName="sagemaker-studio-k", imageIds=[{"imageTag": "v2"}])["imageDetails"][0]
    assert d2["imageDigest"] == d1["imageDigest"]
    # another source, another digest
    upload(sandbox, "sagemaker-us-east-1-123456789012", "other.zip",
           make_zip(default_context({"requirements.txt": "ipykernel\nnumpy\n"})))
    b3 = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k",
                                            sourceLocationOverride="sagemaker-us-east-1-123456789012/other.zip",
                                            environmentVariablesOverride=[
                                                {"name": "IMAGE_URI", "value": f"{REGISTRY}/sagemaker-studio-k:v3"}])["build"]["id"])
    assert b3["buildStatus"] == "SUCCEEDED"
    assert b3["source"]["location"] == "sagemaker-us-east-1-123456789012/other.zip"
    d3 = ecr.describe_images(repositoryName="sagemaker-studio-k", imageIds=[{"imageTag": "v3"}])["imageDetails"][0]
    assert d3["imageDigest"] != d1["imageDigest"]


def test_image_is_pushed_while_build_runs_not_before(sandbox):
    sandbox.config(build_seconds=3)
    setup_build(sandbox)
    cb, ecr = sandbox.client("codebuild"), sandbox.client("ecr")
    bid = cb.start_build(projectName="sagemaker-studio-k")["build"]["id"]
    assert ecr.describe_images(repositoryName="sagemaker-studio-k")["imageDetails"] == []
    b = wait_build(sandbox, bid)
    assert b["buildStatus"] == "SUCCEEDED"
    assert len(ecr.describe_images(repositoryName="sagemaker-studio-k")["imageDetails"]) == 1


def test_overrides_are_honoured(sandbox):
    setup_build(sandbox, env=env_for("sagemaker-studio-k", "v1") + [{"name": "GREETING", "value": "project"}],
                privileged=False)
    cb = sandbox.client("codebuild")
    spec = BUILDSPEC.replace("  pre_build:", "  install:\n    commands:\n      - echo \"greeting=$GREETING build=${CODEBUILD_BUILD_ID} region=$AWS_DEFAULT_REGION\"\n  pre_build:")
    b = cb.start_build(
        projectName="sagemaker-studio-k",
        buildspecOverride=spec,
        imageOverride="aws/codebuild/standard:7.0-custom",
        computeTypeOverride="BUILD_GENERAL1_LARGE",
        privilegedModeOverride=True,
        timeoutInMinutesOverride=17,
        environmentVariablesOverride=[{"name": "GREETING", "value": "override", "type": "PLAINTEXT"}],
    )["build"]
    assert b["environment"]["image"] == "aws/codebuild/standard:7.0-custom"
    assert b["environment"]["computeType"] == "BUILD_GENERAL1_LARGE"
    assert b["environment"]["privilegedMode"] is True
    assert b["timeoutInMinutes"] == 17
    assert {"name": "GREETING", "value": "override", "type": "PLAINTEXT"} in b["environment"]["environmentVariables"]
    done = wait_build(sandbox, b["id"])
    assert done["buildStatus"] == "SUCCEEDED"
    lines = log_messages(sandbox, done)
    assert f"greeting=override build={b['id']} region=us-east-1" in lines


def test_buildspec_env_is_lowest_precedence_and_block_scalars_work(sandbox):
    spec = """\
version: 0.2
env:
  variables:
    WHO: buildspec
    ONLY_SPEC: spec-value
phases:
  build:
    commands:
      - |
        echo "who=$WHO"
        echo "only=${ONLY_SPEC}"
      - export LATER=kept
      - echo "later=$LATER"
"""
    setup_build(sandbox, buildspec=spec, env=[{"name": "WHO", "value": "project"}])
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    lines = log_messages(sandbox, done)
    assert done["buildStatus"] == "SUCCEEDED"
    assert "who=project" in lines and "only=spec-value" in lines and "later=kept" in lines


def test_missing_source_zip_fails_in_download_source(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k",
                                              sourceLocationOverride="sagemaker-us-east-1-123456789012/nope.zip")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"]
    assert [p["phaseType"] for p in failed] == ["DOWNLOAD_SOURCE"]
    assert failed[0]["contexts"][0]["statusCode"] == "CLIENT_ERROR"
    assert "NoSuchKey" in failed[0]["contexts"][0]["message"]
    # after a DOWNLOAD_SOURCE failure CodeBuild goes straight to FINALIZING
    assert [p["phaseType"] for p in done["phases"]][-3:] == ["DOWNLOAD_SOURCE", "FINALIZING", "COMPLETED"]


def test_missing_ecr_repository_fails_push_with_dockers_message(sandbox):
    setup_build(sandbox, create_repo=False)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"]
    assert [p["phaseType"] for p in failed] == ["POST_BUILD"]
    assert failed[0]["contexts"][0]["statusCode"] == "COMMAND_EXECUTION_ERROR"
    assert "docker push" in failed[0]["contexts"][0]["message"]
    lines = log_messages(sandbox, done)
    assert ("name unknown: The repository with name 'sagemaker-studio-k' does not exist in the registry with id "
            "'123456789012'") in lines


def test_missing_dockerfile_and_missing_copy_source_fail_the_build_phase(sandbox):
    setup_build(sandbox, files={"requirements.txt": "x\n"})
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    failed = [p["phaseType"] for p in done["phases"] if p.get("phaseStatus") == "FAILED"]
    assert failed[0] == "BUILD"
    # BUILD failed, so POST_BUILD still ran (and could not push an image that was never built)
    assert "POST_BUILD" in [p["phaseType"] for p in done["phases"]]
    lines = log_messages(sandbox, done)
    assert "ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory" in lines
    assert any(m.startswith("An image does not exist locally with the tag") for m in lines)

    upload(sandbox, "sagemaker-us-east-1-123456789012", "nocopy.zip", make_zip({"Dockerfile": "FROM python:3.11\nCOPY missing.txt /x\n"}))
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k",
                                              sourceLocationOverride="sagemaker-us-east-1-123456789012/nocopy.zip")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    assert any('"/missing.txt": not found' in m for m in log_messages(sandbox, done))


def test_docker_needs_privileged_mode(sandbox):
    setup_build(sandbox, privileged=False)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    assert [p["phaseType"] for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0] == "PRE_BUILD"
    assert any("Cannot connect to the Docker daemon" in m for m in log_messages(sandbox, done))


def test_push_without_login_fails(sandbox):
    spec = BUILDSPEC.replace('      - aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS '
                             '--password-stdin "$ECR_REGISTRY"', "      - echo no login")
    assert "docker login" not in spec
    setup_build(sandbox, buildspec=spec)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "FAILED"
    assert "no basic auth credentials" in log_messages(sandbox, done)


def test_custom_logs_config_group_and_stream(sandbox):
    setup_build(sandbox, logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": "/custom/builds",
                                                        "streamName": "kernel"}})
    cb = sandbox.client("codebuild")
    b = cb.start_build(projectName="sagemaker-studio-k")["build"]
    done = wait_build(sandbox, b["id"])
    assert done["logs"]["groupName"] == "/custom/builds"
    assert done["logs"]["streamName"] == "kernel/" + b["id"].split(":", 1)[1]
    assert log_messages(sandbox, done)


def test_unknown_builds_are_reported_not_found(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    bid = cb.start_build(projectName="sagemaker-studio-k")["build"]["id"]
    res = cb.batch_get_builds(ids=[bid, "sagemaker-studio-k:00000000-0000-0000-0000-000000000000"])
    assert [b["id"] for b in res["builds"]] == [bid]
    assert res["buildsNotFound"] == ["sagemaker-studio-k:00000000-0000-0000-0000-000000000000"]
    with pytest.raises(ClientError) as e:
        cb.stop_build(id="sagemaker-studio-k:00000000-0000-0000-0000-000000000000")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        cb.start_build(projectName="does-not-exist")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_stop_build_stops_at_current_phase_and_stays_stopped(sandbox):
    sandbox.config(build_seconds=3)
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    bid = cb.start_build(projectName="sagemaker-studio-k")["build"]["id"]
    wait_for(lambda: cb.batch_get_builds(ids=[bid])["builds"][0]["currentPhase"], lambda p: p == "BUILD", timeout=10,
             interval=0.02)
    stopped = cb.stop_build(id=bid)["build"]
    assert stopped["buildStatus"] == "STOPPED" and stopped["buildComplete"]
    assert [p for p in stopped["phases"] if p.get("phaseStatus") == "STOPPED"][0]["phaseType"] == "BUILD"
    time.sleep(3.2)
    later = cb.batch_get_builds(ids=[bid])["builds"][0]
    assert later["buildStatus"] == "STOPPED"
    assert "POST_BUILD" not in [p["phaseType"] for p in later["phases"]]
    assert sandbox.client("ecr").describe_images(repositoryName="sagemaker-studio-k")["imageDetails"] == []


def test_deleting_the_project_does_not_stop_its_builds(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    bid = cb.start_build(projectName="sagemaker-studio-k")["build"]["id"]
    cb.delete_project(name="sagemaker-studio-k")
    assert cb.batch_get_projects(names=["sagemaker-studio-k"])["projectsNotFound"] == ["sagemaker-studio-k"]
    done = wait_build(sandbox, bid)
    assert done["buildStatus"] == "SUCCEEDED"


def test_build_numbers_and_listing(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    a = cb.start_build(projectName="sagemaker-studio-k")["build"]
    b = cb.start_build(projectName="sagemaker-studio-k")["build"]
    assert (a["buildNumber"], b["buildNumber"]) == (1, 2)
    assert cb.list_builds_for_project(projectName="sagemaker-studio-k")["ids"] == [b["id"], a["id"]]
    assert set(cb.list_builds()["ids"]) == {a["id"], b["id"]}


def test_create_project_checks_role_and_source(sandbox):
    cb, iam = sandbox.client("codebuild"), sandbox.client("iam")
    role_arn = "arn:aws:iam::123456789012:role/missing"
    with pytest.raises(ClientError) as e:
        make_project(sandbox, "proj", role_arn, "b/k.zip")
    assert e.value.response["Error"]["Code"] == "InvalidInputException"
    assert "sts:AssumeRole" in e.value.response["Error"]["Message"]
    # a role that does not trust codebuild is refused the same way
    arn = iam.create_role(RoleName="untrusted", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}')["Role"]["Arn"]
    with pytest.raises(ClientError):
        make_project(sandbox, "proj", arn, "b/k.zip")
    good = make_role(sandbox)
    with pytest.raises(ClientError) as e:
        make_project(sandbox, "proj", good, "no-slash")
    assert e.value.response["Error"]["Code"] == "InvalidInputException"
    make_project(sandbox, "proj", good, "b/k.zip", env_vars=[], description="x")
    with pytest.raises(ClientError) as e:
        make_project(sandbox, "proj", good, "b/k.zip")
    assert e.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    # compute types moto does not know but AWS accepts
    make_project(sandbox, "proj2", good, "b/k.zip")
    cb.update_project(name="proj2", environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                               "computeType": "BUILD_GENERAL1_XLARGE"})
    assert cb.batch_get_projects(names=["proj2"])["projects"][0]["environment"]["computeType"] == "BUILD_GENERAL1_XLARGE"


def test_no_command_from_the_zip_is_ever_run(sandbox, tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    marker2 = tmp_path / f"pwned2-{uuid.uuid4().hex}"
    marker3 = tmp_path / f"pwned3-{uuid.uuid4().hex}"
    spec = f"""\
version: 0.2
phases:
  install:
    commands:
      - touch {marker}
      - python3 -c "open('{marker2}', 'w').write('x')"
      - sh ./evil.sh
      - echo $(touch {marker3}) done
  build:
    commands:
      - bash -c 'touch {marker}'
      - docker build -t x .
"""
    files = {"evil.sh": f"#!/bin/sh\ntouch {marker}\n",
             "Dockerfile": f"FROM python:3.11\nRUN touch {marker}\n",
             "buildspec.yml": spec}
    setup_build(sandbox, files=files, buildspec="buildspec.yml")  # buildspec read from the zip
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "SUCCEEDED"
    lines = log_messages(sandbox, done)
    assert any(f"Running command touch {marker}" in m for m in lines)
    assert any(f"RUN touch {marker}" in m for m in lines)
    for m in (marker, marker2, marker3):
        assert not os.path.exists(m)
    assert list(tmp_path.iterdir()) == []


def test_buildspec_file_missing_from_zip_fails_download_source(sandbox):
    setup_build(sandbox, buildspec="")
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0]
    assert failed["phaseType"] == "DOWNLOAD_SOURCE"
    assert failed["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
    assert "buildspec.yml: no such file or directory" in failed["contexts"][0]["message"]


def test_invalid_yaml_buildspec_fails_download_source(sandbox):
    setup_build(sandbox)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k",
                                              buildspecOverride="version: 0.2\nphases:\n  build: [\n")["build"]["id"])
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0]
    assert failed["phaseType"] == "DOWNLOAD_SOURCE"
    assert failed["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"


def test_failing_command_fails_phase_with_codebuild_context(sandbox):
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo before\n      - exit 3\n      - echo never\n"
    setup_build(sandbox, buildspec=spec)
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0]
    assert failed["phaseType"] == "BUILD"
    assert failed["contexts"][0]["message"] == "Error while executing command: exit 3. Reason: exit status 3"
    lines = log_messages(sandbox, done)
    assert "before" in lines and "never" not in lines


def test_ecr_base_images_need_a_login_and_must_exist_in_the_sandbox(sandbox):
    own = f"{REGISTRY}/base:1"
    foreign = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3-cpu"
    for base, expect in ((own, "not found"), (foreign, "401 Unauthorized")):
        sandbox.reset()
        sandbox.config(build_seconds=1.5)
        setup_build(sandbox, files={"Dockerfile": f"FROM {base}\n", "sub/./x": "y"})
        done = wait_build(sandbox, sandbox.client("codebuild").start_build(projectName="sagemaker-studio-k")["build"]["id"])
        assert done["buildStatus"] == "FAILED"
        assert any(expect in m and m.startswith("ERROR: failed to solve") for m in log_messages(sandbox, done))
    # logged in to the foreign registry: the image is taken as existing (AWS's own images)
    spec = BUILDSPEC.replace("  build:", "    - aws ecr get-login-password | docker login --username AWS --password-stdin "
                                         "763104351884.dkr.ecr.us-east-1.amazonaws.com\n  build:", 1)
    spec = spec.replace("    - aws ecr get-login-password | docker login", "      - aws ecr get-login-password | docker login")
    sandbox.client("codebuild").update_project(name="sagemaker-studio-k", source={
        "type": "S3", "location": "sagemaker-us-east-1-123456789012/ctx.zip", "buildspec": spec})
    done = wait_build(sandbox, sandbox.client("codebuild").start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "SUCCEEDED", log_messages(sandbox, done)


def test_parameter_store_variables_are_resolved_or_fail_the_build(sandbox):
    sandbox.client("ssm").put_parameter(Name="/sm-kernel/token", Value="s3cr3t", Type="SecureString")
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"token=$TOKEN\"\n"
    setup_build(sandbox, buildspec=spec, env=[{"name": "TOKEN", "value": "/sm-kernel/token", "type": "PARAMETER_STORE"}])
    cb = sandbox.client("codebuild")
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert done["buildStatus"] == "SUCCEEDED"
    assert "token=s3cr3t" in log_messages(sandbox, done)
    done = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k", environmentVariablesOverride=[
        {"name": "TOKEN", "value": "/sm-kernel/missing", "type": "PARAMETER_STORE"}])["build"]["id"])
    failed = [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"][0]
    assert failed["phaseType"] == "DOWNLOAD_SOURCE"
    assert "parameter does not exist: /sm-kernel/missing" in failed["contexts"][0]["message"]


CACHED_BUILDSPEC = BUILDSPEC.replace(
    "      - docker build --platform linux/amd64 -f 'Dockerfile' -t \"$IMAGE_URI\" --build-arg 'K=V' .",
    "      - docker buildx create --name sm-kernel --driver docker-container --use\n"
    "      - docker buildx build --platform linux/amd64 --progress plain -f 'Dockerfile' -t \"$IMAGE_URI\" --load"
    " --cache-from \"type=registry,ref=$ECR_REGISTRY/\"'sagemaker-studio-k:buildcache'"
    " --cache-to \"type=registry,ref=$ECR_REGISTRY/\"'sagemaker-studio-k:buildcache,mode=max,image-manifest=true,oci-mediatypes=true'"
    " --build-arg 'K=V' .")


def test_registry_cache_is_exported_then_imported_and_reuses_the_unchanged_layers(sandbox):
    assert CACHED_BUILDSPEC != BUILDSPEC
    files = default_context({"Dockerfile": "FROM public.ecr.aws/docker/library/python:3.11-slim\n"
                                           "RUN pip install ipykernel\nCOPY requirements.txt /tmp/r.txt\nUSER 1000:100\n"})
    setup_build(sandbox, buildspec=CACHED_BUILDSPEC, files=files)
    cb, ecr = sandbox.client("codebuild"), sandbox.client("ecr")
    first = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert first["buildStatus"] == "SUCCEEDED"
    log1 = log_messages(sandbox, first)
    cache_ref = f"{REGISTRY}/sagemaker-studio-k:buildcache"
    assert any(f"importing cache manifest from {cache_ref}" in m for m in log1)
    assert any(f"ERROR: failed to configure registry cache importer: {cache_ref}: not found" in m for m in log1)
    assert any("exporting cache to registry" in m for m in log1)
    assert not any(m.rstrip().endswith("CACHED") for m in log1)
    tags = {t for d in ecr.describe_images(repositoryName="sagemaker-studio-k")["imageDetails"]
            for t in d.get("imageTags", [])}
    assert tags == {"v1", "buildcache"}

    # the last layer's input changes: the RUN before it comes from the cache
    files["requirements.txt"] = "ipykernel\nnumpy\n"
    upload(sandbox, "sagemaker-us-east-1-123456789012", "ctx.zip", make_zip(files))
    second = wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k", environmentVariablesOverride=[
        {"name": "IMAGE_URI", "value": f"{REGISTRY}/sagemaker-studio-k:v2"}])["build"]["id"])
    assert second["buildStatus"] == "SUCCEEDED"
    log2 = log_messages(sandbox, second)
    at = next(i for i, m in enumerate(log2) if f"importing cache manifest from {cache_ref}" in m)
    assert "DONE" in log2[at + 1], log2[at:at + 3]
    run = next(i for i, m in enumerate(log2) if "RUN pip install ipykernel" in m and "Running command" not in m)
    assert log2[run + 1].rstrip().endswith("CACHED"), log2[run:run + 2]
    copy = next(i for i, m in enumerate(log2) if "COPY requirements.txt" in m and "Running command" not in m)
    assert "DONE" in log2[copy + 1], log2[copy:copy + 2]


def test_secrets_manager_arns_with_a_json_key_resolve_into_the_environment(sandbox):
    sm = sandbox.client("secretsmanager")
    arn = sm.create_secret(Name="sagemaker-pip", SecretString='{"token": "s3cr3t-value"}')["ARN"]
    spec = BUILDSPEC.replace("version: 0.2\nenv:\n", f'version: 0.2\nenv:\n  secrets-manager:\n    PIP_TOKEN: "{arn}:token"\n')
    spec = spec.replace("      - docker build", '      - echo "token length ${#PIP_TOKEN}"\n      - docker build')
    setup_build(sandbox, buildspec=spec)
    b = wait_build(sandbox, sandbox.client("codebuild").start_build(projectName="sagemaker-studio-k")["build"]["id"])
    assert b["buildStatus"] == "SUCCEEDED", b["phases"]
    assert any("token length 12" in m for m in log_messages(sandbox, b))


def test_the_project_encryption_key_and_its_override_reach_the_build(sandbox):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    other = "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    setup_build(sandbox, encryptionKey=key)
    cb = sandbox.client("codebuild")
    assert cb.batch_get_projects(names=["sagemaker-studio-k"])["projects"][0]["encryptionKey"] == key
    b = cb.start_build(projectName="sagemaker-studio-k")["build"]
    assert b["encryptionKey"] == key
    b = cb.start_build(projectName="sagemaker-studio-k", encryptionKeyOverride=other)["build"]
    assert b["encryptionKey"] == other
    done = wait_build(sandbox, b["id"])
    assert done["buildStatus"] == "SUCCEEDED"


def test_a_build_pushing_into_a_scan_on_push_repository_starts_a_scan(sandbox):
    sandbox.config(scan_seconds=0)
    sandbox.faults(scan_findings=[{"name": "CVE-2024-0001", "severity": "HIGH", "package": "zlib"}])
    sandbox.client("ecr").create_repository(repositoryName="sagemaker-studio-k",
                                            imageScanningConfiguration={"scanOnPush": True})
    setup_build(sandbox, create_repo=False)
    cb, ecr = sandbox.client("codebuild"), sandbox.client("ecr")
    assert wait_build(sandbox, cb.start_build(projectName="sagemaker-studio-k")["build"]["id"])["buildStatus"] == "SUCCEEDED"
    digest = ecr.describe_images(repositoryName="sagemaker-studio-k")["imageDetails"][0]["imageDigest"]
    scan = ecr.describe_image_scan_findings(repositoryName="sagemaker-studio-k", imageId={"imageDigest": digest})
    assert scan["imageScanStatus"]["status"] == "COMPLETE"
    assert scan["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 1}
