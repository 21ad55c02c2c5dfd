#!/usr/bin/env bash
# Publishes a small kernel (examples/python) with sm-kernel against the local AWS sandbox
# (tests/sandbox) with a fixed simulated build time, and runs sm-docker 0.6.0 (the tool
# users run today) against the same sandbox and context, side by side. Measures the build
# log latency, build end -> exit, and the re-run wall time; prints a table and writes it to
# the "Publish against the sandbox" section of bench/README.md. See bench/README.md.
#
# Usage: bench/publish.sh
# Environment:
#   SM_KERNEL        sm-kernel binary (default: ~/.cache/sm-kernel-target/release/sm-kernel,
#                    else .../debug/sm-kernel). This script never runs cargo.
#   BUILD_SECONDS    simulated CodeBuild build duration (default 10)
#   SANDBOX_CONFIG   extra JSON for POST /_sandbox/config, e.g. '{"image_version_seconds": 0.2}'
#   ZERO_WAIT        0: skip the extra sm-kernel publish of a changed context with the sandbox's
#                    SageMaker waits at 0 (default 1)
#   NOOP_RUNS        no-op re-publishes of sm-kernel; the median is reported (default 3)
#   SM_DOCKER        0: skip the sm-docker baseline (default 1)
#   SM_DOCKER_VENV   venv for sm-docker (default ~/.cache/sm-kernel-bench/sm-docker-venv;
#                    created with pip install sagemaker-studio-image-build==0.6.0 if missing)
#   WRITE_README     0: do not touch bench/README.md (default 1)
#   WAIT_IDLE        1: first wait (up to 15 min) until the CPUs are idle, so that a
#                    concurrent build does not skew the timings
#   SM_KERNEL_SANDBOX_VENV   the sandbox's venv (tests/sandbox/run creates it)
#   BENCH_CACHE      the last run's logs and result.json are kept in BENCH_CACHE/publish-last
#                    (default ~/.cache/sm-kernel-bench)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/sm-kernel-target}
SM_KERNEL_GIVEN=${SM_KERNEL:-}
if [[ -z ${SM_KERNEL:-} ]]; then
    SM_KERNEL=$TARGET/release/sm-kernel
    [[ -x $SM_KERNEL ]] || SM_KERNEL=$TARGET/debug/sm-kernel
fi
BUILD_SECONDS=${BUILD_SECONDS:-10}
SANDBOX_CONFIG=${SANDBOX_CONFIG:-"{}"}
NOOP_RUNS=${NOOP_RUNS:-3}
RUN_SM_DOCKER=${SM_DOCKER:-1}
SM_DOCKER_VENV=${SM_DOCKER_VENV:-$HOME/.cache/sm-kernel-bench/sm-docker-venv}
WRITE_README=${WRITE_README:-1}
SANDBOX_VENV=${SM_KERNEL_SANDBOX_VENV:-$HOME/.cache/sm-kernel/sandbox-venv}
PYTHON=${PYTHON:-python3}

die() { echo "publish.sh: $*" >&2; exit 1; }

