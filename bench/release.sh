#!/usr/bin/env bash
# A release of N kernels (1, 2, 4, 8) against the local AWS sandbox, as a release and with
# `--jobs 1` side by side; writes the "Releases of many kernels" section of bench/README.md.
#
# Usage: bench/release.sh
# Environment:
#   SM_KERNEL       sm-kernel binary (default: $CARGO_TARGET_DIR or ~/.cache/sm-kernel-target,
#                   release/sm-kernel else debug/sm-kernel). This script never runs cargo.
#   BUILD_SECONDS   simulated CodeBuild build time (default 10)
#   DOMAIN_SECONDS  simulated UpdateDomain time (default 3)
#   SIZES           kernels per release (default 1,2,4,8)
#   WRITE_README    0: do not touch bench/README.md (default 1)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/sm-kernel-target}
if [[ -z ${SM_KERNEL:-} ]]; then
    SM_KERNEL=$TARGET/release/sm-kernel
    [[ -x $SM_KERNEL ]] || SM_KERNEL=$TARGET/debug/sm-kernel
fi
[[ -x $SM_KERNEL ]] || { echo "release.sh: no sm-kernel binary at $SM_KERNEL (cargo build --release)" >&2; exit 2; }
case $SM_KERNEL in */release/*) LABEL="release build" ;; *) LABEL="debug build" ;; esac
SANDBOX_VENV=${SM_KERNEL_SANDBOX_VENV:-$HOME/.cache/sm-kernel/sandbox-venv}
WORK=$(mktemp -d)
SANDBOX_PID=
cleanup() {
    [[ -n $SANDBOX_PID ]] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ROOT/tests/sandbox/run" --port 0 >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
SANDBOX_PID=$!
READY=
for ((i = 0; i < 3000; i++)); do
    if [[ -s $WORK/sandbox.out ]]; then READY=$(head -n 1 "$WORK/sandbox.out"); break; fi
    kill -0 "$SANDBOX_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ $READY != ready\ http://* ]]; then
    tail -n 20 "$WORK/sandbox.log" >&2
    echo "release.sh: the sandbox did not start" >&2
    exit 1
fi
README_ARG=()
[[ ${WRITE_README:-1} != 0 ]] && README_ARG=(--readme "$ROOT/bench/README.md")
PYTHONPATH= "$SANDBOX_VENV/bin/python" "$ROOT/bench/release_bench.py" \
    --endpoint "${READY#ready }" --sm-kernel "$SM_KERNEL" --binary-label "$LABEL" \
    --work "$WORK" --policies "$ROOT/policies" \
    --build-seconds "${BUILD_SECONDS:-10}" --domain-seconds "${DOMAIN_SECONDS:-3}" \
    --sizes "${SIZES:-1,2,4,8}" "${README_ARG[@]}"
