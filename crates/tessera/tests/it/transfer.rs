//! The Transfer service end to end: endpoints registered with `tessera admin endpoint add`, a
//! tree transferred by the real binary, killed with SIGKILL mid-task and restarted on the same
//! data: the task finishes and the copy is byte-identical.

use crate::process::{json, Server};
use crate::transfer_cluster::{snapshot, submit_tree_copy};
use std::path::Path;
use std::time::{Duration, Instant};

const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

async fn token(url: &str, id: &str, secret: &str) -> String {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", SCOPE)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_owned()
}

async fn task(url: &str, token: &str, id: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{url}/v0.10/task/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_transfer_killed_mid_task_finishes_after_a_restart_byte_identical() {
    let data = tempfile::tempdir().unwrap();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..20 {
        let dir = src.path().join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(
                dir.join(format!("f{f:03} x")),
                format!("file {d} {f}\n").repeat(f + 1),
            )
            .unwrap();
        }
    }
    std::fs::create_dir(src.path().join("empty")).unwrap();
    std::fs::write(
        src.path().join("big.bin"),
        (0..40u32 << 20)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();

    let mut server = Server::start_in(data.path());
    let client = json(&server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "mover",
            "--confidential",
        ],
        None,
    ));
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let add = |name: &str, dir: &Path| {
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
                id,
            ],
            None,
        ));
        assert_eq!(out["entity_type"], "GCSv4_host");
        out["id"].as_str().unwrap().to_owned()
    };
    let (src_ep, dst_ep) = (add("src", src.path()), add("dst", dst.path()));
    let bearer = token(&server.url, id, secret).await;
    let task_id = submit_tree_copy(&server.url, &bearer, &src_ep, &dst_ep, true).await;
    // Kill it once some files are done and before all are.
    let started = Instant::now();
    loop {
        let t = task(&server.url, &bearer, &task_id).await;
        let done = t["files_transferred"].as_i64().unwrap_or(0);
        assert_eq!(t["status"], "ACTIVE", "the task ended before the kill: {t}");
        if done > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_9();

    let server = Server::start_in(data.path());
    let started = Instant::now();
    let t = loop {
        let t = task(&server.url, &bearer, &task_id).await;
        if t["status"] != "ACTIVE" {
            break t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "still ACTIVE after the restart: {t}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files"], 2001);
    assert_eq!(
        t["files_transferred"], 2001,
        "a file was counted twice or lost: {t}"
    );
    // A write the kill interrupted is never under a real name, and its temporary file is gone:
    // the resumed attempt removes its dead attempts' temporaries by name, however soon after
    // the kill it restarted (file times cannot tell a kill and a restart in the same second).
    let copied = snapshot(&dst.path().join("copy"));
    let leftovers: Vec<&String> = copied
        .keys()
        .filter(|name| name.contains(".tessera-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let source = snapshot(src.path());
    assert_eq!(copied, source);
    // What the killed attempt had counted for its files in flight is not counted again.
    let total: usize = source.values().map(Vec::len).sum();
    assert_eq!(
        t["bytes_transferred"].as_u64(),
        Some(total as u64),
        "bytes counted twice or lost: {t}"
    );
}
