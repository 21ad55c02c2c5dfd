"""CodeBuild builds for the sandbox: moto keeps the projects; the sandbox adds
a build lifecycle that walks CodeBuild's phases over time, honours the
project's environment and the StartBuild overrides, writes CloudWatch log
lines as it goes and, on `docker push`, stores a manifest in moto's ECR.

Nothing from the uploaded zip is ever executed: the buildspec is read and its
commands are interpreted by smk_sandbox.shell, which only simulates a few
commands (echo/export/docker/aws ecr get-login-password ...)."""
from __future__ import annotations

import copy
import hashlib
import io
import posixpath
import json
import uuid
import zipfile
from datetime import datetime, timezone
from typing import Any, Callable

import yaml
from moto.codebuild.exceptions import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from moto.codebuild.responses import CodeBuildResponse
from moto.core.responses import ActionResult

from . import awsutil
from .dockersim import DockerSim
from .shell import Shell, display_expand
from .state import SANDBOX, dt, now

PHASES = [
    "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
    "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED",
]
WEIGHTS = {
    "SUBMITTED": 0.0, "QUEUED": 0.08, "PROVISIONING": 0.12, "DOWNLOAD_SOURCE": 0.08,
    "INSTALL": 0.06, "PRE_BUILD": 0.10, "BUILD": 0.30, "POST_BUILD": 0.14,
    "UPLOAD_ARTIFACTS": 0.04, "FINALIZING": 0.08,
}
# where a build goes when a phase fails (AWS "Build phase transitions")
NEXT_ON_FAIL = {
    "PROVISIONING": "FINALIZING", "DOWNLOAD_SOURCE": "FINALIZING", "INSTALL": "FINALIZING",
    "PRE_BUILD": "FINALIZING", "BUILD": "POST_BUILD", "POST_BUILD": "UPLOAD_ARTIFACTS",
    "UPLOAD_ARTIFACTS": "FINALIZING", "FINALIZING": "COMPLETED",
}
COMMAND_PHASES = {"INSTALL": "install", "PRE_BUILD": "pre_build", "BUILD": "build", "POST_BUILD": "post_build"}


