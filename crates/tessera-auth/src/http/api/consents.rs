//! `GET /v2/api/identities/{id}/consents` (spec §3.3) and, a Tessera extension,
//! `DELETE /v2/api/identities/{id}/consents/{consent_id}`: both with a Bearer token of that
//! identity.

use super::{caller, ApiPath, Caller};
use crate::http::error::ApiError;
use crate::http::extract::Presented;
use crate::service::consents;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

async fn identity_of(state: &AppState, presented: Presented) -> Result<Uuid, ApiError> {
    match caller(state, presented).await? {
        Caller::Token(t) => Ok(t.subject),
        Caller::Client(c) => Ok(c.client.id),
    }
}

#[utoipa::path(
    get,
    path = "/v2/api/identities/{id}/consents",
    tag = "consents",
    summary = "The consents an identity gave (its own token only)",
    params(("id" = String, Path, description = "The identity id"), ("all" = Option<bool>, Query, description = "Accepted for compatibility")),
    responses((status = 200, description = "The consents", body = crate::http::openapi::schemas::ConsentList)),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(identity): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let me = identity_of(&state, presented).await?;
    let all = consents::list(&state, me, &identity).await?;
    Ok(Json(
        json!({"consents": all.iter().map(consents::to_object).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    delete,
    path = "/v2/api/identities/{id}/consents/{consent}",
    tag = "consents",
    summary = "Rescind a consent and everything beneath it, revoking the tokens that carry it",
    params(("id" = String, Path, description = "The identity id"), ("consent" = String, Path, description = "The consent id")),
    responses((status = 200, description = "The rescinded consents", body = crate::http::openapi::schemas::ConsentList)),
    security(("bearer" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath((identity, consent)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let me = identity_of(&state, presented).await?;
    let all = consents::list(&state, me, &identity).await?;
    let not_found = || ApiError::not_found(format!("no consent {consent}"));
    let id: i64 = consent.parse().map_err(|_| not_found())?;
    let target = all
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(not_found)?
        .clone();
    consents::rescind(&state, me, id).await?;
    Ok(Json(json!({"consent": consents::to_object(&target)})))
}
