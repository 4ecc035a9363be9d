//! TLS between connectors (issue 13, `encrypt_data`), in one process: the service's check-in
//! route and its `Hub` on a SQLite store, and two real connectors (`agent::run`) on loopback
//! ports, each with its own state directory and endpoint directory.
//!
//! - an encrypted copy between the two connectors (a file large enough for parallel ranges)
//!   arrives byte-identical, and its read capability was good over TLS only;
//! - a certificate other than the pinned one is refused, by the service and by the pulling
//!   connector, at once (not waited for as an unreachable connector);
//! - plaintext is refused when encryption is demanded: a connector with no stated certificate,
//!   a TLS-only capability on a plaintext connection, a job with `encrypt` and an `http://`
//!   source;
//! - an encrypted pull canceled mid-file ends at once, without waiting for the source's
//!   checksum of the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_connector::capability::{self, Claims, Op};
use tessera_connector::pin;
use tessera_connector::service::Hub;
use tessera_connector::wire::{self, JobStatus, PullJob, SourceRef};
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_store::connector::ConnectorRecord;
use tessera_store::transfer::EndpointRecord;
use tessera_store::Store;
use tessera_transfer::connectors::ConnectorHub;
use tessera_transfer::data::{CopyOptions, DataError, FileOutcome, Side};
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::{RelPath, Storage, StorageError};
use uuid::Uuid;

const ROOT_KEY: &[u8] = b"the capability root key of these tests";