def _container_ts(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y/%m/%d %H:%M:%S.%f")


class Build:
    def __init__(self, account: str, region: str, project: dict[str, Any], params: dict[str, Any], number: int):
        self.account = account
        self.region = region
        self.project_name = project["name"]
        self.uuid = str(uuid.uuid4())
        self.id = f"{self.project_name}:{self.uuid}"
        self.arn = f"arn:{awsutil.partition(region)}:codebuild:{region}:{account}:build/{self.id}"
        self.number = number
        self.t0 = now()
        self.duration = float(SANDBOX.config["build_seconds"])
        self.fail_phase = SANDBOX.fault("build_fail_phase")
        self.status = "IN_PROGRESS"
        self.complete = False
        self.end_time: float | None = None
        self.initiator = params.get("_initiator", "sm-kernel-sandbox")

        env = copy.deepcopy(project.get("environment") or {})
        if params.get("environmentTypeOverride"):
            env["type"] = params["environmentTypeOverride"]
        if params.get("imageOverride"):
            env["image"] = params["imageOverride"]
        if params.get("computeTypeOverride"):
            env["computeType"] = params["computeTypeOverride"]
        if params.get("privilegedModeOverride") is not None:
            env["privilegedMode"] = bool(params["privilegedModeOverride"])
        if params.get("imagePullCredentialsTypeOverride"):
            env["imagePullCredentialsType"] = params["imagePullCredentialsTypeOverride"]
        env.setdefault("privilegedMode", False)
        env.setdefault("imagePullCredentialsType", "CODEBUILD")
        merged: dict[str, dict[str, Any]] = {}
        for v in env.get("environmentVariables") or []:
            merged[v["name"]] = {"name": v["name"], "value": v.get("value", ""), "type": v.get("type", "PLAINTEXT")}
        for v in params.get("environmentVariablesOverride") or []:
            merged[v["name"]] = {"name": v["name"], "value": v.get("value", ""), "type": v.get("type", "PLAINTEXT")}
        env["environmentVariables"] = list(merged.values())
        self.environment = env

        src = copy.deepcopy(project.get("source") or {})
        if params.get("sourceTypeOverride"):
            src["type"] = params["sourceTypeOverride"]
        if params.get("sourceLocationOverride"):
            src["location"] = params["sourceLocationOverride"]
        if params.get("buildspecOverride"):
            src["buildspec"] = params["buildspecOverride"]
        self.source = src
        self.source_version = params.get("sourceVersion") or project.get("sourceVersion")
        self.artifacts = copy.deepcopy(params.get("artifactsOverride") or project.get("artifacts") or {"type": "NO_ARTIFACTS"})
        self.service_role = params.get("serviceRoleOverride") or project.get("serviceRole")
        self.timeout = int(params.get("timeoutInMinutesOverride") or project.get("timeoutInMinutes") or 60)
        self.queued_timeout = int(params.get("queuedTimeoutInMinutesOverride") or project.get("queuedTimeoutInMinutes") or 480)
        self.encryption_key = (params.get("encryptionKeyOverride") or project.get("encryptionKey")
                               or f"arn:{awsutil.partition(region)}:kms:{region}:{account}:alias/aws/s3")

        logs_cfg = copy.deepcopy(params.get("logsConfigOverride") or project.get("logsConfig") or {})
        cw = logs_cfg.get("cloudWatchLogs") or {}
        self.logs_enabled = cw.get("status", "ENABLED") == "ENABLED"
        self.log_group = cw.get("groupName") or f"/aws/codebuild/{self.project_name}"
        self.log_stream = f"{cw['streamName']}/{self.uuid}" if cw.get("streamName") else self.uuid
        self.logs_visible = False
        self.s3_logs = logs_cfg.get("s3Logs") or {"status": "DISABLED", "encryptionDisabled": False}

        self.phases: list[dict[str, Any]] = [
            {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": dt(self.t0),
             "endTime": dt(self.t0), "durationInSeconds": 0},
        ]
        self.events: list[tuple[float, str, Any]] = []
        self.cur = ""
        self.cur_start = self.t0
        self.cur_end = self.t0
        self.cur_result: tuple[str, str, str] = ("SUCCEEDED", "", "")
        self.first_failure: str | None = None
        self.build_succeeding = True
        # set during DOWNLOAD_SOURCE
        self.files: dict[str, bytes] = {}
        self.spec: dict[str, Any] | None = None
        self.shell: Shell | None = None
        self.docker: DockerSim | None = None
        self.src_dir = f"/codebuild/output/src{int(hashlib.sha256(self.uuid.encode()).hexdigest()[:9], 16)}/src"
        self.exported: list[dict[str, str]] = []
        self._start_phase("QUEUED", self.t0)

    # ------------------------------------------------------------------ timeline
    def _schedule(self, start: float, end: float, items: list[tuple[str, Any]]) -> None:
        n = len(items)
        span = max(end - start, 0.0)
        for k, (kind, payload) in enumerate(items):
            t = start + span * (k + 1) / (n + 2)
            self.events.append((t, kind, payload))

    def _start_phase(self, name: str, at: float) -> None:
        self.cur = name
        self.cur_start = at
        self.cur_end = at + self.duration * WEIGHTS.get(name, 0.0)
        self.phases.append({"phaseType": name, "startTime": dt(at)})
        items: list[tuple[str, Any]] = []
        result = self._run_phase(name, items, at)
        self.cur_result = result
        self._schedule(at, self.cur_end, items)

    def _finish_phase(self) -> None:
        status, code, msg = self.cur_result
        rec = self.phases[-1]
        rec["phaseStatus"] = status
        rec["endTime"] = dt(self.cur_end)
        rec["durationInSeconds"] = int(round(self.cur_end - self.cur_start))
        if self.cur not in ("QUEUED",):
            rec["contexts"] = [{"statusCode": code, "message": msg}]
        if status == "FAILED":
            self.build_succeeding = False
            if self.first_failure is None:
                self.first_failure = self.cur

    def _next_phase(self) -> str:
        status = self.cur_result[0]
        if status == "FAILED":
            return NEXT_ON_FAIL.get(self.cur, "COMPLETED")
        if self.cur == "FINALIZING":
            return "COMPLETED"
        nxt = PHASES[PHASES.index(self.cur) + 1]
        if self.first_failure in ("PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD") and nxt != "COMPLETED":
            return "FINALIZING"
        if self.first_failure == "UPLOAD_ARTIFACTS":
            return "FINALIZING" if self.cur != "FINALIZING" else "COMPLETED"
        return nxt

    def _complete(self, at: float, status: str) -> None:
        self.complete = True
        self.status = status
        self.end_time = at
        self.cur = "COMPLETED"
        self.phases.append({"phaseType": "COMPLETED", "startTime": dt(at)})

    def advance(self, t: float | None = None) -> None:
        t = now() if t is None else t
        while not self.complete:
            self._flush(t)
            if self.cur_end > t:
                break
            self._flush(self.cur_end)
            self._finish_phase()
            nxt = self._next_phase()
            if nxt == "COMPLETED":
                self._complete(self.cur_end, "FAILED" if self.first_failure else "SUCCEEDED")
                break
            self._start_phase(nxt, self.cur_end)
        self._flush(t)

    def _flush(self, t: float) -> None:
        if not self.events:
            return
        self.events.sort(key=lambda e: e[0])
        batch: list[dict[str, Any]] = []
        while self.events and self.events[0][0] <= t:
            et, kind, payload = self.events.pop(0)
            if kind == "log":
                if self.logs_enabled and self.logs_visible:
                    # CodeBuild writes one event per output line, newline included
                    batch.append({"timestamp": int(et * 1000), "message": payload + "\n"})
            else:
                if batch:
                    awsutil.put_log_events(self.account, self.region, self.log_group, self.log_stream, batch)
                    batch = []
                try:
                    payload()
                except Exception as e:  # a side effect must never kill the build loop
                    import sys

                    print(f"smk_sandbox: build action failed: {e!r}", file=sys.stderr)
        if batch:
            awsutil.put_log_events(self.account, self.region, self.log_group, self.log_stream, batch)

    def stop(self) -> None:
        t = now()
        self.advance(t)
        if self.complete:
            return
        self.events = []
        rec = self.phases[-1]
        rec["phaseStatus"] = "STOPPED"
        rec["endTime"] = dt(t)
        rec["durationInSeconds"] = int(round(t - self.cur_start))
        rec["contexts"] = [{"statusCode": "BUILD_STOPPED", "message": "Build was stopped by a StopBuild request"}]
        self._complete(t, "STOPPED")

    # ------------------------------------------------------------------ phases
    def _c(self, items: list[tuple[str, Any]], msg: str) -> None:
        # the timestamp is filled in when the line is scheduled; use a callable marker
        items.append(("clog", msg))

    def _run_phase(self, name: str, items: list[tuple[str, Any]], at: float) -> tuple[str, str, str]:
        res = self._run_phase_inner(name, items, at)
        # resolve [Container] prefixes with the times the lines will get
        n = len(items)
        span = max(self.duration * WEIGHTS.get(name, 0.0), 0.0)
        out: list[tuple[str, Any]] = []
        for k, (kind, payload) in enumerate(items):
            t = at + span * (k + 1) / (n + 2)
            if kind == "clog":
                out.append(("log", f"[Container] {_container_ts(t)} {payload}"))
            else:
                out.append((kind, payload))
        items[:] = out
        return res

    def _fault(self, name: str) -> bool:
        return self.fail_phase == name

    def _run_phase_inner(self, name: str, items: list[tuple[str, Any]], at: float) -> tuple[str, str, str]:
        if name == "QUEUED":
            return ("SUCCEEDED", "", "")
        if name == "PROVISIONING":
            def show_logs() -> None:
                if self.logs_enabled:
                    awsutil.ensure_log_stream(self.account, self.region, self.log_group, self.log_stream)
                self.logs_visible = True

            items.append(("action", show_logs))
            if self._fault(name):
                return ("FAILED", "CLIENT_ERROR", "sandbox fault: build_fail_phase=PROVISIONING")
            self._c(items, "Running on CodeBuild On-demand")
            self._c(items, "Waiting for agent ping")
            self._c(items, "Waiting for DOWNLOAD_SOURCE")
            return ("SUCCEEDED", "", "")
        if name == "DOWNLOAD_SOURCE":
            return self._download_source(items)
        if name in COMMAND_PHASES:
            return self._command_phase(name, items)
        if name == "UPLOAD_ARTIFACTS":
            if self._fault(name):
                self._c(items, "Phase complete: UPLOAD_ARTIFACTS State: FAILED")
                self._c(items, "Phase context status code: CLIENT_ERROR Message: sandbox fault: build_fail_phase=UPLOAD_ARTIFACTS")
                return ("FAILED", "CLIENT_ERROR", "sandbox fault: build_fail_phase=UPLOAD_ARTIFACTS")
            if (self.artifacts or {}).get("type", "NO_ARTIFACTS") != "NO_ARTIFACTS":
                self._c(items, "Expanding base directory path: .")
                self._c(items, "Assembling file list")
                self._c(items, "sm-kernel sandbox: artifacts are not uploaded (no files are produced in the sandbox)")
            self._c(items, "Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED")
            self._c(items, "Phase context status code:  Message: ")
            return ("SUCCEEDED", "", "")
        if name == "FINALIZING":
            if self._fault(name):
                return ("FAILED", "CLIENT_ERROR", "sandbox fault: build_fail_phase=FINALIZING")
            return ("SUCCEEDED", "", "")
        return ("SUCCEEDED", "", "")

    def _fail_source(self, items: list[tuple[str, Any]], code: str, msg: str) -> tuple[str, str, str]:
        self._c(items, "Phase complete: DOWNLOAD_SOURCE State: FAILED")
        self._c(items, f"Phase context status code: {code} Message: {msg}")
        return ("FAILED", code, msg)

    def _base_env(self) -> dict[str, str]:
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": "AWS_ECS_EC2",
            "CODEBUILD_BUILD_ARN": self.arn,
            "CODEBUILD_BUILD_ID": self.id,
            "CODEBUILD_BUILD_IMAGE": str(self.environment.get("image", "")),
            "CODEBUILD_BUILD_NUMBER": str(self.number),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": self.initiator,
            "CODEBUILD_KMS_KEY_ID": self.encryption_key,
            "CODEBUILD_LOG_PATH": self.log_stream,
            "CODEBUILD_PROJECT_UUID": hashlib.sha256(self.project_name.encode()).hexdigest()[:32],
            "CODEBUILD_RESOLVED_SOURCE_VERSION": self.source_version or "",
            "CODEBUILD_SOURCE_REPO_URL": str(self.source.get("location", "")),
            "CODEBUILD_SOURCE_VERSION": self.source_version or (
                f"arn:aws:s3:::{self.source.get('location', '')}" if self.source.get("type") == "S3" else ""),
            "CODEBUILD_SRC_DIR": self.src_dir,
            "CODEBUILD_START_TIME": str(int(self.t0 * 1000)),
            "HOME": "/root",
            "PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PWD": self.src_dir,
        }
        return env

    def _resolve_var(self, v: dict[str, Any]) -> tuple[str | None, str]:
        typ = v.get("type", "PLAINTEXT")
        val = str(v.get("value", ""))
        if typ == "PARAMETER_STORE":
            r = awsutil.ssm_parameter(self.account, self.region, val)
            return (r, f"parameter does not exist: {val}") if r is None else (r, "")
        if typ == "SECRETS_MANAGER":
            r = awsutil.secret_value(self.account, self.region, val)
            return (r, f"Secrets Manager can't find the specified secret: {val}") if r is None else (r, "")
        return val, ""

    def _download_source(self, items: list[tuple[str, Any]]) -> tuple[str, str, str]:
        self._c(items, "Phase is DOWNLOAD_SOURCE")
        self._c(items, f"CODEBUILD_SRC_DIR={self.src_dir}")
        if self._fault("DOWNLOAD_SOURCE"):
            return self._fail_source(items, "CLIENT_ERROR", "sandbox fault: build_fail_phase=DOWNLOAD_SOURCE")
        stype = self.source.get("type", "NO_SOURCE")
        seed_bytes = b""
        if stype == "S3":
            loc = str(self.source.get("location", ""))
            bucket, _, key = loc.partition("/")
            data, err = awsutil.s3_get(self.account, bucket, key)
            if data is None:
                if err == "NoSuchBucket":
                    msg = (f"NoSuchBucket: The specified bucket does not exist for primary source and source version "
                           f"arn:aws:s3:::{loc}")
                else:
                    msg = (f"error while downloading key {key}, error: NoSuchKey: The specified key does not exist. "
                           f"status code: 404 for primary source and source version arn:aws:s3:::{loc}")
                return self._fail_source(items, "CLIENT_ERROR", msg)
            seed_bytes = data
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    for info in zf.infolist():
                        if info.is_dir():
                            continue
                        name = posixpath.normpath(info.filename.replace("\\", "/").lstrip("/"))
                        if name.startswith("../") or name == "..":
                            continue
                        if info.file_size <= 8 * 1024 * 1024:
                            self.files[name] = zf.read(info)
                        else:
                            self.files[name] = b""
            except zipfile.BadZipFile:
                return self._fail_source(items, "CLIENT_ERROR", "zip: not a valid zip file")
        elif stype != "NO_SOURCE":
            return self._fail_source(
                items, "CLIENT_ERROR",
                f"sm-kernel sandbox: source type {stype} cannot be downloaded here; use S3 or NO_SOURCE",
            )
        self.source_digest = hashlib.sha256(seed_bytes).hexdigest()
        # buildspec
        spec_ref = str(self.source.get("buildspec") or "")
        inline = "\n" in spec_ref or spec_ref.lstrip().startswith("version")
        if inline:
            text = spec_ref
            self._c(items, "YAML location is /codebuild/readonly/buildspec.yml")
        elif spec_ref.startswith("arn:aws:s3:::"):
            b, _, k = spec_ref[len("arn:aws:s3:::"):].partition("/")
            data, err = awsutil.s3_get(self.account, b, k)
            if data is None:
                return self._fail_source(items, "YAML_FILE_ERROR", f"{err}: buildspec {spec_ref} not found")
            text = data.decode("utf-8", "replace")
            self._c(items, "YAML location is /codebuild/readonly/buildspec.yml")
        else:
            path = spec_ref or "buildspec.yml"
            if stype == "NO_SOURCE":
                return self._fail_source(items, "YAML_FILE_ERROR", "YAML_FILE_ERROR: buildspec is required for NO_SOURCE projects")
            data = self.files.get(path.lstrip("./")) if path.startswith("./") else self.files.get(path)
            if data is None:
                msg = f"stat {self.src_dir}/{path}: no such file or directory"
                return self._fail_source(items, "YAML_FILE_ERROR", msg)
            text = data.decode("utf-8", "replace")
            self._c(items, f"YAML location is {self.src_dir}/{path}")
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            return self._fail_source(items, "YAML_FILE_ERROR", f"yaml: {where}{getattr(e, 'problem', None) or e}")
        if not isinstance(spec, dict):
            return self._fail_source(items, "YAML_FILE_ERROR", "Expected Commands[0] to be of string type: found subkeys instead at line 1, value of the key tag on line 1 might be empty" if spec is None else "invalid buildspec: not a mapping")
        version = str(spec.get("version", ""))
        if version not in ("0.1", "0.2"):
            return self._fail_source(items, "YAML_FILE_ERROR", f"invalid buildSpec version: {version or 'missing version'}")
        phases = spec.get("phases") or {}
        if not isinstance(phases, dict):
            return self._fail_source(items, "YAML_FILE_ERROR", "phases must be a mapping")
        for pname, pbody in phases.items():
            if pname not in COMMAND_PHASES.values():
                return self._fail_source(items, "YAML_FILE_ERROR", f"unknown phase {pname!r} in buildspec")
            if pbody is not None and not isinstance(pbody, dict):
                return self._fail_source(items, "YAML_FILE_ERROR", f"phase {pname} must be a mapping")
            for key in ("commands", "finally"):
                cmds = (pbody or {}).get(key)
                if cmds is not None and not isinstance(cmds, list):
                    return self._fail_source(items, "YAML_FILE_ERROR", f"Expected {key} to be a list at phase {pname}")
        self.spec = spec
        # environment: buildspec < project < StartBuild override
        env = self._base_env()
        bs_env = spec.get("env") or {}
        for k, v in (bs_env.get("variables") or {}).items():
            env[str(k)] = "" if v is None else str(v)
        for k, v in (bs_env.get("parameter-store") or {}).items():
            r = awsutil.ssm_parameter(self.account, self.region, str(v))
            if r is None:
                return self._fail_source(items, "Decrypted Variables Error", f"parameter does not exist: {v}")
            env[str(k)] = r
        for k, v in (bs_env.get("secrets-manager") or {}).items():
            r = awsutil.secret_value(self.account, self.region, str(v))
            if r is None:
                return self._fail_source(items, "Secrets Manager Error", f"Secrets Manager can't find the specified secret: {v}")
            env[str(k)] = r
        for v in self.environment.get("environmentVariables") or []:
            val, err = self._resolve_var(v)
            if val is None:
                return self._fail_source(items, "Decrypted Variables Error", err)
            env[v["name"]] = val
        self._c(items, "Setting HTTP client timeout to higher timeout for S3 source")
        self._c(items, "Processing environment variables")
        self._c(items, "No runtime version selected in buildspec.")
        self._c(items, f"Moving to directory {self.src_dir}")
        self._c(items, "Unable to initialize cache download: no paths specified to be cached")
        self._c(items, "Registering with agent")
        present = [p for p in ("install", "pre_build", "build", "post_build") if p in phases]
        self._c(items, f"Phases found in YAML: {len(present)}")
        for p in present:
            self._c(items, f" {p.upper()}: {len((phases[p] or {}).get('commands') or [])} commands")
        self._c(items, "Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED")
        self._c(items, "Phase context status code:  Message: ")
        pending: list[tuple[str, Any]] = []
        self.docker = DockerSim(
            daemon=bool(self.environment.get("privilegedMode")) or not str(self.environment.get("type", "")).startswith("LINUX"),
            source_seed=self.source_digest,
            emit_action=lambda fn: pending.append(("action", fn)),
            account=self.account,
        )
        self.shell = Shell(env, lambda line: pending.append(("log", line)),
                           lambda fn: pending.append(("action", fn)), self.files, self.src_dir,
                           docker=self.docker, aws=self)
        self._pending = pending
        self.version01 = version == "0.1"
        return ("SUCCEEDED", "", "")

    def caller_identity_json(self) -> str:
        role = str(self.service_role or "")
        name = role.rsplit("/", 1)[-1] if role else "codebuild"
        return json.dumps({
            "UserId": f"AROASANDBOX:AWSCodeBuild-{self.uuid}",
            "Account": self.account,
            "Arn": f"arn:aws:sts::{self.account}:assumed-role/{name}/AWSCodeBuild-{self.uuid}",
        }, indent=4)

    def _command_phase(self, name: str, items: list[tuple[str, Any]]) -> tuple[str, str, str]:
        self._c(items, f"Entering phase {name}")
        body = ((self.spec or {}).get("phases") or {}).get(COMMAND_PHASES[name]) or {}
        commands = [str(c) for c in (body.get("commands") or []) if c is not None]
        finally_cmds = [str(c) for c in (body.get("finally") or []) if c is not None]
        on_failure = str(body.get("on-failure", "ABORT")).upper()
        sh = self.shell
        assert sh is not None
        sh.env["CODEBUILD_BUILD_SUCCEEDING"] = "1" if self.build_succeeding else "0"
        pending = self._pending
        failure: tuple[str, int] | None = None

        def run(cmd: str) -> int:
            shown = display_expand(cmd, sh.env)
            self._c(items, f"Running command {shown}")
            if self._fault(name):
                items.append(("log", f"sm-kernel sandbox: injected failure (build_fail_phase={name})"))
                return 1
            pending.clear()
            saved = dict(sh.env) if self.version01 else None
            status = sh.run(cmd)
            if saved is not None:
                sh.env.clear()
                sh.env.update(saved)
            items.extend(pending)
            pending.clear()
            return status

        cmds_to_run = commands if commands or not self._fault(name) else ["true"]
        for cmd in cmds_to_run:
            status = run(cmd)
            if status != 0:
                shown = display_expand(cmd, sh.env)
                self._c(items, f"Command did not exit successfully {shown} exit status {status}")
                failure = (shown, status)
                if on_failure != "CONTINUE":
                    break
        for cmd in finally_cmds:
            status = run(cmd)
            if status != 0 and failure is None:
                shown = display_expand(cmd, sh.env)
                self._c(items, f"Command did not exit successfully {shown} exit status {status}")
                failure = (shown, status)
        if failure is not None:
            shown, status = failure
            msg = f"Error while executing command: {shown}. Reason: exit status {status}"
            self._c(items, f"Phase complete: {name} State: FAILED")
            self._c(items, f"Phase context status code: COMMAND_EXECUTION_ERROR Message: {msg}")
            return ("FAILED", "COMMAND_EXECUTION_ERROR", msg)
        self._c(items, f"Phase complete: {name} State: SUCCEEDED")
        self._c(items, "Phase context status code:  Message: ")
        return ("SUCCEEDED", "", "")

    # ------------------------------------------------------------------ wire shape
    def to_dict(self) -> dict[str, Any]:
        region = self.region
        if self.logs_visible and self.logs_enabled:
            logs = {
                "groupName": self.log_group,
                "streamName": self.log_stream,
                "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                             f"#logEvent:group={self.log_group};stream={self.log_stream}"),
                "cloudWatchLogsArn": (f"arn:{awsutil.partition(region)}:logs:{region}:{self.account}:log-group:"
                                      f"{self.log_group}:log-stream:{self.log_stream}"),
                "cloudWatchLogs": {"status": "ENABLED"},
                "s3Logs": self.s3_logs,
            }
        else:
            logs = {
                "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logEvent:group=null;stream=null",
                "cloudWatchLogs": {"status": "ENABLED" if self.logs_enabled else "DISABLED"},
                "s3Logs": self.s3_logs,
            }
        d: dict[str, Any] = {
            "id": self.id,
            "arn": self.arn,
            "buildNumber": self.number,
            "startTime": dt(self.t0),
            "currentPhase": self.cur,
            "buildStatus": self.status,
            "projectName": self.project_name,
            "phases": copy.deepcopy(self.phases),
            "source": copy.deepcopy(self.source),
            "secondarySources": [],
            "secondarySourceVersions": [],
            "artifacts": {"location": ""} if self.artifacts.get("type", "NO_ARTIFACTS") == "NO_ARTIFACTS" else {
                "location": f"arn:aws:s3:::{self.artifacts.get('location', '')}"},
            "secondaryArtifacts": [],
            "cache": {"type": "NO_CACHE"},
            "environment": copy.deepcopy(self.environment),
            "serviceRole": self.service_role,
            "logs": logs,
            "timeoutInMinutes": self.timeout,
            "queuedTimeoutInMinutes": self.queued_timeout,
            "buildComplete": self.complete,
            "initiator": self.initiator,
            "encryptionKey": self.encryption_key,
        }
        if self.source_version:
            d["sourceVersion"] = self.source_version
        if self.end_time is not None:
            d["endTime"] = dt(self.end_time)
        if self.exported:
            d["exportedEnvironmentVariables"] = self.exported
        return d


