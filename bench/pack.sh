#!/usr/bin/env bash
# Packs a large real build context (a ~500 MB Python virtualenv + Dockerfile)
# with sm-kernel, `zip -r`, and Python's zipfile (stored and deflated), and
# prints wall time, archive size and peak RSS side by side. See bench/README.md.
#
# Usage: bench/pack.sh [--prepare | --large]
#   --prepare  only build the context
#   --large    pack a context holding one 2 GiB file (sm-kernel only): shows
#              that memory does not grow with file size
# Environment:
#   SM_KERNEL   sm-kernel binary (default: $CARGO_TARGET_DIR or
#               ~/.cache/sm-kernel-target, release/sm-kernel)
#   PACKER      override the sm-kernel command: "cmd {ctx} {out}", where {out}
#               is the zip file to write (e.g. the scratch example binary)
#   BENCH_CACHE where the context is built and kept (~/.cache/sm-kernel-bench)
#   RUNS        runs per packer; the fastest is reported (default 3)
#   WAIT_IDLE   1: before each run, wait (up to 15 min) until the CPUs are idle,
#               so that a concurrent build does not skew the comparison
set -euo pipefail

CACHE=${BENCH_CACHE:-$HOME/.cache/sm-kernel-bench}
CTX=$CACHE/context
RUNS=${RUNS:-3}
SM_KERNEL=${SM_KERNEL:-${CARGO_TARGET_DIR:-$HOME/.cache/sm-kernel-target}/release/sm-kernel}
PACKER=${PACKER:-}
PYTHON=${PYTHON:-python3}
# Chosen to land near 500 MB on disk: compiled extensions, Python sources,
# data files and a few already-compressed files, like a real kernel image context.
PACKAGES=(numpy scipy pandas scikit-learn matplotlib sympy)

die() { echo "pack.sh: $*" >&2; exit 1; }

prepare() {
    if [[ -f $CACHE/context.complete ]]; then
        return
    fi
    echo "building the benchmark context in $CTX (pip install, a few minutes, once)" >&2
    rm -rf "$CTX"
    mkdir -p "$CTX"
    "$PYTHON" -m venv "$CTX/venv"
    "$CTX/venv/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check "${PACKAGES[@]}"
    cat >"$CTX/Dockerfile" <<'EOF'
FROM public.ecr.aws/docker/library/python:3.11-slim
COPY venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
EOF
    touch "$CACHE/context.complete"
}

# A context with a single 2 GiB file made of the virtualenv's shared
# libraries, repeated: realistic, compressible binary data.
prepare_large() {
    local large=$CACHE/large
    if [[ ! -f $CACHE/large.complete ]]; then
        rm -rf "$large"
        mkdir -p "$large"
        cp "$CTX/Dockerfile" "$large/Dockerfile"
        local libs
        libs=$(mktemp)
        find "$CTX" -name '*.so*' -type f -print0 | sort -z | xargs -0 cat >"$libs"
        while cat "$libs"; do :; done 2>/dev/null | head -c $((2 << 30)) >"$large/blob.bin" || true
        rm -f "$libs"
        touch "$CACHE/large.complete"
    fi
    CTX=$large
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
        if ((waited >= 900)); then
            echo "  (CPUs still busy after 15 min; measuring anyway)" >&2
            return
        fi
        sleep 4
        waited=$((waited + 5))
    done
}

# run NAME OUTPUT_FILE CMD...: best wall time of $RUNS (and that run's CPU
# time), the archive size, the largest peak RSS.
declare -A WALL CPU SIZE RSS
run() {
    local name=$1 output=$2
    shift 2
    local best="" cpu="" rss=0 log
    log=$(mktemp)
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$output" "$WORK/smk"
        wait_idle
        /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$WORK/$name.stderr" ||
            { cat "$WORK/$name.stderr" >&2; die "$name failed"; }
        local wall r c
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
            awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
        c=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$log")
        if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$wall
            cpu=$c
        fi
        ((r > rss)) && rss=$r
    done
    rm -f "$log"
    if [[ $name == sm-kernel && -z $PACKER ]]; then
        output=$(find "$WORK/smk" -name context.zip | head -n 1)
    fi
    WALL[$name]=$best
    CPU[$name]=$cpu
    SIZE[$name]=$(stat -c %s "$output")
    RSS[$name]=$rss
    unzip -tqq "$output" >/dev/null || die "$name wrote an archive that unzip -t rejects"
    echo "  $name: ${best}s wall, ${cpu}s CPU" >&2
}

