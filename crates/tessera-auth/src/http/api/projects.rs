//! `/v2/api/projects[/{id}]` (spec §4): Bearer `manage_projects`, admins only.

use super::{manager, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Presented};
use crate::service::projects as service;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_proto::api::{ProjectCreate, ProjectEnvelope, ProjectUpdate};

#[utoipa::path(
    get,
    path = "/v2/api/projects",
    tag = "projects",
    summary = "The projects the caller administers",
    responses((status = 200, description = "The projects", body = crate::http::openapi::schemas::ProjectList)),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let mut out = Vec::new();
    for p in service::list(&state, &m).await? {
        out.push(service::to_object(&state, &p).await?);
    }
    Ok(Json(json!({ "projects": out })))
}

#[utoipa::path(
    get,
    path = "/v2/api/projects/{id}",
    tag = "projects",
    summary = "A project",
    params(("id" = String, Path, description = "The project id")),
    responses((status = 200, description = "The project", body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectObject>)),
    security(("bearer" = []))
)]
pub(super) async fn get(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::administered(&state, &m, &id).await?;
    Ok(Json(
        json!({"project": service::to_object(&state, &p).await?}),
    ))
}

#[utoipa::path(
    post,
    path = "/v2/api/projects",
    tag = "projects",
    summary = "Create a project; the caller is an admin",
    request_body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectCreate>,
    responses((status = 200, description = "The project", body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectObject>)),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiJson(body): ApiJson<ProjectEnvelope<ProjectCreate>>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::create(&state, &m, body.project).await?;
    Ok(Json(
        json!({"project": service::to_object(&state, &p).await?}),
    ))
}

#[utoipa::path(
    put,
    path = "/v2/api/projects/{id}",
    tag = "projects",
    summary = "Change a project",
    params(("id" = String, Path, description = "The project id")),
    request_body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectUpdate>,
    responses((status = 200, description = "The project as it is now", body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectObject>)),
    security(("bearer" = []))
)]
pub(super) async fn update(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProjectEnvelope<ProjectUpdate>>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::update(&state, &m, &id, body.project).await?;
    Ok(Json(
        json!({"project": service::to_object(&state, &p).await?}),
    ))
}

#[utoipa::path(
    delete,
    path = "/v2/api/projects/{id}",
    tag = "projects",
    summary = "Delete a project without clients or policies",
    params(("id" = String, Path, description = "The project id")),
    responses((status = 200, description = "The deleted project", body = tessera_proto::api::ProjectEnvelope<tessera_proto::api::ProjectObject>), (status = 409, description = "It still has clients or policies", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("bearer" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let m = manager(&state, presented).await?;
    let p = service::delete(&state, &m, &id).await?;
    Ok(Json(
        json!({"project": service::to_object(&state, &p).await?}),
    ))
}
