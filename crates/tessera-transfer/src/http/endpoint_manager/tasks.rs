//! Tasks as their endpoints' managers see them (any owner): the list (last_key paging), one
//! task, its events, pause info, successful transfers and skipped errors.

use super::super::tasks::{events_doc, pause_info_doc, render, skipped_doc, successful_doc};
use super::super::{Caller, Params};
use crate::error::ApiError;
use crate::service::manager::{self, Power, Scope};
use crate::service::{manager_query, pause};
use crate::TransferState;
use axum::extract::{Path, State};
use axum::routing::{get, MethodRouter};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashSet;
use tessera_store::transfer::TaskRecord;
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_manager/task_list", get(task_list)),
        ("/endpoint_manager/task/{id}", get(show)),
        ("/endpoint_manager/task/{id}/event_list", get(event_list)),
        ("/endpoint_manager/task/{id}/pause_info", get(pause_info)),
        (
            "/endpoint_manager/task/{id}/successful_transfers",
            get(successful),
        ),
        ("/endpoint_manager/task/{id}/skipped_errors", get(skipped)),
    ]
}

/// The endpoints a list looks at: `filter_endpoint` and the shares it hosts that the caller
/// monitors, or everything they monitor.
async fn endpoints_of(
    state: &TransferState,
    scope: &Scope,
    filter: Option<Uuid>,
) -> Result<Vec<Uuid>, ApiError> {
    let Some(e) = filter else {
        return Ok(scope.endpoint_ids());
    };
    if scope.power_on(e).is_none() {
        return Err(ApiError::forbidden(
            "PermissionDenied",
            format!("You have no activity_monitor or higher role on endpoint {e}"),
        ));
    }
    let mut ids = vec![e];
    for share in state.store.all_endpoints().await? {
        if share.host_endpoint_id == Some(e) && scope.monitor.contains(&share.id) {
            ids.push(share.id);
        }
    }
    Ok(ids)
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task_list",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_task_list",
    summary = "Tasks of any owner touching the caller's monitored endpoints, newest first (last_key paging: `has_next_page`, `last_key`). Without filter_task_id or filter_endpoint, filter_status must be ACTIVE and/or INACTIVE",
    params(("filter_status" = Option<String>, Query, description = "ACTIVE, INACTIVE, SUCCEEDED, FAILED (comma-separated)"), ("filter_task_id" = Option<String>, Query, description = "Task ids, comma-separated (at most 50; no other filter)"), ("filter_owner_id" = Option<String>, Query, description = "An owner identity id"), ("filter_endpoint" = Option<String>, Query, description = "One endpoint id (and the shares it hosts)"), ("filter_endpoint_use" = Option<String>, Query, description = "source or destination (needs filter_endpoint)"), ("filter_is_paused" = Option<String>, Query, description = "true/false (needs filter_status ACTIVE and/or INACTIVE)"), ("filter_completion_time" = Option<String>, Query, description = "`start,end` ISO 8601; a blank end includes running tasks"), ("filter_min_faults" = Option<String>, Query, description = "At least this many faults"), ("filter_local_user" = Option<String>, Query, description = "A local user name (needs filter_endpoint; no task here records one)"), ("last_key" = Option<String>, Query, description = "The `last_key` of the page before"), ("limit" = Option<String>, Query, description = "Page size")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn task_list(
    State(state): State<TransferState>,
    caller: Caller,
    p: Params,
) -> Answer {
    let filter = manager_query::parse(&p)?;
    let scope = manager::require_scope(&state, &caller).await?;
    let mut query = filter.query.clone();
    let limit = query.limit;
    if !query.task_ids.is_empty() {
        // Every named task must be one the caller may see (Globus: PermissionDenied).
        for id in &query.task_ids {
            if let Some(t) = state.store.task(*id).await? {
                manager::check(&caller, &scope, &t, Power::Monitor)?;
            }
        }
    }
    query.endpoint_ids = endpoints_of(&state, &scope, filter.endpoint).await?;
    let mut page: Vec<TaskRecord> = Vec::new();
    let mut more = false;
    // A task with a local user would match filter_local_user; none here records one.
    if filter.local_user.is_none() {
        // filter_is_paused is decided per task, so a page may take several reads.
        query.limit = limit + 1;
        let mut seen = HashSet::new();
        loop {
            let batch = state.store.manager_tasks(&query).await?;
            let exhausted = batch.len() < usize::try_from(query.limit).unwrap_or(usize::MAX);
            for t in batch {
                query.after = Some((t.request_time, t.id));
                if !seen.insert(t.id) {
                    continue;
                }
                let keep = match filter.is_paused {
                    Some(want) => pause::held(&state, &t).await?.is_paused() == want,
                    None => true,
                };
                if keep {
                    page.push(t);
                }
            }
            if page.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
                more = true;
                page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                break;
            }
            if exhausted {
                break;
            }
        }
    }
    let mut data = Vec::with_capacity(page.len());
    for t in &page {
        data.push(render(&state, t).await?);
    }
    let last_key = page
        .last()
        .filter(|_| more)
        .map(|t| manager_query::last_key(t.request_time, t.id));
    Ok(Json(json!({
        "DATA_TYPE": "task_list",
        "DATA": data,
        "length": data.len(),
        "limit": limit,
        "has_next_page": more,
        "last_key": last_key,
    })))
}

async fn readable(
    state: &TransferState,
    caller: &Caller,
    id: &str,
) -> Result<TaskRecord, ApiError> {
    let scope = manager::require_scope(state, caller).await?;
    manager::task(state, caller, &scope, id, Power::Monitor).await
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_get_task",
    summary = "A task on an endpoint the caller monitors",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let t = readable(&state, &caller, &id).await?;
    Ok(Json(render(&state, &t).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task/{id}/event_list",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_task_event_list",
    summary = "Its events (limit/offset/total paging)",
    params(("id" = String, Path, description = "The task id"), ("limit" = Option<String>, Query, description = "Page size"), ("offset" = Option<String>, Query, description = "Offset of the page"), ("filter_is_error" = Option<String>, Query, description = "1: error events only; 0: the others")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn event_list(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let t = readable(&state, &caller, &id).await?;
    // The SDK sends filter_is_error=1/0 here (not filter=is_error:1).
    let is_error = p.bool("filter_is_error")?;
    Ok(Json(events_doc(&state, &t, &p, is_error).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task/{id}/pause_info",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_task_pause_info",
    summary = "What holds it (`pause_info`, full rules)",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn pause_info(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let t = readable(&state, &caller, &id).await?;
    Ok(Json(pause_info_doc(&state, &t, true).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task/{id}/successful_transfers",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_task_successful_transfers",
    summary = "The files it copied (marker paging)",
    params(("id" = String, Path, description = "The task id"), ("marker" = Option<String>, Query, description = "The `next_marker` of the page before")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn successful(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let t = readable(&state, &caller, &id).await?;
    Ok(Json(successful_doc(&state, &t, &p).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/task/{id}/skipped_errors",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_task_skipped_errors",
    summary = "The source errors it skipped (marker paging)",
    params(("id" = String, Path, description = "The task id"), ("marker" = Option<String>, Query, description = "The `next_marker` of the page before")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn skipped(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let t = readable(&state, &caller, &id).await?;
    Ok(Json(skipped_doc(&state, &t, &p).await?))
}
