#!/usr/bin/env bash
# Benchmark: the Transfer SERVICE (a real `tessera serve`, release build, driven over HTTP with a
# client-credentials token exactly as the SDK does: GET /submission_id, POST /transfer, poll
# GET /task/{id} until SUCCEEDED) against cp, cp -r, rsync -a, rclone copy and rsync -a -c, in
# the same run, on the same files, on the disk and on tmpfs.
#
#   bash bench/transfer.sh            # full: 2 GiB file, 10,000 files, 200 latency tasks, 3 reps
#   bash bench/transfer.sh --quick    # smoke test (.ci/run): 64 MiB, 300 files, 20 tasks, 1 rep
#   BENCH_REPS=5 BENCH_BIG_MIB=1024 BENCH_DROP_CACHES=1 bash bench/transfer.sh
#
# Cases, per filesystem (BENCH_DISK_DIR default /var/tmp/tessera-bench-svc, ext4 here;
# BENCH_SHM_DIR default /dev/shm/tessera-bench-svc, tmpfs):
#   big     one incompressible file of BENCH_BIG_MIB (2048): cp | tessera verify off |
#           verify on (the default algorithm) | verify on with checksum_algorithm MD5
#   tree    BENCH_SMALL_FILES (10000) files of 1-64 KiB in 100 directories:
#           cp -r | rsync -a | rclone copy (installed with apt when missing, else skipped) |
#           tessera recursive, verify off | verify on
#   resync  the unchanged tree again: rsync -a -c | tessera sync_level 3 (checksum)
#   latency BENCH_LATENCY_TASKS (200) one-file (4 KiB) tasks, one after the other: submit to
#           SUCCEEDED seen by polling every 2 ms; p50, p99, max
#   rss     the serve process's peak RSS (VmHWM, reset through /proc/PID/clear_refs before)
#           while it moves the big file with and without verification
# Each timed run is the command (or the task, submit to SUCCEEDED) followed by `sync`; before
# it the destination is emptied (or, for resync, made a copy) and everything is `sync`ed outside
# the timing. Page cache: equally warm for every side by default (the source is read once after
# it is made, and each destination is written fresh); BENCH_DROP_CACHES=1 drops it
# (`echo 3 > /proc/sys/vm/drop_caches`, root only) before every timed run on the disk instead
# (the machine is shared: this slows everyone else's builds). CPU is user+sys of the baseline
# command, or of the serve process during the task. Every destination is compared with its
# source after the last repetition. The server's data directory (SQLite) is on the disk.
# Everything is removed at the end (trap), the server is stopped; each task is bounded by
# BENCH_TASK_TIMEOUT seconds (default 600).
#
# Two hosts (`--hosts`, with or without --quick): connector to connector across a veth pair
# between two network namespaces (as root; the loopback addresses 127.0.0.2/.3 otherwise, and
# the output says which) against iperf3 memory to memory, rsync to an rsync daemon, rclone to a
# WebDAV server and curl upload on the far host, in the same run; see bench/transfer_hosts.py.
#   bash bench/transfer.sh --hosts            # 2 GiB file and 10,000 files
#   bash bench/transfer.sh --hosts --quick    # smoke test: 64 MiB and 300 files
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
HOSTS=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --hosts) HOSTS=1 ;;
        *) echo "usage: bench/transfer.sh [--hosts] [--quick]" >&2; exit 2 ;;
    esac
done
if [[ $HOSTS == 1 ]]; then
    if [[ $QUICK == 1 ]]; then
        : "${BENCH_BIG_MIB:=64}" "${BENCH_SMALL_FILES:=300}"
    fi
    export BENCH_BIG_MIB=${BENCH_BIG_MIB:-2048} BENCH_SMALL_FILES=${BENCH_SMALL_FILES:-10000}
    export BENCH_REPS=${BENCH_REPS:-1} BENCH_QUICK=$QUICK BENCH_TASK_TIMEOUT=${BENCH_TASK_TIMEOUT:-900}
    missing=()
    for tool in iperf3 rsync rclone; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }) ||
            echo "notice: could not install ${missing[*]} with apt-get"
    fi
    for tool in iperf3 rsync; do
        command -v "$tool" >/dev/null || { echo "$tool is required for --hosts" >&2; exit 2; }
    done
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    (cd "$ROOT" && cargo build --release -q -p tessera --bin tessera)
    export BENCH_TESSERA="$TARGET_DIR/release/tessera"
    exec python3 "$ROOT/bench/transfer_hosts.py"
fi
if [[ $QUICK == 1 ]]; then
    : "${BENCH_BIG_MIB:=64}" "${BENCH_SMALL_FILES:=300}" "${BENCH_LATENCY_TASKS:=20}" "${BENCH_REPS:=1}"
    : "${BENCH_RCLONE:=0}"
fi
export BENCH_BIG_MIB=${BENCH_BIG_MIB:-2048}
export BENCH_SMALL_FILES=${BENCH_SMALL_FILES:-10000}
export BENCH_LATENCY_TASKS=${BENCH_LATENCY_TASKS:-200}
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_RCLONE=${BENCH_RCLONE:-1}
export BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-0}
export BENCH_TASK_TIMEOUT=${BENCH_TASK_TIMEOUT:-600}
DISK=${BENCH_DISK_DIR:-/var/tmp/tessera-bench-svc}
SHM=${BENCH_SHM_DIR:-/dev/shm/tessera-bench-svc}
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d -t tessera-transfer-bench.XXXXXX)"
SERVER_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK" "$DISK" "$SHM"
}
trap cleanup EXIT

if [[ $BENCH_RCLONE == 1 ]] && ! command -v rclone >/dev/null; then
    (apt-get install -y -qq rclone >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq rclone >/dev/null 2>&1; }) ||
        echo "notice: rclone could not be installed; its case is skipped"
fi
(cd "$ROOT" && cargo build --release -q -p tessera)
TESSERA="$TARGET_DIR/release/tessera"

rm -rf "$DISK" "$SHM"
mkdir -p "$DISK" "$SHM" "$WORK/data"
# The data directory is on the disk (a real deployment's); the endpoints' roots are the two
# filesystems' base directories, so one endpoint per filesystem serves both sides of a copy.
"$TESSERA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/serve.out" 2>/dev/null | head -n1 || true)
    [[ -n "$URL" ]] && curl -fs "$URL/healthz" >/dev/null 2>&1 && break
    URL=""
    sleep 0.1
done
[[ -n "$URL" ]] || { echo "tessera serve did not start" >&2; cat "$WORK/serve.err" >&2; exit 2; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
CLIENT=$("$TESSERA" admin client add --name transfer-bench --confidential --data-dir "$WORK/data")
export BENCH_CLIENT_ID; BENCH_CLIENT_ID=$(json client_id <<<"$CLIENT")
export BENCH_CLIENT_SECRET; BENCH_CLIENT_SECRET=$(json client_secret <<<"$CLIENT")
export BENCH_DISK_EP; BENCH_DISK_EP=$("$TESSERA" admin endpoint add --name bench-disk --path "$DISK" \
    --owner "$BENCH_CLIENT_ID" --data-dir "$WORK/data" | json id)
export BENCH_SHM_EP; BENCH_SHM_EP=$("$TESSERA" admin endpoint add --name bench-shm --path "$SHM" \
    --owner "$BENCH_CLIENT_ID" --data-dir "$WORK/data" | json id)
export BENCH_URL=$URL BENCH_SERVER_PID=$SERVER_PID BENCH_DISK=$DISK BENCH_SHM=$SHM BENCH_QUICK=$QUICK

python3 "$ROOT/bench/transfer_driver.py"
