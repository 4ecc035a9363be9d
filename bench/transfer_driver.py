"""The measuring half of bench/transfer.sh (which builds, starts `tessera serve`, registers the
client and the two endpoints, and cleans up). Standard library only.

Environment (set by transfer.sh): BENCH_URL, BENCH_SERVER_PID, BENCH_CLIENT_ID/SECRET,
BENCH_DISK_EP/BENCH_SHM_EP (endpoint ids whose "/" is BENCH_DISK/BENCH_SHM), BENCH_BIG_MIB,
BENCH_SMALL_FILES, BENCH_LATENCY_TASKS, BENCH_REPS, BENCH_RCLONE, BENCH_DROP_CACHES,
BENCH_TASK_TIMEOUT, BENCH_QUICK.
"""

from __future__ import annotations

import base64
import filecmp
import http.client
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

ENV = os.environ
URL = urllib.parse.urlsplit(ENV["BENCH_URL"])
PID = int(ENV["BENCH_SERVER_PID"])
BIG_MIB = int(ENV["BENCH_BIG_MIB"])
SMALL = int(ENV["BENCH_SMALL_FILES"])
LAT_TASKS = int(ENV["BENCH_LATENCY_TASKS"])
REPS = int(ENV["BENCH_REPS"])
DROP = ENV.get("BENCH_DROP_CACHES") == "1"
TIMEOUT = float(ENV["BENCH_TASK_TIMEOUT"])
QUICK = ENV.get("BENCH_QUICK") == "1"
# Groups left out (comma-separated: big, tree, resync, latency), e.g. to profile one of them.
SKIP = {g.strip() for g in ENV.get("BENCH_SKIP", "").split(",") if g.strip()}
TICKS = os.sysconf("SC_CLK_TCK")
FS = {"disk": (ENV["BENCH_DISK"], ENV["BENCH_DISK_EP"]), "shm": (ENV["BENCH_SHM"], ENV["BENCH_SHM_EP"])}
SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"

results: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
notes: list[str] = []
mismatches: list[str] = []


