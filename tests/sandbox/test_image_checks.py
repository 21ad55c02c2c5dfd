"""The docker simulator answers sm-kernel's in-image checks from the Dockerfile.

The check lines are the ones sm-kernel renders (read from its buildspec
snapshots in src/snapshots), run through the sandbox shell after a simulated
`docker build`; nothing from the Dockerfile is executed."""
from __future__ import annotations

import pathlib

import pytest
import yaml

from smk_sandbox.dockersim import DockerSim
from smk_sandbox.shell import Shell

SNAPSHOTS = pathlib.Path(__file__).resolve().parents[2] / "src" / "snapshots"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-studio-k:t"
MARKER = "sm-kernel-check: "


def rendered(app: str) -> list[str]:
    text = (SNAPSHOTS / f"sm_kernel__buildspec__tests__snapshot_{app}.snap").read_text()
    doc = yaml.safe_load(text.split("\n---\n", 1)[1])
    cmds = doc["phases"]["build"]["commands"]
    return [c for c in cmds if MARKER in c]


def run_checks(dockerfile: str, app: str = "kernel_gateway") -> dict[str, tuple[str, int]]:
    """{check name: (result, exit status)} for the image the Dockerfile builds."""
    lines: list[str] = []
    docker = DockerSim(daemon=True, source_seed="seed", emit_action=lambda fn: None, account="123456789012")
    sh = Shell({"IMAGE_URI": IMAGE}, lines.append, lambda fn: None, {"Dockerfile": dockerfile.encode(),
               "app.py": b"print(1)\n"}, "/src", docker=docker)
    assert sh.run("docker build --platform linux/amd64 -f 'Dockerfile' -t \"$IMAGE_URI\" .") == 0, lines
    results: dict[str, tuple[str, int]] = {}
    for cmd in rendered(app):
        lines.clear()
        status = sh.run(cmd)
        got = [line[len(MARKER):] for line in lines if line.startswith(MARKER)]
        assert len(got) == 1, (cmd, lines)
        name, _, result = got[0].partition(" ")
        results[name] = (result, status)
    return results


GOOD_KG = """FROM public.ecr.aws/docker/library/python:3.12-slim
ARG NB_UID=1000
RUN useradd --create-home --uid "${NB_UID}" --gid 100 sagemaker-user
RUN pip install --no-cache-dir ipykernel && python -m ipykernel install --sys-prefix --name ir
USER ${NB_UID}
"""


def test_a_studio_ready_kernel_image_passes_every_check():
    r = run_checks(GOOD_KG)
    assert r == {name: ("ok", 0) for name in ["arch", "uid", "kernelspecs", "file-owners", "mount-path"]}


def test_kernelspec_names_come_from_ipykernel_install():
    r = run_checks(GOOD_KG.replace("--name ir", "--name=conda-env-py"))
    result, status = r["kernelspecs"]
    assert status == 1
    assert result.startswith("FAILED: kernel-specs name(s) ir not in the image")
    assert "found: conda-env-py python3 " in result


def test_without_jupyter_no_kernel_is_found():
    r = run_checks("FROM public.ecr.aws/docker/library/python:3.12-slim\nUSER 1000:100\n")
    assert r["kernelspecs"][1] == 1 and "none (is jupyter on the PATH" in r["kernelspecs"][0]


@pytest.mark.parametrize("user,want", [
    ("", "uid 0 gid 0"),
    ("USER root\n", "uid 0 gid 0"),
    ("USER 1000\n", "uid 1000 gid 0"),
    ("USER 1000:1000\n", "uid 1000 gid 1000"),
    ("RUN useradd -u 1001 -g users bob\nUSER bob\n", "uid 1001 gid 100"),
])
def test_the_default_user_comes_from_user_and_useradd(user, want):
    df = "FROM public.ecr.aws/docker/library/python:3.12-slim\nRUN pip install ipykernel\n" + user
    result, status = run_checks(df)["uid"]
    assert status == 1 and result.startswith(f"FAILED: the image's default user is {want},"), result


