//! Tasks through the engine: a tree, sync levels, duplicates, failures, cancel, privacy,
//! paging.

use crate::harness::{assert_error, World};
use axum::http::StatusCode;
use serde_json::json;

fn tree(w: &World) {
    std::fs::create_dir_all(w.src_dir.join("t/deep/er")).unwrap();
    std::fs::create_dir_all(w.src_dir.join("t/empty")).unwrap();
    std::fs::write(w.src_dir.join("t/one"), b"1").unwrap();
    std::fs::write(w.src_dir.join("t/deep/two words"), b"22").unwrap();
    std::fs::write(w.src_dir.join("t/deep/er/three"), vec![7u8; 300_000]).unwrap();
}

#[tokio::test]
async fn a_recursive_transfer_reproduces_the_tree_and_a_sync_rerun_copies_nothing() {
    let w = World::new(true).await;
    tree(&w);
    let task = w
        .transfer(
            json!([{"source_path": "/t", "destination_path": "/copy"}]),
            json!({"verify_checksum": true}),
        )
        .await;
    let t = w.wait(&task).await;
    assert_eq!(
        (
            t["status"].as_str(),
            t["files_transferred"].as_i64(),
            t["bytes_transferred"].as_i64()
        ),
        (Some("SUCCEEDED"), Some(3), Some(300_003)),
        "{t}"
    );
    assert!(w.dst_dir.join("copy/empty").is_dir());
    assert_eq!(
        std::fs::read(w.dst_dir.join("copy/deep/er/three")).unwrap(),
        vec![7u8; 300_000]
    );
    let done = w
        .get(
            &w.mover,
            &format!("/v0.10/task/{task}/successful_transfers"),
        )
        .await
        .body;
    assert_eq!(done["DATA"].as_array().unwrap().len(), 3);
    assert!(done["next_marker"].is_null());
    let again = w
        .transfer(
            json!([{"source_path": "/t", "destination_path": "/copy", "recursive": true}]),
            json!({"sync_level": 1}),
        )
        .await;
    let t = w.wait(&again).await;
    assert_eq!(
        (t["files_transferred"].as_i64(), t["files_skipped"].as_i64()),
        (Some(0), Some(3)),
        "{t}"
    );
    let events = w
        .get(&w.mover, &format!("/v0.10/task/{task}/event_list"))
        .await
        .body;
    assert_eq!(events["DATA"][0]["code"], "SUCCEEDED");
    assert_eq!(
        events["total"].as_i64(),
        Some(events["DATA"].as_array().unwrap().len() as i64)
    );
}

#[tokio::test]
async fn a_submission_id_is_used_once_and_tasks_are_private() {
    let w = World::new(false).await;
    let body = json!({"submission_id": "fixed-id", "source_endpoint": w.src, "destination_endpoint": w.dst, "DATA": [{"source_path": "/a", "destination_path": "/b"}]});
    let first = w.post(&w.mover, "/v0.10/transfer", body.clone()).await;
    assert_eq!(first.body["code"], "Accepted");
    let second = w.post(&w.mover, "/v0.10/transfer", body).await;
    assert_eq!(
        (second.body["code"].as_str(), &second.body["task_id"]),
        (Some("Duplicate"), &first.body["task_id"])
    );
    let list = w.get(&w.mover, "/v0.10/task_list?limit=100").await.body;
    assert_eq!(list["total"], 1);
    let theirs = w.get(&w.reader, "/v0.10/task_list").await.body;
    assert_eq!(
        (
            theirs["total"].as_i64(),
            theirs["DATA"].as_array().unwrap().len()
        ),
        (Some(0), 0)
    );
    let task = first.body["task_id"].as_str().unwrap();
    assert_error(
        &w.get(&w.reader, &format!("/v0.10/task/{task}")).await,
        StatusCode::NOT_FOUND,
        "TaskNotFound",
    );
    let empty = w.post(&w.mover, "/v0.10/transfer", json!({"submission_id": "x", "source_endpoint": w.src, "destination_endpoint": w.dst, "DATA": []})).await;
    assert_error(
        &empty,
        StatusCode::BAD_REQUEST,
        "ClientError.BadRequest.NoTransferItems",
    );
    let escape = w.post(&w.mover, "/v0.10/transfer", json!({"submission_id": "y", "source_endpoint": w.src, "destination_endpoint": w.dst, "DATA": [{"source_path": "/../../etc/passwd", "destination_path": "/p"}]})).await;
    assert_error(&escape, StatusCode::BAD_REQUEST, "ClientError.BadRequest");
    let denied = w.post(&w.reader, "/v0.10/transfer", json!({"submission_id": "z", "source_endpoint": w.src, "destination_endpoint": w.dst, "DATA": [{"source_path": "/a", "destination_path": "/b"}]})).await;
    assert_error(&denied, StatusCode::FORBIDDEN, "PermissionDenied");
}

