//! A connector's public URL must be one the data plane can use: `http(s)://HOST:PORT` of the
//! connector's own listener. A URL with a path (a proxy routing by path), or an address where
//! something else answers TLS with another certificate (a TLS-terminating proxy: here, another
//! connector), is refused by `connector run` before its first check-in and by the service's
//! check-in route, with why; nothing is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_connector::service::Hub;
use tessera_connector::wire;
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_store::Store;
use uuid::Uuid;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Service {
    _db: tempfile::TempDir,
    store: Arc<dyn Store>,
    url: String,
}

async fn service() -> Service {
    let db = tempfile::tempdir().unwrap();
    let store = tessera_store::connect(&format!("sqlite://{}", db.path().join("t.db").display()))
        .await
        .unwrap();
    let hub =
        Arc::new(Hub::new(b"root key".to_vec(), store.clone(), Arc::new(SystemClock)).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = tessera_connector::service::router(hub);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Service {
        _db: db,
        store,
        url,
    }
}

fn config(
    s: &Service,
    id: Uuid,
    secret: Secret,
    port: u16,
    public_url: &str,
    state: &std::path::Path,
) -> tessera_connector::agent::Config {
    tessera_connector::agent::Config {
        id,
        secret,
        server: s.url.clone(),
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        public_url: public_url.to_owned(),
        state_dir: state.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_url_the_data_plane_cannot_use_is_refused_at_start_and_at_check_in() {
    let s = service().await;
    // Connector A, well configured: it checks in.
    let (a, a_secret) =
        tessera_connector::admin::add(s.store.as_ref(), &SystemClock, &OsRandom, "a")
            .await
            .unwrap();
    let a_state = tempfile::tempdir().unwrap();
    let a_port = free_port();
    let a_url = format!("http://127.0.0.1:{a_port}");
    let cfg = config(&s, a.id, a_secret, a_port, &a_url, a_state.path());
    tokio::spawn(async move { tessera_connector::agent::run(cfg, None).await });
    let started = Instant::now();
    while s
        .store
        .connector(a.id)
        .await
        .unwrap()
        .unwrap()
        .public_url
        .is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "A never checked in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Connector B, told that its public URL is A's address (as if a proxy with its own
    // certificate stood there): refused at start, before any check-in.
    let (b, b_secret) =
        tessera_connector::admin::add(s.store.as_ref(), &SystemClock, &OsRandom, "b")
            .await
            .unwrap();
    let b_state = tempfile::tempdir().unwrap();
    let cfg = config(
        &s,
        b.id,
        b_secret.clone(),
        free_port(),
        &a_url,
        b_state.path(),
    );
    let ran = tokio::time::timeout(
        Duration::from_secs(20),
        tessera_connector::agent::run(cfg, None),
    )
    .await
    .expect("connector run did not refuse its public URL");
    let e = ran.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("not this connector"), "{e}");
    assert!(e.to_string().contains("TLS-terminating proxy"), "{e}");
    // A path, another scheme, a user: refused at once, saying what to give instead.
    for bad in [
        format!("https://127.0.0.1:{}/connector", free_port()),
        "ftp://127.0.0.1:1".to_owned(),
        "http://user:pw@127.0.0.1:1".to_owned(),
        "127.0.0.1:1".to_owned(),
    ] {
        let cfg = config(
            &s,
            b.id,
            b_secret.clone(),
            free_port(),
            &bad,
            b_state.path(),
        );
        let e = tessera_connector::agent::run(cfg, None).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        assert!(e.to_string().contains("http://HOST:PORT"), "{bad}: {e}");
    }
    assert_eq!(
        s.store.connector(b.id).await.unwrap().unwrap().public_url,
        None
    );

    // The same at the check-in route: B claims A's address with its own certificate.
    let http = reqwest::Client::new();
    let poll = |body: serde_json::Value| {
        http.post(format!("{}{}", s.url, wire::POLL_PATH))
            .basic_auth(b.id, Some(b_secret.expose()))
            .json(&body)
            .send()
    };
    let fp = "ab".repeat(32);
    let r = poll(serde_json::json!({"public_url": a_url, "cert_fingerprint": fp}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("not this connector"),
        "{doc}"
    );
    let r =
        poll(serde_json::json!({"public_url": format!("{a_url}/prefix"), "cert_fingerprint": fp}))
            .await
            .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        s.store.connector(b.id).await.unwrap().unwrap().public_url,
        None
    );
    // An address nobody answers at yet is accepted (copies wait for it).
    let later = format!("http://127.0.0.1:{}", free_port());
    let r = poll(serde_json::json!({"public_url": later, "cert_fingerprint": fp}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.store.connector(b.id).await.unwrap().unwrap().public_url,
        Some(later)
    );
}
