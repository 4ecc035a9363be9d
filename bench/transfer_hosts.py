"""The two-host mode of bench/transfer.sh (`--hosts`): connector to connector across a veth pair
between two network namespaces (as root; on the loopback addresses 127.0.0.2 and 127.0.0.3
otherwise, and the output says which), against, in the same run and on the same files:

  iperf3   memory to memory, host a -> host b (the physical limit of the pair)
  rsync    `rsync -a` to an rsync daemon on host b
  rclone   `rclone copy` to `rclone serve webdav` on host b (where rclone installs)
  curl     `curl -T` of the large file to the same WebDAV server
  tessera  a task from the connector on host a to the connector on host b (the bytes go
           directly between them), verify_checksum on; the large file also with it off

Each with one large file (BENCH_BIG_MIB, 2048) and BENCH_SMALL_FILES (10,000) small files of
1-64 KiB in 100 directories. The files live on BENCH_HOSTS_DIR (default /dev/shm, tmpfs), so the
network path and the programs are measured, not the disk. Each timed run starts from an empty
destination and is the command (or the task, submit to SUCCEEDED) followed by `sync`.
Every destination is compared with its source after its last run.

Standard library only. Environment (set by transfer.sh): BENCH_TESSERA (the release binary),
BENCH_BIG_MIB, BENCH_SMALL_FILES, BENCH_REPS, BENCH_QUICK, BENCH_TASK_TIMEOUT; BENCH_HOSTS_DIR;
BENCH_RCLONE_SMALL=0 skips rclone's small files (about 30 files/s to `rclone serve webdav` here:
10,000 files take minutes).
"""

from __future__ import annotations

import base64
import filecmp
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ENV = os.environ
TESSERA = ENV["BENCH_TESSERA"]
BIG_MIB = int(ENV.get("BENCH_BIG_MIB", "2048"))
SMALL = int(ENV.get("BENCH_SMALL_FILES", "10000"))
REPS = int(ENV.get("BENCH_REPS", "1"))
TIMEOUT = float(ENV.get("BENCH_TASK_TIMEOUT", "900"))
BASE = ENV.get("BENCH_HOSTS_DIR", "/dev/shm")
SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"
TAG = f"tbh{os.getpid() % 100000}"

procs: list[subprocess.Popen] = []
results: dict[tuple[str, str], list[float]] = {}
mismatches: list[str] = []