#[tokio::test]
async fn a_missing_source_fails_fast_and_cancel_ends_failed_canceled() {
    let w = World::new(true).await;
    let task = w
        .transfer(
            json!([{"source_path": "/missing", "destination_path": "/x"}]),
            json!({}),
        )
        .await;
    let t = w.wait(&task).await;
    assert_eq!(
        (t["status"].as_str(), t["fatal_error"]["code"].as_str()),
        (Some("FAILED"), Some("FILE_NOT_FOUND")),
        "{t}"
    );
    let errors = w
        .get(
            &w.mover,
            &format!("/v0.10/task/{task}/event_list?filter=is_error:1"),
        )
        .await
        .body;
    assert!(errors["total"].as_i64().unwrap() >= 1);

    std::fs::create_dir(w.src_dir.join("many")).unwrap();
    for i in 0..300 {
        std::fs::write(w.src_dir.join(format!("many/{i}")), b"x").unwrap();
    }
    let task = w
        .transfer(
            json!([{"source_path": "/many", "destination_path": "/many"}]),
            json!({}),
        )
        .await;
    let answer = w
        .post(&w.mover, &format!("/v0.10/task/{task}/cancel"), json!({}))
        .await
        .body;
    let t = w.wait(&task).await;
    if answer["code"] == "Canceled" {
        assert_eq!(
            (t["status"].as_str(), t["fatal_error"]["code"].as_str()),
            (Some("FAILED"), Some("CANCELED")),
            "{t}"
        );
    } else {
        assert_eq!(t["status"], "SUCCEEDED");
    }
    let again = w
        .post(&w.mover, &format!("/v0.10/task/{task}/cancel"), json!({}))
        .await
        .body;
    assert_eq!(again["code"], "TaskComplete");
}

#[tokio::test]
async fn a_recursive_delete_removes_the_tree_and_deadlines_fail_tasks() {
    let w = World::new(true).await;
    tree(&w);
    let del = w
        .post(&w.mover, "/v0.10/delete", json!({"submission_id": "d1", "endpoint": w.src, "recursive": true, "DATA": [{"DATA_TYPE": "delete_item", "path": "/t/deep"}]}))
        .await;
    let t = w.wait(del.body["task_id"].as_str().unwrap()).await;
    assert_eq!(
        (t["status"].as_str(), t["type"].as_str()),
        (Some("SUCCEEDED"), Some("DELETE")),
        "{t}"
    );
    assert!(!w.src_dir.join("t/deep").exists() && w.src_dir.join("t/one").exists());
    let late = w
        .transfer(
            json!([{"source_path": "/t/one", "destination_path": "/one"}]),
            json!({"deadline": "2001-01-01"}),
        )
        .await;
    let t = w.wait(&late).await;
    assert_eq!(t["fatal_error"]["code"], "DEADLINE_EXPIRED", "{t}");
    assert!(!w.dst_dir.join("one").exists());
}
