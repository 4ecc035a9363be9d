//! Issue 13 across hosts: two `tessera serve` nodes on PostgreSQL, a connector on each of two
//! hosts (`connector_hosts.rs`), a tree moved connector to connector; the node holding the
//! task's lease is killed with SIGKILL mid-task, the other takes the task over within 30 s and
//! finishes it; the copy is byte-identical and no file recorded done before the kill is copied
//! again (same inode and mtime: every copy is written to a temporary name and renamed), and the
//! task's counts and events say each file once.

use crate::cluster::Db;
use crate::connector_hosts::Hosts;
use crate::connectors::{api, events, pattern, start_connector, token, Connector};
use crate::process::{json, Server};
use crate::transfer_cluster::{assert_same_tree, done_files, lease_pid, snapshot};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Registers a connector serving `dir` and an endpoint on it owned by `owner`.
fn connector_endpoint(node: &Server, name: &str, dir: &Path, owner: &str) -> (Connector, String) {
    let c = json(&node.admin(&["admin", "connector", "add", "--name", name], None));
    let connector = Connector {
        id: c["id"].as_str().unwrap().to_owned(),
        secret: c["secret"].as_str().unwrap().to_owned(),
        state: tempfile::tempdir().unwrap(),
        root: std::fs::canonicalize(dir).unwrap().display().to_string(),
    };
    let e = json(&node.admin(
        &[
            "admin",
            "endpoint",
            "add",
            "--name",
            name,
            "--path",
            &dir.display().to_string(),
            "--owner",
            owner,
            "--connector",
            &connector.id,
        ],
        None,
    ));
    (connector, e["id"].as_str().unwrap().to_owned())
}

