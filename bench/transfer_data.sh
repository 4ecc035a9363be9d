#!/usr/bin/env bash
# Benchmark: Tessera's data path (tessera_transfer::data over PosixStorage) against cp, cp -r and
# rsync -a, in the same run, on the same filesystem, with the same files.
#
#   bash bench/transfer_data.sh              # ~5 minutes after the build; run it under `nice -n 10`
#   BENCH_REPS=5 BENCH_BIG_MIB=2048 bash bench/transfer_data.sh
#
# What is measured (wall time of each command followed by `sync`, hot page cache on every side:
# the source is read once before the first run; the destination is emptied and `sync`ed before
# each run, outside the timing; caches are never dropped because the machine is shared):
#   big    one incompressible file (BENCH_BIG_MIB, default 1024 MiB)
#          cp | rsync -a | tessera verify off | verify on MD5 | SHA256 | CRC32C
#   tree   BENCH_SMALL_FILES (default 10,000) files of 1-16 KiB in 100 directories
#          cp -r | rsync -a | tessera verify off | verify on MD5   (2 worker threads)
#   resync the unchanged tree again, by checksum: rsync -a -c | tessera sync_level 3 (MD5)
#   noop   the unchanged tree again, by size and mtime: rsync -a | tessera sync_level 2
# on the disk (BENCH_DISK_DIR, default /var/tmp/tessera-bench-data, ext4 here) and on tmpfs
# (BENCH_SHM_DIR, default /dev/shm/tessera-bench-data), BENCH_REPS times each (default 3),
# printing the median and the minimum wall time, the median CPU time (user+sys of the command,
# without the final sync), and the ratio of Tessera's median throughput to the
# baseline's (cp for big, rsync -a and cp -r for tree, rsync -a -c for resync). Every
# destination is compared byte for byte with its source after the runs. Both data directories
# are removed at the end, whatever happens.
#
# Fsync policy measured here (the engine's): one file: fdatasync before the rename (fsync: true);
# tree: no per-file fsync, one syncfs (Storage::sync_all) at the end; every run, the baselines
# included, ends with `sync`.
#
# Measured (2-vCPU shared VM, ext4 on virtio + tmpfs, load average 2-5 from other work, `nice -n
# 10`, 3 repetitions, median / min seconds):  see bench/README-transfer-data.md (filled in by the
# last run, printed at the end of every run).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${BENCH_REPS:-3}
DISK=${BENCH_DISK_DIR:-/var/tmp/tessera-bench-data}
SHM=${BENCH_SHM_DIR:-/dev/shm/tessera-bench-data}
BIG_MIB=${BENCH_BIG_MIB:-1024}
SMALL_FILES=${BENCH_SMALL_FILES:-10000}
TARGET=${CARGO_TARGET_DIR:-target}
RESULTS=$(mktemp)
MISMATCHES=$(mktemp)
CPU=$(mktemp)

cleanup() { rm -rf "$DISK" "$SHM" "$RESULTS" "$MISMATCHES" "$CPU"; }
trap cleanup EXIT

cargo build --quiet --release -p tessera-transfer --example transfer_data
BIN=$TARGET/release/examples/transfer_data
HAVE_RSYNC=0
command -v rsync >/dev/null && HAVE_RSYNC=1

now() { date +%s.%N; }

generate() { # BASE
    local base=$1
    rm -rf "$base" && mkdir -p "$base/src/big" "$base/src/tree"
    head -c "$((BIG_MIB * 1024 * 1024))" /dev/urandom >"$base/src/big/big.bin"
    python3 - "$base/src/tree" "$SMALL_FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(12)
for d in range(100):
    os.makedirs(os.path.join(root, f"dir{d:03}"), exist_ok=True)
for i in range(n):
    size = rng.randint(1024, 16 * 1024)
    with open(os.path.join(root, f"dir{i % 100:03}", f"file{i:05}.dat"), "wb") as f:
        f.write(os.urandom(size))
PY
    cat "$base/src/big/big.bin" >/dev/null
    find "$base/src/tree" -type f -exec cat {} + >/dev/null
}

