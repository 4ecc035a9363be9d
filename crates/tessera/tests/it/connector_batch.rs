//! Issue 13, many small files between connectors on two hosts (`connector_hosts.rs`): they go
//! in batches (one job to the destination connector, one stream from the source). The
//! destination connector is killed with SIGKILL mid-batch: the task waits (an event says so),
//! continues when it is back, and the files it had already verified are not copied again (same
//! inode). With `encrypt_data` the batches are pulled over pinned TLS.

use crate::connector_hosts::Hosts;
use crate::connectors::{api, events, pattern, pulled_files, start_connector, wait_task, Site};
use crate::transfer_cluster::{assert_same_tree, snapshot};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// `dirs` directories of `per` files of 1 to 64 KiB.
fn tree(root: &Path, dirs: usize, per: usize) {
    for d in 0..dirs {
        let dir = root.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..per {
            let n = d * per + f;
            let len = 1024 + (n * 7919) % (63 << 10);
            std::fs::write(dir.join(format!("f{f:04}")), pattern(len, n as u32)).unwrap();
        }
    }
}

/// The files under their final names below `root` (no temporaries): path, inode.
fn published(root: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dirs) = std::fs::read_dir(root) else {
        return out;
    };
    for d in dirs.flatten() {
        let Ok(files) = std::fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tessera-") {
                continue;
            }
            if let Ok(m) = f.metadata() {
                out.insert(
                    format!("{}/{name}", d.file_name().to_string_lossy()),
                    m.ino(),
                );
            }
        }
    }
    out
}

fn leftovers(root: &Path) -> Vec<String> {
    walk(root)
        .into_iter()
        .filter(|n| n.contains("/.tessera-"))
        .collect()
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        out.push(p.display().to_string());
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[tokio::test]
async fn many_small_files_go_in_batches_survive_a_killed_connector_and_go_over_tls() {
    let hosts = Hosts::make();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (dirs, per) = (30, 100);
    tree(&src.path().join("many"), dirs, per);
    tree(&src.path().join("enc"), 4, 60);
    let site = Site::make(&hosts, ["batch-a", "batch-b"], [src.path(), dst.path()]);
    let _a = start_connector(&hosts, 0, &site.connectors[0], site.port);
    let mut b = start_connector(&hosts, 1, &site.connectors[1], site.port);
    site.checked_in(2).await;
    let bearer = site.bearer().await;
    let url = site.url.clone();

    // 3,000 files; the destination connector is killed once a few hundred are in place.
    let task = site
        .submit(
            &bearer,
            serde_json::json!({"verify_checksum": true, "preserve_timestamp": true}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/many",
                                "destination_path": "/many", "recursive": true}]),
        )
        .await;
    let copy = dst.path().join("many");
    let started = Instant::now();
    while published(&copy).len() < 300 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no files arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    b.0.kill().unwrap();
    b.0.wait().unwrap();
    let before = published(&copy);
    assert!(
        before.len() < dirs * per,
        "the task ended before the connector was killed"
    );
    // The task waits, and says why.
    let started = Instant::now();
    loop {
        let ev = events(&url, &bearer, &task).await;
        if ev.iter().any(|e| e["code"] == "CONNECTOR_UNREACHABLE") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no event: {ev:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, t) = api(
        reqwest::Method::GET,
        &format!("{url}/v0.10/task/{task}"),
        &bearer,
        None,
    )
    .await;
    assert_eq!(t["status"], "ACTIVE", "{t}");
    let _b = start_connector(&hosts, 1, &site.connectors[1], site.port);
    let t = wait_task(&url, &bearer, &task, Duration::from_secs(180)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files_transferred"], dirs * per, "{t}");
    assert_same_tree(&snapshot(&copy), &snapshot(&src.path().join("many")));
    // What was in place when the connector died was not copied again.
    let after = published(&copy);
    let recopied: Vec<&String> = before
        .iter()
        .filter(|(p, ino)| after.get(*p) != Some(ino))
        .map(|(p, _)| p)
        .collect();
    assert!(recopied.is_empty(), "copied again: {recopied:?}");
    assert!(
        leftovers(dst.path()).is_empty(),
        "{:?}",
        leftovers(dst.path())
    );
    let ev = events(&url, &bearer, &task).await;
    assert!(
        ev.iter().any(|e| e["code"] == "CONNECTOR_REACHABLE"),
        "{ev:?}"
    );
    // In batches: far fewer pulls than files.
    let log =
        std::fs::read_to_string(site.connectors[1].state.path().join("connector.log")).unwrap();
    let batches = log
        .lines()
        .filter(|l| l.contains("pulling a batch"))
        .count();
    assert!(batches > 0 && batches < 200, "{batches} batches");

    // With encrypt_data: batches over TLS only, pinned.
    let task = site
        .submit(
            &bearer,
            serde_json::json!({"encrypt_data": true, "verify_checksum": true}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/enc",
                                "destination_path": "/enc", "recursive": true}]),
        )
        .await;
    let t = wait_task(&url, &bearer, &task, Duration::from_secs(120)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files_transferred"], 240, "{t}");
    assert!(snapshot(&dst.path().join("enc")) == snapshot(&src.path().join("enc")));
    let log =
        std::fs::read_to_string(site.connectors[1].state.path().join("connector.log")).unwrap();
    let tls: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pulling a batch") && l.contains("source=https://"))
        .collect();
    assert_eq!(pulled_files(&tls), 240, "{log}");

    // Sync level 1 (same size): nothing is sent again.
    let task = site
        .submit(
            &bearer,
            serde_json::json!({"sync_level": 1}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/enc",
                                "destination_path": "/enc", "recursive": true}]),
        )
        .await;
    let t = wait_task(&url, &bearer, &task, Duration::from_secs(120)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files_transferred"], 0, "{t}");
    assert_eq!(t["files_skipped"], 240, "{t}");
}