/// Waits until `count` registered connectors have checked in (`list`: `admin connector list`).
pub(crate) async fn checked_in(list: impl Fn() -> serde_json::Value, count: usize) {
    let started = Instant::now();
    loop {
        let l = list();
        let seen = l["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["last_seen"].is_null())
            .count();
        if seen == count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no check-in: {l}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connector_cluster_the_node_driving_a_connector_task_is_killed_and_the_other_finishes_it() {
    let Some(db) = Db::fresh("two-node connector takeover").await else {
        return;
    };
    let hosts = Hosts::make();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..20 {
        let dir = src.path().join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..80 {
            std::fs::write(
                dir.join(format!("f{f:03} x")),
                pattern(f * 97 + d + 1, (d * 1000 + f) as u32),
            )
            .unwrap();
        }
    }
    for n in 0..3u32 {
        std::fs::write(
            src.path().join(format!("big{n}.bin")),
            pattern(32 << 20, n + 7),
        )
        .unwrap();
    }

    // One after the other: the first creates the signing key, the second loads it.
    let mut a = Server::start_pg_on(&hosts.service_listen, &db.url, &[]);
    let mut b = Server::start_pg_on(&hosts.service_listen, &db.url, &[]);
    let who = crate::transfer_cluster::mover(&a, "mover");
    let (c0, src_ep) = connector_endpoint(&a, "store-a", src.path(), &who.id);
    let (c1, dst_ep) = connector_endpoint(&a, "store-b", dst.path(), &who.id);
    // Each connector checks in with its own node: whichever is killed, one still hears from
    // its connector; neither needs it (a connector keeps serving with the key it has).
    let _p0 = start_connector(&hosts, 0, &c0, a.port());
    let _p1 = start_connector(&hosts, 1, &c1, b.port());
    checked_in(|| json(&a.admin(&["admin", "connector", "list"], None)), 2).await;

    let bearer = token(&a.url, &who.id, &who.secret).await;
    let (status, s) = api(
        reqwest::Method::POST,
        &format!("{}/v0.10/transfer", a.url),
        &bearer,
        Some(serde_json::json!({
            "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
            "source_endpoint": src_ep, "destination_endpoint": dst_ep,
            "verify_checksum": true,
            "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/", "destination_path": "/copy/", "recursive": true}],
        })),
    )
    .await;
    assert_eq!(status, 202, "{s}");
    let task = s["task_id"].as_str().unwrap().to_owned();

    // Some files recorded done (not all); then the lease holder dies.
    let started = Instant::now();
    let holder = loop {
        let (_, t) = api(
            reqwest::Method::GET,
            &format!("{}/v0.10/task/{task}", b.url),
            &bearer,
            None,
        )
        .await;
        assert_eq!(t["status"], "ACTIVE", "the task ended before the kill: {t}");
        if t["files_transferred"].as_i64().unwrap_or(0) > 100 {
            break lease_pid(&db, &task).await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (victim, survivor) = if holder == a.child.id() {
        (&mut a, &b)
    } else {
        assert_eq!(holder, b.child.id(), "the lease is held by neither node");
        (&mut b, &a)
    };
    victim.kill_9();
    let killed_at = Instant::now();
    let before = done_files(&db, &task, dst.path()).await;
    let (_, t) = api(
        reqwest::Method::GET,
        &format!("{}/v0.10/task/{task}", survivor.url),
        &bearer,
        None,
    )
    .await;
    let files = t["files"].as_i64().unwrap();
    assert!(
        !before.is_empty() && (before.len() as i64) < files,
        "{} of {files} files done at the kill: not mid-task",
        before.len()
    );

    let mut takeover = None;
    let t = loop {
        if takeover.is_none() && lease_pid(&db, &task).await == Some(survivor.child.id()) {
            takeover = Some(killed_at.elapsed());
        }
        let (_, t) = api(
            reqwest::Method::GET,
            &format!("{}/v0.10/task/{task}", survivor.url),
            &bearer,
            None,
        )
        .await;
        if t["status"] != "ACTIVE" {
            break t;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(180),
            "still ACTIVE three minutes after the kill: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let finished = killed_at.elapsed();
    let takeover = takeover.unwrap_or(finished);
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert!(
        takeover <= Duration::from_secs(30),
        "takeover took {takeover:?}"
    );
    assert_eq!(t["files"], 1603, "{t}");
    assert_eq!(
        t["files_transferred"], 1603,
        "a file was counted twice or lost: {t}"
    );
    assert_same_tree(&snapshot(&dst.path().join("copy")), &snapshot(src.path()));

    // Every file recorded done before the kill is the very file written then.
    let after: BTreeMap<String, (u64, i64)> = done_files(&db, &task, dst.path())
        .await
        .into_iter()
        .map(|(p, ino, mtime)| (p, (ino, mtime)))
        .collect();
    let recopied: Vec<&String> = before
        .iter()
        .filter(|(p, ino, mtime)| after.get(p) != Some(&(*ino, *mtime)))
        .map(|(p, _, _)| p)
        .collect();
    assert!(
        recopied.is_empty(),
        "{} files done before the kill were copied again: {:?}",
        recopied.len(),
        &recopied[..recopied.len().min(5)]
    );
    // The events: one start (the expansion is not redone), one end.
    let ev = events(&survivor.url, &bearer, &task).await;
    let codes: Vec<&str> = ev.iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "STARTED").count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "SUCCEEDED").count(),
        1,
        "{codes:?}"
    );
    // Nothing left under a temporary name on the destination host.
    let mut leftovers = Vec::new();
    let mut stack = vec![dst.path().to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if name.starts_with(".tessera-") {
                leftovers.push(e.path());
            }
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");
    eprintln!(
        "two-node connector takeover ({}): {} of {files} files done at the kill, lease taken \
         over {takeover:?} after the kill, task SUCCEEDED {finished:?} after it; none of them \
         copied again",
        if hosts.namespaces.is_some() {
            "network namespaces"
        } else {
            "loopback addresses"
        },
        before.len(),
    );
    drop((a, b));
    db.drop_db().await;
}
