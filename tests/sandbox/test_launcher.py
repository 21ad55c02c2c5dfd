"""tests/sandbox/run: venv reuse, the ready line, port 0, 127.0.0.1 only,
clean exit on SIGTERM/SIGINT."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from conftest import HERE, _start

VENV = pathlib.Path(os.environ.get("SM_KERNEL_SANDBOX_VENV") or sys.prefix)


def run_env() -> dict[str, str]:
    if not (VENV / ".smk-sandbox-stamp").exists():
        pytest.fail(f"{VENV} is not a sandbox venv (no stamp); run the suite through tests/sandbox/test")
    env = dict(os.environ, SM_KERNEL_SANDBOX_VENV=str(VENV))
    env.pop("PYTHONPATH", None)
    return env


def listening_addresses(port: int) -> set[str]:
    addrs = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            ip_hex, port_hex = local.split(":")
            if int(port_hex, 16) == port and state == "0A":  # LISTEN
                addrs.add(ip_hex)
    return addrs


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_prints_ready_first_serves_loopback_and_exits_cleanly(sig):
    proc, line, log = _start([str(HERE / "run"), "--port", "0"], run_env())
    try:
        assert line.startswith("ready http://127.0.0.1:"), (line, pathlib.Path(log).read_text())
        url = line.split()[1]
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        with urllib.request.urlopen(url + "/_sandbox/health", timeout=5) as r:
            assert json.loads(r.read())["ok"] is True
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout.read() == ""  # nothing but the ready line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        os.unlink(log)


def test_run_with_explicit_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc, line, log = _start([str(HERE / "run"), "--port", str(port)], run_env())
    try:
        assert line == f"ready http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        os.unlink(log)


def test_run_fails_cleanly_when_port_is_taken():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([str(HERE / "run"), "--port", str(port)], env=run_env(), capture_output=True,
                             text=True, timeout=60)
    assert res.returncode != 0
    assert res.stdout == ""
    assert "cannot listen" in res.stderr


def test_requirements_pin_moto():
    req = (HERE / "requirements.txt").read_text()
    assert "moto[server]==5.2.5" in req
    import moto

    assert moto.__version__ == "5.2.5"