# ---------------------------------------------------------------------- tick
def tick(t: float) -> None:
    for reg in list(SANDBOX.regions.values()):
        for b in list(reg.builds.values()):
            if not b.complete:
                b.advance(t)


# ---------------------------------------------------------------------- wire handlers
def _params(self: CodeBuildResponse) -> dict[str, Any]:
    try:
        p = json.loads(self.body or "{}")
    except ValueError:
        p = {}
    return p if isinstance(p, dict) else {}


def _project_arn(self: CodeBuildResponse, name: str) -> str:
    return f"arn:{awsutil.partition(self.region)}:codebuild:{self.region}:{self.current_account}:project/{name}"


def _find_project(self: CodeBuildResponse, name: str) -> Any:
    projects = self.codebuild_backend.codebuild_projects
    if name in projects:
        return projects[name]
    for p in projects.values():
        if p.arn == name:
            return p
    return None


def _check_role(self: CodeBuildResponse, role: str) -> str:
    if not role.startswith("arn:"):
        role = f"arn:{awsutil.partition(self.region)}:iam::{self.current_account}:role/{role}"
    r = awsutil.iam_role_by_arn(self.current_account, role)
    if r is None or not awsutil.role_trusts(r, "codebuild.amazonaws.com"):
        raise InvalidInputException(f"CodeBuild is not authorized to perform: sts:AssumeRole on {role}")
    return role


