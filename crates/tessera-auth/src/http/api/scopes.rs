//! The scope API (spec §4): `/v2/api/clients/{id}/scopes` and `/v2/api/scopes[/{id}]`.

use super::{basic_client, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Presented};
use crate::service::clients::managed_client;
use crate::service::scopes::{self as service, to_object};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_proto::api::{ScopeCreate, ScopeEnvelope, ScopeUpdate};

#[utoipa::path(
    get,
    path = "/v2/api/clients/{id}/scopes",
    tag = "scopes",
    summary = "A client's scopes",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The scopes", body = crate::http::openapi::schemas::ScopeList)),
    security(("basic" = []))
)]
pub(super) async fn list_for_client(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let scopes = state.store.scopes_of_client(client.id).await?;
    Ok(Json(
        json!({"scopes": scopes.iter().map(to_object).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    post,
    path = "/v2/api/clients/{id}/scopes",
    tag = "scopes",
    summary = "Create a scope of the client",
    params(("id" = String, Path, description = "The client id")),
    request_body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeCreate>,
    responses((status = 200, description = "The scope", body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeObject>), (status = 409, description = "The scope string exists", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("basic" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ScopeEnvelope<ScopeCreate>>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let owner = managed_client(&state, &caller.client, &id).await?;
    let scope = service::create(&state, &owner, body.scope).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}

#[utoipa::path(
    get,
    path = "/v2/api/scopes",
    tag = "scopes",
    summary = "Scopes by scope string or id, or the caller's own",
    params(("scope_strings" = Option<String>, Query, description = "Comma-separated scope strings"), ("ids" = Option<String>, Query, description = "Comma-separated scope ids")),
    responses((status = 200, description = "The scopes", body = crate::http::openapi::schemas::ScopeList)),
    security(("basic" = []))
)]
pub(super) async fn search(
    State(state): State<AppState>,
    presented: Presented,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let scopes = service::search(
        &state,
        &caller.client,
        query.get("scope_strings"),
        query.get("ids"),
    )
    .await?;
    Ok(Json(
        json!({"scopes": scopes.iter().map(to_object).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    get,
    path = "/v2/api/scopes/{id}",
    tag = "scopes",
    summary = "A scope",
    params(("id" = String, Path, description = "The scope id")),
    responses((status = 200, description = "The scope", body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeObject>)),
    security(("basic" = []))
)]
pub(super) async fn get(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    basic_client(&state, presented).await?;
    let scope = service::get(&state, &id).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}

#[utoipa::path(
    put,
    path = "/v2/api/scopes/{id}",
    tag = "scopes",
    summary = "Change a scope of the caller",
    params(("id" = String, Path, description = "The scope id")),
    request_body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeUpdate>,
    responses((status = 200, description = "The scope as it is now", body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeObject>)),
    security(("basic" = []))
)]
pub(super) async fn update(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ScopeEnvelope<ScopeUpdate>>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let scope = service::update(&state, &caller.client, &id, body.scope).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}

#[utoipa::path(
    delete,
    path = "/v2/api/scopes/{id}",
    tag = "scopes",
    summary = "Delete a scope of the caller",
    params(("id" = String, Path, description = "The scope id")),
    responses((status = 200, description = "The deleted scope", body = tessera_proto::api::ScopeEnvelope<tessera_proto::api::ScopeObject>), (status = 409, description = "Another scope depends on it", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("basic" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let scope = service::delete(&state, &caller.client, &id).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}
