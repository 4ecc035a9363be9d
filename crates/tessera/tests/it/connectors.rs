//! Storage connectors across hosts (issue 13): the service in this namespace, one connector on
//! each of two hosts (`connector_hosts.rs`). Endpoints on the connectors are listed and made
//! through the Transfer API; a tree moves from one connector to the other directly; the
//! destination connector is killed with SIGKILL mid-file, the task waits (an event says so) and
//! finishes once it is back, resuming the file from what had arrived; the copy is
//! byte-identical. With `encrypt_data` the connectors pull from each other over TLS pinned to
//! the certificates they stated at check-in, refuse plaintext for it, and a connector whose
//! address another one took (another certificate) fails the task at once.

use crate::connector_hosts::Hosts;
use crate::process::{json, run, BIN};
use crate::transfer_cluster::snapshot;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tessera serve` listening on `listen`:0; (process, port).
pub(crate) fn serve(listen: &str, data: &Path) -> (Proc, u16) {
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

pub(crate) struct Connector {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) state: tempfile::TempDir,
    /// The directory of its endpoint.
    pub(crate) root: String,
}

pub(crate) fn start_connector(hosts: &Hosts, i: usize, c: &Connector, port: u16) -> Proc {
    let me = format!("{}:{}", hosts.addrs[i], hosts.port);
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
        .stderr(log_file(c))
        .spawn()
        .unwrap();
    Proc(child)
}

/// Where a connector's log goes (appended to across restarts).
fn log_file(c: &Connector) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(c.state.path().join("connector.log"))
        .unwrap()
}

pub(crate) async fn token(url: &str, id: &str, secret: &str) -> String {
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

pub(crate) async fn api(
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

pub(crate) async fn wait_task(
    url: &str,
    bearer: &str,
    task: &str,
    limit: Duration,
) -> serde_json::Value {
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

pub(crate) async fn events(url: &str, bearer: &str, task: &str) -> Vec<serde_json::Value> {
    let (_, e) = api(
        reqwest::Method::GET,
        &format!("{url}/v0.10/task/{task}/event_list?limit=1000"),
        bearer,
        None,
    )
    .await;
    e["DATA"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// Files pulled by a connector's `pulling` log lines: one for a file's pull job, `files=N`
/// for a batch's.
pub(crate) fn pulled_files(pulls: &[&str]) -> usize {
    pulls
        .iter()
        .map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("files="))
                .map_or(1, |n| n.parse::<usize>().unwrap_or(0))
        })
        .sum()
}

/// The service and two connectors, one on each host, each serving one endpoint.
pub(crate) struct Site {
    pub(crate) data: tempfile::TempDir,
    _server: Proc,
    pub(crate) port: u16,
    pub(crate) url: String,
    pub(crate) client: (String, String),
    pub(crate) connectors: Vec<Connector>,
    pub(crate) endpoints: Vec<String>,
}

impl Site {
    fn admin(&self, args: &[&str]) -> serde_json::Value {
        json(&run(args, Some(self.data.path()), None, &[]))
    }

    /// The service, a client, connectors `names` with an endpoint on each at `dirs` (not
    /// started yet).
    pub(crate) fn make(hosts: &Hosts, names: [&str; 2], dirs: [&Path; 2]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let (server, port) = serve(&hosts.service_listen, data.path());
        let mut site = Site {
            data,
            _server: server,
            port,
            url: format!("http://127.0.0.1:{port}"),
            client: (String::new(), String::new()),
            connectors: Vec::new(),
            endpoints: Vec::new(),
        };
        let client = site.admin(&[
            "admin",
            "client",
            "add",
            "--name",
            "mover",
            "--confidential",
        ]);
        site.client = (
            client["client_id"].as_str().unwrap().to_owned(),
            client["client_secret"].as_str().unwrap().to_owned(),
        );
        for (name, dir) in names.into_iter().zip(dirs) {
            let c = site.add_connector(name);
            let e = site.admin(&[
                "admin",
                "endpoint",
                "add",
                "--name",
                &format!("on {name}"),
                "--path",
                &dir.display().to_string(),
                "--owner",
                &site.client.0,
                "--connector",
                &c.id,
            ]);
            assert_eq!(e["connector_id"], c.id.as_str());
            site.endpoints.push(e["id"].as_str().unwrap().to_owned());
            site.connectors.push(Connector {
                root: std::fs::canonicalize(dir).unwrap().display().to_string(),
                ..c
            });
        }
        site
    }

    fn add_connector(&self, name: &str) -> Connector {
        let c = self.admin(&["admin", "connector", "add", "--name", name]);
        assert!(c["secret"].as_str().unwrap().starts_with("tcs_"), "{c}");
        assert_eq!(c["environment"]["TESSERA_CONNECTOR_ID"], c["id"]);
        Connector {
            id: c["id"].as_str().unwrap().to_owned(),
            secret: c["secret"].as_str().unwrap().to_owned(),
            state: tempfile::tempdir().unwrap(),
            root: String::new(),
        }
    }

    /// Waits until `n` connectors have checked in (URL and certificate recorded); their
    /// list entries.
    pub(crate) async fn checked_in(&self, n: usize) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let l = self.admin(&["admin", "connector", "list"]);
            let seen: Vec<serde_json::Value> = l["connectors"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| !c["last_seen"].is_null() && !c["cert_fingerprint"].is_null())
                .cloned()
                .collect();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no check-in: {l}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub(crate) async fn bearer(&self) -> String {
        token(&self.url, &self.client.0, &self.client.1).await
    }

    /// Submits a transfer from endpoint 0 to endpoint 1; its task id.
    pub(crate) async fn submit(
        &self,
        bearer: &str,
        options: serde_json::Value,
        items: serde_json::Value,
    ) -> String {
        let mut body = serde_json::json!({
            "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
            "source_endpoint": self.endpoints[0], "destination_endpoint": self.endpoints[1],
            "DATA": items,
        });
        for (k, v) in options.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, s) = api(
            reqwest::Method::POST,
            &format!("{}/v0.10/transfer", self.url),
            bearer,
            Some(body),
        )
        .await;
        assert_eq!(status, 202, "{s}");
        s["task_id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_tree_moves_between_connectors_on_two_hosts_and_survives_a_killed_connector() {
    let hosts = Hosts::make();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in 0..3 {
        let dir = src.path().join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..20 {
            std::fs::write(dir.join(format!("f{f:02}")), pattern(100 * f + d, f as u32)).unwrap();
        }
    }
    std::fs::write(src.path().join("medium.bin"), pattern(40 << 20, 7)).unwrap();

    let site = Site::make(&hosts, ["store-a", "store-b"], [src.path(), dst.path()]);
    let (url, port) = (site.url.clone(), site.port);
    let admin = |args: &[&str]| site.admin(args);
    let cid = site.client.0.clone();
    let connectors = &site.connectors;
    let (src_ep, dst_ep) = (site.endpoints[0].clone(), site.endpoints[1].clone());
    // The list never shows a secret.
    let listed = admin(&["admin", "connector", "list"]);
    assert!(!listed.to_string().contains("tcs_"), "{listed}");
    // A connector cannot be removed while it serves an endpoint.
    let refused = run(
        &["admin", "connector", "remove", &connectors[0].id],
        Some(site.data.path()),
        None,
        &[],
    );
    assert!(!refused.status.success());

    let _a = start_connector(&hosts, 0, &connectors[0], port);
    let b = start_connector(&hosts, 1, &connectors[1], port);
    // Both check in (public URL recorded).
    site.checked_in(2).await;

    refusals(&hosts, connectors).await;
    let bearer = site.bearer().await;
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
        site.submit(
            &bearer,
            serde_json::json!({"verify_checksum": true, "preserve_timestamp": true}),
            items,
        )
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
    let _b = killed_mid_file_and_resumed(&site, &bearer, &task, dst.path(), b, || {
        start_connector(&hosts, 1, &connectors[1], port)
    })
    .await;
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

/// Kills the destination connector `b` once a partial file in `dst` passed 32 MiB; the task
/// waits and says why (`CONNECTOR_UNREACHABLE`, still ACTIVE); `restart` brings the connector
/// back and the task succeeds, the file resumed from what had arrived (`CONNECTOR_REACHABLE`
/// names the byte, > 0). The restarted connector.
async fn killed_mid_file_and_resumed(
    site: &Site,
    bearer: &str,
    task: &str,
    dst: &Path,
    mut b: Proc,
    restart: impl FnOnce() -> Proc,
) -> Proc {
    let url = &site.url;
    let started = Instant::now();
    loop {
        let partial = std::fs::read_dir(dst)
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
        let ev = events(url, bearer, task).await;
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
        bearer,
        None,
    )
    .await;
    assert_eq!(t["status"], "ACTIVE", "{t}");
    let b = restart();
    let t = wait_task(url, bearer, task, Duration::from_secs(180)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    let ev = events(url, bearer, task).await;
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
    b
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
    let base = format!("http://{}:{}/connector/v1", hosts.addrs[0], hosts.port);
    let claims = |ops: Vec<Op>, path: &str, exp: i64| Claims {
        c: me,
        root: String::new(),
        ops,
        paths: vec![path.into()],
        exp,
        tls: false,
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

/// A GET of a connector's route from this (the service's) namespace with `client`.
async fn connector_get(
    client: &reqwest::Client,
    url: &str,
    cap: &str,
    path: &str,
) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let r = client
        .get(url)
        .query(&[("path", path)])
        .header("x-tessera-capability", cap)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.bytes().await?.to_vec()))
}

#[tokio::test]
async fn encrypted_transfers_between_connectors_on_two_hosts_go_over_pinned_tls() {
    use base64::Engine;
    use tessera_connector::capability::{sign, Claims, Op};
    let hosts = Hosts::make();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::create_dir_all(src.path().join("tree/sub")).unwrap();
    for f in 0..10 {
        std::fs::write(
            src.path().join(format!("tree/sub/f{f}")),
            pattern(1000 * f + 1, f as u32),
        )
        .unwrap();
    }
    // Larger than one block: fetched in parallel ranges.
    std::fs::write(src.path().join("tree/big.bin"), pattern(48 << 20, 9)).unwrap();
    let site = Site::make(&hosts, ["enc-a", "enc-b"], [src.path(), dst.path()]);
    let mut a = start_connector(&hosts, 0, &site.connectors[0], site.port);
    let b = start_connector(&hosts, 1, &site.connectors[1], site.port);
    let listed = site.checked_in(2).await;
    // Each stated the SHA-256 of the certificate it made in its state directory.
    for c in &site.connectors {
        let cert = std::fs::read(c.state.path().join("tls-cert.der")).unwrap();
        let entry = listed.iter().find(|l| l["id"] == c.id.as_str()).unwrap();
        assert_eq!(
            entry["cert_fingerprint"],
            tessera_connector::pin::fingerprint(&cert)
        );
    }
    let fingerprint_a = listed
        .iter()
        .find(|l| l["id"] == site.connectors[0].id.as_str())
        .unwrap()["cert_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = site.bearer().await;

    let task = site
        .submit(
            &bearer,
            serde_json::json!({"encrypt_data": true, "verify_checksum": true}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/tree",
                                "destination_path": "/tree", "recursive": true}]),
        )
        .await;
    let t = wait_task(&site.url, &bearer, &task, Duration::from_secs(120)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["files_transferred"], 11, "{t}");
    assert_eq!(t["encrypt_data"], true, "{t}");
    assert!(snapshot(&dst.path().join("tree")) == snapshot(&src.path().join("tree")));
    // The destination pulled from the source's TLS address, never its plaintext one.
    let log =
        std::fs::read_to_string(site.connectors[1].state.path().join("connector.log")).unwrap();
    let pulls: Vec<&str> = log.lines().filter(|l| l.contains("pulling")).collect();
    assert_eq!(pulled_files(&pulls), 11, "{log}");
    assert!(
        pulls.iter().all(|l| l.contains("source=https://")),
        "{pulls:?}"
    );

    // On the wire: a capability that demands TLS is refused in plaintext and served over TLS
    // to a client pinned to the certificate the service recorded; a client that trusts the
    // system's CAs does not get in.
    let key_text =
        std::fs::read_to_string(site.connectors[0].state.path().join("capability.key")).unwrap();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key_text.trim())
        .unwrap();
    let cap = sign(
        &key,
        &Claims {
            c: site.connectors[0].id.parse().unwrap(),
            root: site.connectors[0].root.clone(),
            ops: vec![Op::Read],
            paths: vec!["/tree/sub".into()],
            exp: tessera_connector::wire::now_secs() + 60,
            tls: true,
        },
    );
    let plain_url = format!("http://{}:7070/connector/v1/file", hosts.addrs[0]);
    let tls_url = format!("https://{}:7070/connector/v1/file", hosts.addrs[0]);
    let clients = tessera_connector::pin::Clients::new().unwrap();
    let plain = clients.for_url(&plain_url, None).unwrap();
    let (status, body) = connector_get(&plain, &plain_url, &cap, "/tree/sub/f3")
        .await
        .unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("plaintext refused"));
    let pinned = clients.for_url(&tls_url, Some(&fingerprint_a)).unwrap();
    let (status, body) = connector_get(&pinned, &tls_url, &cap, "/tree/sub/f3")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(body == pattern(3001, 3));
    let wrong = clients.for_url(&tls_url, Some(&"0".repeat(64))).unwrap();
    let err = connector_get(&wrong, &tls_url, &cap, "/tree/sub/f3")
        .await
        .unwrap_err();
    assert!(tessera_connector::pin::mismatch(&err).is_some(), "{err:?}");
    assert!(reqwest::Client::new().get(&tls_url).send().await.is_err());

    // A large file over TLS: the destination connector is killed mid-file, and the file
    // resumes (over TLS again) from what had arrived.
    std::fs::write(src.path().join("large.bin"), pattern(400 << 20, 13)).unwrap();
    let task = site
        .submit(
            &bearer,
            serde_json::json!({"encrypt_data": true, "verify_checksum": true}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/large.bin",
                                "destination_path": "/large.bin"}]),
        )
        .await;
    let _b = killed_mid_file_and_resumed(&site, &bearer, &task, dst.path(), b, || {
        start_connector(&hosts, 1, &site.connectors[1], site.port)
    })
    .await;
    assert!(
        std::fs::read(dst.path().join("large.bin")).unwrap()
            == std::fs::read(src.path().join("large.bin")).unwrap(),
        "the resumed file differs"
    );
    let log =
        std::fs::read_to_string(site.connectors[1].state.path().join("connector.log")).unwrap();
    let pulls: Vec<&str> = log.lines().filter(|l| l.contains("pulling")).collect();
    assert!(pulled_files(&pulls) >= 13, "{log}");
    assert!(
        pulls.iter().all(|l| l.contains("source=https://")),
        "{pulls:?}"
    );

    // Another connector takes connector a's address (its own certificate): the service's pin
    // for a no longer matches, and an encrypted task from a fails at once, saying why.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    let mut impostor = site.add_connector("impostor");
    impostor.root = site.connectors[0].root.clone();
    let _i = start_connector(&hosts, 0, &impostor, site.port);
    site.checked_in(3).await;
    let task = site
        .submit(
            &bearer,
            serde_json::json!({"encrypt_data": true}),
            serde_json::json!([{"DATA_TYPE": "transfer_item", "source_path": "/tree/big.bin",
                                "destination_path": "/again.bin"}]),
        )
        .await;
    let t = wait_task(&site.url, &bearer, &task, Duration::from_secs(60)).await;
    assert_eq!(t["status"], "FAILED", "{t}");
    let ev = events(&site.url, &bearer, &task).await;
    assert!(
        ev.iter().any(|e| e["is_error"] == true
            && e["details"]
                .as_str()
                .is_some_and(|d| d.contains("does not match the pin"))),
        "{ev:?}"
    );
    assert!(!dst.path().join("again.bin").exists());
}