def sh(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class Hosts:
    """Two hosts joined by their own veth pair, each joined to this namespace by another."""

    def __init__(self) -> None:
        self.ns: list[str] | None = None
        net = 16 + os.getpid() % 200
        names = [f"{TAG}a", f"{TAG}b"]
        if os.geteuid() == 0 and self._namespaces(names, net):
            self.ns = names
            self.addrs = [f"10.{net}.1.2", f"10.{net}.2.2"]
            # Host a reaches host b over the pair between them (route below).
            self.service_addrs = [f"10.{net}.1.1", f"10.{net}.2.1"]
            self.listen = "0.0.0.0"
            self.mode = f"network namespaces {names[0]} and {names[1]}, one veth pair between them"
        else:
            for n in names:
                sh("ip", "netns", "del", n, check=False)
            self.addrs = ["127.0.0.2", "127.0.0.3"]
            self.service_addrs = ["127.0.0.1", "127.0.0.1"]
            self.listen = "127.0.0.1"
            self.mode = "loopback addresses 127.0.0.2 and 127.0.0.3 (network namespaces cannot be made here)"

    @staticmethod
    def _namespaces(names: list[str], net: int) -> bool:
        a, b = names
        i = os.getpid() % 100000
        ra, rb, ha, hb, xa, xb = (f"br{i}a", f"br{i}b", f"bh{i}a", f"bh{i}b", f"bx{i}a", f"bx{i}b")
        steps = [
            ["netns", "add", a], ["netns", "add", b],
            ["link", "add", ra, "type", "veth", "peer", "name", ha],
            ["link", "add", rb, "type", "veth", "peer", "name", hb],
            ["link", "add", xa, "type", "veth", "peer", "name", xb],
            ["link", "set", ha, "netns", a], ["link", "set", hb, "netns", b],
            ["link", "set", xa, "netns", a], ["link", "set", xb, "netns", b],
            ["addr", "add", f"10.{net}.1.1/24", "dev", ra], ["addr", "add", f"10.{net}.2.1/24", "dev", rb],
            ["link", "set", ra, "up"], ["link", "set", rb, "up"],
            ["netns", "exec", a, "ip", "addr", "add", f"10.{net}.1.2/24", "dev", ha],
            ["netns", "exec", b, "ip", "addr", "add", f"10.{net}.2.2/24", "dev", hb],
            ["netns", "exec", a, "ip", "addr", "add", f"10.{net}.3.1/24", "dev", xa],
            ["netns", "exec", b, "ip", "addr", "add", f"10.{net}.3.2/24", "dev", xb],
        ]
        for ns, dev in ((a, ha), (a, xa), (b, hb), (b, xb), (a, "lo"), (b, "lo")):
            steps.append(["netns", "exec", ns, "ip", "link", "set", dev, "up"])
        steps += [
            ["netns", "exec", a, "ip", "route", "add", f"10.{net}.2.2/32", "via", f"10.{net}.3.2"],
            ["netns", "exec", b, "ip", "route", "add", f"10.{net}.1.2/32", "via", f"10.{net}.3.1"],
        ]
        return all(sh("ip", *s, check=False).returncode == 0 for s in steps)

    def cmd(self, i: int, *args: str) -> list[str]:
        return (["ip", "netns", "exec", self.ns[i]] if self.ns else []) + list(args)

    def close(self) -> None:
        for n in self.ns or []:
            sh("ip", "netns", "del", n, check=False)


def start(args: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                         env=env)
    procs.append(p)
    return p


def wait_port(host: str, port: int, hosts: Hosts | None = None, i: int = 0, secs: float = 30) -> None:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if hosts and hosts.ns:
            probe = sh(*hosts.cmd(i, "bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"), check=False)
            if probe.returncode == 0:
                return
        else:
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def make_files(src: str) -> None:
    os.makedirs(os.path.join(src, "big"))
    with open(os.path.join(src, "big", "big.bin"), "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(1 << 20))
    rng = random.Random(13)
    for n in range(SMALL):
        d = os.path.join(src, "tree", f"d{n % 100:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{n:05d}"), "wb") as f:
            f.write(rng.randbytes(rng.randint(1024, 64 * 1024)))


def same_tree(a: str, b: str) -> bool:
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.funny_files:
            return False
        _, bad, err = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if bad or err:
            return False
        stack.extend(c.subdirs.values())
    return True


def timed(name: str, case: str, fn, dst: str, src: str) -> None:
    for rep in range(REPS):
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        sh("sync")
        t0 = time.monotonic()
        fn()
        sh("sync")
        secs = time.monotonic() - t0
        results.setdefault((case, name), []).append(secs)
        print(f"   {case} {name}: {secs:.3f} s", flush=True)
    got = os.path.join(dst, os.path.basename(src))
    if not same_tree(src, got):
        mismatches.append(f"{case} {name}: {got} differs from {src}")
    shutil.rmtree(dst, ignore_errors=True)


class Api:
    def __init__(self, url: str, cid: str, secret: str) -> None:
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": SCOPE})
        tok = self.call("POST", "/v2/oauth2/token", body, {"Authorization": f"Basic {basic}",
                                                           "Content-Type": "application/x-www-form-urlencoded"})
        self.auth = {"Authorization": f"Bearer {tok['access_token']}"}

    def call(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> dict:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)

    def copy(self, src_ep: str, dst_ep: str, src: str, dst: str, verify: bool) -> dict:
        doc = {"DATA_TYPE": "transfer", "submission_id": self.call("GET", "/v0.10/submission_id", headers=self.auth)["value"],
               "source_endpoint": src_ep, "destination_endpoint": dst_ep, "verify_checksum": verify,
               "DATA": [{"DATA_TYPE": "transfer_item", "source_path": src, "destination_path": dst,
                         "recursive": True}]}
        task = self.call("POST", "/v0.10/transfer", json.dumps(doc),
                         dict(self.auth, **{"Content-Type": "application/json"}))["task_id"]
        deadline = time.monotonic() + TIMEOUT
        while True:
            t = self.call("GET", f"/v0.10/task/{task}", headers=self.auth)
            if t["status"] == "SUCCEEDED":
                return t
            if t["status"] != "ACTIVE" or time.monotonic() > deadline:
                raise RuntimeError(f"task {task}: {t['status']} {t.get('fatal_error')} {t.get('nice_status')}")
            time.sleep(0.02)


def main() -> int:
    hosts = Hosts()
    work = tempfile.mkdtemp(prefix="tessera-hosts-bench.", dir=BASE)
    try:
        return run(hosts, work)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        hosts.close()
        shutil.rmtree(work, ignore_errors=True)


def run(hosts: Hosts, work: str) -> int:
    a_addr, b_addr = hosts.addrs
    print(f"two hosts: {hosts.mode}; files on {BASE}; large file {BIG_MIB} MiB, {SMALL} small files, "
          f"{REPS} run(s) each", flush=True)
    src, dst, logs = (os.path.join(work, d) for d in ("a", "b", "logs"))
    for d in (src, dst, logs):
        os.makedirs(d)
    os.chmod(work, 0o755)
    make_files(src)
    sh("sync")
    cases = {"large": os.path.join(src, "big"), "10k": os.path.join(src, "tree")}

    # iperf3, memory to memory.
    start(hosts.cmd(1, "iperf3", "-s", "-B", b_addr, "-p", "5201"), f"{logs}/iperf3-s.log")
    wait_port(b_addr, 5201, hosts, 0)
    out = sh(*hosts.cmd(0, "iperf3", "-c", b_addr, "-p", "5201", "-t", "5" if ENV.get("BENCH_QUICK") == "1" else "10", "-J"))
    bps = json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
    iperf_mib_s = bps / 8 / (1 << 20)
    print(f"   iperf3: {bps / 1e9:.2f} Gbit/s = {iperf_mib_s:.0f} MiB/s", flush=True)

    # rsync daemon on host b.
    conf = os.path.join(work, "rsyncd.conf")
    with open(conf, "w") as f:
        who = "uid = root\ngid = root\n" if os.geteuid() == 0 else ""
        f.write(f"use chroot = no\n{who}[dst]\npath = {dst}\nread only = false\n")
    start(hosts.cmd(1, "rsync", "--daemon", "--no-detach", f"--config={conf}", f"--address={b_addr}", "--port=8730"),
          f"{logs}/rsyncd.log")
    wait_port(b_addr, 8730, hosts, 0)
    for case, path in cases.items():
        timed("rsync", case, lambda p=path: sh(*hosts.cmd(0, "rsync", "-a", p, f"rsync://{b_addr}:8730/dst/")), dst, path)

    # rclone (WebDAV on host b) and curl upload, where they exist.
    if shutil.which("rclone"):
        start(hosts.cmd(1, "rclone", "serve", "webdav", dst, "--addr", f"{b_addr}:8731",
                           # no directory cache: each run empties dst behind its back
                           "--dir-cache-time", "0s"), f"{logs}/webdav.log")
        wait_port(b_addr, 8731, hosts, 0)
        for case, path in cases.items():
            if case == "10k" and ENV.get("BENCH_RCLONE_SMALL", "1") != "1":
                print("   notice: rclone's small-file case skipped (BENCH_RCLONE_SMALL=0)", flush=True)
                continue
            name = os.path.basename(path)
            timed("rclone", case, lambda p=path, n=name: sh(*hosts.cmd(
                0, "rclone", "copy", p, f":webdav:{n}", "--webdav-url", f"http://{b_addr}:8731",
                "--transfers", "8")), dst, path)
        big = os.path.join(cases["large"], "big.bin")
        timed("curl", "large", lambda: sh(*hosts.cmd(0, "bash", "-c",
              f"curl -sf -X MKCOL http://{b_addr}:8731/big/ && "
              f"curl -sf -T {big} http://{b_addr}:8731/big/big.bin")), dst, cases["large"])
    else:
        print("   notice: rclone is not installed; its cases and curl's upload are skipped", flush=True)

    # Tessera: the service in this namespace, a connector on each host.
    data = os.path.join(work, "data")
    serve = start([TESSERA, "serve", "--listen", f"{hosts.listen}:0", "--data-dir", data], f"{logs}/serve.log")
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        with open(f"{logs}/serve.log") as f:
            for word in f.read().split():
                if word.startswith("http://"):
                    url = "http://127.0.0.1:" + word.rstrip("/").rsplit(":", 1)[1]
                    break
        time.sleep(0.1)
    if url is None or serve.poll() is not None:
        raise RuntimeError("tessera serve did not start")
    port = url.rsplit(":", 1)[1]

    def admin(*args: str) -> dict:
        return json.loads(sh(TESSERA, "admin", *args, "--data-dir", data).stdout)

    client = admin("client", "add", "--name", "hosts-bench", "--confidential")
    eps = []
    for i, (name, root) in enumerate((("bench-a", src), ("bench-b", dst))):
        c = admin("connector", "add", "--name", name)
        eps.append(admin("endpoint", "add", "--name", name, "--path", root, "--owner", client["client_id"],
                         "--connector", c["id"])["id"])
        env = dict(os.environ, TESSERA_CONNECTOR_ID=c["id"], TESSERA_CONNECTOR_SECRET=c["secret"])
        state = os.path.join(work, f"state-{name}")
        os.makedirs(state)
        me = f"{hosts.addrs[i]}:7070"
        start(hosts.cmd(i, TESSERA, "connector", "run", "--server", f"http://{hosts.service_addrs[i]}:{port}",
                        "--listen", me, "--public-url", f"http://{me}", "--state-dir", state),
              f"{logs}/connector-{name}.log", env)
    deadline = time.monotonic() + 60
    while not all(c["last_seen"] for c in admin("connector", "list")["connectors"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the connectors did not check in")
        time.sleep(0.2)
    api = Api(url, client["client_id"], client["client_secret"])
    for case, path in cases.items():
        rel = "/" + os.path.basename(path)
        timed("tessera", case, lambda r=rel: api.copy(eps[0], eps[1], r, r + "/", True), dst, path)
    timed("tessera-noverify", "large", lambda: api.copy(eps[0], eps[1], "/big", "/big/", False), dst, cases["large"])

    # The figures.
    big_mib = BIG_MIB
    small_mib = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(cases["10k"]) for f in fs) / (1 << 20)
    print(f"\nresults ({hosts.mode}; median of {REPS}):")
    med = {k: statistics.median(v) for k, v in results.items()}
    for (case, name), secs in sorted(med.items()):
        mib = big_mib if case == "large" else small_mib
        extra = f", {SMALL / secs:.0f} files/s" if case == "10k" else ""
        print(f"  {case:5s} {name:17s} {secs:8.3f} s  {mib / secs:8.1f} MiB/s{extra}")
    print(f"  iperf3 memory to memory: {iperf_mib_s:.0f} MiB/s")

    def ratio(line: str, num: float, den: float, target: float) -> None:
        r = num / den
        print(f"  {line}: {r:.2f} (target >= {target}): {'meets target' if r >= target else 'BELOW target'}")

    if ("large", "tessera") in med:
        t_large = big_mib / med[("large", "tessera")]
        ratio("large file, tessera / iperf3 throughput", t_large, iperf_mib_s, 0.6)
        ratio("large file, tessera / rsync throughput", med[("large", "rsync")] / med[("large", "tessera")], 1, 1.2)
        ratio("large file, tessera without verify / iperf3",
              big_mib / med[("large", "tessera-noverify")], iperf_mib_s, 0.6)
        ratio("10k files, tessera / rsync throughput", med[("10k", "rsync")] / med[("10k", "tessera")], 1, 2.0)
    if mismatches:
        print("MISMATCH:\n  " + "\n  ".join(mismatches))
        return 1
    print("every destination is identical to its source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
