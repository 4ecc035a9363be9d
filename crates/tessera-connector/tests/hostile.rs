//! The connector's HTTP surface and the service's check-in route against hostile requests: no
//! capability, a forged one, one for another connector, for another operation or path, path
//! escapes, odd upload offsets and ranges; check-ins without or with wrong credentials and with
//! bodies that are not a check-in. Each is refused with a 4xx and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_connector::capability::{self, Claims, Op};
use tessera_connector::service::Hub;
use tessera_connector::wire::{self, routes};
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_store::Store;
use uuid::Uuid;

const ROOT_KEY: &[u8] = b"the capability root key of the hostile tests";

struct One {
    _db: tempfile::TempDir,
    _state: tempfile::TempDir,
    root: tempfile::TempDir,
    store: Arc<dyn Store>,
    id: Uuid,
    secret: String,
    service: String,
    url: String,
}

impl One {
    fn capability(&self, c: Uuid, key: &[u8], ops: Vec<Op>, path: &str, exp: i64) -> String {
        capability::sign(
            key,
            &Claims {
                c,
                root: std::fs::canonicalize(self.root.path())
                    .unwrap()
                    .display()
                    .to_string(),
                ops,
                paths: vec![path.into()],
                exp,
                tls: false,
            },
        )
    }
    fn good(&self, ops: Vec<Op>, path: &str) -> String {
        self.capability(
            self.id,
            &capability::connector_key(ROOT_KEY, self.id),
            ops,
            path,
            wire::now_secs() + 60,
        )
    }
}

