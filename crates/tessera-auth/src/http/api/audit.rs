//! `GET /v2/api/audit` (a Tessera extension): the audit log of security events, newest first,
//! for administrators. Filters: `since` (RFC 3339 or Unix seconds), `type`, `limit` (1–1000,
//! default 100), `before` (an event id: the next page).

use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, Presented};
use crate::service::audit_log::{self, Filters};
use crate::state::AppState;
use crate::view::audit_object;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use tessera_core::grant::TokenRecord;

/// An active `auth.globus.org` Bearer token: the call is made for a person.
async fn bearer_token(
    state: &AppState,
    presented: Presented,
) -> Result<Arc<TokenRecord>, ApiError> {
    match presented {
        Presented::Bearer(token) => crate::service::tokens::active(state, token.expose())
            .await?
            .filter(|r| r.resource_server == crate::http::userinfo::AUTH_RESOURCE_SERVER)
            .ok_or_else(|| ApiError::unauthorized("the access token is not valid here")),
        Presented::None => Err(ApiError::unauthorized("Call must be authenticated")),
        Presented::Malformed(why) => Err(ApiError::unauthorized(why)),
        Presented::Basic { .. } => Err(ApiError::unauthorized(
            "this call takes a Bearer token of an administrator",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v2/api/audit",
    tag = "audit",
    summary = "Security events, newest first (`admin_usernames` with a `view_audit` token)",
    params(("since" = Option<String>, Query, description = "ISO 8601 or Unix seconds"), ("type" = Option<String>, Query, description = "An event type"), ("limit" = Option<u32>, Query, description = "At most this many (default 100)"), ("before" = Option<i64>, Query, description = "Events older than this id (paging)")),
    responses((status = 200, description = "The events", body = crate::http::openapi::schemas::AuditList)),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let token = bearer_token(&state, presented).await?;
    let filters = Filters {
        since: query.get("since"),
        event: query.get("type"),
        limit: query.get("limit"),
        before: query.get("before"),
    };
    let events = audit_log::list(&state, &token, &filters).await?;
    Ok(Json(
        json!({"audit_events": events.iter().map(audit_object).collect::<Vec<_>>()}),
    ))
}
