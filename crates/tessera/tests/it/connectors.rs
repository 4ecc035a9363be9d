//! Storage connectors across hosts (issue 13): the service in this namespace, one connector on
//! each of two hosts (`connector_hosts.rs`). Endpoints on the connectors are listed and made
//! through the Transfer API; a tree moves from one connector to the other directly; the
//! destination connector is killed with SIGKILL mid-file, the task waits (an event says so) and
//! finishes once it is back, resuming the file from what had arrived; the copy is
//! byte-identical.

use crate::connector_hosts::Hosts;
use crate::process::{json, run, BIN};
use crate::transfer_cluster::snapshot;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tessera serve` listening on `listen`:0; (process, port).
fn serve(listen: &str, data: &Path) -> (Proc, u16) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("{listen}:0"), "--data-dir"])
        .arg(data)
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MASTER_KEY")
        .env_remove("TESSERA_MASTER_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    (Proc(child), port)
}

struct Connector {
    id: String,
    secret: String,
    state: tempfile::TempDir,
    /// The directory of its endpoint.
    root: String,
}

fn start_connector(hosts: &Hosts, i: usize, c: &Connector, port: u16) -> Proc {
    let me = format!("{}:7070", hosts.addrs[i]);
    let child = hosts
        .command(i, BIN)
        .args([
            "connector",
            "run",
            "--server",
            &format!("http://{}:{port}", hosts.service_addrs[i]),
            "--listen",
            &me,
            "--public-url",
            &format!("http://{me}"),
            "--state-dir",
        ])
        .arg(c.state.path())
        .env("TESSERA_CONNECTOR_ID", &c.id)
        .env("TESSERA_CONNECTOR_SECRET", &c.secret)
        .env("TESSERA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

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

async fn api(
    method: reqwest::Method,
    url: &str,
    bearer: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

async fn wait_task(url: &str, bearer: &str, task: &str, limit: Duration) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (_, t) = api(
            reqwest::Method::GET,
            &format!("{url}/v0.10/task/{task}"),
            bearer,
            None,
        )
        .await;
        if t["status"] != "ACTIVE" {
            return t;
        }
        assert!(started.elapsed() < limit, "still ACTIVE: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn events(url: &str, bearer: &str, task: &str) -> Vec<serde_json::Value> {
    let (_, e) = api(
        reqwest::Method::GET,
        &format!("{url}/v0.10/task/{task}/event_list?limit=1000"),
        bearer,
        None,
    )
    .await;
    e["DATA"].as_array().cloned().unwrap_or_default()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn a_tree_moves_between_connectors_on_two_hosts_and_survives_a_killed_connector() {
    let hosts = Hosts::make();
    let data = tempfile::tempdir().unwrap();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..3 {
        let dir = src.path().join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..20 {
            std::fs::write(dir.join(format!("f{f:02}")), pattern(100 * f + d, f as u32)).unwrap();
        }
    }
    std::fs::write(src.path().join("medium.bin"), pattern(40 << 20, 7)).unwrap();

    let (_server, port) = serve(&hosts.service_listen, data.path());
    let url = format!("http://127.0.0.1:{port}");
    let admin = |args: &[&str]| json(&run(args, Some(data.path()), None, &[]));
    let client = admin(&[
        "admin",
        "client",
        "add",
        "--name",
        "mover",
        "--confidential",
    ]);
    let (cid, csecret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let mut connectors = Vec::new();
    for (name, dir) in [("store-a", src.path()), ("store-b", dst.path())] {
        let c = admin(&["admin", "connector", "add", "--name", name]);
        assert!(c["secret"].as_str().unwrap().starts_with("tcs_"), "{c}");
        assert_eq!(c["environment"]["TESSERA_CONNECTOR_ID"], c["id"]);
        connectors.push(Connector {
            id: c["id"].as_str().unwrap().to_owned(),
            secret: c["secret"].as_str().unwrap().to_owned(),
            state: tempfile::tempdir().unwrap(),
            root: std::fs::canonicalize(dir).unwrap().display().to_string(),
        });
    }
    // The list never shows a secret.
    let listed = admin(&["admin", "connector", "list"]);
    assert!(!listed.to_string().contains("tcs_"), "{listed}");
    let endpoint = |name: &str, dir: &Path, connector: &str| {
        let e = admin(&[
            "admin",
            "endpoint",
            "add",
            "--name",
            name,
            "--path",
            &dir.display().to_string(),
            "--owner",
            &cid,
            "--connector",
            connector,
        ]);
        assert_eq!(e["connector_id"], connector);
        e["id"].as_str().unwrap().to_owned()
    };
    let src_ep = endpoint("on-a", src.path(), &connectors[0].id);
    let dst_ep = endpoint("on-b", dst.path(), &connectors[1].id);
    // A connector cannot be removed while it serves an endpoint.
    let refused = run(
        &["admin", "connector", "remove", &connectors[0].id],
        Some(data.path()),
        None,
        &[],
    );
    assert!(!refused.status.success());

    let _a = start_connector(&hosts, 0, &connectors[0], port);
    let mut b = start_connector(&hosts, 1, &connectors[1], port);
    // Both check in (public URL recorded).
    let started = Instant::now();
    loop {
        let l = admin(&["admin", "connector", "list"]);
        let seen = l["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["last_seen"].is_null())
            .count();
        if seen == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no check-in: {l}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    refusals(&hosts, &connectors).await;
    let bearer = token(&url, &cid, &csecret).await;
    // ls through the connector.
    let (status, ls) = api(
        reqwest::Method::GET,
        &format!("{url}/v0.10/operation/endpoint/{src_ep}/ls?path=/"),
        &bearer,
        None,
    )
    .await;
    assert_eq!(status, 200, "{ls}");
    let names: Vec<&str> = ls["DATA"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["d0", "d1", "d2", "medium.bin"], "{ls}");
    // mkdir, rename and a refusal, on the other connector.
    let (status, m) = api(
        reqwest::Method::POST,
        &format!("{url}/v0.10/operation/endpoint/{dst_ep}/mkdir"),
        &bearer,
        Some(serde_json::json!({"DATA_TYPE": "mkdir", "path": "/made"})),
    )
    .await;
    assert_eq!(status, 200, "{m}");
    assert!(dst.path().join("made").is_dir());
    let (status, r) = api(
        reqwest::Method::POST,
        &format!("{url}/v0.10/operation/endpoint/{dst_ep}/rename"),
        &bearer,
        Some(
            serde_json::json!({"DATA_TYPE": "rename", "old_path": "/made", "new_path": "/renamed"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert!(dst.path().join("renamed").is_dir());
    let (status, nf) = api(
        reqwest::Method::GET,
        &format!("{url}/v0.10/operation/endpoint/{src_ep}/ls?path=/missing"),
        &bearer,
        None,
    )
    .await;
    assert_eq!(status, 404, "{nf}");

    // The tree, connector to connector.
    let submit = |items: serde_json::Value| {
        let (url, bearer, src_ep, dst_ep) =
            (url.clone(), bearer.clone(), src_ep.clone(), dst_ep.clone());
        async move {
            let (status, s) = api(
                reqwest::Method::POST,
                &format!("{url}/v0.10/transfer"),
                &bearer,
                Some(serde_json::json!({
                    "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
                    "source_endpoint": src_ep, "destination_endpoint": dst_ep,
                    "verify_checksum": true, "preserve_timestamp": true,
                    "DATA": items,
                })),
            )
            .await;
            assert_eq!(status, 202, "{s}");
            s["task_id"].as_str().unwrap().to_owned()
        }
    };
    let task = submit(serde_json::json!([
        {"DATA_TYPE": "transfer_item", "source_path": "/", "destination_path": "/copy/", "recursive": true}
    ]))
    .await;
    let t = wait_task(&url, &bearer, &task, Duration::from_secs(120)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files_transferred"], 61, "{t}");
    assert_eq!(snapshot(&dst.path().join("copy")), snapshot(src.path()));

    // Through the service: a local endpoint to a connector's and back (uploads, ranged reads).
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("up.bin"), pattern(9 << 20, 3)).unwrap();
    let local_ep = {
        let e = admin(&[
            "admin",
            "endpoint",
            "add",
            "--name",
            "local",
            "--path",
            &local.path().display().to_string(),
            "--owner",
            &cid,
        ]);
        e["id"].as_str().unwrap().to_owned()
    };
    for (from, to, item) in [
        (&local_ep, &dst_ep, ("/up.bin", "/up.bin")),
        (&src_ep, &local_ep, ("/medium.bin", "/down.bin")),
    ] {
        let (status, s) = api(
            reqwest::Method::POST,
            &format!("{url}/v0.10/transfer"),
            &bearer,
            Some(serde_json::json!({
                "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
                "source_endpoint": from, "destination_endpoint": to, "verify_checksum": true,
                "DATA": [{"DATA_TYPE": "transfer_item", "source_path": item.0, "destination_path": item.1}],
            })),
        )
        .await;
        assert_eq!(status, 202, "{s}");
        let t = wait_task(
            &url,
            &bearer,
            s["task_id"].as_str().unwrap(),
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
    }
    assert!(std::fs::read(dst.path().join("up.bin")).unwrap() == pattern(9 << 20, 3));
    assert!(
        std::fs::read(local.path().join("down.bin")).unwrap()
            == std::fs::read(src.path().join("medium.bin")).unwrap()
    );

    // A large file; the destination connector is killed mid-file.
    std::fs::write(src.path().join("large.bin"), pattern(400 << 20, 11)).unwrap();
    let task = submit(serde_json::json!([
        {"DATA_TYPE": "transfer_item", "source_path": "/large.bin", "destination_path": "/large.bin"}
    ]))
    .await;
    let started = Instant::now();
    loop {
        let partial = std::fs::read_dir(dst.path())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".tessera-part-")
            })
            .map(|e| e.metadata().unwrap().len())
            .max()
            .unwrap_or(0);
        if partial > 32 << 20 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no partial file grew"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.0.kill().unwrap();
    b.0.wait().unwrap();
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
    let _b = start_connector(&hosts, 1, &connectors[1], port);
    let t = wait_task(&url, &bearer, &task, Duration::from_secs(180)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let ev = events(&url, &bearer, &task).await;
    let back = ev
        .iter()
        .find(|e| e["code"] == "CONNECTOR_REACHABLE")
        .unwrap_or_else(|| panic!("{ev:?}"));
    let resumed: u64 = back["details"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(resumed > 0, "the file started over: {back}");
    assert!(
        std::fs::read(dst.path().join("large.bin")).unwrap()
            == std::fs::read(src.path().join("large.bin")).unwrap(),
        "the resumed file differs"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dst.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tessera-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The connector refuses what its capability does not cover: no capability, another path,
/// another operation, another connector's, an expired one, one signed with another key.
async fn refusals(hosts: &Hosts, connectors: &[Connector]) {
    use base64::Engine;
    use tessera_connector::capability::{sign, Claims, Op};
    let key_text =
        std::fs::read_to_string(connectors[0].state.path().join("capability.key")).unwrap();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key_text.trim())
        .unwrap();
    let me: uuid::Uuid = connectors[0].id.parse().unwrap();
    let base = format!("http://{}:7070/connector/v1", hosts.addrs[0]);
    let claims = |ops: Vec<Op>, path: &str, exp: i64| Claims {
        c: me,
        root: String::new(),
        ops,
        paths: vec![path.into()],
        exp,
    };
    let now = tessera_connector::wire::now_secs();
    let get = |route: &str, path: &str, cap: Option<String>, range: Option<&str>| {
        let mut req = reqwest::Client::new()
            .get(format!("{base}/{route}"))
            .query(&[("path", path)]);
        if let Some(c) = cap {
            req = req.header("x-tessera-capability", c);
        }
        if let Some(r) = range {
            req = req.header("range", r);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    // The root the service names: the endpoint's directory on connector a's host.
    let root = connectors[0].root.clone();
    let with_root = |mut c: Claims| {
        c.root = root.clone();
        c
    };
    let good = sign(&key, &with_root(claims(vec![Op::Read], "/d0", now + 60)));
    let (status, body) = get("file", "/d0/f03", Some(good.clone()), None).await;
    assert_eq!(status, 200);
    assert_eq!(body, pattern(300, 3));
    let (status, body) = get("file", "/d0/f03", Some(good.clone()), Some("bytes=10-19")).await;
    assert_eq!((status, body), (206, pattern(300, 3)[10..20].to_vec()));
    for (what, cap, route, path) in [
        ("no capability", None, "file", "/d0/f03"),
        ("another path", Some(good.clone()), "file", "/d1/f03"),
        ("a sibling by prefix", Some(good.clone()), "file", "/d0x"),
        ("another operation", Some(good.clone()), "list", "/d0"),
        (
            "expired",
            Some(sign(
                &key,
                &with_root(claims(vec![Op::Read], "/d0", now - 1)),
            )),
            "file",
            "/d0/f03",
        ),
        (
            "another connector's",
            Some(sign(
                &key,
                &with_root(Claims {
                    c: connectors[1].id.parse().unwrap(),
                    ..claims(vec![Op::Read], "/d0", now + 60)
                }),
            )),
            "file",
            "/d0/f03",
        ),
        (
            "signed with another key",
            Some(sign(
                b"not the key",
                &with_root(claims(vec![Op::Read], "/d0", now + 60)),
            )),
            "file",
            "/d0/f03",
        ),
    ] {
        let (status, body) = get(route, path, cap, None).await;
        assert_eq!(status, 403, "{what}: {}", String::from_utf8_lossy(&body));
    }
}
