//! Liveness and readiness.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// The process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    summary = "Liveness: the process serves HTTP",
    responses((status = 200, description = "Serving", body = crate::http::openapi::schemas::Status))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// How long readiness waits for the database: a load balancer's probe must get an answer
/// (503) while the pool is still trying to reconnect.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The process can reach its database.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    summary = "Readiness: the database answers",
    responses(
        (status = 200, description = "Ready", body = crate::http::openapi::schemas::Status),
        (status = 503, description = "The database does not answer", body = crate::http::openapi::schemas::Status),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ping = tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await;
    match ping
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database unavailable"})),
            )
        }
    }
}
