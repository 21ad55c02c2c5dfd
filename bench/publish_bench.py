#!/usr/bin/env python3
"""Publish benchmark driver, run by bench/publish.sh against a sandbox it started.

Sets up the sandbox (IAM role with the three policies of policies/, default bucket, Studio
domain), runs `sm-kernel publish` (a first publish, then no-op re-publishes) and, as the
baseline, `sm-docker build` 0.6.0 (twice; its second run rebuilds), timestamping every output
line as it is read. It then reads the builds' CloudWatch log events and BatchGetBuilds end
times from the sandbox and reports:

  - log latency: arrival time of a build log line on the tool's output minus the line's
    CloudWatch event timestamp (the last line, and the median / max over all lines);
  - build end -> exit: the process exit time minus the build's endTime;
  - re-run wall time: the second publish (sm-kernel: no-op; sm-docker: rebuilds).

Only the Python standard library and boto3 (from the sandbox venv) are used.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import selectors
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"

TARGETS = {  # tracker issue 5
    "last_line": 1.0,
    "end_to_exit": 2.0,
    "noop": 2.0,
}

# sm-kernel plain mode: "[HH:MM:SS]   │ LINE"
SMK_LOG = re.compile(r"^\[\d\d:\d\d:\d\d\]   │ (.*)$")
SMK_BUILD_ID = re.compile(r"build (\S+:[0-9a-f-]{36}) started")


def log(msg: str) -> None:
    print(f"publish_bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- sandbox
class Sandbox:
    def __init__(self, url: str):
        self.url = url
        cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"})
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        self._cfg = cfg

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.url, config=self._cfg)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")


def setup(sb: Sandbox, role_name: str, policies_dir: str) -> tuple[str, str]:
    """Role (trusting SageMaker and CodeBuild, with the three inline policies), the default
    bucket and an InService Studio domain. Re-runnable on a sandbox that already has them."""
    iam = sb.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": ["sagemaker.amazonaws.com", "codebuild.amazonaws.com"]},
        "Action": "sts:AssumeRole"}]}
    try:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    for name in ("codebuild-permissions", "sagemaker-domain", "sm-kernel-extras"):
        with open(os.path.join(policies_dir, f"{name}.json")) as f:
            iam.put_role_policy(RoleName=role_name, PolicyName=f"sm-kernel-{name}", PolicyDocument=f.read())
    s3 = sb.client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    sm = sb.client("sagemaker")
    domain_id = sm.create_domain(
        DomainName="bench-studio", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role_arn},
        SubnetIds=["subnet-0bench"], VpcId="vpc-0bench")["DomainId"]
    deadline = time.time() + 60
    while sm.describe_domain(DomainId=domain_id)["Status"] != "InService":
        if time.time() > deadline:
            raise SystemExit(f"domain {domain_id} did not become InService")
        time.sleep(0.2)
    return role_arn, domain_id


def all_build_ids(cb) -> set[str]:
    ids: set[str] = set()
    kw: dict[str, Any] = {}
    while True:
        page = cb.list_builds(**kw)
        ids.update(page.get("ids", []))
        if not page.get("nextToken"):
            return ids
        kw["nextToken"] = page["nextToken"]


def log_events(logs, group: str, stream: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        page = logs.get_log_events(**kw)
        events += page["events"]
        if not page["events"] or page["nextForwardToken"] == token:
            return events
        token = page["nextForwardToken"]


# ---------------------------------------------------------------------- running a tool
def run_tool(argv: list[str], env: dict[str, str], cwd: str | None, out_path: str) -> dict[str, Any]:
    """Runs argv; records (time.time(), stream, line) for every output line as its bytes
    arrive (unbuffered reads of both pipes), the start and the exit time."""
    t_start = time.time()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    sel = selectors.DefaultSelector()
    bufs = {"stdout": b"", "stderr": b""}
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    lines: list[tuple[float, str, str]] = []
    open_streams = 2
    while open_streams:
        for key, _ in sel.select():
            chunk = os.read(key.fileobj.fileno(), 65536)
            now = time.time()
            name = key.data
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                if bufs[name]:
                    lines.append((now, name, bufs[name].decode("utf-8", "replace")))
                    bufs[name] = b""
                continue
            data = bufs[name] + chunk
            *complete, rest = data.split(b"\n")
            for raw in complete:
                lines.append((now, name, raw.decode("utf-8", "replace").rstrip("\r")))
            bufs[name] = rest
    rc = proc.wait()
    t_exit = time.time()
    with open(out_path, "w") as f:
        for t, name, text in lines:
            f.write(f"{t:.3f} {name} {text}\n")
    return {"argv": argv, "t_start": t_start, "t_exit": t_exit, "rc": rc, "lines": lines, "out": out_path}


def match_log_lines(run: dict[str, Any], events: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    """Pairs each CloudWatch event with the output line that showed it (in order) and returns
    latency statistics. Empty messages are left out (they cannot be told apart from the
    tools' own blank lines)."""
    shown: list[tuple[float, str]] = []
    for t, stream, text in run["lines"]:
        if tool == "sm-kernel":
            if stream != "stderr":
                continue
            m = SMK_LOG.match(text)
            if m:
                shown.append((t, m.group(1)))
        else:  # sm-docker prints event["message"].rstrip() on stdout, progress dots may precede
            if stream == "stdout":
                shown.append((t, text))
    cursor = 0
    lat: list[float] = []
    missing = 0
    last: float | None = None
    counted = 0
    for ev in events:
        msg = ev["message"].rstrip("\n").rstrip("\r")
        if tool == "sm-docker":
            msg = msg.rstrip()
        if not msg.strip():
            continue
        counted += 1
        found = None
        for i in range(cursor, len(shown)):
            text = shown[i][1]
            if text == msg or (tool == "sm-docker" and text.lstrip(".") == msg):
                found = i
                break
        if found is None:
            missing += 1
            last = None
            continue
        cursor = found + 1
        d = shown[found][0] - ev["timestamp"] / 1000.0
        lat.append(d)
        last = d
    return {
        "events": counted,
        "shown": len(lat),
        "missing": missing,
        "last": last,
        "median": statistics.median(lat) if lat else None,
        "max": max(lat) if lat else None,
    }


def build_info(sb: Sandbox, build_id: str) -> dict[str, Any]:
    b = sb.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
    return {
        "id": build_id,
        "status": b["buildStatus"],
        "start": b["startTime"].timestamp(),
        "end": b["endTime"].timestamp() if b.get("endTime") else None,
        "group": b["logs"].get("groupName"),
        "stream": b["logs"].get("streamName"),
        "phases": [(p["phaseType"], p.get("phaseStatus")) for p in b.get("phases", [])],
        "failure": [f"{p['phaseType']}: " + "; ".join(c.get("message", "") for c in p.get("contexts", []))
                    for p in b.get("phases", []) if p.get("phaseStatus") == "FAILED"],
    }


def measure(sb: Sandbox, tool: str, argv: list[str], env: dict[str, str], cwd: str | None,
            out_path: str) -> dict[str, Any]:
    cb = sb.client("codebuild")
    before = all_build_ids(cb)
    run = run_tool(argv, env, cwd, out_path)
    new = sorted(all_build_ids(cb) - before)
    res: dict[str, Any] = {"rc": run["rc"], "wall": run["t_exit"] - run["t_start"], "out": out_path,
                           "builds": len(new)}
    log(f"{tool}: exit {run['rc']} after {res['wall']:.2f} s, {len(new)} build(s); output in {out_path}")
    if len(new) > 1:
        ids = [m.group(1) for _, s, t in run["lines"] if (m := SMK_BUILD_ID.search(t))]
        new = [i for i in new if i in ids] or new[-1:]
    if new:
        bi = build_info(sb, new[-1])
        res["build"] = bi
        if bi["end"] is None:
            log(f"{tool}: build {bi['id']} has no endTime (status {bi['status']})")
        else:
            res["end_to_exit"] = run["t_exit"] - bi["end"]
            res["build_seconds_real"] = bi["end"] - bi["start"]
            res["overhead"] = res["wall"] - res["build_seconds_real"]
        if bi["group"] and bi["stream"]:
            events = log_events(sb.client("logs"), bi["group"], bi["stream"])
            res["logs"] = match_log_lines(run, events, tool)
        if tool == "sm-kernel":
            for _, s, text in run["lines"]:
                if s == "stdout" and text.strip().startswith("time "):
                    res["step_times"] = text.strip()[len("time"):].strip()
        if tool == "sm-kernel" and bi["end"] is not None:
            # the first line after the build ended that is not a build log/phase line: the tool
            # has seen the end and moved on (the rest is SageMaker registration)
            for t, s, text in run["lines"]:
                if t >= bi["end"] and s == "stderr" and not SMK_LOG.match(text) and ": build:" not in text:
                    res["end_to_next_step"] = t - bi["end"]
                    res["next_step_line"] = text
                    break
    return res


# ---------------------------------------------------------------------- report
def fmt(v: float | None, unit: str = " s") -> str:
    return "—" if v is None else f"{v:.2f}{unit}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    return f"{a / b:.1f}×"


def verdict(v: float | None, target: float, strict: bool = False) -> str:
    if v is None:
        return "n/a"
    ok = v < target if strict else v <= target
    return "pass" if ok else "FAIL"


def table(r: dict[str, Any]) -> str:
    k1, k2, d1, d2 = r["smk_first"], r["smk_noop"], r.get("smd_first"), r.get("smd_second")
    kl, dl = k1.get("logs", {}), (d1 or {}).get("logs", {})
    noop = statistics.median([x["wall"] for x in k2]) if k2 else None
    rows = [
        ("last build log line → printed", kl.get("last"), dl.get("last"), "≤ 1 s",
         verdict(kl.get("last"), TARGETS["last_line"])),
        ("log line → printed, median", kl.get("median"), dl.get("median"), "", ""),
        ("log line → printed, max", kl.get("max"), dl.get("max"), "", ""),
        ("build end → exit", k1.get("end_to_exit"), (d1 or {}).get("end_to_exit"), "≤ 2 s",
         verdict(k1.get("end_to_exit"), TARGETS["end_to_exit"])),
        ("build end → next step (sm-kernel: left the build loop)", k1.get("end_to_next_step"), None, "", ""),
        ("build end → exit, SageMaker waits 0 (changed context)", r.get("smk_zero_wait", {}).get("end_to_exit"),
         None, "≤ 2 s", verdict(r.get("smk_zero_wait", {}).get("end_to_exit"), TARGETS["end_to_exit"])
         if r.get("smk_zero_wait") else ""),
        ("re-run wall time (sm-kernel: no-op, median of %d; sm-docker: rebuilds)" % len(k2), noop,
         (d2 or {}).get("wall"), "< 2 s", verdict(noop, TARGETS["noop"], strict=True)),
        ("first run wall time", k1.get("wall"), (d1 or {}).get("wall"), "", ""),
        ("first run wall − build duration (startTime→endTime)", k1.get("overhead"), (d1 or {}).get("overhead"), "", ""),
    ]
    out = ["| metric | sm-kernel | sm-docker 0.6.0 | ratio (sm-docker / sm-kernel) | target (sm-kernel) | result |",
           "|---|---|---|---|---|---|"]
    for name, a, b, target, res in rows:
        out.append(f"| {name} | {fmt(a)} | {fmt(b) if d1 else 'not run'} | {ratio(b, a)} | {target} | {res} |")
    return "\n".join(out)


def details(r: dict[str, Any]) -> str:
    lines = []
    k1 = r["smk_first"]
    b = k1.get("build", {})
    kl = k1.get("logs", {})
    lines.append(f"- sm-kernel first publish: exit {k1['rc']}, build {b.get('status')} "
                 f"({fmt(k1.get('build_seconds_real'))} startTime→endTime), "
                 f"{kl.get('shown')}/{kl.get('events')} non-empty log lines matched on stderr.")
    if k1.get("next_step_line"):
        lines.append(f"  First line after the build ended: `{k1['next_step_line']}`.")
    if k1.get("step_times"):
        lines.append(f"  Its summary's step times: `{k1['step_times']}`.")
    z = r.get("smk_zero_wait")
    if z:
        lines.append(f"- sm-kernel publish of a changed context with the sandbox's image, image-version and "
                     f"domain waits at 0: exit {z['rc']}, {z['builds']} build, build end → exit "
                     f"{fmt(z.get('end_to_exit'))}; step times `{z.get('step_times')}`.")
    noops = r["smk_noop"]
    if noops:
        lines.append("- sm-kernel no-op re-publishes: " + ", ".join(
            f"{x['wall']:.2f} s (exit {x['rc']}, {x['builds']} build)" for x in noops) + ".")
    for key, label in (("smd_first", "sm-docker first run"), ("smd_second", "sm-docker second run")):
        d = r.get(key)
        if not d:
            continue
        b = d.get("build", {})
        dl = d.get("logs", {})
        failed = [p for p, s in b.get("phases", []) if s == "FAILED"]
        lines.append(f"- {label}: exit {d['rc']}, build {b.get('status')}"
                     + (f" (failed: {' / '.join(b.get('failure') or failed)})" if failed else "")
                     + f", {fmt(d.get('build_seconds_real'))} startTime→endTime, wall {d['wall']:.2f} s, "
                     f"build end → exit {fmt(d.get('end_to_exit'))}, "
                     f"{dl.get('shown')}/{dl.get('events')} non-empty log lines matched on stdout.")
    if r.get("smd_error"):
        lines.append(f"- sm-docker: {r['smd_error']}")
    return "\n".join(lines)


def readme_section(r: dict[str, Any], args: argparse.Namespace) -> str:
    cfg = r["sandbox_config"]
    return f"""## Publish against the sandbox

Measured by `bench/publish.sh` (driver: `bench/publish_bench.py`) on {r['date']}, {r['machine']}.
Sandbox: `tests/sandbox` (moto 5.2.5 + extensions), config `{json.dumps(cfg, sort_keys=True)}`.
sm-kernel binary: `{args.binary_label}`. Baseline: sm-docker 0.6.0 (PyPI
`sagemaker-studio-image-build==0.6.0`, its own venv), same sandbox, same context
(`examples/python`, copied), `--build-arg PANDAS_VERSION=2.2.3` as kernel.toml gives sm-kernel.

Reproduce:

```sh
{args.command}
```

What it runs (URL, ROLE_ARN, DOMAIN_ID from the sandbox; credentials `testing`, `AWS_REGION=us-east-1`):

```sh
sm-kernel --endpoint-url URL --no-progress publish --config CTX/kernel.toml --role ROLE_ARN --domain-id DOMAIN_ID
cd CTX && AWS_ENDPOINT_URL=URL PYTHONUNBUFFERED=1 \\
    sm-docker build . --build-arg PANDAS_VERSION=2.2.3 --role {args.role_name} --bucket {BUCKET}
```

{table(r)}

{details(r)}

How it is measured:

- Every output line of the tool is timestamped (`time.time()`) when its bytes are read from
  the pipe (unbuffered reads; sm-docker runs with `PYTHONUNBUFFERED=1`, as on a terminal, or its
  prints would sit in a block buffer). Build log lines are the `  │ LINE` lines on sm-kernel's
  stderr (`--no-progress`) and the plain `print`ed lines on sm-docker's stdout.
- After each run the build's CloudWatch events are read back (`logs:GetLogEvents`) and each
  event is paired, in order, with the line that printed it: latency = arrival − event
  timestamp. The sandbox stamps an event with the simulated moment the line was written, and
  writes it lazily on the next request, exactly as a poller would see it on AWS.
- Build end → exit: process exit time − the build's `endTime` (BatchGetBuilds).
- sm-kernel's "build end → exit" includes the SageMaker registration after the build
  (verify-image, image, image-version, app-image-config, domain-attach) and therefore the sandbox's
  simulated waits for those resources (`image_seconds`, `image_version_seconds`,
  `domain_update_seconds` above); "build end → next step" is the part spent noticing the build ended,
  and the "SageMaker waits 0" row repeats the publish after adding a file to the context (a new
  content hash: new build, image version and domain update) with those three waits set to 0, to
  show what sm-kernel itself adds after a build.
  sm-docker does nothing after the build but delete its project and zip, so it has no such wait.
- sm-docker's re-run is not a no-op: it always zips, uploads, creates a project and rebuilds.
  In the sandbox its build fails in POST_BUILD (`docker push … no basic auth credentials`):
  its buildspec logs in with `$(aws ecr get-login …)`, which only AWS CLI v1 has, and the
  sandbox simulates CLI v2 (`aws: error: argument operation: Invalid choice`). The build
  still runs every phase for the full `build_seconds`, like sm-kernel's, and sm-docker exits 0
  anyway (its known behaviour), so the timings compare like for like.
- sm-docker reads logs every 10 s and the build status every 30 s, then sleeps 10 s more
  after the build ends: with a 10 s build its first log read usually comes after the build
  has ended, so all lines arrive in one batch and its "last line" figure depends on where
  that 10 s tick falls (anywhere in 0–10 s); the median over all lines is the steadier measure.
- Endpoint: sm-kernel gets `--endpoint-url`; sm-docker gets `AWS_ENDPOINT_URL` (its pinned
  dependency resolves to botocore {r.get('smd_botocore', '?')}, which honours it; nothing patched), plus an
  `AWS_CONFIG_FILE` written by the script with `s3 = addressing_style = path`. Credentials are
  dummies (`testing`); no request leaves 127.0.0.1.
"""


def update_readme(path: str, section: str) -> None:
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    start = text.find("\n## Publish against the sandbox")
    if text.startswith("## Publish against the sandbox"):
        start = 0
    if start >= 0:
        nxt = text.find("\n## ", start + 1)
        head = text[:start].rstrip("\n")
        tail = text[nxt:] if nxt >= 0 else ""
        text = head + "\n\n" + section.rstrip("\n") + "\n" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--sm-kernel", required=True)
    ap.add_argument("--binary-label", required=True)
    ap.add_argument("--sm-docker", default="", help="sm-docker executable; empty: skip the baseline")
    ap.add_argument("--ctx", required=True, help="kernel context (with kernel.toml) to publish")
    ap.add_argument("--smd-ctx", required=True, help="the same context for sm-docker (it zips the cwd)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--policies", required=True)
    ap.add_argument("--role-name", default="Exec")
    ap.add_argument("--build-seconds", type=float, default=10)
    ap.add_argument("--sandbox-config", default="{}", help="extra JSON for POST /_sandbox/config")
    ap.add_argument("--noop-runs", type=int, default=3)
    ap.add_argument("--zero-wait-pass", type=int, default=1)
    ap.add_argument("--readme", default="")
    ap.add_argument("--command", default="bench/publish.sh")
    args = ap.parse_args()

    sb = Sandbox(args.endpoint)
    cfg = {"build_seconds": args.build_seconds, **json.loads(args.sandbox_config)}
    sandbox_config = sb.control("POST", "/_sandbox/config", cfg)
    role_arn, domain_id = setup(sb, args.role_name, args.policies)
    log(f"role {role_arn}, domain {domain_id}, config {json.dumps(sandbox_config)}")

    aws_config = os.path.join(args.work, "aws-config")
    with open(aws_config, "w") as f:
        f.write(f"[default]\nregion = {REGION}\ns3 =\n    addressing_style = path\n")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_KERNEL_"))}
    base_env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": aws_config,
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(args.work, "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1",
    })

    r: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "sandbox_config": sandbox_config,
    }

    smk = [args.sm_kernel, "--endpoint-url", args.endpoint, "--no-progress", "publish",
           "--config", os.path.join(args.ctx, "kernel.toml"), "--role", role_arn, "--domain-id", domain_id]
    r["smk_first"] = measure(sb, "sm-kernel", smk, base_env, None, os.path.join(args.work, "sm-kernel-1.log"))
    if r["smk_first"]["rc"] != 0:
        log(f"sm-kernel's first publish failed (exit {r['smk_first']['rc']}); see {r['smk_first']['out']}")
    r["smk_noop"] = []
    for i in range(args.noop_runs):
        x = measure(sb, "sm-kernel", smk, base_env, None, os.path.join(args.work, f"sm-kernel-noop-{i + 1}.log"))
        r["smk_noop"].append(x)

    if args.sm_docker:
        smd_env = dict(base_env, AWS_ENDPOINT_URL=args.endpoint, PYTHONUNBUFFERED="1")
        try:
            r["smd_botocore"] = subprocess.run(
                [os.path.join(os.path.dirname(args.sm_docker), "python"), "-c",
                 "import botocore; print(botocore.__version__)"],
                capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            r["smd_botocore"] = "?"
        smd = [args.sm_docker, "build", ".", "--build-arg", "PANDAS_VERSION=2.2.3",
               "--role", args.role_name, "--bucket", BUCKET]
        for key, n in (("smd_first", 1), ("smd_second", 2)):
            x = measure(sb, "sm-docker", smd, smd_env, args.smd_ctx, os.path.join(args.work, f"sm-docker-{n}.log"))
            r[key] = x
            if x["builds"] == 0:
                tail = [t for _, _, t in run_tail(x["out"])]
                r["smd_error"] = (f"sm-docker started no build (exit {x['rc']}): " + " / ".join(tail[-5:]))
                r.pop("smd_first", None) if n == 1 else None
                break

    if args.zero_wait_pass:
        # sm-kernel's own share of "build end -> exit": the same publish of a changed context
        # (a new file: new content hash, so a new build, image version and domain update) with
        # the sandbox's SageMaker waits at 0
        sb.control("POST", "/_sandbox/config", {"image_seconds": 0, "image_version_seconds": 0,
                                                "domain_update_seconds": 0})
        with open(os.path.join(args.ctx, "bench-revision.txt"), "w") as f:
            f.write(f"{time.time()}\n")
        r["smk_zero_wait"] = measure(sb, "sm-kernel", smk, base_env, None,
                                     os.path.join(args.work, "sm-kernel-zero-wait.log"))
        sb.control("POST", "/_sandbox/config", sandbox_config)

    with open(os.path.join(args.work, "result.json"), "w") as f:
        json.dump(r, f, indent=2, default=str)
    print()
    print(table(r))
    print()
    print(details(r))
    if args.readme:
        update_readme(args.readme, readme_section(r, args))
        log(f"wrote the section 'Publish against the sandbox' of {args.readme}")
    ok = r["smk_first"]["rc"] == 0 and all(x["rc"] == 0 for x in r["smk_noop"])
    return 0 if ok else 1


def run_tail(path: str) -> list[tuple[str, str, str]]:
    out = []
    with open(path) as f:
        for line in f:
            t, s, text = (line.rstrip("\n").split(" ", 2) + ["", ""])[:3]
            out.append((t, s, text))
    return out


if __name__ == "__main__":
    sys.exit(main())
