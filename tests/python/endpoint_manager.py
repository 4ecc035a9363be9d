#!/usr/bin/env python3
"""The endpoint-manager API (Transfer spec §9) through the real globus-sdk TransferClient.

It starts a real `tessera serve` (TESSERA_BIN, default target/release/tessera) with the shared
acceptance harness (../shared/acceptance/harness.py, or $TESSERA_SHARED/acceptance), registers
four confidential clients: 'mover' owns two endpoints (so it is their administrator), 'reader'
submits transfers between them through access rules, 'monitor' holds activity_monitor on the
destination, 'stranger' holds nothing. Then, with unchanged `endpoint_manager_*` methods:

- a pause rule on the destination holds reader's transfers (ACTIVE, is_paused) while the SDK's
  LastKeyPaginator walks endpoint_manager_task_list two tasks a page;
- get_task, task_event_list (its paginator), task_pause_info, successful_transfers,
  skipped_errors; monitored_endpoints, get_endpoint, hosted_endpoint_list, acl_list;
- pause rule list / get / update; the monitor may not cancel (403 PermissionDenied), the stranger
  may not list (403); the administrator cancels one of reader's tasks and reader reads the
  message; pause_tasks / resume_tasks; deleting the rule lets the rest finish;
- the rule made to pause ls: operation_ls of the destination is a 409 OperationPaused.

Usage: TESSERA_BIN=target/release/tessera python3 tests/python/endpoint_manager.py
"""

