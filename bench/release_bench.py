"""Release benchmark: `sm-kernel publish` of N kernels (N = 1, 2, 4, 8) against the sandbox,
run as a release (the default: every kernel builds at once, one domain update per domain)
and, side by side on the same sandbox and contexts, with `--jobs 1` (the kernels one after
another: the sequential baseline, what publish did before the release runner). Reports wall
times, their ratio, and the number of UpdateDomain calls. Driven by bench/release.sh."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from publish_bench import Sandbox, setup, update_readme  # noqa: E402


def manifest(work: str, n: int, role: str, domain: str, tag: str) -> str:
    text = f'[defaults]\nrole = "{role}"\ndomain-id = "{domain}"\nregion = "us-east-1"\napp = "jupyterlab"\n'
    for i in range(n):
        ctx = os.path.join(work, f"{tag}-k{i}")
        os.makedirs(ctx, exist_ok=True)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            # A base that passes the in-image checks (user 1000:100, JupyterLab 4), as a real
            # Studio image must; the sandbox answers the checks from what the Dockerfile declares.
            f.write("FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu\nCOPY app.py /opt/app.py\n")
        with open(os.path.join(ctx, "app.py"), "w") as f:
            f.write(f"print({tag!r}, {i})\n")
        text += f'\n[[kernel]]\nname = "bench-{tag}-k{i}"\ncontext = "{ctx}"\n'
    path = os.path.join(work, f"{tag}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(sb: Sandbox, binary: str, path: str, extra: list[str], url: str) -> tuple[float, int]:
    before = len(sb.control("GET", "/_sandbox/requests"))
    env = {"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    t0 = time.monotonic()
    p = subprocess.run([binary, "--endpoint-url", url, "--no-progress", "--config", path,
                        "publish", *extra], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"publish {path} {extra} exited {p.returncode}:\n{p.stderr[-3000:]}")
    reqs = sb.control("GET", "/_sandbox/requests")[before:]
    return wall, sum(1 for r in reqs if r["operation"] == "UpdateDomain")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--sm-kernel", required=True)
    ap.add_argument("--binary-label", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--policies", required=True)
    ap.add_argument("--build-seconds", type=float, default=10)
    ap.add_argument("--domain-seconds", type=float, default=3)
    ap.add_argument("--sizes", default="1,2,4,8")
    ap.add_argument("--readme")
    a = ap.parse_args()
    sb = Sandbox(a.endpoint)
    rows = []
    for n in [int(x) for x in a.sizes.split(",")]:
        walls = {}
        for mode, extra in (("release", []), ("sequential", ["--jobs", "1"])):
            sb.control("POST", "/_sandbox/reset")
            sb.control("POST", "/_sandbox/config", {
                "build_seconds": a.build_seconds, "image_seconds": 0.5,
                "image_version_seconds": 1, "domain_update_seconds": a.domain_seconds})
            role, domain = setup(sb, "BenchExec", a.policies)
            path = manifest(a.work, n, role, domain, f"{mode}{n}")
            walls[mode] = run(sb, a.sm_kernel, path, extra, a.endpoint)
            print(f"release_bench: {n} kernels, {mode}: {walls[mode][0]:.1f} s, "
                  f"{walls[mode][1]} UpdateDomain", file=sys.stderr)
        rows.append((n, walls["release"], walls["sequential"]))
    lines = [
        "## Releases of many kernels (`release.sh`)",
        "",
        "`bench/release.sh` publishes N kernels (each its own context, one Studio domain) against",
        f"the sandbox with a simulated build of {a.build_seconds:g} s and a domain update of "
        f"{a.domain_seconds:g} s, once as a release (the default: every",
        "kernel at once, one UpdateDomain for the domain) and once with `--jobs 1` (one kernel",
        "after another: the sequential baseline, which is what publish did before the release",
        f"runner), side by side on the same sandbox. sm-kernel: {a.binary_label}.",
        "",
        "| kernels | release | `--jobs 1` (baseline) | baseline / release | UpdateDomain calls (release / baseline) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, (rw, ru), (sw, su) in rows:
        lines.append(f"| {n} | {rw:.1f} s | {sw:.1f} s | {sw / rw:.2f}× | {ru} / {su} |")
    lines += ["",
              "A release's wall time stays near one build plus one domain update however many",
              "kernels it has; the baseline grows with every kernel. Figures are simulated time",
              "plus sm-kernel's own overhead, so they measure the orchestration, not CodeBuild.",
              "The baseline still merges the domain update (one per release); publish before the",
              "release runner also updated the domain once per kernel, so against that tool the",
              "gap is larger by one domain update per extra kernel."]
    section = "\n".join(lines) + "\n"
    print(section)
    if a.readme:
        text = open(a.readme).read()
        start = text.find("\n## Releases of many kernels")
        if start >= 0:
            nxt = text.find("\n## ", start + 1)
            text = text[:start].rstrip("\n") + "\n\n" + section + (text[nxt:] if nxt >= 0 else "")
            with open(a.readme, "w") as f:
                f.write(text)
        else:
            update_readme_append(a.readme, section)
    return 0


def update_readme_append(path: str, section: str) -> None:
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n\n" + section)


if __name__ == "__main__":
    sys.exit(main())
