//! `POST /connector/v1/poll`: a connector checks in with HTTP Basic (its id and secret), says
//! where it is (public URL, certificate fingerprint), hands over the reports it kept, and gets
//! its capability key. Refusals are 401 with nothing else said.

use super::Hub;
use crate::wire::{PollRequest, PollResponse, POLL_PATH};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::sync::Arc;
use tessera_core::secret::SecretHash;
use uuid::Uuid;

/// How often a connector checks in.
pub(super) const POLL_AFTER: u64 = 5;

/// The route, on the service's listener.
pub fn router(hub: Arc<Hub>) -> axum::Router {
    axum::Router::new()
        .route(POLL_PATH, post(poll))
        .with_state(hub)
}

fn refused(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Basic realm=\"tessera connector\"")],
        Json(serde_json::json!({"kind": "unauthorized", "message": message})),
    )
        .into_response()
}

/// (id, secret) from `Authorization: Basic …`.
fn basic(headers: &HeaderMap) -> Option<(Uuid, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((Uuid::parse_str(id).ok()?, secret.to_owned()))
}

async fn poll(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some((id, secret)) = basic(&headers) else {
        return refused("connector credentials required (HTTP Basic: id and secret)");
    };
    let record = match hub.store.connector(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return refused("unknown connector or wrong secret"),
        Err(e) => {
            tracing::error!(error = %e, "reading a connector failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if SecretHash::of(&secret) != record.secret_hash {
        return refused("unknown connector or wrong secret");
    }
    let Ok(request) = serde_json::from_slice::<PollRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"kind": "bad_request", "message": "a PollRequest JSON body is required"})),
        )
            .into_response();
    };
    let url_ok =
        request.public_url.starts_with("http://") || request.public_url.starts_with("https://");
    if !url_ok || request.public_url.len() > 2000 {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"kind": "bad_request", "message": "public_url must be an http(s) URL"})),
        )
            .into_response();
    }
    let now = hub.clock.now();
    if let Err(e) = hub
        .store
        .connector_seen(
            id,
            &request.public_url,
            request.cert_fingerprint.as_deref(),
            now,
        )
        .await
    {
        tracing::error!(error = %e, "recording a connector's check-in failed");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    for r in &request.reports {
        tracing::info!(
            connector = %id, job = %r.job, task = ?r.task, path = %r.path, ok = r.ok,
            bytes = r.bytes, detail = %r.detail, "connector report"
        );
    }
    Json(PollResponse {
        capability_key: URL_SAFE_NO_PAD.encode(hub.key_of(id)),
        poll_after: POLL_AFTER,
        acknowledged: request.reports.len(),
    })
    .into_response()
}