def _check_source(source: dict[str, Any]) -> None:
    stype = source.get("type")
    loc = source.get("location")
    if stype == "S3":
        if not loc or "/" not in str(loc).strip("/"):
            raise InvalidInputException(f"Invalid source location: {loc}")
    elif stype not in ("NO_SOURCE", "CODEPIPELINE") and not loc:
        raise InvalidInputException("Project source location is required")
    if stype == "NO_SOURCE" and not source.get("buildspec"):
        raise InvalidInputException("Project buildspec cannot be null or empty when source type is NO_SOURCE")


def create_project(self: CodeBuildResponse) -> ActionResult:
    p = _params(self)
    name = p["name"]
    if _find_project(self, name) is not None:
        raise ResourceAlreadyExistsException(f"Project already exists: {_project_arn(self, name)}")
    _check_source(p["source"])
    role = _check_role(self, p["serviceRole"])
    art = p.get("artifacts") or {}
    if art.get("type") == "S3" and not art.get("location"):
        raise InvalidInputException("Artifacts location is required for S3 artifacts")
    if art.get("type") == "NO_ARTIFACTS" and art.get("location"):
        raise InvalidInputException("Invalid artifacts: artifact type NO_ARTIFACTS should have null location")
    meta = self.codebuild_backend.create_project(
        project_name=name,
        description=p.get("description"),
        project_source=p["source"],
        artifacts=art,
        environment=p["environment"],
        service_role=role,
        tags=p.get("tags"),
        cache=p.get("cache"),
        timeout=p.get("timeoutInMinutes") or 60,
        queued_timeout=p.get("queuedTimeoutInMinutes") or 480,
        source_version=p.get("sourceVersion"),
        logs_config=p.get("logsConfig"),
        vpc_config=p.get("vpcConfig"),
    )
    meta["tags"] = p.get("tags") or []
    if p.get("encryptionKey"):
        meta["encryptionKey"] = p["encryptionKey"]
    return ActionResult({"project": meta})


