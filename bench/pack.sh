#!/usr/bin/env bash
# Packs real build contexts (Python virtualenvs + Dockerfile, built from PyPI)
# with sm-kernel and `zip -r -X -y` and prints median wall time, CPU time,
# archive size and peak RSS side by side. See bench/README.md.
#
# Usage: bench/pack.sh [--prepare | --large] [CONTEXT...]
#   CONTEXT    scipy (~560 MB, 16.7k files: compiled extensions, .py, .pyc)
#              botocore (~200 MB, 12.8k files: thousands of small JSON files)
#              default: both
#   --prepare  only build the contexts
#   --large    pack a context holding one 2 GiB file (sm-kernel only): shows
#              that memory does not grow with file size
# Environment:
#   SM_KERNEL   sm-kernel binary (default: $CARGO_TARGET_DIR or
#               ~/.cache/sm-kernel-target, release/sm-kernel)
#   BASELINE    a second sm-kernel binary (e.g. a build of main) measured the
#               same way, as an extra row
#   PACKER      override the sm-kernel command: "cmd {ctx} {out}", where {out}
#               is the zip file to write
#   PYZIP=1     also measure Python's zipfile (stored and deflated)
#   BENCH_CACHE where the contexts are built and kept (~/.cache/sm-kernel-bench)
#   RUNS        runs per packer; medians are reported (default 5)
#   WAIT_IDLE   1: before each run, wait (up to IDLE_MAX seconds, default 900)
#               until the CPUs are idle, so that a concurrent build does not
#               skew the comparison
set -euo pipefail

CACHE=${BENCH_CACHE:-$HOME/.cache/sm-kernel-bench}
RUNS=${RUNS:-5}
SM_KERNEL=${SM_KERNEL:-${CARGO_TARGET_DIR:-$HOME/.cache/sm-kernel-target}/release/sm-kernel}
BASELINE=${BASELINE:-}
PACKER=${PACKER:-}
PYTHON=${PYTHON:-python3}

# Pinned (with every dependency) so that the contexts can be rebuilt as they
# were measured. scipy: compiled extensions, Python sources and bytecode, data
# files and a few already-compressed files, like a data-science kernel image.
SCIPY_PACKAGES=(
    numpy==2.4.6 scipy==1.17.1 pandas==3.1.1 scikit-learn==1.9.1 matplotlib==3.11.2 sympy==1.14.0
    cloudpickle==3.1.3 contourpy==1.3.3 cycler==0.12.1 fonttools==4.68.0 joblib==1.6.0
    kiwisolver==1.5.1 mpmath==1.3.0 narwhals==2.29.0 packaging==26.4 pillow==13.0.0
    pyparsing==3.3.3 python-dateutil==4.0.0 threadpoolctl==3.8.0 tzdata==2026.6
)
# botocore: dominated by small text files (botocore's and the AWS CLI's
# service models are thousands of JSON files), plus .py and .pyc.
BOTOCORE_PACKAGES=(
    boto3==1.44.8 botocore==1.44.8 awscli==1.46.3 s3transfer==0.19.3 colorama==0.4.6
    docutils==0.19 jmespath==1.1.0 pyasn1==0.6.5 python-dateutil==2.9.0.post0 PyYAML==6.0.4
    rsa==4.7.2 six==1.17.0 urllib3==2.8.0
)

die() { echo "pack.sh: $*" >&2; exit 1; }

# prepare NAME PACKAGE...: a virtualenv with PACKAGEs and a Dockerfile in $CACHE/NAME.
prepare() {
    local name=$1 ctx=$CACHE/$1
    shift
    if [[ -f $CACHE/$name.complete ]]; then
        return
    fi
    echo "building the $name context in $ctx (pip install, a few minutes, once)" >&2
    rm -rf "$ctx"
    mkdir -p "$ctx"
    "$PYTHON" -m venv "$ctx/venv"
    "$ctx/venv/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check --no-deps "$@"
    cat >"$ctx/Dockerfile" <<'EOF'
FROM public.ecr.aws/docker/library/python:3.11-slim
COPY venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
EOF
    touch "$CACHE/$name.complete"
}