class Api:
    """One keep-alive connection to the server, as a client's session would hold."""

    def __init__(self) -> None:
        self.conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=60)
        basic = base64.b64encode(f"{ENV['BENCH_CLIENT_ID']}:{ENV['BENCH_CLIENT_SECRET']}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": SCOPE})
        token = self.call("POST", "/v2/oauth2/token", body, {"Authorization": f"Basic {basic}",
                                                             "Content-Type": "application/x-www-form-urlencoded"})
        self.auth = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> dict:
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt:
                    raise
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)

    def get(self, path: str) -> dict:
        return self.call("GET", "/v0.10" + path, headers=self.auth)

    def submit(self, ep: str, src: str, dst: str, *, recursive: bool = False, verify: bool = False,
               sync_level: int | None = None, algorithm: str | None = None) -> str:
        sid = self.get("/submission_id")["value"]
        item = {"DATA_TYPE": "transfer_item", "source_path": src, "destination_path": dst}
        if recursive:
            item["recursive"] = True
        if algorithm:
            item["checksum_algorithm"] = algorithm
        doc = {"DATA_TYPE": "transfer", "submission_id": sid, "source_endpoint": ep,
               "destination_endpoint": ep, "verify_checksum": verify, "DATA": [item]}
        if sync_level is not None:
            doc["sync_level"] = sync_level
        headers = dict(self.auth, **{"Content-Type": "application/json"})
        return self.call("POST", "/v0.10/transfer", json.dumps(doc), headers)["task_id"]

    def wait(self, task: str, poll: float) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            doc = self.get(f"/task/{task}")
            if doc["status"] == "SUCCEEDED":
                return doc
            if doc["status"] != "ACTIVE":
                raise RuntimeError(f"task {task} ended {doc['status']}: {doc.get('fatal_error')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"task {task} still ACTIVE after {TIMEOUT} s")
            time.sleep(poll)


def server_cpu() -> float:
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_hwm_mib() -> float:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_hwm() -> None:
    with open(f"/proc/{PID}/clear_refs", "w") as f:
        f.write("5")


def sync() -> None:
    subprocess.run(["sync"], check=True)


def discard(fs: str, path: str) -> None:
    """Out of the way. On the disk (ext4 without a journal here) a tree is moved into a trash
    directory deleted only when the filesystem's cases are done: ext4 then skips inodes deleted
    in the last minutes when it allocates one (`recently_deleted`, a scan of the inode table), so
    every run after a deleted 10,000-file tree paid for the trees deleted before it, and the
    order of the cases decided their figures (a fifth of the server's CPU in a profile)."""
    if not os.path.exists(path):
        return
    if fs != "disk":
        shutil.rmtree(path, ignore_errors=True)
        return
    trash = os.path.join(FS[fs][0], "trash")
    os.makedirs(trash, exist_ok=True)
    os.rename(path, os.path.join(trash, str(len(os.listdir(trash)))))


def empty_trash(fs: str) -> None:
    shutil.rmtree(os.path.join(FS[fs][0], "trash"), ignore_errors=True)


def prepare(fs: str, dst: str, populated_from: str | None) -> None:
    discard(fs, dst)
    if populated_from:
        subprocess.run(["cp", "-a", populated_from, dst], check=True)
    else:
        os.makedirs(dst)
    sync()
    if DROP and fs == "disk":
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")


def record(fs: str, group: str, name: str, secs: float, cpu: float) -> None:
    results.setdefault((fs, group, name), []).append((secs, cpu))
    print(f"   {fs} {group} {name}: {secs:.3f} s, cpu {cpu:.2f} s", flush=True)


def baseline(fs: str, group: str, name: str, cmd: list[str], dst: str, populated_from: str | None = None) -> bool:
    """False (with a notice, and no figure) when the baseline tool fails."""
    for _ in range(REPS):
        prepare(fs, dst, populated_from)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            notes.append(f"{fs:5} {group:8} {name} failed (exit {run.returncode}), skipped: {run.stderr.strip()[-300:]}")
            results.pop((fs, group, name), None)
            return False
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sync()
        secs = time.perf_counter() - t0
        record(fs, group, name, secs, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return True


def tessera(api: Api, fs: str, group: str, name: str, src: str, dst: str, *, populated_from: str | None = None,
            **opts) -> dict:
    base, ep = FS[fs]
    doc: dict = {}
    for _ in range(REPS):
        prepare(fs, os.path.join(base, "dst"), populated_from)  # every case writes below /dst
        cpu0 = server_cpu()
        t0 = time.perf_counter()
        task = api.submit(ep, src, dst, **opts)
        doc = api.wait(task, 0.02)
        cpu1 = server_cpu()
        sync()
        secs = time.perf_counter() - t0
        record(fs, group, name, secs, cpu1 - cpu0)
        doc["task_id"] = task
    return doc


def same_tree(a: str, b: str) -> bool:
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return False
        stack.extend(c.subdirs.values())
    return True


def check(fs: str, name: str, ok: bool) -> None:
    if not ok:
        mismatches.append(f"{fs} {name}")
        print(f"MISMATCH: {fs} {name}", file=sys.stderr, flush=True)


def generate(base: str) -> None:
    os.makedirs(f"{base}/src/tree")
    with open(f"{base}/src/big.bin", "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(1 << 20))
    rng = random.Random(12)
    for d in range(100):
        os.makedirs(f"{base}/src/tree/dir{d:03}")
    for i in range(SMALL):
        with open(f"{base}/src/tree/dir{i % 100:03}/file{i:05}.dat", "wb") as f:
            f.write(os.urandom(rng.randint(1024, 64 * 1024)))
    with open(f"{base}/src/one.dat", "wb") as f:
        f.write(os.urandom(4096))
    sync()
    # Warm for every side: read everything once.
    subprocess.run(f"cat '{base}/src/big.bin' >/dev/null; find '{base}/src/tree' -type f -exec cat {{}} + >/dev/null",
                   shell=True, check=True)


def latency(api: Api, fs: str) -> None:
    base, ep = FS[fs]
    os.makedirs(f"{base}/lat", exist_ok=True)
    times = []
    for i in range(LAT_TASKS):
        t0 = time.perf_counter()
        task = api.submit(ep, "/src/one.dat", f"/lat/one-{i}.dat")
        api.wait(task, 0.002)
        times.append(time.perf_counter() - t0)
    check(fs, "latency", all(filecmp.cmp(f"{base}/src/one.dat", f"{base}/lat/one-{i}.dat", shallow=False)
                             for i in range(LAT_TASKS)))
    shutil.rmtree(f"{base}/lat")
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000  # noqa: E731
    notes.append(f"{fs:5} latency  {LAT_TASKS} one-file (4 KiB) tasks, submit to SUCCEEDED: "
                 f"p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, max {times[-1] * 1000:.1f} ms "
                 f"(targets p50 <= 50, p99 <= 250)")


def run_fs(api: Api, fs: str) -> None:
    base, _ = FS[fs]
    print(f"== {fs} ({base}): generating {BIG_MIB} MiB + {SMALL} small files", flush=True)
    generate(base)
    src, dst = f"{base}/src", f"{base}/dst"

    if "big" not in SKIP:
        big(api, fs)
    if "tree" not in SKIP:
        tree(api, fs)
    if "resync" not in SKIP:
        resync(api, fs)
    if "latency" not in SKIP:
        print(f"== {fs}: latency", flush=True)
        latency(api, fs)
    shutil.rmtree(f"{base}/src")
    empty_trash(fs)


def big(api: Api, fs: str) -> None:
    base, _ = FS[fs]
    src, dst = f"{base}/src", f"{base}/dst"
    print(f"== {fs}: big file", flush=True)
    baseline(fs, "big", "cp", ["cp", f"{src}/big.bin", f"{dst}/big.bin"], dst)
    check(fs, "cp", filecmp.cmp(f"{src}/big.bin", f"{dst}/big.bin", shallow=False))
    reset_hwm()
    tessera(api, fs, "big", "tessera", "/src/big.bin", "/dst/big.bin")
    hwm_off = server_hwm_mib()
    check(fs, "tessera", filecmp.cmp(f"{src}/big.bin", f"{dst}/big.bin", shallow=False))
    reset_hwm()
    verified = tessera(api, fs, "big", "tessera-verify", "/src/big.bin", "/dst/big.bin", verify=True)
    hwm_on = server_hwm_mib()
    check(fs, "tessera-verify", filecmp.cmp(f"{src}/big.bin", f"{dst}/big.bin", shallow=False))
    done = api.get(f"/task/{verified['task_id']}/successful_transfers")["DATA"]
    algs = sorted({str(t.get("checksum_algorithm")) for t in done})
    notes.append(f"{fs:5} rss      serve peak RSS (VmHWM) moving the {BIG_MIB} MiB file: verify off {hwm_off:.0f} MiB, "
                 f"verify on {hwm_on:.0f} MiB (target < 100 MB); default checksum_algorithm used: {', '.join(algs)}")
    tessera(api, fs, "big", "tessera-verify-MD5", "/src/big.bin", "/dst/big.bin", verify=True, algorithm="MD5")
    check(fs, "tessera-verify-MD5", filecmp.cmp(f"{src}/big.bin", f"{dst}/big.bin", shallow=False))
    discard(fs, dst)


def tree(api: Api, fs: str) -> None:
    base, _ = FS[fs]
    src, dst = f"{base}/src", f"{base}/dst"
    print(f"== {fs}: tree", flush=True)
    baseline(fs, "tree", "cp-r", ["cp", "-r", f"{src}/tree", f"{dst}/tree"], dst)
    check(fs, "cp-r", same_tree(f"{src}/tree", f"{dst}/tree"))
    if shutil.which("rsync"):
        baseline(fs, "tree", "rsync-a", ["rsync", "-a", f"{src}/tree/", f"{dst}/tree/"], dst)
        check(fs, "rsync-a", same_tree(f"{src}/tree", f"{dst}/tree"))
    if ENV.get("BENCH_RCLONE") == "1" and shutil.which("rclone"):
        # --local-no-preallocate: rclone's free-space check refuses a disk with reserved blocks.
        if baseline(fs, "tree", "rclone-copy", ["rclone", "copy", "--config", "/dev/null", "--local-no-preallocate",
                                                f"{src}/tree", f"{dst}/tree"], dst):
            check(fs, "rclone-copy", same_tree(f"{src}/tree", f"{dst}/tree"))
    tessera(api, fs, "tree", "tessera", "/src/tree/", "/dst/tree/", recursive=True)
    check(fs, "tessera tree", same_tree(f"{src}/tree", f"{dst}/tree"))
    tessera(api, fs, "tree", "tessera-verify", "/src/tree/", "/dst/tree/", recursive=True, verify=True)
    check(fs, "tessera tree verify", same_tree(f"{src}/tree", f"{dst}/tree"))


def resync(api: Api, fs: str) -> None:
    base, _ = FS[fs]
    src, dst = f"{base}/src", f"{base}/dst"
    print(f"== {fs}: resync of the unchanged tree by checksum", flush=True)
    copy = f"{base}/copy"
    discard(fs, copy)
    subprocess.run(["cp", "-a", f"{src}/tree", copy], check=True)
    os.makedirs(dst, exist_ok=True)
    # Both sides start from the same populated destination: a copy made with cp -a.
    if shutil.which("rsync"):
        for _ in range(REPS):
            prepare(fs, dst, None)
            subprocess.run(["cp", "-a", copy, f"{dst}/tree"], check=True)
            sync()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(["rsync", "-a", "-c", f"{src}/tree/", f"{dst}/tree/"], check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            sync()
            record(fs, "resync", "rsync-a-c", time.perf_counter() - t0,
                   after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    doc = {}
    for _ in range(REPS):
        prepare(fs, dst, None)
        subprocess.run(["cp", "-a", copy, f"{dst}/tree"], check=True)
        sync()
        cpu0 = server_cpu()
        t0 = time.perf_counter()
        task = api.submit(FS[fs][1], "/src/tree/", "/dst/tree/", recursive=True, sync_level=3)
        doc = api.wait(task, 0.02)
        cpu1 = server_cpu()
        sync()
        record(fs, "resync", "tessera-sync3", time.perf_counter() - t0, cpu1 - cpu0)
    check(fs, "tessera sync3", same_tree(f"{src}/tree", f"{dst}/tree"))
    if doc.get("files_transferred", 0) != 0:
        notes.append(f"{fs:5} resync   WARNING: sync_level 3 copied {doc['files_transferred']} files of an unchanged tree")
    discard(fs, copy)
    discard(fs, dst)


def report() -> None:
    baselines = {"big": ["cp"], "tree": ["rsync-a", "cp-r", "rclone-copy"], "resync": ["rsync-a-c"]}
    print(f"\n{'fs':5} {'group':6} {'case':20} {'median s':>9} {'min s':>8} {'cpu s':>6}  "
          "ratio = baseline median time / ours (>= 1: as fast or faster)")
    for (fs, group, name), runs in results.items():
        times = [t for t, _ in runs]
        med, mn = statistics.median(times), min(times)
        cpu = statistics.median(c for _, c in runs)
        extra = f"{BIG_MIB / med:7.0f} MiB/s  " if group == "big" else ""
        if name.startswith("tessera"):
            parts = [f"{statistics.median(t for t, _ in results[(fs, group, b)]) / med:.2f}x {b}"
                     for b in baselines[group] if (fs, group, b) in results]
            extra += ", ".join(parts)
        print(f"{fs:5} {group:6} {name:20} {med:9.3f} {mn:8.3f} {cpu:6.2f}  {extra}")
    print()
    for n in notes:
        print(n)


def main() -> int:
    api = Api()
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    for fs in FS:
        run_fs(api, fs)
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    report()
    if mismatches:
        print("destinations that differ from their source: " + ", ".join(mismatches))
        return 1
    print("every destination matched its source byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
