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

pub(super) async fn get(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    basic_client(&state, presented).await?;
    let scope = service::get(&state, &id).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}

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

pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let scope = service::delete(&state, &caller.client, &id).await?;
    Ok(Json(json!({"scope": to_object(&scope)})))
}
