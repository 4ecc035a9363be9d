//! Endpoints as their managers see them: the monitored list, one endpoint, the shares it hosts,
//! its access rules.

use super::super::{docs, endpoints::render, Caller};
use crate::error::ApiError;
use crate::service::manager;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::routing::{get, MethodRouter};
use axum::Json;
use serde_json::{json, Value};

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_manager/monitored_endpoints", get(monitored)),
        ("/endpoint_manager/endpoint/{id}", get(show)),
        (
            "/endpoint_manager/endpoint/{id}/hosted_endpoint_list",
            get(hosted),
        ),
        (
            "/endpoint_manager/endpoint/{id}/access_list",
            get(access_list),
        ),
    ]
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/monitored_endpoints",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_monitored_endpoints",
    summary = "Endpoints where the caller is administrator, activity_manager or activity_monitor",
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn monitored(State(state): State<TransferState>, caller: Caller) -> Answer {
    let scope = manager::scope(&state, &caller).await?;
    let mut data = Vec::with_capacity(scope.direct.len());
    for (e, _) in &scope.direct {
        data.push(render(&state, &caller, e).await?);
    }
    Ok(Json(json!({
        "DATA_TYPE": "endpoint_list",
        "DATA": data,
        "has_next_page": false,
        "offset": 0,
        "limit": data.len(),
    })))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/endpoint/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_get_endpoint",
    summary = "An endpoint the caller monitors",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let (e, _) = manager::endpoint(&state, &caller, &id).await?;
    Ok(Json(render(&state, &caller, &e).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/endpoint/{id}/hosted_endpoint_list",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_hosted_endpoint_list",
    summary = "The shares hosted on an endpoint the caller monitors",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn hosted(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let (host, _) = manager::endpoint(&state, &caller, &id).await?;
    let mut data = Vec::new();
    for e in state.store.all_endpoints().await? {
        if e.host_endpoint_id == Some(host.id) {
            data.push(render(&state, &caller, &e).await?);
        }
    }
    Ok(Json(json!({"DATA_TYPE": "endpoint_list", "DATA": data})))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/endpoint/{id}/access_list",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_acl_list",
    summary = "The access rules of an endpoint the caller monitors",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn access_list(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let (e, _) = manager::endpoint(&state, &caller, &id).await?;
    let data: Vec<Value> = state
        .store
        .access_rules(e.id)
        .await?
        .iter()
        .map(docs::access_rule)
        .collect();
    Ok(Json(json!({
        "DATA_TYPE": "access_list",
        "endpoint": e.id.to_string(),
        "length": data.len(),
        "DATA": data,
    })))
}