[[ -x $SM_KERNEL ]] || die "no sm-kernel binary at $SM_KERNEL (build it first, or set SM_KERNEL)"
case $SM_KERNEL in
    */release/*) BINARY_KIND=release ;;
    */debug/*) BINARY_KIND=debug ;;
    *) BINARY_KIND=custom ;;
esac
BINARY_LABEL="$SM_KERNEL ($BINARY_KIND, $("$SM_KERNEL" --version), built $(date -u -r "$SM_KERNEL" '+%Y-%m-%d %H:%M UTC'))"

# Busy share of all CPUs over one second, in percent (from /proc/stat).
cpu_busy() {
    local a b
    a=($(head -n 1 /proc/stat))
    sleep 1
    b=($(head -n 1 /proc/stat))
    local ta=0 tb=0 i
    for i in "${a[@]:1}"; do ta=$((ta + i)); done
    for i in "${b[@]:1}"; do tb=$((tb + i)); done
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=$((tb - ta))
    ((total > 0)) || { echo 0; return; }
    echo $(( 100 * (total - idle) / total ))
}

wait_idle() {
    local deadline=$((SECONDS + 900)) busy
    while ((SECONDS < deadline)); do
        busy=$(cpu_busy)
        ((busy < 25)) && return 0
        echo "publish.sh: waiting for idle CPUs (busy ${busy}%)" >&2
        sleep 10
    done
    echo "publish.sh: CPUs still busy after 15 min, measuring anyway" >&2
}

# --- sm-docker 0.6.0 in its own venv ------------------------------------------------
SM_DOCKER_BIN=
if [[ $RUN_SM_DOCKER != 0 ]]; then
    if [[ ! -x $SM_DOCKER_VENV/bin/sm-docker ]]; then
        echo "publish.sh: installing sagemaker-studio-image-build==0.6.0 into $SM_DOCKER_VENV" >&2
        mkdir -p "$(dirname "$SM_DOCKER_VENV")"
        "$PYTHON" -m venv "$SM_DOCKER_VENV"
        "$SM_DOCKER_VENV/bin/pip" install --quiet --disable-pip-version-check \
            'sagemaker-studio-image-build==0.6.0' >&2
    fi
    SM_DOCKER_BIN=$SM_DOCKER_VENV/bin/sm-docker
fi

# --- work folder and context -----------------------------------------------------------
LAST=${BENCH_CACHE:-$HOME/.cache/sm-kernel-bench}/publish-last
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sm-kernel-publish-bench.XXXXXX")
SANDBOX_PID=
cleanup() {
    local rc=$?
    if [[ -n $SANDBOX_PID ]] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
        kill -TERM "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
    fi
    # keep the tools' timestamped output, the sandbox log and result.json of the last run
    if [[ -d $WORK ]]; then
        rm -rf "$LAST"
        mkdir -p "$LAST"
        cp "$WORK"/*.log "$WORK"/*.json "$LAST"/ 2>/dev/null || true
        rm -rf "$WORK"
        [[ $rc -eq 0 ]] || echo "publish.sh: failed (exit $rc); logs in $LAST" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sm-kernel reads kernel.toml in CTX; sm-docker zips its working directory, so it gets the
# same folder (it ignores .dockerignore and also zips kernel.toml; that is its behaviour).
CTX=$WORK/context
cp -r "$ROOT/examples/python" "$CTX"

# --- sandbox ---------------------------------------------------------------------------
((${WAIT_IDLE:-0})) && wait_idle
"$ROOT/tests/sandbox/run" --port 0 >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
SANDBOX_PID=$!
# the first stdout line; the venv may be created first (a minute or so, once)
READY=
for ((i = 0; i < 3000; i++)); do
    if [[ -s $WORK/sandbox.out ]] && (($(wc -l <"$WORK/sandbox.out") >= 1)); then
        READY=$(head -n 1 "$WORK/sandbox.out")
        break
    fi
    kill -0 "$SANDBOX_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ $READY != ready\ http://* ]]; then
    tail -n 20 "$WORK/sandbox.log" >&2
    die "the sandbox did not start (its log above; first stdout line: '$READY')"
fi
URL=${READY#ready }
echo "publish.sh: sandbox $URL (pid $SANDBOX_PID), sm-kernel $BINARY_LABEL" >&2

README_ARG=()
[[ $WRITE_README != 0 ]] && README_ARG=(--readme "$ROOT/bench/README.md")
CMD="bench/publish.sh"
[[ $BUILD_SECONDS != 10 ]] && CMD="BUILD_SECONDS=$BUILD_SECONDS $CMD"
[[ $SANDBOX_CONFIG != "{}" ]] && CMD="SANDBOX_CONFIG='$SANDBOX_CONFIG' $CMD"
[[ -n $SM_KERNEL_GIVEN ]] && CMD="SM_KERNEL=$SM_KERNEL $CMD"
CMD="$CMD    # from the repository root; sm-kernel: $BINARY_KIND build"

rc=0
PYTHONPATH= "$SANDBOX_VENV/bin/python" "$ROOT/bench/publish_bench.py" \
    --endpoint "$URL" \
    --sm-kernel "$SM_KERNEL" \
    --binary-label "$BINARY_LABEL" \
    --sm-docker "$SM_DOCKER_BIN" \
    --ctx "$CTX" --smd-ctx "$CTX" \
    --work "$WORK" \
    --policies "$ROOT/policies" \
    --build-seconds "$BUILD_SECONDS" \
    --sandbox-config "$SANDBOX_CONFIG" \
    --noop-runs "$NOOP_RUNS" \
    --zero-wait-pass "${ZERO_WAIT:-1}" \
    --command "$CMD" \
    "${README_ARG[@]}" || rc=$?
if [[ $rc -ne 0 ]]; then
    exit "$rc"
fi
