//! `POST /connector/v1/poll`: a connector checks in with HTTP Basic (its id and secret), says
//! where it is (public URL, certificate fingerprint), hands over the reports it kept, and gets
//! its capability key. Refusals are 401 with nothing else said; a public URL the data plane
//! cannot use (`wire::check_public_url`, or another certificate than the connector's answering
//! there: a TLS-terminating proxy) is a 400 that says why.

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

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"kind": "bad_request", "message": message})),
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
    if let Err(why) = crate::wire::check_public_url(&request.public_url) {
        return bad_request(&why);
    }
    let fingerprint = match request.cert_fingerprint.as_deref() {
        Some(f) if !crate::pin::is_fingerprint(f) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"kind": "bad_request", "message": "cert_fingerprint must be the SHA-256 of a certificate, 64 hex digits"})),
            )
                .into_response();
        }
        f => f.map(str::to_ascii_lowercase),
    };
    // A new address (or certificate): whatever answers there must be the connector itself.
    let moved = record.public_url.as_deref() != Some(request.public_url.as_str())
        || record.cert_fingerprint != fingerprint;
    if let (true, Some(fp)) = (moved, fingerprint.as_deref()) {
        match crate::pin::reaches(&hub.clients, &request.public_url, fp).await {
            Ok(crate::pin::Reached::Itself) => {}
            Ok(crate::pin::Reached::Unreachable(why)) => tracing::warn!(
                connector = %id, public_url = %request.public_url, error = %why,
                "a connector checked in from an address this service cannot reach yet"
            ),
            Err(why) => return bad_request(&why),
        }
    }
    let now = hub.clock.now();
    if let Err(e) = hub
        .store
        .connector_seen(id, &request.public_url, fingerprint.as_deref(), now)
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
