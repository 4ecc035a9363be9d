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
