//! Issue 13 across hosts, who may do what on endpoints served by connectors on two hosts
//! (`connector_hosts.rs`):
//! - HTTPS access (`/https/{endpoint_id}/{path}` on the service, which reaches the connector's
//!   storage through the hub: the service never opens those files) allowed and refused by the
//!   endpoint's access rules, exactly as the Transfer API decides;
//! - an activity manager of the destination endpoint cancels another client's running
//!   connector-to-connector task (`endpoint_manager/admin_cancel`); someone without a role
//!   cannot; the owner reads the message; the destination connector stops pulling;
//! - `force_encryption` on the destination (`tessera admin endpoint update`) makes a transfer
//!   submitted without `encrypt_data` go over the connectors' pinned TLS.

use crate::connector_failover::checked_in;
use crate::connector_hosts::Hosts;
use crate::connectors::{
    api, events, pattern, serve, start_connector, token, wait_task, Connector,
};
use crate::process::{json, run};
use crate::transfer_cluster::Mover;
use reqwest::{Method, StatusCode};
use std::path::Path;
use std::time::{Duration, Instant};

#[tokio::test]
async fn connector_endpoints_https_by_access_rules_and_a_manager_cancels_anothers_task() {
    let hosts = Hosts::make();
    let data = tempfile::tempdir().unwrap();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::create_dir_all(src.path().join("pub")).unwrap();
    std::fs::create_dir_all(src.path().join("private")).unwrap();
    let content = pattern(6 << 20, 5);
    std::fs::write(src.path().join("pub/data.bin"), &content).unwrap();
    std::fs::write(src.path().join("private/secret.txt"), b"not yours").unwrap();
    // Large enough (sparse: no disk) that no pull can finish between the test seeing it start
    // and the manager's cancel, however fast the data plane gets.
    std::fs::File::create(src.path().join("large.bin"))
        .unwrap()
        .set_len(16 << 30)
        .unwrap();

    let (_server, port) = serve(&hosts.service_listen, data.path());
    let url = format!("http://127.0.0.1:{port}");
    let admin = |args: &[&str]| json(&run(args, Some(data.path()), None, &[]));
    let client = |name: &str| {
        let c = admin(&["admin", "client", "add", "--name", name, "--confidential"]);
        Mover {
            id: c["client_id"].as_str().unwrap().to_owned(),
            secret: c["client_secret"].as_str().unwrap().to_owned(),
        }
    };
    let (owner, reader, submitter, manager, stranger) = (
        client("owner"),
        client("reader"),
        client("submitter"),
        client("manager"),
        client("stranger"),
    );
    let mut connectors = Vec::new();
    let mut eps = Vec::new();
    for (name, dir) in [("store-a", src.path()), ("store-b", dst.path())] {
        let c = admin(&["admin", "connector", "add", "--name", name]);
        let c = Connector {
            id: c["id"].as_str().unwrap().to_owned(),
            secret: c["secret"].as_str().unwrap().to_owned(),
            state: tempfile::tempdir().unwrap(),
            root: std::fs::canonicalize(dir).unwrap().display().to_string(),
        };
        let e = admin(&[
            "admin",
            "endpoint",
            "add",
            "--name",
            name,
            "--path",
            &dir.display().to_string(),
            "--owner",
            &owner.id,
            "--connector",
            &c.id,
        ]);
        eps.push(e["id"].as_str().unwrap().to_owned());
        connectors.push(c);
    }
    let (src_ep, dst_ep) = (eps[0].clone(), eps[1].clone());
    let _a = start_connector(&hosts, 0, &connectors[0], port);
    let _b = start_connector(&hosts, 1, &connectors[1], port);
    checked_in(|| admin(&["admin", "connector", "list"]), 2).await;

    let owner_t = token(&url, &owner.id, &owner.secret).await;
    let rule = |ep: &str, who: &Mover, path: &str, perms: &str| {
        let body = serde_json::json!({
            "DATA_TYPE": "access", "principal_type": "identity", "principal": who.id,
            "path": path, "permissions": perms,
        });
        let (url, owner_t, ep) = (url.clone(), owner_t.clone(), ep.to_owned());
        async move {
            let (status, r) = api(
                Method::POST,
                &format!("{url}/v0.10/endpoint/{ep}/access"),
                &owner_t,
                Some(body),
            )
            .await;
            assert_eq!(status, 201, "{r}");
        }
    };
    rule(&src_ep, &reader, "/pub/", "r").await;
    rule(&src_ep, &submitter, "/", "r").await;
    rule(&dst_ep, &submitter, "/", "rw").await;

    https(
        &url,
        &src_ep,
        src.path(),
        &content,
        &owner,
        &reader,
        &stranger,
    )
    .await;
    manager_cancels(
        &url,
        (src_ep.as_str(), dst_ep.as_str()),
        dst.path(),
        &owner_t,
        &submitter,
        &manager,
        &stranger,
    )
    .await;

    // The destination is made to force encryption by the operator: a transfer into it
    // submitted with encrypt_data false runs (and says it runs) encrypted, the destination
    // connector pulling from the source's pinned TLS address.
    let doc = admin(&[
        "admin",
        "endpoint",
        "update",
        &dst_ep,
        "--force-encryption",
        "true",
    ]);
    assert_eq!(doc["force_encryption"], true, "{doc}");
    let log = connectors[1].state.path().join("connector.log");
    let pulls = |log: &Path| -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("pulling"))
            .map(str::to_owned)
            .collect()
    };
    let before = pulls(&log).len();
    let body = serde_json::json!({
        "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
        "source_endpoint": src_ep, "destination_endpoint": dst_ep, "encrypt_data": false,
        "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/pub/data.bin",
                  "destination_path": "/forced.bin"}],
    });
    let (s, r) = api(
        Method::POST,
        &format!("{url}/v0.10/transfer"),
        &owner_t,
        Some(body),
    )
    .await;
    assert_eq!(s, 202, "{r}");
    let task = r["task_id"].as_str().unwrap().to_owned();
    let t = wait_task(&url, &owner_t, &task, Duration::from_secs(120)).await;
    assert_eq!(
        (&t["status"], &t["encrypt_data"]),
        (&"SUCCEEDED".into(), &true.into()),
        "{t}"
    );
    assert!(std::fs::read(dst.path().join("forced.bin")).unwrap() == content);
    let new: Vec<String> = pulls(&log).into_iter().skip(before).collect();
    assert!(
        !new.is_empty() && new.iter().all(|l| l.contains("source=https://")),
        "{new:?}"
    );
}