def update_project(self: CodeBuildResponse) -> ActionResult:
    p = _params(self)
    proj = _find_project(self, p["name"])
    if proj is None:
        raise ResourceNotFoundException(f"Project cannot be found: {_project_arn(self, p['name'])}")
    meta = proj.project_metadata
    if "source" in p:
        _check_source(p["source"])
    if "serviceRole" in p:
        meta["serviceRole"] = _check_role(self, p["serviceRole"])
        proj.service_role = meta["serviceRole"]
    for key in ("description", "source", "artifacts", "environment", "cache", "timeoutInMinutes",
                "queuedTimeoutInMinutes", "sourceVersion", "logsConfig", "vpcConfig", "tags",
                "secondarySources", "secondaryArtifacts", "encryptionKey", "concurrentBuildLimit"):
        if key in p:
            meta[key] = p[key]
    from moto.core.utils import unix_time

    meta["lastModifiedDate"] = unix_time()
    return ActionResult({"project": meta})


def batch_get_projects(self: CodeBuildResponse) -> ActionResult:
    names = _params(self).get("names") or []
    found, missing = [], []
    for n in names:
        proj = _find_project(self, n)
        (found.append(proj.project_metadata) if proj is not None else missing.append(n))
    return ActionResult({"projects": found, "projectsNotFound": missing})