async fn one() -> One {
    let db = tempfile::tempdir().unwrap();
    let store = tessera_store::connect(&format!("sqlite://{}", db.path().join("t.db").display()))
        .await
        .unwrap();
    let hub = Arc::new(Hub::new(ROOT_KEY.to_vec(), store.clone(), Arc::new(SystemClock)).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    let router = tessera_connector::service::router(hub);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (record, secret) =
        tessera_connector::admin::add(store.as_ref(), &SystemClock, &OsRandom, "hostile")
            .await
            .unwrap();
    let (state, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let config = tessera_connector::agent::Config {
        id: record.id,
        secret: secret.clone(),
        server: service.clone(),
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        public_url: url.clone(),
        state_dir: state.path().to_owned(),
    };
    tokio::spawn(async move {
        let _ = tessera_connector::agent::run(config, None).await;
    });
    let started = Instant::now();
    loop {
        let r = store.connector(record.id).await.unwrap().unwrap();
        if r.public_url.is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no check-in");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The key arrives with the check-in's answer; wait until the connector serves with it.
    let http = reqwest::Client::new();
    let o = One {
        _db: db,
        _state: state,
        root,
        store,
        id: record.id,
        secret: secret.expose().to_owned(),
        service,
        url,
    };
    loop {
        let r = http
            .get(format!("{}{}?path=/", o.url, routes::STAT))
            .header(wire::CAPABILITY_HEADER, o.good(vec![Op::Stat], "/"))
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_refuses_what_its_capability_does_not_cover() {
    let o = one().await;
    std::fs::create_dir_all(o.root.path().join("data")).unwrap();
    std::fs::write(o.root.path().join("data/f.txt"), b"0123456789").unwrap();
    std::fs::write(o.root.path().join("secret.txt"), b"hidden-content").unwrap();
    let http = reqwest::Client::new();
    let key = capability::connector_key(ROOT_KEY, o.id);
    let other_key = capability::connector_key(b"another service's root key", o.id);
    let now = wire::now_secs();
    let read = |path: &str| format!("{}{}?path={path}", o.url, routes::FILE);

    let mut refused: Vec<(String, Option<String>)> = vec![
        (read("/data/f.txt"), None),
        (read("/data/f.txt"), Some("garbage".into())),
        (read("/data/f.txt"), Some("a.b".into())),
        (read("/data/f.txt"), Some("é.é".into())),
        // Signed with another key, for another connector, expired.
        (
            read("/data/f.txt"),
            Some(o.capability(o.id, &other_key, vec![Op::Read], "/", now + 60)),
        ),
        (
            read("/data/f.txt"),
            Some(o.capability(Uuid::new_v4(), &key, vec![Op::Read], "/", now + 60)),
        ),
        (
            read("/data/f.txt"),
            Some(o.capability(o.id, &key, vec![Op::Read], "/", now - 1)),
        ),
        // Another operation, another path, a path beside it.
        (read("/data/f.txt"), Some(o.good(vec![Op::Stat], "/data"))),
        (read("/secret.txt"), Some(o.good(vec![Op::Read], "/data"))),
        (read("/database"), Some(o.good(vec![Op::Read], "/data"))),
    ];
    // Capabilities that write, used to remove or rename out of their path.
    refused.push((
        format!("{}{}?path=/secret.txt", o.url, routes::REMOVE),
        Some(o.good(vec![Op::Remove], "/data")),
    ));
    refused.push((
        format!(
            "{}{}?from=/data/f.txt&to=/stolen.txt",
            o.url,
            routes::RENAME
        ),
        Some(o.good(vec![Op::Rename], "/data")),
    ));
    for (i, (url, cap)) in refused.iter().enumerate() {
        let post = url.contains(routes::REMOVE) || url.contains(routes::RENAME);
        let mut req = if post { http.post(url) } else { http.get(url) };
        if let Some(c) = cap {
            req = req.header(wire::CAPABILITY_HEADER, c);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 403, "{i} {url}: {body}");
        assert!(
            !body.contains("0123456789") && !body.contains("hidden-content"),
            "{body}"
        );
    }
    // Path escapes are refused before any capability could cover them.
    let all = o.good(
        vec![Op::Read, Op::Stat, Op::List, Op::Remove, Op::Write],
        "/",
    );
    for path in [
        "/../etc/passwd",
        "/data/../../x",
        "%2e%2e/x",
        "/a%00b",
        "\\x",
    ] {
        for route in [routes::FILE, routes::STAT, routes::LIST] {
            let r = http
                .get(format!("{}{route}?path={path}", o.url))
                .header(wire::CAPABILITY_HEADER, &all)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{route} {path}");
        }
    }
    std::os::unix::fs::symlink("/etc", o.root.path().join("etc")).unwrap();
    let r = http
        .get(read("/etc/passwd"))
        .header(wire::CAPABILITY_HEADER, &all)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(!r.text().await.unwrap().contains("root:"));

    // Ranges: beyond the end and backwards are 416, garbage too; none is a 5xx.
    for range in [
        "bytes=10-",
        "bytes=5-2",
        "bytes=x-",
        "items=0-1",
        "bytes=-3",
    ] {
        let r = http
            .get(read("/data/f.txt"))
            .header(wire::CAPABILITY_HEADER, &all)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 416, "{range}");
    }

    // Uploads: an unknown id, a missing or absurd offset.
    let begin = http
        .post(format!(
            "{}{}?path=/data/up.bin&action=begin",
            o.url,
            routes::UPLOAD
        ))
        .header(wire::CAPABILITY_HEADER, &all)
        .send()
        .await
        .unwrap();
    assert_eq!(begin.status(), 200);
    let id = begin.json::<serde_json::Value>().await.unwrap()["upload"]
        .as_str()
        .unwrap()
        .to_owned();
    for (q, want) in [
        ("id=nope&offset=0".to_owned(), 404),
        (format!("id={id}"), 400),
        (format!("id={id}&offset=-1"), 400),
        (format!("id={id}&offset={}", u64::MAX), 400),
        (format!("id={id}&offset={}", 1u64 << 62), 400),
    ] {
        let r = http
            .put(format!("{}{}?path=/data/up.bin&{q}", o.url, routes::UPLOAD))
            .header(wire::CAPABILITY_HEADER, &all)
            .body("x")
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(status, want, "{q}: {}", r.text().await.unwrap());
    }
    // The upload under another path's capability is not found.
    let r = http
        .put(format!(
            "{}{}?path=/data/other.bin&id={id}&offset=0",
            o.url,
            routes::UPLOAD
        ))
        .header(wire::CAPABILITY_HEADER, &all)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(!o.root.path().join("data/up.bin").exists());
    assert_eq!(
        std::fs::read(o.root.path().join("secret.txt")).unwrap(),
        b"hidden-content"
    );
    assert_eq!(
        std::fs::read(o.root.path().join("data/f.txt")).unwrap(),
        b"0123456789"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_without_credentials_or_with_bad_bodies_change_nothing() {
    let o = one().await;
    let http = reqwest::Client::new();
    let poll = format!("{}{}", o.service, wire::POLL_PATH);
    let before = o.store.connector(o.id).await.unwrap().unwrap();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let good_body = serde_json::json!({"public_url": "http://evil.example:1"}).to_string();
    for auth in [
        None,
        Some("Bearer x".to_owned()),
        Some("Basic !!!".to_owned()),
        Some(format!("Basic {}", b64("not-a-uuid:x"))),
        Some(format!("Basic {}", b64(&o.id.to_string()))),
        Some(format!("Basic {}", b64(&format!("{}:wrong", o.id)))),
        Some(format!(
            "Basic {}",
            b64(&format!("{}:{}", Uuid::new_v4(), o.secret))
        )),
    ] {
        let mut req = http.post(&poll).body(good_body.clone());
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        let j: serde_json::Value = r.json().await.unwrap();
        assert!(j["message"].is_string() && !j.to_string().contains("capability_key"));
    }
    let auth = format!("Basic {}", b64(&format!("{}:{}", o.id, o.secret)));
    for body in [
        "".to_owned(),
        "not json".to_owned(),
        "[]".to_owned(),
        serde_json::json!({"public_url": 5}).to_string(),
        serde_json::json!({"public_url": "ftp://x"}).to_string(),
        serde_json::json!({"public_url": format!("http://{}", "a".repeat(3000))}).to_string(),
        serde_json::json!({"public_url": "http://x", "cert_fingerprint": "zz"}).to_string(),
        serde_json::json!({"public_url": "http://x", "reports": "none"}).to_string(),
    ] {
        let r = http
            .post(&poll)
            .header("authorization", &auth)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body:.60}");
    }
    let after = o.store.connector(o.id).await.unwrap().unwrap();
    assert_eq!(after.public_url, before.public_url);
    assert_eq!(after.cert_fingerprint, before.cert_fingerprint);
}

/// The job status and cancel routes check the capability before the job id: without a valid
/// write capability an unknown job is a 403 like a known one (no oracle of which ids exist);
/// only a capability that may manage jobs learns that it does not exist (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_routes_check_the_capability_before_revealing_whether_a_job_exists() {
    let o = one().await;
    let http = reqwest::Client::new();
    let key = capability::connector_key(ROOT_KEY, o.id);
    let other_key = capability::connector_key(b"another service's root key", o.id);
    let now = wire::now_secs();
    let url = format!(
        "{}{}",
        o.url,
        routes::JOB.replace("{id}", "no-such-job-0123")
    );
    let refused: Vec<Option<String>> = vec![
        None,
        Some("garbage".into()),
        Some(o.capability(o.id, &other_key, vec![Op::Write], "/", now + 60)),
        Some(o.capability(o.id, &key, vec![Op::Write], "/", now - 1)),
        Some(o.good(vec![Op::Read, Op::Stat], "/")),
    ];
    for delete in [false, true] {
        for (i, cap) in refused.iter().enumerate() {
            let mut req = if delete {
                http.delete(&url)
            } else {
                http.get(&url)
            };
            if let Some(c) = cap {
                req = req.header(wire::CAPABILITY_HEADER, c);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_eq!(status, 403, "delete={delete} {i}: {body}");
            assert!(!body.contains("no job"), "{body}");
        }
        let req = if delete {
            http.delete(&url)
        } else {
            http.get(&url)
        };
        let r = req
            .header(wire::CAPABILITY_HEADER, o.good(vec![Op::Write], "/"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "delete={delete}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_stream_serves_exactly_the_files_its_capability_covers() {
    use tessera_connector::stream::{Reader, StreamRequest, StreamWant};
    use tessera_connector::wire_batch::routes as batch;
    let o = one().await;
    std::fs::create_dir_all(o.root.path().join("data")).unwrap();
    std::fs::write(o.root.path().join("data/a"), b"first file").unwrap();
    std::fs::write(o.root.path().join("data/b"), b"second").unwrap();
    std::fs::write(o.root.path().join("secret.txt"), b"hidden-content").unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}{}", o.url, batch::STREAM);
    let ask = |paths: &[&str]| StreamRequest {
        checksum: true,
        sync_level: None,
        files: paths
            .iter()
            .map(|p| StreamWant {
                path: (*p).into(),
                algorithm: "MD5".into(),
                have: None,
            })
            .collect(),
    };
    // One path the capability does not cover refuses the whole stream; so does an escape,
    // another operation, or none at all.
    for (paths, cap, want) in [
        (
            vec!["/data/a", "/secret.txt"],
            Some(o.good(vec![Op::Read], "/data")),
            403,
        ),
        (
            vec!["/data/../secret.txt"],
            Some(o.good(vec![Op::Read], "/")),
            400,
        ),
        (vec!["/data/a"], Some(o.good(vec![Op::Stat], "/data")), 403),
        (vec!["/data/a"], None, 403),
        (vec![], Some(o.good(vec![Op::Read], "/")), 400),
    ] {
        let mut req = http.post(&url).json(&ask(&paths));
        if let Some(c) = cap {
            req = req.header(wire::CAPABILITY_HEADER, c);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, want, "{paths:?}: {body}");
        assert!(!body.contains("hidden-content"), "{body}");
    }
    // Covered: both files in order, a missing one as an error record.
    let asked = ask(&["/data/b", "/data/missing", "/data/a"]);
    let body = http
        .post(&url)
        .header(wire::CAPABILITY_HEADER, o.good(vec![Op::Read], "/data"))
        .json(&asked)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut r = Reader::new(&body[..], &asked.files, 1 << 20);
    let mut got = Vec::new();
    let mut buf = [0u8; 4];
    while let Some(rec) = r.next_file().unwrap() {
        let mut data = Vec::new();
        let tail = if rec.sent {
            Some(
                r.data(&rec, &mut buf, &mut |b| data.extend_from_slice(b))
                    .unwrap(),
            )
        } else {
            None
        };
        got.push((
            rec.head.path,
            rec.head.error.map(|e| e.kind),
            data,
            tail.and_then(|t| t.checksum),
        ));
    }
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].2, b"second");
    assert_eq!(got[1].1.as_deref(), Some("not_found"));
    assert_eq!(got[2].2, b"first file");
    // MD5 of "first file".
    assert_eq!(
        got[2].3.as_deref(),
        Some("79ffed91dea0b50d7b7fd966672b0d5e")
    );

    // A batch job's write capability must cover every destination path.
    let job = serde_json::json!({
        "id": "hostile-batch-1", "task": null,
        "source": {"url": o.url, "cert_fingerprint": null, "capability": "x", "path": ""},
        "files": [
            {"path": "/data/x", "source_path": "/data/a", "checksum_algorithm": "MD5"},
            {"path": "/elsewhere/y", "source_path": "/data/b", "checksum_algorithm": "MD5"}
        ],
        "verify_checksum": true, "preserve_timestamp": false, "sync_level": null,
        "fsync": false, "encrypt": false
    });
    let r = http
        .post(format!("{}{}", o.url, batch::BATCH))
        .header(wire::CAPABILITY_HEADER, o.good(vec![Op::Write], "/data"))
        .json(&job)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!o.root.path().join("elsewhere").exists());
    assert!(!o.root.path().join("data/x").exists());
}
