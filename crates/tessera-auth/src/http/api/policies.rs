//! `/v2/api/policies[/{id}]` (spec §4): authentication policies of projects, Bearer
//! `manage_projects`, project admins only.

use super::{manager, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Presented};
use crate::service::projects::{self as service, policy_object};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_proto::api::{PolicyEnvelope, PolicyFields};

pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let all = service::policies(&state, &m).await?;
    Ok(Json(
        json!({"policies": all.iter().map(policy_object).collect::<Vec<_>>()}),
    ))
}

pub(super) async fn get(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::administered_policy(&state, &m, &id).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}

pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiJson(body): ApiJson<PolicyEnvelope<PolicyFields>>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::create_policy(&state, &m, body.policy).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}

pub(super) async fn update(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyEnvelope<PolicyFields>>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::update_policy(&state, &m, &id, body.policy).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::delete_policy(&state, &m, &id).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}
