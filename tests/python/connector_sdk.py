#!/usr/bin/env python3
"""The real globus-sdk TransferClient against endpoints on storage connectors (issue 13).

A `tessera serve` on 127.0.0.1 and two `tessera connector run` on the loopback addresses
127.0.0.2 and 127.0.0.3 (the Rust test `connectors` uses network namespaces; this one keeps to
loopback so it runs unprivileged), each serving one endpoint registered with
`tessera admin endpoint add --connector`. Through unchanged globus-sdk: operation_ls and
operation_mkdir on a connector's endpoint, a recursive TransferData from one connector to the
other (verify_checksum), again with encrypt_data (over TLS between the connectors), task_wait,
and the bytes on disk compared.

    TESSERA_BIN=target/release/tessera python3 tests/python/connector_sdk.py
"""

import json
import os
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True
_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_shared = os.environ.get("TESSERA_SHARED") or os.path.join(_root, "..", "shared")
sys.path.insert(0, os.path.join(os.path.abspath(_shared), "acceptance"))

import globus_sdk  # noqa: E402

import harness  # noqa: E402
from harness import ClientCredentials, expect, expect_equal  # noqa: E402

SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"


def start_connector(server, connector, addr, state_dir, log_dir):
    env = harness.clean_environ()
    env.update(
        TESSERA_CONNECTOR_ID=connector["id"],
        TESSERA_CONNECTOR_SECRET=connector["secret"],
    )
    me = f"{addr}:{harness.free_loopback_port()}"
    log = open(os.path.join(log_dir, f"connector-{addr}.log"), "wb")
    return subprocess.Popen(
        [server.binary, "connector", "run", "--server", server.public_url, "--listen", me,
         "--public-url", f"http://{me}", "--state-dir", state_dir],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
    )


def tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def main():
    server = harness.Server().start()
    procs = []
    try:
        src, dst = harness.make_temp_dir("src"), harness.make_temp_dir("dst")
        os.makedirs(os.path.join(src, "sub dir"))
        for i in range(12):
            with open(os.path.join(src, "sub dir", f"f{i}.txt"), "wb") as f:
                f.write(os.urandom(1000 * i + 1))
        with open(os.path.join(src, "big.bin"), "wb") as f:
            f.write(os.urandom(24 << 20))

        client = server.add_client("connector-sdk")
        mover = ClientCredentials(client["client_id"], client["client_secret"])
        connectors = [server.admin(["connector", "add", "--name", n]) for n in ("sdk-a", "sdk-b")]
        for c in connectors:
            expect(c["secret"].startswith("tcs_"), f"a connector secret: {c}")
        eps = []
        for name, path, c in (("on a", src, connectors[0]), ("on b", dst, connectors[1])):
            e = server.admin(["endpoint", "add", "--name", name, "--path", path, "--owner",
                              mover.client_id, "--connector", c["id"]])
            eps.append(e["id"])
        for c, addr in zip(connectors, ("127.0.0.2", "127.0.0.3")):
            procs.append(start_connector(server, c, addr, harness.make_temp_dir("state"), server.log_dir))
        deadline = time.monotonic() + 30
        while True:
            listed = server.admin(["connector", "list"])["connectors"]
            if all(c["last_seen"] for c in listed):
                break
            expect(time.monotonic() < deadline, f"the connectors did not check in: {listed}")
            time.sleep(0.2)

        os.environ["GLOBUS_SDK_SERVICE_URL_AUTH"] = server.base_url
        os.environ["GLOBUS_SDK_SERVICE_URL_TRANSFER"] = server.base_url
        auth = globus_sdk.ConfidentialAppAuthClient(mover.client_id, mover.client_secret)
        tc = globus_sdk.TransferClient(
            authorizer=globus_sdk.ClientCredentialsAuthorizer(auth, SCOPE),
            retry_config=harness.sdk_retry_config(),
        )
        names = [e["name"] for e in tc.operation_ls(eps[0], path="/")["DATA"]]
        expect_equal(names, ["big.bin", "sub dir"], "operation_ls on connector a")
        sub = tc.operation_ls(eps[0], path="/sub dir/")
        expect_equal(len(sub["DATA"]), 12, "files in /sub dir/")
        expect_equal(
            {e["name"]: e["size"] for e in sub["DATA"]}["f3.txt"], 3001, "a size through the connector"
        )
        tc.operation_mkdir(eps[1], path="/made")
        expect(os.path.isdir(os.path.join(dst, "made")), "mkdir on connector b made the directory")
        try:
            tc.operation_ls(eps[0], path="/nothing-here")
            expect(False, "ls of a missing path succeeded")
        except globus_sdk.TransferAPIError as e:
            expect_equal(e.http_status, 404, "ls of a missing path")

        tdata = globus_sdk.TransferData(eps[0], eps[1], label="connector to connector",
                                        verify_checksum=True, preserve_timestamp=True)
        tdata.add_item("/", "/copy/", recursive=True)
        task_id = tc.submit_transfer(tdata)["task_id"]
        expect(tc.task_wait(task_id, timeout=120, polling_interval=1), "the task did not finish in 120 s")
        task = tc.get_task(task_id)
        expect_equal(task["status"], "SUCCEEDED", f"task {json.dumps(task.data)[:400]}")
        expect_equal(task["files_transferred"], 13, "files_transferred")
        expect_equal(tree(os.path.join(dst, "copy")), tree(src), "the copy")
        done = list(tc.task_successful_transfers(task_id))
        expect_equal(len(done), 13, "successful_transfers")

        # encrypt_data: the connectors move the bytes over TLS pinned to the certificates they
        # stated at check-in (the destination's log names the https:// source it pulled from).
        tdata = globus_sdk.TransferData(eps[0], eps[1], label="encrypted",
                                        verify_checksum=True, encrypt_data=True)
        tdata.add_item("/", "/enc/", recursive=True)
        task_id = tc.submit_transfer(tdata)["task_id"]
        expect(tc.task_wait(task_id, timeout=120, polling_interval=1), "the encrypted task did not finish")
        task = tc.get_task(task_id)
        expect_equal(task["status"], "SUCCEEDED", f"encrypted task {json.dumps(task.data)[:400]}")
        expect_equal(task["encrypt_data"], True, "the task's encrypt_data")
        expect_equal(tree(os.path.join(dst, "enc")), tree(src), "the encrypted copy")
        with open(os.path.join(server.log_dir, "connector-127.0.0.3.log"), "rb") as f:
            pulls = [l for l in f.read().decode(errors="replace").splitlines() if "pulling" in l]
        # A pull is one file; small files go several to a batch job, whose line says how many.
        def files(lines: list[str]) -> int:
            return sum(int(l.rsplit("files=", 1)[1].split()[0]) if "files=" in l else 1 for l in lines)

        expect(files(pulls) >= 26 and all("source=" in l for l in pulls), f"the pulls: {pulls[:3]}")
        encrypted = [l for l in pulls if "tls=true" in l]
        expect(files(encrypted) == 13 and all("source=https://" in l for l in encrypted),
               f"13 files pulled over TLS: {encrypted[:3]}")
        print("OK connector_sdk: ls, mkdir, a 404, and verified transfers between two connectors "
              "(in plaintext and with encrypt_data over pinned TLS) through globus-sdk",
              globus_sdk.__version__)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        server.stop()


if __name__ == "__main__":
    try:
        main()
    except harness.CheckFailed as e:
        print(f"FAILED connector_sdk: {e}", flush=True)
        sys.exit(1)