def start_build(self: CodeBuildResponse) -> ActionResult:
    p = _params(self)
    name = p["projectName"]
    proj = _find_project(self, name)
    if proj is None:
        raise ResourceNotFoundException(f"Project cannot be found: {_project_arn(self, name)}")
    meta = proj.project_metadata
    stype = p.get("sourceTypeOverride") or (meta.get("source") or {}).get("type")
    if p.get("sourceLocationOverride") and stype == "S3" and "/" not in p["sourceLocationOverride"].strip("/"):
        raise InvalidInputException(f"Invalid source location: {p['sourceLocationOverride']}")
    if p.get("serviceRoleOverride"):
        p["serviceRoleOverride"] = _check_role(self, p["serviceRoleOverride"])
    reg = SANDBOX.region(self.current_account, self.region)
    token = p.get("idempotencyToken")
    if token:
        for b in reg.builds.values():
            if getattr(b, "token", None) == (meta["name"], token):
                return ActionResult({"build": b.to_dict()})
    number = reg.build_numbers.get(meta["name"], 0) + 1
    reg.build_numbers[meta["name"]] = number
    p["_initiator"] = "sm-kernel-sandbox"
    build = Build(self.current_account, self.region, meta, p, number)
    if token:
        build.token = (meta["name"], token)  # type: ignore[attr-defined]
    reg.builds[build.id] = build
    return ActionResult({"build": build.to_dict()})