prepare_named() {
    case $1 in
    scipy) prepare scipy "${SCIPY_PACKAGES[@]}" ;;
    botocore) prepare botocore "${BOTOCORE_PACKAGES[@]}" ;;
    *) die "unknown context $1 (scipy, botocore)" ;;
    esac
}

# A context with a single 2 GiB file made of the scipy virtualenv's shared
# libraries, repeated: realistic, compressible binary data.
prepare_large() {
    local large=$CACHE/large
    if [[ ! -f $CACHE/large.complete ]]; then
        prepare_named scipy
        rm -rf "$large"
        mkdir -p "$large"
        cp "$CACHE/scipy/Dockerfile" "$large/Dockerfile"
        local libs
        libs=$(mktemp)
        find "$CACHE/scipy" -name '*.so*' -type f -print0 | sort -z | xargs -0 cat >"$libs"
        while cat "$libs"; do :; done 2>/dev/null | head -c $((2 << 30)) >"$large/blob.bin" || true
        rm -f "$libs"
        touch "$CACHE/large.complete"
    fi
}

need_time() {
    if [[ ! -x /usr/bin/time ]]; then
        echo "installing GNU time (Debian package 'time')" >&2
        apt-get update -qq && apt-get install -y -qq time >/dev/null
    fi
}

# Python zipfile packer: stored|deflated CONTEXT OUTPUT. Symlinks are stored
# as links (like zip -y and sm-kernel), not followed.
PY_ZIP='
import os, stat, sys, zipfile
mode, ctx, out = sys.argv[1:4]
method = zipfile.ZIP_STORED if mode == "stored" else zipfile.ZIP_DEFLATED
with zipfile.ZipFile(out, "w", method) as zf:
    for root, dirs, files in os.walk(ctx):
        dirs.sort()
        rel = os.path.relpath(root, ctx)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        for name in sorted(files) + links:
            path = os.path.join(root, name)
            arc = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(path):
                info = zipfile.ZipInfo(arc)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, os.readlink(path))
            else:
                zf.write(path, arc)
'