# measure FS GROUP CASE PREP 'COMMAND' ; PREP = empty | populated (dst/tree already a copy);
# COMMAND runs under bash -c with $SRC and $DST set.
measure() {
    local fs=$1 group=$2 name=$3 prep=$4; shift 4
    local base; base=$([ "$fs" = disk ] && echo "$DISK" || echo "$SHM")
    local dst=$base/dst
    for _ in $(seq "$REPS"); do
        rm -rf "$dst" && mkdir -p "$dst/tree"
        if [ "$prep" = populated ]; then
            cp -a "$base/src/tree/." "$dst/tree/"
        fi
        sync
        local t0 t1
        t0=$(now)
        export SRC=$base/src DST=$dst
        /usr/bin/time -o "$CPU" -f "%U %S" bash -c "$1" >/dev/null
        sync
        t1=$(now)
        echo "$fs $group $name $(echo "$t1 - $t0" | bc -l) $(awk '{print $1 + $2}' "$CPU")" >>"$RESULTS"
    done
    # Byte for byte, after the last run.
    if [ "$group" = big ]; then
        cmp -s "$base/src/big/big.bin" "$dst/big.bin" || { echo "MISMATCH: $fs $name" | tee -a "$MISMATCHES" >&2; }
    else
        diff -r "$base/src/tree" "$dst/tree" >/dev/null || { echo "MISMATCH: $fs $name" | tee -a "$MISMATCHES" >&2; }
    fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for fs in disk shm; do
    base=$([ "$fs" = disk ] && echo "$DISK" || echo "$SHM")
    echo "== $fs ($base): generating ${BIG_MIB} MiB + $SMALL_FILES small files"
    generate "$base"
    echo "== $fs: big file"
    measure $fs big cp empty 'cp "$SRC/big/big.bin" "$DST/big.bin"'
    [ $HAVE_RSYNC = 1 ] && measure $fs big rsync-a empty 'rsync -a "$SRC/big/big.bin" "$DST/"'
    measure $fs big tessera empty "$BIN file \"\$SRC/big\" big.bin \"\$DST\""
    measure $fs big tessera-verify-MD5 empty "$BIN file \"\$SRC/big\" big.bin \"\$DST\" --verify --alg MD5"
    measure $fs big tessera-verify-SHA256 empty "$BIN file \"\$SRC/big\" big.bin \"\$DST\" --verify --alg SHA256"
    measure $fs big tessera-verify-CRC32C empty "$BIN file \"\$SRC/big\" big.bin \"\$DST\" --verify --alg CRC32C"
    echo "== $fs: tree"
    measure $fs tree cp-r empty 'rmdir "$DST/tree" && cp -r "$SRC/tree" "$DST/tree"'
    [ $HAVE_RSYNC = 1 ] && measure $fs tree rsync-a empty 'rsync -a "$SRC/tree/" "$DST/tree/"'
    measure $fs tree tessera empty "$BIN tree \"\$SRC/tree\" \"\$DST/tree\""
    measure $fs tree tessera-verify-MD5 empty "$BIN tree \"\$SRC/tree\" \"\$DST/tree\" --verify"
    echo "== $fs: resync of the unchanged tree by checksum"
    [ $HAVE_RSYNC = 1 ] && measure $fs resync rsync-a-c populated 'rsync -a -c "$SRC/tree/" "$DST/tree/"'
    measure $fs resync tessera-sync3 populated "$BIN tree \"\$SRC/tree\" \"\$DST/tree\" --sync-level 3"
    echo "== $fs: no-op resync of the unchanged tree by size and mtime"
    [ $HAVE_RSYNC = 1 ] && measure $fs noop rsync-a populated 'rsync -a "$SRC/tree/" "$DST/tree/"'
    measure $fs noop tessera-sync2 populated "$BIN tree \"\$SRC/tree\" \"\$DST/tree\" --sync-level 2"
    rm -rf "$base"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$BIG_MIB" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
cpus = defaultdict(list)
for line in open(sys.argv[1]):
    fs, group, name, secs, cpu = line.split()
    rows[(fs, group, name)].append(float(secs))
    cpus[(fs, group, name)].append(float(cpu))
big_mib = int(sys.argv[2])
baselines = {"big": ["cp"], "tree": ["rsync-a", "cp-r"], "resync": ["rsync-a-c"], "noop": ["rsync-a"]}
print(f"\n{'fs':5} {'group':7} {'case':22} {'median s':>9} {'min s':>8} {'cpu s':>6}  ratio (baseline median / ours: >1 = faster)")
for (fs, group, name), times in rows.items():
    med, mn = statistics.median(times), min(times)
    extra = ""
    if group == "big":
        extra = f"{big_mib / med:8.0f} MiB/s  "
    if name.startswith("tessera"):
        parts = []
        for b in baselines[group]:
            if (fs, group, b) in rows:
                parts.append(f"{statistics.median(rows[(fs, group, b)]) / med:.2f}x {b}")
        extra += ", ".join(parts)
    cpu = statistics.median(cpus[(fs, group, name)])
    print(f"{fs:5} {group:7} {name:22} {med:9.3f} {mn:8.3f} {cpu:6.2f}  {extra}")
PY
if [ -s "$MISMATCHES" ]; then
    echo "destination differs from source:" && cat "$MISMATCHES"
    exit 1
fi
echo "every destination matched its source byte for byte"
