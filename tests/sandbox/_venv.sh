# shellcheck shell=bash
# Sourced by tests/sandbox/run and tests/sandbox/test: creates or reuses the
# sandbox venv.  Everything it prints goes to stderr.
SANDBOX_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SANDBOX_VENV="${SM_KERNEL_SANDBOX_VENV:-${HOME:-/root}/.cache/sm-kernel/sandbox-venv}"
SANDBOX_REQ="$SANDBOX_DIR/requirements.txt"

_sandbox_python() {
    if [ -n "${SM_KERNEL_SANDBOX_PYTHON:-}" ]; then echo "$SM_KERNEL_SANDBOX_PYTHON"; return; fi
    local c
    for c in python3.11 python3.12 python3.13 python3.10 python3; do
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
            command -v "$c"; return
        fi
    done
    echo "sm-kernel sandbox: no Python >= 3.9 with venv found (set SM_KERNEL_SANDBOX_PYTHON)" >&2
    return 1
}

_sandbox_stamp_wanted() {
    { cat "$SANDBOX_REQ"; echo "venv-layout-2"; } | sha256sum | cut -d' ' -f1
}

_sandbox_venv_ok() {
    [ -x "$SANDBOX_VENV/bin/python" ] && [ -f "$SANDBOX_VENV/.smk-sandbox-stamp" ] &&
        [ "$(cat "$SANDBOX_VENV/.smk-sandbox-stamp")" = "$(_sandbox_stamp_wanted)" ]
}

_sandbox_install() {
    local py
    py="$(_sandbox_python)" || return 1
    rm -f "$SANDBOX_VENV/.smk-sandbox-stamp"
    if [ ! -x "$SANDBOX_VENV/bin/python" ]; then
        echo "sm-kernel sandbox: creating venv $SANDBOX_VENV with $py" >&2
        mkdir -p "$(dirname "$SANDBOX_VENV")"
        "$py" -m venv "$SANDBOX_VENV" >&2 || return 1
    fi
    echo "sm-kernel sandbox: installing $(grep -v '^#' "$SANDBOX_REQ" | tr '\n' ' ')" >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$SANDBOX_VENV/bin/python" -m pip install --quiet --no-compile \
        --progress-bar off -r "$SANDBOX_REQ" >&2 || return 1
    # compile (only) the modules the sandbox imports, so the first start is fast
    PYTHONPATH="$SANDBOX_DIR" "$SANDBOX_VENV/bin/python" -c \
        'from smk_sandbox.server import build_app, _warm_up; build_app(); _warm_up()' >&2 || return 1
    _sandbox_stamp_wanted > "$SANDBOX_VENV/.smk-sandbox-stamp"
}

ensure_sandbox_venv() {
    _sandbox_venv_ok && return 0
    mkdir -p "$(dirname "$SANDBOX_VENV")"
    if command -v flock >/dev/null 2>&1; then
        # several sandboxes may start at once (parallel tests): install once
        (
            flock 9
            _sandbox_venv_ok || _sandbox_install
        ) 9>"$SANDBOX_VENV.lock"
    else
        _sandbox_install
    fi
}
