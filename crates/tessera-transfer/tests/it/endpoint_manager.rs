//! The endpoint-manager API (spec §9): managers see and cancel other people's tasks on their
//! endpoints, monitors only read, strangers are refused; last_key paging; pause rules and
//! pauses by id stop the engine driving a task and a resume lets it finish.

use crate::harness::{assert_error, World};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Lets `reader` read src and write dst, so it can submit transfers between mover's endpoints.
async fn grant_reader(w: &World) {
    for (e, perms) in [(&w.src, "r"), (&w.dst, "rw")] {
        let r = w
            .post(
                &w.mover,
                &format!("/v0.10/endpoint/{e}/access"),
                json!({"principal_type": "identity", "principal": w.reader.id, "path": "/", "permissions": perms}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

async fn reader_transfer(w: &World, name: &str) -> String {
    std::fs::write(w.src_dir.join(name), b"payload").unwrap();
    let body = json!({
        "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
        "source_endpoint": w.src, "destination_endpoint": w.dst,
        "DATA": [{"DATA_TYPE": "transfer_item", "source_path": format!("/{name}"), "destination_path": format!("/{name}")}],
    });
    let r = w.post(&w.reader, "/v0.10/transfer", body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    r.body["task_id"].as_str().unwrap().to_owned()
}

async fn add_role(w: &World, endpoint: &str, who: &str, role: &str) {
    let r = w
        .post(
            &w.mover,
            &format!("/v0.10/endpoint/{endpoint}/role"),
            json!({"DATA_TYPE": "role", "principal_type": "identity", "principal": who, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn ids(list: &Value) -> Vec<String> {
    list["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_manager_lists_and_cancels_someone_elses_task_a_monitor_only_reads_a_stranger_is_refused()
{
    let w = World::new(false).await;
    grant_reader(&w).await;
    let task = reader_transfer(&w, "f.txt").await;
    let monitor = w.who("monitor").await;
    let stranger = w.who("stranger").await;
    add_role(&w, &w.dst, &monitor.id, "activity_monitor").await;

    // Who monitors what.
    let mine = w
        .get(&w.mover, "/v0.10/endpoint_manager/monitored_endpoints")
        .await;
    assert_eq!(
        mine.body["DATA"].as_array().unwrap().len(),
        2,
        "{}",
        mine.body
    );
    let watched = w
        .get(&monitor, "/v0.10/endpoint_manager/monitored_endpoints")
        .await;
    assert_eq!(
        watched.body["DATA"][0]["id"],
        json!(w.dst),
        "{}",
        watched.body
    );
    assert_eq!(watched.body["DATA"].as_array().unwrap().len(), 1);
    let none = w
        .get(&stranger, "/v0.10/endpoint_manager/monitored_endpoints")
        .await;
    assert_eq!(none.body["DATA"], json!([]));

    // The owner of the endpoints and the monitor see the reader's task, with its owner.
    for who in [&w.mover, &monitor] {
        let list = w
            .get(
                who,
                "/v0.10/endpoint_manager/task_list?filter_status=ACTIVE",
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(ids(&list.body), vec![task.clone()]);
        assert_eq!(list.body["DATA"][0]["owner_id"], json!(w.reader.id));
        assert_eq!(
            list.body["DATA"][0]["owner_string"],
            json!(format!("{}@clients.auth.globus.org", w.reader.id))
        );
        assert_eq!(list.body["has_next_page"], json!(false));
        let one = w
            .get(who, &format!("/v0.10/endpoint_manager/task/{task}"))
            .await;
        assert_eq!(one.body["task_id"], json!(task), "{}", one.body);
        let events = w
            .get(
                who,
                &format!("/v0.10/endpoint_manager/task/{task}/event_list?filter_is_error=0"),
            )
            .await;
        assert!(
            events.body["total"].as_i64().unwrap() >= 1,
            "{}",
            events.body
        );
    }
    // Through the endpoint filter, and a filter on one side only.
    let by_dst = w
        .get(&monitor, &format!("/v0.10/endpoint_manager/task_list?filter_endpoint={}&filter_endpoint_use=destination", w.dst))
        .await;
    assert_eq!(ids(&by_dst.body), vec![task.clone()], "{}", by_dst.body);
    let by_src_side = w
        .get(
            &monitor,
            &format!(
                "/v0.10/endpoint_manager/task_list?filter_endpoint={}&filter_endpoint_use=source",
                w.dst
            ),
        )
        .await;
    assert_eq!(ids(&by_src_side.body), Vec::<String>::new());
    // The monitor has no role on src.
    let not_theirs = w
        .get(
            &monitor,
            &format!(
                "/v0.10/endpoint_manager/task_list?filter_endpoint={}",
                w.src
            ),
        )
        .await;
    assert_error(&not_theirs, StatusCode::FORBIDDEN, "PermissionDenied");

    // A stranger, and the task's own owner (who manages neither endpoint), are refused.
    for who in [&stranger, &w.reader] {
        let list = w
            .get(
                who,
                "/v0.10/endpoint_manager/task_list?filter_status=ACTIVE",
            )
            .await;
        assert_error(&list, StatusCode::FORBIDDEN, "PermissionDenied");
        let one = w
            .get(who, &format!("/v0.10/endpoint_manager/task/{task}"))
            .await;
        assert_error(&one, StatusCode::FORBIDDEN, "PermissionDenied");
    }
    let cancel = json!({"message": "disk maintenance tonight", "task_id_list": [task]});
    let by_stranger = w
        .post(
            &stranger,
            "/v0.10/endpoint_manager/admin_cancel",
            cancel.clone(),
        )
        .await;
    assert_error(&by_stranger, StatusCode::FORBIDDEN, "PermissionDenied");

    // Bad filters are 400s that change nothing.
    let bad = w
        .get(
            &w.mover,
            "/v0.10/endpoint_manager/task_list?filter_status=DONE",
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    assert!(bad.body["message"]
        .as_str()
        .unwrap()
        .contains("filter_status"));
    let bad = w
        .post(
            &w.mover,
            "/v0.10/endpoint_manager/admin_cancel",
            json!({"message": "x", "task_id_list": ["nope"]}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    let bad = w
        .post(
            &w.mover,
            "/v0.10/endpoint_manager/admin_cancel",
            json!({"task_id_list": [task]}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");

    // The monitor may not cancel; the task is untouched.
    let by_monitor = w
        .post(
            &monitor,
            "/v0.10/endpoint_manager/admin_cancel",
            cancel.clone(),
        )
        .await;
    assert_error(&by_monitor, StatusCode::FORBIDDEN, "PermissionDenied");
    let still = w.get(&w.reader, &format!("/v0.10/task/{task}")).await;
    assert_eq!(still.body["status"], json!("ACTIVE"));

    // The endpoints' owner (their administrator) cancels it.
    let done = w
        .post(&w.mover, "/v0.10/endpoint_manager/admin_cancel", cancel)
        .await;
    assert_eq!(done.status, StatusCode::ACCEPTED, "{}", done.body);
    assert_eq!(done.body["DATA_TYPE"], json!("admin_cancel"));
    assert_eq!(done.body["done"], json!(true));
    assert_eq!(done.body["processed_task_id_list"], json!([task]));
    let job = done.body["id"].as_str().unwrap();
    let again = w
        .get(
            &w.mover,
            &format!("/v0.10/endpoint_manager/admin_cancel/{job}"),
        )
        .await;
    assert_eq!(again.body, done.body);
    let others = w
        .get(
            &monitor,
            &format!("/v0.10/endpoint_manager/admin_cancel/{job}"),
        )
        .await;
    assert_error(&others, StatusCode::NOT_FOUND, "AdminCancelNotFound");

    // Its owner sees why.
    let t = w.get(&w.reader, &format!("/v0.10/task/{task}")).await.body;
    assert_eq!(t["status"], json!("FAILED"));
    assert_eq!(t["fatal_error"]["code"], json!("CANCELED"));
    assert_eq!(t["canceled_by_admin"], json!("BOTH"));
    assert_eq!(
        t["canceled_by_admin_message"],
        json!("disk maintenance tonight")
    );
    let events = w
        .get(&w.reader, &format!("/v0.10/task/{task}/event_list"))
        .await
        .body;
    assert_eq!(events["DATA"][0]["code"], json!("CANCELED"));
    assert!(events["DATA"][0]["details"]
        .as_str()
        .unwrap()
        .contains("disk maintenance tonight"));
    // A finished task is listed with a completion filter, and by id.
    let finished = w
        .get(&monitor, &format!("/v0.10/endpoint_manager/task_list?filter_status=FAILED&filter_endpoint={}&filter_completion_time=2000-01-01T00:00:00,", w.dst))
        .await;
    assert_eq!(ids(&finished.body), vec![task.clone()], "{}", finished.body);
    let by_id = w
        .get(
            &monitor,
            &format!("/v0.10/endpoint_manager/task_list?filter_task_id={task}"),
        )
        .await;
    assert_eq!(ids(&by_id.body), vec![task.clone()], "{}", by_id.body);
}

#[tokio::test]
async fn the_task_list_pages_by_last_key_over_more_than_a_page() {
    let w = World::new(false).await;
    grant_reader(&w).await;
    let mut submitted = HashSet::new();
    for i in 0..7 {
        submitted.insert(reader_transfer(&w, &format!("f{i}")).await);
    }
    let mut seen = Vec::new();
    let mut last_key: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut uri = "/v0.10/endpoint_manager/task_list?filter_status=ACTIVE&limit=3".to_owned();
        if let Some(k) = &last_key {
            uri.push_str(&format!("&last_key={k}"));
        }
        let page = w.get(&w.mover, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        seen.extend(ids(&page.body));
        if page.body["has_next_page"] != json!(true) {
            break;
        }
        last_key = Some(page.body["last_key"].as_str().unwrap().to_owned());
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "no task twice: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), submitted);
    let bad = w
        .get(
            &w.mover,
            "/v0.10/endpoint_manager/task_list?filter_status=ACTIVE&last_key=xyz",
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
}

async fn task_doc(w: &World, task: &str) -> Value {
    w.get(&w.reader, &format!("/v0.10/task/{task}")).await.body
}

async fn event_codes(w: &World, task: &str) -> Vec<String> {
    let events = w
        .get(
            &w.reader,
            &format!("/v0.10/task/{task}/event_list?limit=1000"),
        )
        .await
        .body;
    events["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls (at most 20 s) until `check` holds for the task document.
async fn until(w: &World, task: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let t = task_doc(w, task).await;
        if check(&t) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "task {task}: {what} did not happen within 20 s: {}",
        task_doc(w, task).await
    );
}

#[tokio::test]
async fn a_pause_rule_holds_a_task_and_deleting_it_lets_the_task_finish() {
    let w = World::new(true).await;
    grant_reader(&w).await;
    let manager = w.who("manager").await;
    add_role(&w, &w.dst, &manager.id, "activity_manager").await;
    let rule = w
        .post(
            &manager,
            "/v0.10/endpoint_manager/pause_rule",
            json!({"DATA_TYPE": "pause_rule", "endpoint_id": w.dst, "identity_id": null, "start_time": null,
                   "message": "storage upgrade", "pause_ls": false, "pause_mkdir": false, "pause_rename": false,
                   "pause_task_delete": false, "pause_task_transfer_read": false, "pause_task_transfer_write": true}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::OK, "{}", rule.body);
    let rule_id = rule.body["id"].as_str().unwrap().to_owned();
    assert_eq!(rule.body["editable"], json!(true));
    let monitor_list = w
        .get(
            &manager,
            &format!(
                "/v0.10/endpoint_manager/pause_rule_list?filter_endpoint={}",
                w.dst
            ),
        )
        .await;
    assert_eq!(
        monitor_list.body["DATA"][0]["id"],
        json!(rule_id),
        "{}",
        monitor_list.body
    );

    let task = reader_transfer(&w, "held.txt").await;
    let t = until(&w, &task, "is_paused", |t| t["is_paused"] == json!(true)).await;
    assert_eq!(t["status"], json!("ACTIVE"));
    assert_eq!(t["nice_status_details"], json!("storage upgrade"));
    // Held: the engine does not drive it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = task_doc(&w, &task).await;
    assert_eq!(
        (t["status"].as_str(), t["files_transferred"].as_i64()),
        (Some("ACTIVE"), Some(0)),
        "{t}"
    );
    assert!(!w.dst_dir.join("held.txt").exists());
    assert!(event_codes(&w, &task).await.contains(&"PAUSED".to_owned()));
    // The owner sees the rule, in pause_info and on the endpoint.
    let info = w
        .get(&w.reader, &format!("/v0.10/task/{task}/pause_info"))
        .await
        .body;
    assert_eq!(info["DATA_TYPE"], json!("pause_info_limited"));
    assert_eq!(
        info["pause_rules"][0]["message"],
        json!("storage upgrade"),
        "{info}"
    );
    assert_eq!(
        info["pause_rules"][0]["pause_task_transfer_write"],
        json!(true)
    );
    let effective = w
        .get(
            &w.reader,
            &format!("/v0.10/endpoint/{}/my_effective_pause_rule_list", w.dst),
        )
        .await
        .body;
    assert_eq!(effective["DATA"][0]["id"], json!(rule_id), "{effective}");
    let paused = w
        .get(
            &manager,
            "/v0.10/endpoint_manager/task_list?filter_status=ACTIVE&filter_is_paused=true",
        )
        .await;
    assert_eq!(ids(&paused.body), vec![task.clone()], "{}", paused.body);
    // A monitor-only caller may not change the rule; bad bodies change nothing.
    let bad = w
        .call(
            Some(&manager),
            Method::PUT,
            &format!("/v0.10/endpoint_manager/pause_rule/{rule_id}"),
            Some(json!({"pause_ls": "yes"})),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    let stranger = w.who("stranger").await;
    let refused = w
        .call(
            Some(&stranger),
            Method::DELETE,
            &format!("/v0.10/endpoint_manager/pause_rule/{rule_id}"),
            None,
        )
        .await;
    assert_error(&refused, StatusCode::FORBIDDEN, "PermissionDenied");

    // The rule goes: the task finishes.
    let gone = w
        .call(
            Some(&manager),
            Method::DELETE,
            &format!("/v0.10/endpoint_manager/pause_rule/{rule_id}"),
            None,
        )
        .await;
    assert_eq!(gone.body["code"], json!("Deleted"), "{}", gone.body);
    let t = until(&w, &task, "finish", |t| t["status"] != json!("ACTIVE")).await;
    assert_eq!(t["status"], json!("SUCCEEDED"), "{t}");
    assert_eq!(t["is_paused"], json!(false));
    assert_eq!(
        std::fs::read(w.dst_dir.join("held.txt")).unwrap(),
        b"payload"
    );
    let codes = event_codes(&w, &task).await;
    assert!(codes.contains(&"RESUMED".to_owned()), "{codes:?}");
}

#[tokio::test]
async fn admin_pause_stops_a_running_task_and_admin_resume_completes_it() {
    let w = World::new(true).await;
    grant_reader(&w).await;
    let dir = w.src_dir.join("many");
    std::fs::create_dir_all(&dir).unwrap();
    // 200 MiB: enough that the copy is still running when the pause reaches the engine (small
    // files are grouped per job now, and 400 × 32 KiB finished inside one heartbeat).
    for i in 0..400 {
        std::fs::write(dir.join(format!("f{i:04}")), vec![7u8; 512 * 1024]).unwrap();
    }
    let body = json!({
        "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
        "source_endpoint": w.src, "destination_endpoint": w.dst,
        "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/many/", "destination_path": "/many/", "recursive": true}],
    });
    let r = w.post(&w.reader, "/v0.10/transfer", body).await;
    let task = r.body["task_id"].as_str().unwrap().to_owned();
    let monitor = w.who("monitor").await;
    add_role(&w, &w.src, &monitor.id, "activity_monitor").await;
    let pause = json!({"message": "hold on", "task_id_list": [task]});
    let refused = w
        .post(
            &monitor,
            "/v0.10/endpoint_manager/admin_pause",
            pause.clone(),
        )
        .await;
    assert_error(&refused, StatusCode::FORBIDDEN, "PermissionDenied");
    let paused = w
        .post(&w.mover, "/v0.10/endpoint_manager/admin_pause", pause)
        .await;
    assert_eq!(
        paused.body["code"],
        json!("PauseAccepted"),
        "{}",
        paused.body
    );
    let t = until(&w, &task, "is_paused", |t| t["is_paused"] == json!(true)).await;
    assert_eq!(
        t["status"],
        json!("ACTIVE"),
        "finished before the pause: {t}"
    );
    // Wait for the PAUSED event (the engine has let go), then nothing moves.
    for _ in 0..100 {
        if event_codes(&w, &task).await.contains(&"PAUSED".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = task_doc(&w, &task).await["files_transferred"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = task_doc(&w, &task).await;
    assert_eq!(
        after["files_transferred"].as_i64().unwrap(),
        before,
        "{after}"
    );
    assert_eq!(after["status"], json!("ACTIVE"));
    let info = w
        .get(
            &monitor,
            &format!("/v0.10/endpoint_manager/task/{task}/pause_info"),
        )
        .await
        .body;
    assert_eq!(info["source_pause_message"], json!("hold on"), "{info}");

    let resumed = w
        .post(
            &w.mover,
            "/v0.10/endpoint_manager/admin_resume",
            json!({"task_id_list": [task]}),
        )
        .await;
    assert_eq!(
        resumed.body["code"],
        json!("ResumeAccepted"),
        "{}",
        resumed.body
    );
    let t = until(&w, &task, "finish", |t| t["status"] != json!("ACTIVE")).await;
    assert_eq!(t["status"], json!("SUCCEEDED"), "{t}");
    assert_eq!(t["files_transferred"], json!(400));
    assert_eq!(
        std::fs::read_dir(w.dst_dir.join("many")).unwrap().count(),
        400
    );
}
