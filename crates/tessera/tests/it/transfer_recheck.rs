//! Permission re-checked during a task: a user copying from someone else's endpoint under an
//! access rule is stopped when the rule is deleted mid-task (FAILED, PERMISSION_DENIED), and
//! the files not yet started are not copied.

use crate::process::Server;
use crate::transfer_cluster::{endpoint, get, mover, submit_tree_copy, token, SCOPE};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfer_a_rule_deleted_mid_task_stops_further_files() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..40 {
        let dir = src.path().join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("f{f:03}")), vec![b'x'; 2048 + f]).unwrap();
        }
    }
    let server = Server::start();
    let (owner, reader) = (mover(&server, "owner"), mover(&server, "reader"));
    let src_ep = endpoint(&server, "theirs", src.path(), &owner.id);
    let dst_ep = endpoint(&server, "mine", dst.path(), &reader.id);
    let (owner_t, reader_t) = (
        token(&server.url, &owner, SCOPE).await,
        token(&server.url, &reader, SCOPE).await,
    );
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/v0.10/endpoint/{src_ep}/access", server.url))
        .bearer_auth(&owner_t)
        .json(&json!({"DATA_TYPE": "access", "principal_type": "identity",
                      "principal": reader.id, "path": "/", "permissions": "r"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule = created["access_id"].as_str().unwrap().to_owned();
    let task = submit_tree_copy(&server.url, &reader_t, &src_ep, &dst_ep, false).await;
    let started = Instant::now();
    loop {
        let (_, t) = get(&server.url, &reader_t, &format!("/task/{task}")).await;
        assert_eq!(
            t["status"], "ACTIVE",
            "the task ended before the rule was deleted: {t}"
        );
        if t["files_transferred"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress: {t}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = http
        .delete(format!(
            "{}/v0.10/endpoint/{src_ep}/access/{rule}",
            server.url
        ))
        .bearer_auth(&owner_t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deleted = Instant::now();
    let t = loop {
        let (_, t) = get(&server.url, &reader_t, &format!("/task/{task}")).await;
        if t["status"] != "ACTIVE" {
            break t;
        }
        assert!(
            deleted.elapsed() < Duration::from_secs(30),
            "still ACTIVE: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(t["status"], "FAILED", "{t}");
    assert_eq!(t["fatal_error"]["code"], "PERMISSION_DENIED", "{t}");
    let done = t["files_transferred"].as_i64().unwrap();
    assert!(done < 4000, "every file was copied: {t}");
    // Nothing copied after the stop beyond what was recorded (plus files in flight).
    let on_disk = walk_files(&dst.path().join("copy"));
    assert!(on_disk < 4000, "{on_disk} files on disk");
    eprintln!(
        "rule deleted mid-task: FAILED PERMISSION_DENIED {:?} later, {done} of 4000 files copied",
        deleted.elapsed()
    );
}

fn walk_files(root: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}