/// `(status, body)` of one HTTPS request.
async fn call(
    method: Method,
    url: &str,
    bearer: Option<&str>,
    range: Option<&str>,
    body: Option<&'static [u8]>,
) -> (StatusCode, Vec<u8>) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(r) = range {
        req = req.header("range", r);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

async fn https(
    url: &str,
    ep: &str,
    root: &Path,
    content: &[u8],
    owner: &Mover,
    reader: &Mover,
    stranger: &Mover,
) {
    use crate::transfer_cluster::token as scoped;
    let scope = format!("https://auth.globus.org/scopes/{ep}/https");
    let base = format!("{url}/https/{ep}");
    let (owner_h, reader_h, stranger_h) = (
        scoped(url, owner, &scope).await,
        scoped(url, reader, &scope).await,
        scoped(url, stranger, &scope).await,
    );
    let transfer_t = token(url, &owner.id, &owner.secret).await;
    let file = format!("{base}/pub/data.bin");

    // The owner: read (whole and one range), write, delete, all on the connector's host.
    let (s, b) = call(Method::GET, &file, Some(&owner_h), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b == content, "the bytes read through the connector differ");
    let (s, b) = call(
        Method::GET,
        &file,
        Some(&owner_h),
        Some("bytes=3000000-3000099"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert!(b == content[3_000_000..3_000_100]);
    let (s, _) = call(
        Method::PUT,
        &format!("{base}/pub/up.txt"),
        Some(&owner_h),
        None,
        Some(b"uploaded over https"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        std::fs::read(root.join("pub/up.txt")).unwrap(),
        b"uploaded over https"
    );

    // The reader: a rule for r on /pub/ only.
    let (s, b) = call(Method::GET, &file, Some(&reader_h), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b == content);
    let (s, b) = call(
        Method::GET,
        &format!("{base}/pub/up.txt"),
        Some(&reader_h),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, b.as_slice()),
        (StatusCode::OK, &b"uploaded over https"[..])
    );
    for (what, method, path, body) in [
        (
            "read outside the rule",
            Method::GET,
            "/private/secret.txt",
            None,
        ),
        (
            "write with a read rule",
            Method::PUT,
            "/pub/mine.txt",
            Some(&b"x"[..]),
        ),
        (
            "delete with a read rule",
            Method::DELETE,
            "/pub/up.txt",
            None,
        ),
    ] {
        let (s, b) = call(
            method,
            &format!("{base}{path}"),
            Some(&reader_h),
            None,
            body,
        )
        .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            String::from_utf8_lossy(&b)
        );
    }
    assert!(!root.join("pub/mine.txt").exists());
    assert!(root.join("pub/up.txt").exists());

    // No rule at all; the Transfer scope instead of the endpoint's; no token.
    let (s, _) = call(Method::GET, &file, Some(&stranger_h), None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a token without a rule");
    let (s, _) = call(Method::GET, &file, Some(&transfer_t), None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a token for another scope");
    let (s, _) = call(Method::GET, &file, None, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no token");

    // A rule given later takes effect at the next request (rules are read every time).
    let (s, r) = api(
        Method::POST,
        &format!("{url}/v0.10/endpoint/{ep}/access"),
        &transfer_t,
        Some(serde_json::json!({
            "DATA_TYPE": "access", "principal_type": "identity", "principal": stranger.id,
            "path": "/private/", "permissions": "rw",
        })),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let rule_id = r["access_id"].as_str().unwrap().to_owned();
    let (s, b) = call(
        Method::GET,
        &format!("{base}/private/secret.txt"),
        Some(&stranger_h),
        None,
        None,
    )
    .await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, &b"not yours"[..]));
    let (s, _) = call(
        Method::DELETE,
        &format!("{base}/private/secret.txt"),
        Some(&stranger_h),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!root.join("private/secret.txt").exists());
    // ... and a deleted rule is refused at the next request.
    let (s, r) = api(
        Method::DELETE,
        &format!("{url}/v0.10/endpoint/{ep}/access/{rule_id}"),
        &transfer_t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (s, _) = call(
        Method::PUT,
        &format!("{base}/private/again.txt"),
        Some(&stranger_h),
        None,
        Some(b"again"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "after the rule was deleted");
    assert!(!root.join("private/again.txt").exists());
    // The owner deletes.
    let (s, _) = call(
        Method::DELETE,
        &format!("{base}/pub/up.txt"),
        Some(&owner_h),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!root.join("pub/up.txt").exists());
}

async fn manager_cancels(
    url: &str,
    (src_ep, dst_ep): (&str, &str),
    dst: &Path,
    owner_t: &str,
    submitter: &Mover,
    manager: &Mover,
    stranger: &Mover,
) {
    // The manager is an activity_manager of the destination: nothing else.
    let (s, r) = api(
        Method::POST,
        &format!("{url}/v0.10/endpoint/{dst_ep}/role"),
        owner_t,
        Some(serde_json::json!({
            "DATA_TYPE": "role", "principal_type": "identity", "principal": manager.id,
            "role": "activity_manager",
        })),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {r}");
    let sub_t = token(url, &submitter.id, &submitter.secret).await;
    let man_t = token(url, &manager.id, &manager.secret).await;
    let str_t = token(url, &stranger.id, &stranger.secret).await;
    let (s, r) = api(
        Method::POST,
        &format!("{url}/v0.10/transfer"),
        &sub_t,
        Some(serde_json::json!({
            "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
            "source_endpoint": src_ep, "destination_endpoint": dst_ep, "verify_checksum": true,
            "DATA": [{"DATA_TYPE": "transfer_item", "source_path": "/large.bin", "destination_path": "/large.bin"}],
        })),
    )
    .await;
    assert_eq!(s, 202, "{r}");
    let task = r["task_id"].as_str().unwrap().to_owned();

    // The manager sees the submitter's task among those touching their endpoint.
    let started = Instant::now();
    loop {
        let (s, l) = api(
            Method::GET,
            &format!("{url}/v0.10/endpoint_manager/task_list?filter_status=ACTIVE"),
            &man_t,
            None,
        )
        .await;
        assert_eq!(s, 200, "{l}");
        let listed = l["DATA"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["task_id"] == task.as_str());
        if listed && partial_len(dst) > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the task is not running where the manager can see it: {l}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let cancel = |bearer: String| {
        let (url, task) = (url.to_owned(), task.clone());
        async move {
            api(
                Method::POST,
                &format!("{url}/v0.10/endpoint_manager/admin_cancel"),
                &bearer,
                Some(serde_json::json!({
                    "message": "storage maintenance on store-b", "task_id_list": [task],
                })),
            )
            .await
        }
    };
    // Without a role on either endpoint: refused, the task runs on.
    let (s, r) = cancel(str_t).await;
    assert_eq!(s, 403, "{r}");
    let (s, r) = cancel(man_t).await;
    assert_eq!(s, 202, "{r}");
    assert_eq!(r["processed_task_id_list"][0], task.as_str(), "{r}");

    // The owner reads the end and the message.
    let (_, t) = api(
        Method::GET,
        &format!("{url}/v0.10/task/{task}"),
        &sub_t,
        None,
    )
    .await;
    assert_eq!(t["status"], "FAILED", "{t}");
    assert_eq!(
        t["canceled_by_admin_message"], "storage maintenance on store-b",
        "{t}"
    );
    let ev = events(url, &sub_t, &task).await;
    assert!(ev.iter().any(|e| e["code"] == "CANCELED"), "{ev:?}");

    // The destination connector stops pulling: the file never completes and its partial copy
    // stops growing.
    let mut last = partial_len(dst);
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = partial_len(dst);
        if now == last {
            break;
        }
        last = now;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the connector went on pulling after the cancel"
        );
    }
    assert!(
        !dst.join("large.bin").exists(),
        "the canceled file was completed"
    );
}

/// The size of the largest partial file on the destination host (0 when there is none).
fn partial_len(dst: &Path) -> u64 {
    std::fs::read_dir(dst)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".tessera-part-")
        })
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .max()
        .unwrap_or(0)
}