struct Node {
    record: ConnectorRecord,
    state: tempfile::TempDir,
    root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`
    url: String,
}

impl Node {
    fn endpoint(&self) -> EndpointRecord {
        EndpointRecord {
            id: Uuid::new_v4(),
            display_name: format!("on {}", self.record.name),
            owner_id: Uuid::new_v4(),
            owner_string: "owner@example.org".into(),
            root_path: Some(
                std::fs::canonicalize(self.root.path())
                    .unwrap()
                    .display()
                    .to_string(),
            ),
            host_endpoint_id: None,
            host_path: None,
            connector_id: Some(self.record.id),
            attrs: serde_json::json!({}),
            created_at: 0,
        }
    }

    fn key(&self) -> Vec<u8> {
        capability::connector_key(ROOT_KEY, self.record.id)
    }

    fn capability(&self, ops: Vec<Op>, path: &str, tls: bool) -> String {
        capability::sign(
            &self.key(),
            &Claims {
                c: self.record.id,
                root: self.endpoint().root_path.unwrap(),
                ops,
                paths: vec![path.into()],
                exp: wire::now_secs() + 60,
                tls,
            },
        )
    }
}

struct World {
    _db: tempfile::TempDir,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    nodes: Vec<Node>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn world() -> World {
    let db = tempfile::tempdir().unwrap();
    let store = tessera_store::connect(&format!("sqlite://{}", db.path().join("t.db").display()))
        .await
        .unwrap();
    let hub = Arc::new(Hub::new(ROOT_KEY.to_vec(), store.clone(), Arc::new(SystemClock)).unwrap());
    let service = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_url = format!("http://{}", service.local_addr().unwrap());
    let router = tessera_connector::service::router(hub.clone());
    tokio::spawn(async move { axum::serve(service, router).await });
    let mut nodes = Vec::new();
    for name in ["store-a", "store-b"] {
        let (record, secret) =
            tessera_connector::admin::add(store.as_ref(), &SystemClock, &OsRandom, name)
                .await
                .unwrap();
        let (state, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let config = tessera_connector::agent::Config {
            id: record.id,
            secret,
            server: service_url.clone(),
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            public_url: url.clone(),
            state_dir: state.path().to_owned(),
        };
        tokio::spawn(async move {
            if let Err(e) = tessera_connector::agent::run(config, None).await {
                panic!("the connector stopped: {e}");
            }
        });
        nodes.push(Node {
            record,
            state,
            root,
            url,
        });
    }
    // Both check in: public URL and certificate recorded.
    let started = Instant::now();
    for n in &mut nodes {
        loop {
            let r = store.connector(n.record.id).await.unwrap().unwrap();
            if r.public_url.is_some() && r.cert_fingerprint.is_some() {
                n.record = r;
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no check-in");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    World {
        _db: db,
        store,
        hub,
        nodes,
    }
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn p(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

fn encrypted() -> CopyOptions {
    CopyOptions {
        verify_checksum: true,
        encrypt_data: true,
        ..CopyOptions::default()
    }
}

/// `hub.copy_direct` on the blocking pool.
async fn copy(
    hub: &Arc<Hub>,
    src: Arc<dyn Storage>,
    from: &str,
    dst: Arc<dyn Storage>,
    to: &str,
    opts: CopyOptions,
) -> Option<Result<FileOutcome, DataError>> {
    let (hub, from, to) = (hub.clone(), p(from), p(to));
    tokio::task::spawn_blocking(move || {
        hub.copy_direct(
            Uuid::new_v4(),
            src.as_ref(),
            &from,
            dst.as_ref(),
            &to,
            &opts,
            &mut |_| {},
            &AtomicBool::new(false),
        )
    })
    .await
    .unwrap()
}

/// The hub's storage of `record`'s endpoint (opened where `Storage` calls may block).
async fn open(hub: &Arc<Hub>, record: ConnectorRecord, ep: EndpointRecord) -> Arc<dyn Storage> {
    let hub = hub.clone();
    tokio::task::spawn_blocking(move || hub.open(&record, &ep).unwrap())
        .await
        .unwrap()
}

fn denied(r: Option<Result<FileOutcome, DataError>>) -> (Side, String) {
    match r {
        Some(Err(DataError::Storage {
            side,
            error: StorageError::PermissionDenied(m),
        })) => (side, m),
        other => panic!("not refused: {other:?}"),
    }
}

fn cert_of(state: &Path) -> PathBuf {
    state.join("tls-cert.der")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_encrypted_copy_between_connectors_is_byte_identical() {
    let w = world().await;
    let (a, b) = (&w.nodes[0], &w.nodes[1]);
    // The fingerprint the service recorded is the certificate's in the state directory, and
    // the key beside it is the connector's alone.
    for n in &w.nodes {
        let cert = std::fs::read(cert_of(n.state.path())).unwrap();
        assert_eq!(
            n.record.cert_fingerprint.as_deref(),
            Some(pin::fingerprint(&cert).as_str())
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(n.state.path().join("tls-key.der"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
    }
    // Larger than one block: fetched in parallel ranges.
    let data = pattern(40 << 20, 5);
    std::fs::write(a.root.path().join("big.bin"), &data).unwrap();
    std::fs::write(a.root.path().join("small.txt"), b"hello over TLS").unwrap();
    let src = open(&w.hub, a.record.clone(), a.endpoint()).await;
    let dst = open(&w.hub, b.record.clone(), b.endpoint()).await;
    for (from, to) in [("/big.bin", "/copy/big.bin"), ("/small.txt", "/small.txt")] {
        if to.starts_with("/copy") {
            let d = dst.clone();
            tokio::task::spawn_blocking(move || d.mkdir_all(&p("/copy")).unwrap())
                .await
                .unwrap();
        }
        let done = copy(&w.hub, src.clone(), from, dst.clone(), to, encrypted()).await;
        match done {
            Some(Ok(FileOutcome::Copied { bytes, checksum })) => {
                assert_eq!(
                    bytes,
                    std::fs::metadata(a.root.path().join(&from[1..]))
                        .unwrap()
                        .len()
                );
                assert!(checksum.is_some());
            }
            other => panic!("{from}: {other:?}"),
        }
    }
    assert!(std::fs::read(b.root.path().join("copy/big.bin")).unwrap() == data);
    assert_eq!(
        std::fs::read(b.root.path().join("small.txt")).unwrap(),
        b"hello over TLS"
    );
    // Nothing left behind.
    let leftovers: Vec<_> = std::fs::read_dir(b.root.path().join("copy"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tessera-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The same file, not encrypted, still moves (plaintext, the fast path).
    let done = copy(
        &w.hub,
        src.clone(),
        "/big.bin",
        dst.clone(),
        "/plain.bin",
        CopyOptions {
            verify_checksum: true,
            ..CopyOptions::default()
        },
    )
    .await;
    assert!(
        matches!(done, Some(Ok(FileOutcome::Copied { .. }))),
        "{done:?}"
    );
    assert!(std::fs::read(b.root.path().join("plain.bin")).unwrap() == data);

    // The read capability such a copy hands the destination is good over TLS only.
    let cap = a.capability(vec![Op::Read], "/small.txt", true);
    let get = |client: reqwest::Client, base: String, cap: String| async move {
        let r = client
            .get(format!("{base}/connector/v1/file"))
            .query(&[("path", "/small.txt")])
            .header(wire::CAPABILITY_HEADER, cap)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let clients = pin::Clients::new().unwrap();
    let plain = clients.for_url(&a.url, None).unwrap();
    let (status, body) = get(plain.clone(), a.url.clone(), cap.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("plaintext refused"), "{body}");
    let tls_url = pin::tls_url(&a.url);
    let pinned = clients
        .for_url(&tls_url, a.record.cert_fingerprint.as_deref())
        .unwrap();
    let (status, body) = get(pinned.clone(), tls_url.clone(), cap).await;
    assert_eq!((status, body.as_str()), (200, "hello over TLS"));
    // A capability that does not demand TLS is served on both.
    let cap = a.capability(vec![Op::Read], "/small.txt", false);
    assert_eq!(get(plain, a.url.clone(), cap.clone()).await.0, 200);
    assert_eq!(get(pinned, tls_url.clone(), cap.clone()).await.0, 200);
    // A client that trusts the system's CAs does not get in.
    let ca = reqwest::Client::builder().build().unwrap();
    assert!(ca
        .get(format!("{tls_url}/connector/v1/health"))
        .send()
        .await
        .is_err());
    drop(w.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_certificate_other_than_the_pinned_one_is_refused_at_once() {
    let w = world().await;
    let (a, b) = (&w.nodes[0], &w.nodes[1]);
    std::fs::write(a.root.path().join("f.bin"), pattern(3 << 20, 1)).unwrap();
    let mut wrong = a.record.clone();
    wrong.cert_fingerprint = Some("ab".repeat(32));
    let bad_src = open(&w.hub, wrong, a.endpoint()).await;
    // The service itself: a refusal, not "unreachable".
    let s = bad_src.clone();
    let stat = tokio::task::spawn_blocking(move || s.stat(&p("/f.bin")))
        .await
        .unwrap();
    match stat {
        Err(StorageError::PermissionDenied(m)) => {
            assert!(m.contains("does not match the pin"), "{m}");
            assert!(m.contains(&"ab".repeat(32)), "{m}");
        }
        other => panic!("{other:?}"),
    }
    // The destination connector, pulling from a source that shows another certificate than
    // the job's pin: the file fails at once, on the source's side.
    let dst = open(&w.hub, b.record.clone(), b.endpoint()).await;
    let started = Instant::now();
    let (side, m) = denied(
        copy(
            &w.hub,
            bad_src,
            "/f.bin",
            dst.clone(),
            "/f.bin",
            encrypted(),
        )
        .await,
    );
    assert_eq!(side, Side::Source);
    assert!(m.contains("does not match the pin"), "{m}");
    assert!(started.elapsed() < Duration::from_secs(20), "waited");
    assert!(!b.root.path().join("f.bin").exists());
    // The destination itself with a wrong pin: refused too.
    let mut wrong = b.record.clone();
    wrong.cert_fingerprint = Some("cd".repeat(32));
    let bad_dst = open(&w.hub, wrong, b.endpoint()).await;
    let src = open(&w.hub, a.record.clone(), a.endpoint()).await;
    let (side, m) = denied(copy(&w.hub, src, "/f.bin", bad_dst, "/f.bin", encrypted()).await);
    assert_eq!(side, Side::Destination);
    assert!(m.contains("does not match the pin"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plaintext_is_refused_when_the_task_demands_encryption() {
    let w = world().await;
    let (a, b) = (&w.nodes[0], &w.nodes[1]);
    std::fs::write(a.root.path().join("f.bin"), pattern(1 << 20, 2)).unwrap();
    // A connector that stated no certificate (an older one) is reached in plaintext only: an
    // encrypted copy from it or to it is refused, directly or through the service.
    let mut bare = a.record.clone();
    bare.cert_fingerprint = None;
    let plain_src = open(&w.hub, bare, a.endpoint()).await;
    let dst = open(&w.hub, b.record.clone(), b.endpoint()).await;
    let (side, m) = denied(
        copy(
            &w.hub,
            plain_src.clone(),
            "/f.bin",
            dst.clone(),
            "/f.bin",
            encrypted(),
        )
        .await,
    );
    assert_eq!(side, Side::Source);
    assert!(m.contains("plaintext refused"), "{m}");
    let local_dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn Storage> = Arc::new(PosixStorage::open(local_dir.path()).unwrap());
    let (side, m) = denied(
        copy(
            &w.hub,
            plain_src.clone(),
            "/f.bin",
            local.clone(),
            "/f.bin",
            encrypted(),
        )
        .await,
    );
    assert_eq!(side, Side::Source);
    assert!(m.contains("plaintext refused"), "{m}");
    // Not encrypted: the same copy goes through the service (the hub leaves it to the engine).
    let through = copy(
        &w.hub,
        plain_src,
        "/f.bin",
        local.clone(),
        "/f.bin",
        CopyOptions::default(),
    )
    .await;
    assert!(through.is_none(), "{through:?}");
    // A pinned connector and a local endpoint with encryption: through the service, over TLS.
    let src = open(&w.hub, a.record.clone(), a.endpoint()).await;
    assert!(copy(&w.hub, src, "/f.bin", local, "/f.bin", encrypted())
        .await
        .is_none());
    assert!(!b.root.path().join("f.bin").exists());

    // A pull job with `encrypt` and a plaintext source URL: the destination refuses to pull.
    let plain = pin::Clients::new().unwrap().for_url(&b.url, None).unwrap();
    let job = PullJob {
        id: "plaintext-job".into(),
        task: None,
        path: "/f.bin".into(),
        source: SourceRef {
            url: a.url.clone(),
            cert_fingerprint: a.record.cert_fingerprint.clone(),
            capability: a.capability(vec![Op::Read, Op::Stat], "/f.bin", false),
            path: "/f.bin".into(),
        },
        checksum_algorithm: "SHA256".into(),
        verify_checksum: true,
        external_checksum: None,
        preserve_timestamp: false,
        fsync: false,
        encrypt: true,
    };
    let cap = b.capability(vec![Op::Write], "/f.bin", false);
    let mut status: JobStatus = plain
        .post(format!("{}/connector/v1/pull", b.url))
        .header(wire::CAPABILITY_HEADER, &cap)
        .json(&job)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = Instant::now();
    while status.state == "running" {
        assert!(started.elapsed() < Duration::from_secs(20), "{status:?}");
        status = plain
            .get(format!("{}/connector/v1/jobs/plaintext-job", b.url))
            .query(&[("wait", "1")])
            .header(wire::CAPABILITY_HEADER, &cap)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    assert_eq!(status.state, "failed", "{status:?}");
    let f = status.failure.unwrap();
    assert_eq!(
        (f.side.as_str(), f.kind.as_str()),
        ("source", "permission_denied")
    );
    assert!(f.message.contains("plaintext refused"), "{}", f.message);
    assert!(!b.root.path().join("f.bin").exists());
}

/// An encrypted pull canceled mid-file ends at once: it does not wait for the source's
/// checksum of the whole file (a 32 GiB sparse file here, which the source takes many seconds
/// to hash), and its partial file goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canceled_pull_ends_at_once_without_waiting_for_the_source_checksum() {
    let w = world().await;
    let (a, b) = (&w.nodes[0], &w.nodes[1]);
    std::fs::File::create(a.root.path().join("huge.bin"))
        .unwrap()
        .set_len(32 << 30)
        .unwrap();
    let https = |n: &Node| n.url.replace("http://", "https://");
    let job = PullJob {
        id: "cancel-job".into(),
        task: None,
        path: "/huge.bin".into(),
        source: SourceRef {
            url: https(a),
            cert_fingerprint: a.record.cert_fingerprint.clone(),
            capability: a.capability(vec![Op::Read, Op::Stat], "/huge.bin", true),
            path: "/huge.bin".into(),
        },
        checksum_algorithm: "SHA256".into(),
        verify_checksum: true,
        external_checksum: None,
        preserve_timestamp: false,
        fsync: false,
        encrypt: true,
    };
    let http = pin::Clients::new()
        .unwrap()
        .for_url(&https(b), b.record.cert_fingerprint.as_deref())
        .unwrap();
    let cap = b.capability(vec![Op::Write], "/huge.bin", false);
    let url = format!("{}/connector/v1/jobs/cancel-job", https(b));
    let get = || async {
        let r = http
            .get(&url)
            .query(&[("wait", "1")])
            .header(wire::CAPABILITY_HEADER, &cap)
            .send()
            .await
            .unwrap();
        r.json::<JobStatus>().await.unwrap()
    };
    let mut status: JobStatus = http
        .post(format!("{}/connector/v1/pull", https(b)))
        .header(wire::CAPABILITY_HEADER, &cap)
        .json(&job)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = Instant::now();
    while status.bytes < 16 << 20 {
        assert_eq!(status.state, "running", "{status:?}");
        assert!(started.elapsed() < Duration::from_secs(60), "{status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = get().await;
    }
    let asked = Instant::now();
    status = http
        .delete(&url)
        .header(wire::CAPABILITY_HEADER, &cap)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    while status.state == "running" && asked.elapsed() < Duration::from_secs(10) {
        status = get().await;
    }
    let took = asked.elapsed();
    assert_eq!(status.state, "canceled", "after {took:?}: {status:?}");
    assert!(took < Duration::from_secs(5), "cancel took {took:?}");
    let left: Vec<_> = std::fs::read_dir(b.root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
