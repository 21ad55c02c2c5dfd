"""Fixtures for the sandbox's own tests: one sandbox server per session
(started as `python -m smk_sandbox --port 0`, the same entry point that
tests/sandbox/run execs), reset between tests through /_sandbox/reset."""
from __future__ import annotations

import io
import json
import os
import pathlib
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from typing import Any, Callable

import boto3
import pytest
from botocore.config import Config

HERE = pathlib.Path(__file__).resolve().parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

# short durations keep the suite fast; tests that need other values set them
FAST = {"build_seconds": 1.0, "image_seconds": 0.2, "image_version_seconds": 0.3,
        "domain_update_seconds": 0.3, "app_seconds": 0.3}

BUILDSPEC = """\
version: 0.2
env:
  variables:
    IMAGE_URI: "placeholder"
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$ECR_REGISTRY"
  build:
    commands:
      - docker build --platform linux/amd64 -f 'Dockerfile' -t "$IMAGE_URI" --build-arg 'K=V' .
  post_build:
    commands:
      - docker push "$IMAGE_URI"
      - echo "SM_KERNEL_PUSHED_DIGEST=$(docker inspect --format '{{index .RepoDigests 0}}' "$IMAGE_URI")"
"""

DOCKERFILE = """\
FROM public.ecr.aws/docker/library/python:3.11-slim
ARG K
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
USER 1000:100
"""


class Sandbox:
    def __init__(self, url: str, proc: subprocess.Popen[str], log_path: str):
        self.url = url
        self.proc = proc
        self.log_path = log_path

    # control endpoints -------------------------------------------------
    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def reset(self) -> None:
        assert self.call("POST", "/_sandbox/reset")[0] == 200

    def config(self, **kw: Any) -> dict[str, Any]:
        status, body = self.call("POST", "/_sandbox/config", kw)
        assert status == 200, body
        return body

    def faults(self, **kw: Any) -> dict[str, Any]:
        status, body = self.call("POST", "/_sandbox/faults", kw)
        assert status == 200, body
        return body

    def requests(self) -> list[dict[str, Any]]:
        return self.call("GET", "/_sandbox/requests")[1]

    # clients -------------------------------------------------------------
    def client(self, service: str, attempts: int = 3, region: str = REGION) -> Any:
        # no client-side constraint checks (the Rust SDK does none either): the
        # sandbox's own model validation is what gets exercised
        cfg = Config(retries={"total_max_attempts": attempts, "mode": "standard"}, parameter_validation=False,
                     s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=30)
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id="AKIASANDBOXTEST00000", aws_secret_access_key="secret",
                            config=cfg)


def _start(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    log = tempfile.NamedTemporaryFile("w", prefix="smk-sandbox-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=str(HERE))
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        proc.kill()
        raise RuntimeError(f"sandbox did not print its ready line in 60 s; see {log.name}")
    line = proc.stdout.readline().strip()
    return proc, line, log.name


def start_module_server() -> Sandbox:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc, line, log = _start([sys.executable, "-m", "smk_sandbox", "--port", "0"], env)
    if not line.startswith("ready http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"unexpected first line {line!r}; see {log}")
    return Sandbox(line.split()[1], proc, log)


@pytest.fixture(scope="session")
def sandbox(request: Any) -> Any:
    sb = start_module_server()
    yield sb
    sb.proc.send_signal(signal.SIGTERM)
    try:
        sb.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sb.proc.kill()
    if request.session.testsfailed:
        print(f"\nsandbox server log: {sb.log_path}")
    else:
        os.unlink(sb.log_path)


@pytest.fixture(autouse=True)
def fresh(request: Any) -> Any:
    if "sandbox" in request.fixturenames:
        sb = request.getfixturevalue("sandbox")
        sb.reset()
        sb.config(**FAST)
    yield


# ---------------------------------------------------------------------- helpers
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["codebuild.amazonaws.com", "sagemaker.amazonaws.com"]},
                   "Action": "sts:AssumeRole"}],
}


def make_role(sb: Sandbox, name: str = "sm-kernel-role") -> str:
    iam = sb.client("iam")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, content)
    return buf.getvalue()


def default_context(extra: dict[str, str | bytes] | None = None) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"Dockerfile": DOCKERFILE, "requirements.txt": "ipykernel\n"}
    files.update(extra or {})
    return files


def upload(sb: Sandbox, bucket: str, key: str, data: bytes) -> str:
    s3 = sb.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return f"{bucket}/{key}"


def make_project(sb: Sandbox, name: str, role: str, location: str, buildspec: str = BUILDSPEC,
                 env_vars: list[dict[str, str]] | None = None, privileged: bool = True, **kw: Any) -> dict[str, Any]:
    cb = sb.client("codebuild")
    return cb.create_project(
        name=name,
        source={"type": "S3", "location": location, "buildspec": buildspec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": privileged,
                     "environmentVariables": env_vars or []},
        serviceRole=role,
        **kw,
    )["project"]


def wait_for(fn: Callable[[], Any], pred: Callable[[Any], bool], timeout: float = 20, interval: float = 0.1) -> Any:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if pred(last):
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def wait_build(sb: Sandbox, build_id: str, timeout: float = 30) -> dict[str, Any]:
    cb = sb.client("codebuild")
    return wait_for(lambda: cb.batch_get_builds(ids=[build_id])["builds"][0], lambda b: b["buildComplete"], timeout)


def log_messages(sb: Sandbox, build: dict[str, Any]) -> list[str]:
    logs = sb.client("logs")
    group, stream = build["logs"]["groupName"], build["logs"]["streamName"]
    out: list[str] = []
    token = None
    while True:
        kw: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = logs.get_log_events(**kw)
        out += [e["message"].rstrip("\n") for e in page["events"]]
        if page["nextForwardToken"] == token or not page["events"]:
            break
        token = page["nextForwardToken"]
    return out


def ecr_setup(sb: Sandbox, repo: str) -> None:
    sb.client("ecr").create_repository(repositoryName=repo)


def env_for(repo: str, tag: str) -> list[dict[str, str]]:
    return [
        {"name": "ECR_REGISTRY", "value": REGISTRY, "type": "PLAINTEXT"},
        {"name": "IMAGE_URI", "value": f"{REGISTRY}/{repo}:{tag}", "type": "PLAINTEXT"},
    ]