# Busy share of all CPUs over one second, in percent (from /proc/stat).
cpu_busy() {
    local a b
    a=($(head -n 1 /proc/stat))
    sleep 1
    b=($(head -n 1 /proc/stat))
    local idle=$((b[4] + b[5] - a[4] - a[5])) total=0 i
    for ((i = 1; i < ${#a[@]}; i++)); do total=$((total + b[i] - a[i])); done
    echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

wait_idle() {
    [[ ${WAIT_IDLE:-0} == 1 ]] || return 0
    local waited=0
    while (($(cpu_busy) > 10)); do
        if ((waited >= ${IDLE_MAX:-900})); then
            echo "  (CPUs still busy after ${waited}s; measuring anyway)" >&2
            return
        fi
        sleep 4
        waited=$((waited + 5))
    done
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run NAME OUTPUT CMD...: median wall and CPU (user + sys) time of $RUNS runs,
# the archive size and the largest peak RSS.
declare -A WALL CPU SIZE RSS
ROWS=()
run() {
    local name=$1 output=$2
    shift 2
    local walls="" cpus="" rss=0 log
    log=$(mktemp)
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$output" "$WORK/out"
        wait_idle
        /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$WORK/stderr" ||
            { cat "$WORK/stderr" >&2; die "$name failed"; }
        local wall r c
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
            awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
        c=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$log")
        walls+="$wall"$'\n'
        cpus+="$c"$'\n'
        ((r > rss)) && rss=$r
    done
    rm -f "$log"
    if [[ -d $WORK/out ]]; then
        output=$(find "$WORK/out" -name context.zip | head -n 1)
    fi
    WALL[$name]=$(printf '%s' "$walls" | median)
    CPU[$name]=$(printf '%s' "$cpus" | median)
    SIZE[$name]=$(stat -c %s "$output")
    RSS[$name]=$rss
    unzip -tqq "$output" >/dev/null || die "$name wrote an archive that unzip -t rejects"
    ROWS+=("$name")
    echo "  $name: ${WALL[$name]}s wall, ${CPU[$name]}s CPU (medians; walls: $(printf '%s' "$walls" | tr '\n' ' '))" >&2
}

plan_cmd() {
    echo "\"$1\" plan --context \"$CTX\" --file \"$CTX/Dockerfile\" --image-name bench --app kernel-gateway --kernel-name python3 --role arn:aws:iam::123456789012:role/bench --domain-id d-bench0000000 --region us-east-1 --out \"$WORK/out\""
}

bench() {
    local name=$1 mode=$2
    CTX=$CACHE/$name
    WALL=() CPU=() SIZE=() RSS=() ROWS=()
    local files bytes
    files=$(find "$CTX" -type f -o -type l | wc -l)
    bytes=$(du -sb "$CTX" | cut -f1)
    echo >&2
    echo "context $name: $CTX, $files files and links, $bytes bytes; $(nproc) cores; medians of $RUNS runs, warm page cache; load average $(cut -d" " -f1-3 /proc/loadavg)" >&2
    # Warm the page cache so every packer reads from memory.
    tar -cf - -C "$CTX" . >/dev/null

    if [[ -n $PACKER ]]; then
        local cmd=${PACKER//\{ctx\}/$CTX}
        run sm-kernel "$WORK/smk.zip" bash -c "${cmd//\{out\}/$WORK/smk.zip}"
    else
        [[ -x $SM_KERNEL ]] || die "no sm-kernel binary at $SM_KERNEL (cargo build --release, or set SM_KERNEL / PACKER)"
        run sm-kernel "$WORK/smk.zip" bash -c "$(plan_cmd "$SM_KERNEL")"
    fi
    if [[ $mode == --large ]]; then
        awk -v w="${WALL[sm-kernel]}" -v c="${CPU[sm-kernel]}" -v s="${SIZE[sm-kernel]}" -v r="${RSS[sm-kernel]}" -v b="$bytes" \
            'BEGIN { printf "\nsm-kernel: %.2f s wall, %.2f s CPU, %d bytes out (%.3f of input), peak RSS %.1f MiB\n", w, c, s, s / b, r / 1024 }'
        return
    fi
    if [[ -n $BASELINE ]]; then
        run baseline "$WORK/base.zip" bash -c "$(plan_cmd "$BASELINE")"
    fi
    run "zip -r" "$WORK/zip.zip" bash -c "cd \"$CTX\" && zip -r -q -X -y \"$WORK/zip.zip\" ."
    if [[ ${PYZIP:-0} == 1 ]]; then
        run "zipfile stored" "$WORK/py-stored.zip" "$PYTHON" -c "$PY_ZIP" stored "$CTX" "$WORK/py-stored.zip"
        run "zipfile deflated" "$WORK/py-deflated.zip" "$PYTHON" -c "$PY_ZIP" deflated "$CTX" "$WORK/py-deflated.zip"
    fi

    local z=${WALL["zip -r"]} zs=${SIZE["zip -r"]}
    printf '\n%s\n%-17s %9s %8s %12s %9s %10s %10s\n' "$name" packer "wall (s)" "CPU (s)" "bytes out" "peak RSS" "speed" "size"
    printf '%-17s %9s %8s %12s %9s %10s %10s\n' "" "" "" "" "(MiB)" "vs zip -r" "vs zip -r"
    for row in "${ROWS[@]}"; do
        awk -v n="$row" -v w="${WALL[$row]}" -v c="${CPU[$row]}" -v s="${SIZE[$row]}" -v r="${RSS[$row]}" \
            -v z="$z" -v zs="$zs" \
            'BEGIN { printf "%-17s %9.2f %8.2f %12d %9.1f %9.2fx %9.3fx\n", n, w, c, s, r / 1024, z / w, s / zs }'
    done
    echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
    local mode=""
    if [[ ${1:-} == --prepare || ${1:-} == --large ]]; then
        mode=$1
        shift
    fi
    local names=("$@")
    ((${#names[@]})) || names=(scipy botocore)
    if [[ $mode == --large ]]; then
        names=(large)
        prepare_large
    else
        for n in "${names[@]}"; do prepare_named "$n"; done
    fi
    [[ $mode == --prepare ]] && return
    need_time
    command -v zip >/dev/null || die "zip is not installed (apt-get install zip)"
    command -v unzip >/dev/null || die "unzip is not installed (apt-get install unzip)"

    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    for n in "${names[@]}"; do bench "$n" "$mode"; done
}

main "$@"