def test_an_unknown_user_fails_the_uid_check_with_dockers_error():
    df = "FROM public.ecr.aws/docker/library/python:3.12-slim\nUSER nobody-here\n"
    result, status = run_checks(df)["uid"]
    assert status == 1 and "unable to find user nobody-here" in result


def test_sagemaker_distribution_is_studio_ready_for_every_app():
    df = "FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu\nUSER root\nRUN echo hi\nUSER 1000\n"
    for app in ("jupyterlab", "code_editor"):
        assert all(s == 0 for _, s in run_checks(df, app).values()), app
    # the kernel-gateway snapshot asks for python3 and ir: only ir is missing
    assert "name(s) ir not" in run_checks(df)["kernelspecs"][0]


def test_arm64_base_fails_arch():
    r = run_checks(GOOD_KG.replace("FROM ", "FROM --platform=linux/arm64 ", 1))
    assert r["arch"] == ("FAILED: the image is linux/arm64, Studio runs linux/amd64 only: use an amd64 base image "
                         "and drop --platform from the FROM lines", 1)


@pytest.mark.parametrize("install,ok,says", [
    ("pip install 'jupyterlab==3.6.7'", False, "jupyter-lab --version says 3.6.7"),
    ("pip install 'jupyterlab>=4'", True, ""),
    ("pip install jupyterlab", True, ""),
    ("pip install ipykernel", False, "jupyter-lab is not on the PATH"),
])
def test_jupyterlab_version_from_the_install_line(install, ok, says):
    df = f"FROM public.ecr.aws/docker/library/python:3.12-slim\nRUN {install}\nUSER 1000:100\n"
    result, status = run_checks(df, "jupyterlab")["jupyterlab"]
    assert (status == 0) == ok, result
    assert says in result


def test_jupyterlab_version_from_arg():
    df = ("FROM public.ecr.aws/docker/library/python:3.12-slim\nARG JUPYTERLAB_VERSION=3.6.1\n"
          "RUN pip install jupyterlab==$JUPYTERLAB_VERSION\nUSER 1000:100\n")
    assert "says 3.6.1" in run_checks(df, "jupyterlab")["jupyterlab"][0]


def test_code_editor_entrypoint_must_be_on_path():
    base = "FROM public.ecr.aws/docker/library/python:3.12-slim\nUSER 1000:100\n"
    result, status = run_checks(base, "code_editor")["code-editor"]
    assert status == 1 and result.startswith("FAILED: entrypoint-code-editor is not on the PATH"), result
    copied = base + "COPY app.py /usr/local/bin/entrypoint-code-editor\n"
    assert run_checks(copied, "code_editor")["code-editor"] == ("ok", 0)


def test_high_owners_fail_and_the_mount_path_only_warns():
    df = GOOD_KG + "COPY --chown=70000:100 app.py /opt/app.py\nCOPY app.py /home/sagemaker-user/app.py\n"
    r = run_checks(df)
    assert r["file-owners"][1] == 1 and "cannot start: /opt/app.py " in r["file-owners"][0]
    assert r["mount-path"] == ("WARNING: Studio mounts the user's storage over /home/sagemaker-user and hides "
                               "what the image put there: /home/sagemaker-user/app.py ", 0)


def test_an_image_without_find_warns_instead_of_passing_the_file_checks():
    # FROM scratch has no programs at all: find's entrypoint is missing, as runc says.
    r = run_checks("FROM scratch\nCOPY app.py /opt/app.py\n")
    for name in ("file-owners", "mount-path"):
        result, status = r[name]
        assert status == 0, (name, result)
        assert result.startswith("WARNING: the image has no find, so "), (name, result)
        assert f'checks-skip = ["{name}"]' in result
    assert r["uid"][1] == 1  # no id either: the uid check still fails