import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("TESSERA_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "acceptance"))

import globus_sdk  # noqa: E402
import harness  # noqa: E402

SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"


def client(server, name):
    c = server.add_client(name)
    return harness.ClientCredentials(str(c["client_id"]), str(c["client_secret"]))


def transfer_client(creds):
    auth = globus_sdk.ConfidentialAppAuthClient(creds.client_id, creds.client_secret)
    authorizer = globus_sdk.ClientCredentialsAuthorizer(auth, SCOPE)
    return globus_sdk.TransferClient(authorizer=authorizer, retry_config=harness.sdk_retry_config())


def refused(fn, code):
    try:
        fn()
    except globus_sdk.TransferAPIError as e:
        assert e.http_status == 403 and e.code == code, (e.http_status, e.code, e.message)
        return e
    raise AssertionError(f"expected a 403 {code}")


def wait_until(what, fn, timeout=30.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def main():
    server = harness.start_server()
    mover, reader, monitor, stranger = (client(server, n) for n in ("mover", "reader", "monitor", "stranger"))
    src_dir, dst_dir = harness.make_temp_dir("em-src"), harness.make_temp_dir("em-dst")
    src = server.admin(["endpoint", "add", "--name", "EM source", "--path", src_dir, "--owner", mover.client_id])["id"]
    dst = server.admin(["endpoint", "add", "--name", "EM destination", "--path", dst_dir, "--owner", mover.client_id])["id"]
    admin_tc, reader_tc = transfer_client(mover), transfer_client(reader)
    monitor_tc, stranger_tc = transfer_client(monitor), transfer_client(stranger)

    for ep, perms in ((src, "r"), (dst, "rw")):
        admin_tc.add_endpoint_acl_rule(
            ep, {"DATA_TYPE": "access", "principal_type": "identity", "principal": reader.client_id,
                 "path": "/", "permissions": perms})
    admin_tc.add_endpoint_role(
        dst, {"DATA_TYPE": "role", "principal_type": "identity", "principal": monitor.client_id,
              "role": "activity_monitor"})
    print("PASS endpoints, access rules and the activity_monitor role set up")

    rule = admin_tc.endpoint_manager_create_pause_rule({
        "DATA_TYPE": "pause_rule", "message": "destination maintenance", "endpoint_id": dst,
        "identity_id": None, "start_time": None, "pause_ls": False, "pause_mkdir": False,
        "pause_rename": False, "pause_task_delete": False, "pause_task_transfer_read": False,
        "pause_task_transfer_write": True,
    })
    rule_id = rule["id"]
    assert rule["editable"] is True and rule["endpoint_id"] == dst, rule.data
    print("PASS endpoint_manager_create_pause_rule")

    tasks = []
    for i in range(5):
        with open(os.path.join(src_dir, f"f{i}.txt"), "w") as f:
            f.write(f"file {i}\n")
        tdata = globus_sdk.TransferData(source_endpoint=src, destination_endpoint=dst, label=f"em {i}")
        tdata.add_item(f"/f{i}.txt", f"/f{i}.txt")
        tasks.append(reader_tc.submit_transfer(tdata)["task_id"])
    wait_until("all five held by the rule",
               lambda: all(reader_tc.get_task(t)["is_paused"] for t in tasks))
    assert all(reader_tc.get_task(t)["status"] == "ACTIVE" for t in tasks)
    print("PASS the pause rule holds reader's five transfers (ACTIVE, is_paused)")

    pages = list(admin_tc.paginated.endpoint_manager_task_list(filter_status="ACTIVE", query_params={"limit": 2}))
    seen = [t["task_id"] for page in pages for t in page]
    assert len(pages) == 3 and sorted(seen) == sorted(tasks), (len(pages), seen)
    owners = {t["owner_string"] for page in pages for t in page}
    assert owners == {f"{reader.client_id}@clients.auth.globus.org"}, owners
    items = list(monitor_tc.paginated.endpoint_manager_task_list(
        filter_endpoint=dst, filter_status="ACTIVE", filter_is_paused=True).items())
    assert sorted(t["task_id"] for t in items) == sorted(tasks)
    print("PASS LastKeyPaginator over endpoint_manager_task_list: 3 pages, 5 tasks, each once")

    t0 = tasks[0]
    assert monitor_tc.endpoint_manager_get_task(t0)["task_id"] == t0
    events = list(monitor_tc.paginated.endpoint_manager_task_event_list(t0).items())
    assert any(e["code"] == "PAUSED" for e in events), events
    info = monitor_tc.endpoint_manager_task_pause_info(t0)
    assert info["pause_rules"][0]["id"] == rule_id, info.data
    assert list(monitor_tc.endpoint_manager_task_successful_transfers(t0)) == []
    assert list(monitor_tc.endpoint_manager_task_skipped_errors(t0)) == []
    assert [e["id"] for e in monitor_tc.endpoint_manager_monitored_endpoints()] == [dst]
    assert monitor_tc.endpoint_manager_get_endpoint(dst)["id"] == dst
    assert list(monitor_tc.endpoint_manager_hosted_endpoint_list(dst)) == []
    assert len(list(monitor_tc.endpoint_manager_acl_list(dst))) == 1
    owner_info = reader_tc.task_pause_info(t0)
    assert owner_info["pause_rules"][0]["message"] == "destination maintenance", owner_info.data
    print("PASS get_task, event list, pause info, successful/skipped, endpoints and ACLs as a monitor")

    rules = list(monitor_tc.endpoint_manager_pause_rule_list(filter_endpoint=dst))
    assert [r["id"] for r in rules] == [rule_id] and rules[0]["editable"] is False
    assert admin_tc.endpoint_manager_get_pause_rule(rule_id)["message"] == "destination maintenance"
    updated = admin_tc.endpoint_manager_update_pause_rule(rule_id, {"message": "still maintaining"})
    assert updated["message"] == "still maintaining" and updated["pause_task_transfer_write"] is True
    refused(lambda: monitor_tc.endpoint_manager_delete_pause_rule(rule_id), "PermissionDenied")
    print("PASS pause rule list / get / update; a monitor may not delete it")

    # The same rule made to pause ls too: reader's ls of the destination is refused with 409
    # OperationPaused and the rule's message (the SDK does not retry a 409); the source is not.
    admin_tc.endpoint_manager_update_pause_rule(rule_id, {"pause_ls": True})
    try:
        reader_tc.operation_ls(dst)
        raise AssertionError("ls of a paused endpoint succeeded")
    except globus_sdk.TransferAPIError as e:
        assert (e.http_status, e.code) == (409, "OperationPaused"), (e.http_status, e.code)
        assert "still maintaining" in e.message, e.message
    assert reader_tc.operation_ls(src)["DATA_TYPE"] == "file_list"
    admin_tc.endpoint_manager_update_pause_rule(rule_id, {"pause_ls": False})
    assert reader_tc.operation_ls(dst)["DATA_TYPE"] == "file_list"
    print("PASS a pause rule with pause_ls refuses operation_ls (409 OperationPaused) until lifted")

    refused(lambda: monitor_tc.endpoint_manager_cancel_tasks([t0], "no"), "PermissionDenied")
    refused(lambda: stranger_tc.endpoint_manager_task_list(filter_status="ACTIVE"), "PermissionDenied")
    refused(lambda: reader_tc.endpoint_manager_get_task(t0), "PermissionDenied")
    print("PASS a monitor may not cancel; a stranger and the owner get 403 from endpoint_manager")

    job = admin_tc.endpoint_manager_cancel_tasks([t0], "canceled for maintenance")
    assert job["done"] is True and job["processed_task_id_list"] == [t0], job.data
    assert admin_tc.endpoint_manager_cancel_status(job["id"])["id"] == job["id"]
    mine = reader_tc.get_task(t0)
    assert mine["status"] == "FAILED" and mine["fatal_error"]["code"] == "CANCELED", mine.data
    assert mine["canceled_by_admin_message"] == "canceled for maintenance", mine.data
    print("PASS the administrator cancels reader's task; reader reads the message")

    t1 = tasks[1]
    admin_tc.endpoint_manager_pause_tasks([t1], "held by id")
    assert admin_tc.endpoint_manager_task_pause_info(t1)["destination_pause_message"] == "held by id"
    admin_tc.endpoint_manager_resume_tasks([t1])
    admin_tc.endpoint_manager_delete_pause_rule(rule_id)
    for t in tasks[1:]:
        assert reader_tc.task_wait(t, timeout=60, polling_interval=1), t
        assert reader_tc.get_task(t)["status"] == "SUCCEEDED"
    assert sorted(os.listdir(dst_dir)) == [f"f{i}.txt" for i in range(1, 5)]
    print("PASS pause_tasks / resume_tasks; deleting the rule lets the four others finish")
    server.stop()
    print("endpoint_manager.py: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        for s in list(getattr(harness, "_running_servers", [])):
            s.print_log_tail()
        raise