def batch_get_builds(self: CodeBuildResponse) -> ActionResult:
    ids = _params(self).get("ids") or []
    reg = SANDBOX.region(self.current_account, self.region)
    found, missing = [], []
    for i in ids:
        b = reg.builds.get(i)
        if b is None:
            b = next((x for x in reg.builds.values() if x.arn == i), None)
        if b is None:
            missing.append(i)
            continue
        b.advance()
        found.append(b.to_dict())
    return ActionResult({"builds": found, "buildsNotFound": missing})


def stop_build(self: CodeBuildResponse) -> ActionResult:
    bid = _params(self)["id"]
    reg = SANDBOX.region(self.current_account, self.region)
    b = reg.builds.get(bid) or next((x for x in reg.builds.values() if x.arn == bid), None)
    if b is None:
        if ":" not in bid:
            raise InvalidInputException("Invalid build ID provided")
        raise ResourceNotFoundException(f"Build {bid} does not exist")
    b.stop()
    return ActionResult({"build": b.to_dict()})


def _sorted_ids(builds: list[Build], order: str | None) -> list[str]:
    bs = sorted(builds, key=lambda b: b.t0, reverse=(order or "DESCENDING") == "DESCENDING")
    return [b.id for b in bs]


def list_builds(self: CodeBuildResponse) -> ActionResult:
    p = _params(self)
    reg = SANDBOX.region(self.current_account, self.region)
    return ActionResult({"ids": _sorted_ids(list(reg.builds.values()), p.get("sortOrder"))})


def list_builds_for_project(self: CodeBuildResponse) -> ActionResult:
    p = _params(self)
    name = p["projectName"]
    if _find_project(self, name) is None:
        raise ResourceNotFoundException(f"The provided project {_project_arn(self, name)} does not exist")
    reg = SANDBOX.region(self.current_account, self.region)
    builds = [b for b in reg.builds.values() if b.project_name == name]
    return ActionResult({"ids": _sorted_ids(builds, p.get("sortOrder"))})


def install() -> None:
    handlers: dict[str, Callable[..., Any]] = {
        "create_project": create_project,
        "update_project": update_project,
        "batch_get_projects": batch_get_projects,
        "start_build": start_build,
        "batch_get_builds": batch_get_builds,
        "stop_build": stop_build,
        "list_builds": list_builds,
        "list_builds_for_project": list_builds_for_project,
    }
    for name, fn in handlers.items():
        setattr(CodeBuildResponse, name, fn)
