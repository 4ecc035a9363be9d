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

#[utoipa::path(
    get,
    path = "/v2/api/policies",
    tag = "policies",
    summary = "The policies of the caller's projects",
    responses((status = 200, description = "The policies", body = crate::http::openapi::schemas::PolicyList)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    get,
    path = "/v2/api/policies/{id}",
    tag = "policies",
    summary = "A policy",
    params(("id" = String, Path, description = "The policy id")),
    responses((status = 200, description = "The policy", body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyObject>)),
    security(("bearer" = []))
)]
pub(super) async fn get(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::administered_policy(&state, &m, &id).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}

#[utoipa::path(
    post,
    path = "/v2/api/policies",
    tag = "policies",
    summary = "Create a policy in a project",
    request_body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyFields>,
    responses((status = 200, description = "The policy", body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyObject>)),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiJson(body): ApiJson<PolicyEnvelope<PolicyFields>>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::create_policy(&state, &m, body.policy).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}

#[utoipa::path(
    put,
    path = "/v2/api/policies/{id}",
    tag = "policies",
    summary = "Change a policy",
    params(("id" = String, Path, description = "The policy id")),
    request_body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyFields>,
    responses((status = 200, description = "The policy as it is now", body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyObject>)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/v2/api/policies/{id}",
    tag = "policies",
    summary = "Delete a policy no client uses",
    params(("id" = String, Path, description = "The policy id")),
    responses((status = 200, description = "The deleted policy", body = tessera_proto::api::PolicyEnvelope<tessera_proto::api::PolicyObject>), (status = 409, description = "A client uses it", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("bearer" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::delete_policy(&state, &m, &id).await?;
    Ok(Json(json!({"policy": policy_object(&p)})))
}
