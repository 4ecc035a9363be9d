//! The Transfer engine on two PostgreSQL nodes: the node holding a task's lease is killed with
//! SIGKILL mid-task, the other takes the task over once the lease runs out and finishes it; the
//! copy is byte-identical and no file recorded done before the kill is copied again.

use crate::cluster::Db;
use crate::process::{json, Server};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

pub(crate) fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel + "/", Vec::new());
                stack.push(e.path());
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Compares two trees and names the differences (not the bytes).
pub(crate) fn assert_same_tree(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>) {
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let differ: Vec<&String> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        extra.is_empty() && missing.is_empty() && differ.is_empty(),
        "extra {extra:?}, missing {missing:?}, different {differ:?}"
    );
}

pub(crate) struct Mover {
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) fn mover(server: &Server, name: &str) -> Mover {
    let c = json(&server.admin(
        &["admin", "client", "add", "--name", name, "--confidential"],
        None,
    ));
    Mover {
        id: c["client_id"].as_str().unwrap().to_owned(),
        secret: c["client_secret"].as_str().unwrap().to_owned(),
    }
}

pub(crate) fn endpoint(server: &Server, name: &str, dir: &Path, owner: &str) -> String {
    let out = json(&server.admin(
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
        ],
        None,
    ));
    out["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn token(url: &str, who: &Mover, scope: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(&who.id, Some(&who.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Submits a recursive copy of `src_ep:/` to `dst_ep:/copy/` and returns the task id.
pub(crate) async fn submit_tree_copy(
    url: &str,
    bearer: &str,
    src_ep: &str,
    dst_ep: &str,
    verify_checksum: bool,
) -> String {
    let submitted: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v0.10/transfer"))
        .bearer_auth(bearer)
        .json(&serde_json::json!({
            "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
            "source_endpoint": src_ep, "destination_endpoint": dst_ep,
            "verify_checksum": verify_checksum,
            "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/", "destination_path": "/copy/"}],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    submitted["task_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn get(url: &str, token: &str, path: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(format!("{url}/v0.10{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The pid in a lease owner's name (`<pid>-<random>`).
pub(crate) async fn lease_pid(db: &Db, task: &str) -> Option<u32> {
    let owner: Option<String> =
        sqlx::query_scalar("SELECT lease_owner FROM transfer_tasks WHERE id = $1")
            .bind(task)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    owner.and_then(|o| o.split('-').next().and_then(|p| p.parse().ok()))
}

/// `(destination path, inode, mtime ns)` of every file row recorded done.
pub(crate) async fn done_files(db: &Db, task: &str, dst: &Path) -> Vec<(String, u64, i64)> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT destination_path FROM transfer_task_files \
         WHERE task_id = $1 AND state = 'done' AND NOT is_dir ORDER BY seq",
    )
    .bind(task)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|p| {
            let m = std::fs::metadata(dst.join(p.trim_start_matches('/'))).unwrap();
            (p, m.ino(), m.mtime() * 1_000_000_000 + m.mtime_nsec())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfer_cluster_a_node_killed_mid_task_has_its_task_finished_by_the_other() {
    let Some(db) = Db::fresh("two-node transfer takeover").await else {
        return;
    };
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..30 {
        let dir = src.path().join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(
                dir.join(format!("f{f:03} x")),
                format!("file {d} {f}\n").repeat(f * 8 + 1),
            )
            .unwrap();
        }
    }
    for n in 0..3u32 {
        std::fs::write(
            src.path().join(format!("big{n}.bin")),
            (0..24u32 << 20)
                .map(|i| (i.wrapping_mul(n + 7) % 251) as u8)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }

    // One after the other: the first creates the signing key, the second loads it.
    let mut a = Server::start_pg(&db.url, &[]);
    let mut b = Server::start_pg(&db.url, &[]);
    let who = mover(&a, "mover");
    let (src_ep, dst_ep) = (
        endpoint(&a, "src", src.path(), &who.id),
        endpoint(&a, "dst", dst.path(), &who.id),
    );
    let bearer = token(&a.url, &who, SCOPE).await;
    let task_id = submit_tree_copy(&a.url, &bearer, &src_ep, &dst_ep, true).await;

    // Wait until some files are recorded done (and not all), and find the lease holder.
    let started = Instant::now();
    let holder = loop {
        let (_, t) = get(&b.url, &bearer, &format!("/task/{task_id}")).await;
        assert_eq!(t["status"], "ACTIVE", "the task ended before the kill: {t}");
        let done = t["files_transferred"].as_i64().unwrap_or(0);
        if done > 100 {
            break lease_pid(&db, &task_id).await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
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
    let copy = dst.path().join("copy");
    let before = done_files(&db, &task_id, dst.path()).await;
    let (_, t) = get(&survivor.url, &bearer, &format!("/task/{task_id}")).await;
    let files = t["files"].as_i64().unwrap();
    assert!(
        !before.is_empty() && (before.len() as i64) < files,
        "{} of {files} files done at the kill: not mid-task",
        before.len()
    );

    // The survivor takes the lease over once it runs out, and finishes the task.
    let mut takeover = None;
    let t = loop {
        if takeover.is_none() && lease_pid(&db, &task_id).await == Some(survivor.child.id()) {
            takeover = Some(killed_at.elapsed());
        }
        let (_, t) = get(&survivor.url, &bearer, &format!("/task/{task_id}")).await;
        if t["status"] != "ACTIVE" {
            break t;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(120),
            "still ACTIVE two minutes after the kill: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let takeover = takeover.unwrap_or_else(|| killed_at.elapsed());
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert!(
        takeover <= Duration::from_secs(30),
        "takeover took {takeover:?}"
    );
    assert_eq!(t["files"], 3003);
    assert_eq!(
        t["files_transferred"], 3003,
        "a file was counted twice or lost: {t}"
    );
    // Byte-identical, and nothing left under a temporary name (the dead node's writes in
    // flight are cleaned up by the node that resumes the task).
    assert_same_tree(&snapshot(&copy), &snapshot(src.path()));

    // Every file recorded done before the kill is the very file written then: same inode, same
    // mtime (a copy is written to a temporary name and renamed, so a second copy is a new inode).
    let after: BTreeMap<String, (u64, i64)> = done_files(&db, &task_id, dst.path())
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
    // The event log: one start (the expansion is not redone), one end.
    let (_, events) = get(
        &survivor.url,
        &bearer,
        &format!("/task/{task_id}/event_list?limit=1000"),
    )
    .await;
    let codes: Vec<&str> = events["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
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
    eprintln!(
        "two-node takeover: {} of {files} files done at the kill, lease taken over {:?} after \
         the kill, task SUCCEEDED {:?} after it; none of them copied again",
        before.len(),
        takeover,
        killed_at.elapsed()
    );
    drop((a, b));
    db.drop_db().await;
}