main() {
    local mode=${1:-}
    prepare
    [[ $mode == --prepare ]] && return
    [[ $mode == --large ]] && prepare_large
    need_time
    command -v zip >/dev/null || die "zip is not installed (apt-get install zip)"
    command -v unzip >/dev/null || die "unzip is not installed (apt-get install unzip)"

    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT

    local smk_cmd
    if [[ -n $PACKER ]]; then
        smk_cmd=${PACKER//\{ctx\}/$CTX}
        smk_cmd=${smk_cmd//\{out\}/$WORK/smk.zip}
    else
        [[ -x $SM_KERNEL ]] || die "no sm-kernel binary at $SM_KERNEL (cargo build --release, or set SM_KERNEL / PACKER)"
        smk_cmd="\"$SM_KERNEL\" plan --context \"$CTX\" --file \"$CTX/Dockerfile\" --image-name bench --app kernel-gateway --kernel-name python3 --role arn:aws:iam::123456789012:role/bench --domain-id d-bench0000000 --region us-east-1 --out \"$WORK/smk\""
    fi

    local files bytes
    files=$(find "$CTX" -type f -o -type l | wc -l)
    bytes=$(du -sb "$CTX" | cut -f1)
    echo "context: $CTX, $files files and links, $bytes bytes; $(nproc) cores; best of $RUNS runs, warm page cache; load average $(cut -d" " -f1-3 /proc/loadavg)" >&2
    # Warm the page cache so every packer reads from memory.
    tar -cf - -C "$CTX" . >/dev/null

    run sm-kernel "$WORK/smk.zip" bash -c "$smk_cmd"
    if [[ $mode == --large ]]; then
        awk -v w="${WALL[sm-kernel]}" -v c="${CPU[sm-kernel]}" -v s="${SIZE[sm-kernel]}" -v r="${RSS[sm-kernel]}" -v b="$bytes" \
            'BEGIN { printf "\nsm-kernel: %.2f s wall, %.2f s CPU, %d bytes out (%.3f of input), peak RSS %.1f MiB\n", w, c, s, s / b, r / 1024 }'
        return
    fi
    run "zip -r" "$WORK/zip.zip" bash -c "cd \"$CTX\" && zip -r -q -X -y \"$WORK/zip.zip\" ."
    run "zipfile stored" "$WORK/py-stored.zip" "$PYTHON" -c "$PY_ZIP" stored "$CTX" "$WORK/py-stored.zip"
    run "zipfile deflated" "$WORK/py-deflated.zip" "$PYTHON" -c "$PY_ZIP" deflated "$CTX" "$WORK/py-deflated.zip"

    local z=${WALL["zip -r"]} zs=${SIZE["zip -r"]}
    printf '\n%-17s %9s %8s %12s %9s %10s %10s\n' packer "wall (s)" "CPU (s)" "bytes out" "peak RSS" "speed" "size"
    printf '%-17s %9s %8s %12s %9s %10s %10s\n' "" "" "" "" "(MiB)" "vs zip -r" "vs zip -r"
    for name in sm-kernel "zip -r" "zipfile stored" "zipfile deflated"; do
        awk -v n="$name" -v w="${WALL[$name]}" -v c="${CPU[$name]}" -v s="${SIZE[$name]}" -v r="${RSS[$name]}" \
            -v z="$z" -v zs="$zs" \
            'BEGIN { printf "%-17s %9.2f %8.2f %12d %9.1f %9.2fx %9.3fx\n", n, w, c, s, r / 1024, z / w, s / zs }'
    done
    echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"
