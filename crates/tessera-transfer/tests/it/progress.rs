//! Progress while a large file moves: `bytes_transferred` grows before the file is done, PROGRESS
//! events are recorded, the finished task counts the file's bytes exactly once, and
//! successful_transfers names the checksum algorithm that was used.

use crate::harness::World;
use serde_json::json;

const SIZE: usize = 160 << 20;

fn noise(len: usize) -> Vec<u8> {
    // xorshift: incompressible enough, cheap to make.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[tokio::test]
async fn a_large_file_shows_bytes_transferred_before_it_is_done() {
    let w = World::new(true).await;
    let data = noise(SIZE);
    std::fs::write(w.src_dir.join("big.bin"), &data).unwrap();
    // MD5 on both sides: the slowest algorithm, so the copy lasts many progress ticks (50 ms in
    // the harness).
    let task = w
        .transfer(
            json!([{"source_path": "/big.bin", "destination_path": "/big.bin", "checksum_algorithm": "MD5"}]),
            json!({"verify_checksum": true}),
        )
        .await;
    let mut partial = None;
    let done = loop {
        let t = w.get(&w.mover, &format!("/v0.10/task/{task}")).await.body;
        if t["status"] != "ACTIVE" {
            break t;
        }
        let bytes = t["bytes_transferred"].as_i64().unwrap();
        if bytes > 0 && partial.is_none() {
            partial = Some(bytes);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let seen = partial.expect("bytes_transferred stayed 0 while the task was ACTIVE");
    assert!(seen < SIZE as i64, "{seen}");
    assert_eq!(
        done["bytes_transferred"].as_i64(),
        Some(SIZE as i64),
        "{done}"
    );
    assert_eq!(std::fs::read(w.dst_dir.join("big.bin")).unwrap(), data);
    let events = w
        .get(
            &w.mover,
            &format!("/v0.10/task/{task}/event_list?limit=1000"),
        )
        .await
        .body;
    let progress: Vec<_> = events["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "PROGRESS")
        .collect();
    assert!(!progress.is_empty(), "{events}");
    assert!(
        progress[0]["details"]
            .as_str()
            .unwrap()
            .contains("bytes_transferred"),
        "{events}"
    );
    let ok = w
        .get(
            &w.mover,
            &format!("/v0.10/task/{task}/successful_transfers"),
        )
        .await
        .body;
    let file = &ok["DATA"][0];
    assert_eq!(file["checksum_algorithm"], "MD5", "{ok}");
    assert_eq!(file["checksum"].as_str().unwrap().len(), 32, "{ok}");
}

#[tokio::test]
async fn without_an_algorithm_the_default_sha256_is_used_and_reported() {
    let w = World::new(true).await;
    std::fs::write(w.src_dir.join("f"), b"hello").unwrap();
    let task = w
        .transfer(
            json!([{"source_path": "/f", "destination_path": "/f"}]),
            json!({"verify_checksum": true}),
        )
        .await;
    let t = w.wait(&task).await;
    assert_eq!(
        (t["status"].as_str(), t["bytes_transferred"].as_i64()),
        (Some("SUCCEEDED"), Some(5)),
        "{t}"
    );
    let ok = w
        .get(
            &w.mover,
            &format!("/v0.10/task/{task}/successful_transfers"),
        )
        .await
        .body;
    assert_eq!(
        (
            ok["DATA"][0]["checksum_algorithm"].as_str(),
            ok["DATA"][0]["checksum"].as_str()
        ),
        (
            Some("SHA256"),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        ),
        "{ok}"
    );
}
