//! Retries against a fault injector: a small axum server on 127.0.0.1:0 that fails a set
//! number of times (503, 429 with `Retry-After`, 401) before answering, and counts the
//! attempts. Not a mock of Tessera: it stands for a restarting or overloaded server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_client::{Authorizer, ClientError, RetryPolicy, TransferClient};

#[derive(Default)]
struct Faults {
    /// Requests seen per route.
    flaky: AtomicU32,
    busy: AtomicU32,
    down: AtomicU32,
    later: AtomicU32,
    guarded: AtomicU32,
}

fn envelope(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": "try later", "request_id": "r1", "resource": "/"})),
    )
        .into_response()
}

/// 503 twice, then an answer.
async fn flaky(State(f): State<Arc<Faults>>) -> Response {
    if f.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
        return envelope(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable");
    }
    Json(json!({"DATA_TYPE": "submission_id", "value": "sid-1"})).into_response()
}

/// 429 with `Retry-After: 1` once, then an answer.
async fn busy(State(f): State<Arc<Faults>>) -> Response {
    if f.busy.fetch_add(1, Ordering::SeqCst) == 0 {
        let mut r = envelope(StatusCode::TOO_MANY_REQUESTS, "RateLimited");
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
        return r;
    }
    Json(json!({"task_id": "t1", "status": "SUCCEEDED", "files": 1})).into_response()
}

/// Always 503.
async fn down(State(f): State<Arc<Faults>>) -> Response {
    f.down.fetch_add(1, Ordering::SeqCst);
    envelope(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
}

/// 503 asking for an hour's wait.
async fn later(State(f): State<Arc<Faults>>) -> Response {
    f.later.fetch_add(1, Ordering::SeqCst);
    let mut r = envelope(StatusCode::SERVICE_UNAVAILABLE, "Maintenance");
    r.headers_mut()
        .insert("retry-after", "3600".parse().unwrap());
    r
}

/// 401 unless the token is `fresh`.
async fn guarded(State(f): State<Arc<Faults>>, headers: HeaderMap) -> Response {
    f.guarded.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer fresh") {
        return Json(json!({"value": "sid-2"})).into_response();
    }
    envelope(StatusCode::UNAUTHORIZED, "AuthenticationFailed")
}

async fn start() -> (String, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let app = Router::new()
        .route("/flaky/v0.10/submission_id", get(flaky))
        .route("/busy/v0.10/task/{id}", get(busy))
        .route("/down/v0.10/submission_id", get(down))
        .route("/later/v0.10/submission_id", get(later))
        .route("/guarded/v0.10/submission_id", get(guarded))
        .with_state(faults.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, faults)
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn a_503_is_retried_until_the_server_answers() {
    let (url, f) = start().await;
    let t = TransferClient::new(&format!("{url}/flaky"), "tok")
        .unwrap()
        .with_retry(quick());
    assert_eq!(t.submission_id().await.unwrap(), "sid-1");
    assert_eq!(f.flaky.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let (url, f) = start().await;
    let t = TransferClient::new(&format!("{url}/busy"), "tok")
        .unwrap()
        .with_retry(quick());
    let began = Instant::now();
    let task = t.get_task("t1").await.unwrap();
    assert_eq!(task.status, "SUCCEEDED");
    assert_eq!(f.busy.load(Ordering::SeqCst), 2);
    // The 10 ms backoff was replaced by the server's 1 s.
    assert!(
        began.elapsed() >= Duration::from_millis(950),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn retries_are_bounded_and_end_in_the_typed_error() {
    let (url, f) = start().await;
    let t = TransferClient::new(&format!("{url}/down"), "tok")
        .unwrap()
        .with_retry(quick());
    let e = t.submission_id().await.unwrap_err();
    assert_eq!(
        f.down.load(Ordering::SeqCst),
        4,
        "one try and three retries"
    );
    match &e {
        ClientError::Api {
            status: 503,
            code: Some(code),
            request_id: Some(id),
            ..
        } => assert_eq!((code.as_str(), id.as_str()), ("ServiceUnavailable", "r1")),
        other => panic!("{other:?}"),
    }
    assert!(e.is_transient());

    // With retries off: one try.
    let once = TransferClient::new(&format!("{url}/down"), "tok")
        .unwrap()
        .with_retry(RetryPolicy::never());
    once.submission_id().await.unwrap_err();
    assert_eq!(f.down.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_is_not_waited_for() {
    let (url, f) = start().await;
    let t = TransferClient::new(&format!("{url}/later"), "tok")
        .unwrap()
        .with_retry(quick());
    let began = Instant::now();
    let e = t.submission_id().await.unwrap_err();
    assert_eq!(e.code(), Some("Maintenance"));
    assert_eq!(f.later.load(Ordering::SeqCst), 1);
    assert!(began.elapsed() < Duration::from_secs(5));
}

/// Stale until told of a 401, then fresh (when `renews`).
#[derive(Debug)]
struct Renewing {
    renews: bool,
    told: AtomicU32,
}

#[async_trait]
impl Authorizer for Renewing {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        Ok(Some(
            if self.told.load(Ordering::SeqCst) > 0 && self.renews {
                "Bearer fresh".into()
            } else {
                "Bearer stale".into()
            },
        ))
    }

    async fn handle_unauthorized(&self) -> bool {
        self.told.fetch_add(1, Ordering::SeqCst);
        self.renews
    }
}

#[tokio::test]
async fn a_401_is_retried_once_with_renewed_credentials_and_never_looped_on() {
    let (url, f) = start().await;
    let renewing = Arc::new(Renewing {
        renews: true,
        told: AtomicU32::new(0),
    });
    let t = TransferClient::with_authorizer(&format!("{url}/guarded"), renewing.clone()).unwrap();
    assert_eq!(t.submission_id().await.unwrap(), "sid-2");
    assert_eq!(renewing.told.load(Ordering::SeqCst), 1);
    assert_eq!(f.guarded.load(Ordering::SeqCst), 2);

    // An authorizer that cannot renew: the 401 comes back after one try.
    let stuck = Arc::new(Renewing {
        renews: false,
        told: AtomicU32::new(0),
    });
    let t = TransferClient::with_authorizer(&format!("{url}/guarded"), stuck.clone()).unwrap();
    let e = t.submission_id().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(stuck.told.load(Ordering::SeqCst), 1);
    assert_eq!(f.guarded.load(Ordering::SeqCst), 3);
}
