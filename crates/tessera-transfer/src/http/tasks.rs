//! Submissions and tasks (spec §4, §5): submission_id, transfer, delete, task list, get,
//! update, cancel, events, successful transfers, skipped errors, pause info.

use super::params::only_fields;
use super::{docs, params, Caller, Params};
use crate::error::ApiError;
use crate::service::submit;
use crate::service::tasks::find;
use crate::timefmt;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_proto::transfer::{DeleteSubmission, TaskUpdate, TransferSubmission};
use tessera_store::transfer::{FileState, TaskQuery, TaskRecord};
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/submission_id", get(submission_id)),
        ("/transfer", post(transfer)),
        ("/delete", post(delete)),
        ("/task_list", get(task_list)),
        ("/task/{id}", get(show).put(update)),
        ("/task/{id}/cancel", post(cancel)),
        ("/task/{id}/event_list", get(event_list)),
        ("/task/{id}/successful_transfers", get(successful)),
        ("/task/{id}/skipped_errors", get(skipped)),
        ("/task/{id}/pause_info", get(pause_info)),
    ]
}

#[utoipa::path(
    get,
    path = "/v0.10/submission_id",
    tag = "transfer_tasks",
    operation_id = "get_submission_id",
    summary = "A fresh submission id (once-and-only-once submission)",
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn submission_id(State(state): State<TransferState>, _caller: Caller) -> Answer {
    Ok(Json(
        json!({"DATA_TYPE": "submission_id", "value": state.rng.uuid_v4().to_string()}),
    ))
}

fn submitted(
    data_type: &str,
    resource: &str,
    code: &str,
    task: &TaskRecord,
) -> (StatusCode, Json<Value>) {
    let id = task.id.to_string();
    let message = if code == "Accepted" {
        "The transfer has been accepted and a task has been created and queued for execution"
    } else {
        "A transfer with identical submission_id was already submitted"
    };
    let mut body = docs::result(data_type, code, message, resource);
    body["submission_id"] = json!(task.submission_id);
    body["task_id"] = json!(id);
    body["task_link"] = json!({
        "DATA_TYPE": "link", "href": format!("task/{id}?format=json"), "rel": "related",
        "resource": "task", "title": "related task",
    });
    let status = if code == "Accepted" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    (status, Json(body))
}

#[utoipa::path(
    post,
    path = "/v0.10/transfer",
    tag = "transfer_tasks",
    operation_id = "submit_transfer",
    summary = "Submit a transfer (`DATA_TYPE: transfer`, items `transfer_item`); 200 `Duplicate` for a submission id used before",
    responses((status = 202, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn transfer(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s: TransferSubmission = params::json(&body)?;
    let (code, task) = submit::transfer(&state, &caller, s).await?;
    Ok(submitted("transfer_result", uri.path(), code, &task))
}

#[utoipa::path(
    post,
    path = "/v0.10/delete",
    tag = "transfer_tasks",
    operation_id = "submit_delete",
    summary = "Submit a delete (`DATA_TYPE: delete`, items `delete_item`)",
    responses((status = 202, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn delete(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s: DeleteSubmission = params::json(&body)?;
    let (code, task) = submit::delete(&state, &caller, s).await?;
    Ok(submitted("delete_result", uri.path(), code, &task))
}

/// The task document, with what holds it (a pause) or ended it (an admin cancel).
pub(super) async fn render(state: &TransferState, t: &TaskRecord) -> Result<Value, ApiError> {
    let name = |e: Option<tessera_store::transfer::EndpointRecord>| e.map(|e| e.display_name);
    let src = name(state.store.endpoint(t.source_endpoint_id).await?);
    let dst = match t.destination_endpoint_id {
        Some(d) => name(state.store.endpoint(d).await?),
        None => None,
    };
    let mut doc = docs::task(t, (src.as_deref(), dst.as_deref()));
    let held = crate::service::pause::held(state, t).await?;
    if held.is_paused() {
        doc["is_paused"] = json!(true);
        doc["nice_status"] = json!("PAUSED_BY_ADMIN");
        doc["nice_status_short_description"] = json!("Paused by an administrator");
        doc["nice_status_details"] = json!(held.message());
    }
    if let Some(c) = state.store.task_admin_cancels(&[t.id]).await?.first() {
        doc["canceled_by_admin"] = json!(c.side);
        doc["canceled_by_admin_message"] = json!(c.message);
    }
    Ok(doc)
}

#[utoipa::path(
    get,
    path = "/v0.10/task/{id}",
    tag = "transfer_tasks",
    operation_id = "get_task",
    summary = "One of the caller's tasks",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Answer {
    let t = find(&state, &caller, &id).await?;
    let fields = params.fields();
    Ok(Json(only_fields(
        render(&state, &t).await?,
        fields.as_deref(),
    )))
}

/// `filter=type:TRANSFER,DELETE/status:ACTIVE/task_id:.../request_time:a,b/...`.
fn task_query(caller: &Caller, p: &Params) -> Result<TaskQuery, ApiError> {
    let mut q = TaskQuery {
        owner_ids: caller.identities.clone(),
        newest_first: true,
        limit: p.int("limit", 10, 1000)?,
        offset: p.int("offset", 0, i64::MAX / 2)?,
        ..TaskQuery::default()
    };
    if let Some(order) = p.get("orderby") {
        q.newest_first = !order.to_ascii_uppercase().contains("ASC")
            || order.to_ascii_uppercase().contains("DESC");
    }
    let range = |v: &str| -> Result<(Option<i64>, Option<i64>), ApiError> {
        let (a, b) = v.split_once(',').unwrap_or((v, ""));
        let t = |s: &str| -> Result<Option<i64>, ApiError> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            timefmt::parse(s)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid time '{s}'")))
        };
        Ok((t(a)?, t(b)?))
    };
    for filter in p.all("filter") {
        for clause in filter.split('/').filter(|c| !c.is_empty()) {
            let (field, value) = clause.split_once(':').ok_or_else(|| {
                ApiError::bad_request(format!("Invalid filter clause '{clause}'"))
            })?;
            let values = || {
                value
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            match field {
                "type" => q.kinds = values(),
                "status" => q.statuses = values(),
                "task_id" => {
                    q.task_ids = values()
                        .iter()
                        .map(|v| {
                            Uuid::parse_str(v)
                                .map_err(|_| ApiError::bad_request("task_id must be UUIDs"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "request_time" => (q.request_after, q.request_before) = range(value)?,
                "completion_time" => (q.completion_after, q.completion_before) = range(value)?,
                // `~text`/bare contains, `!~text` lacks, `=text` equals, `!text` differs;
                // every value must hold.
                "label" => {
                    q.labels = values()
                        .iter()
                        .map(|v| tessera_store::transfer::LabelFilter::parse(v))
                        .collect()
                }
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Unknown task filter '{other}'"
                    )))
                }
            }
        }
    }
    Ok(q)
}

#[utoipa::path(
    get,
    path = "/v0.10/task_list",
    tag = "transfer_tasks",
    operation_id = "task_list",
    summary = "The caller's tasks (limit/offset/total paging); filter `type:`, `status:`, `task_id:`, `label:`, `request_time:`, `completion_time:` joined by `/`",
    params(("limit" = Option<String>, Query, description = "Page size"), ("offset" = Option<String>, Query, description = "Offset of the page"), ("orderby" = Option<String>, Query, description = "e.g. `request_time DESC`"), ("filter" = Option<String>, Query, description = "Filter clauses (see the summary)"), ("fields" = Option<String>, Query, description = "Projection (ignored: whole documents)")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn task_list(
    State(state): State<TransferState>,
    caller: Caller,
    params: Params,
) -> Answer {
    let q = task_query(&caller, &params)?;
    let (tasks, total) = state.store.tasks(&q).await?;
    let fields = params.fields();
    let mut data = Vec::with_capacity(tasks.len());
    for t in &tasks {
        data.push(only_fields(render(&state, t).await?, fields.as_deref()));
    }
    Ok(Json(json!({
        "DATA_TYPE": "task_list",
        "DATA": data,
        "length": tasks.len(),
        "limit": q.limit,
        "offset": q.offset,
        "total": total,
    })))
}

#[utoipa::path(
    put,
    path = "/v0.10/task/{id}",
    tag = "transfer_tasks",
    operation_id = "update_task",
    summary = "Change an active task's label or deadline",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let u: TaskUpdate = params::json(&body)?;
    let t = find(&state, &caller, &id).await?;
    let label = match u.label {
        Some(l) if l.chars().count() > 128 || l.contains(['\r', '\n']) => {
            return Err(ApiError::bad_request(
                "label must be at most 128 characters on one line",
            ))
        }
        Some(l) => Some(l),
        None => t.label.clone(),
    };
    let deadline = match u.deadline.as_deref() {
        Some(d) => submit::deadline(&state, Some(d))?,
        None => t.deadline,
    };
    if !state
        .store
        .update_task(t.id, label.as_deref(), deadline)
        .await?
    {
        return Err(ApiError::conflict(
            "Conflict",
            "Only an active task can be updated",
        ));
    }
    Ok(Json(docs::result(
        "result",
        "Updated",
        "Updated task successfully",
        uri.path(),
    )))
}

#[utoipa::path(
    post,
    path = "/v0.10/task/{id}/cancel",
    tag = "transfer_tasks",
    operation_id = "cancel_task",
    summary = "Cancel a task (it ends FAILED with fatal_error CANCELED)",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn cancel(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    if crate::service::tasks::cancel(&state, &caller, &id).await? {
        Ok(Json(docs::result(
            "result",
            "Canceled",
            "The task has been cancelled successfully.",
            uri.path(),
        )))
    } else {
        Ok(Json(docs::result(
            "result",
            "TaskComplete",
            "The task has already completed; nothing to cancel.",
            uri.path(),
        )))
    }
}

#[utoipa::path(
    get,
    path = "/v0.10/task/{id}/event_list",
    tag = "transfer_tasks",
    operation_id = "task_event_list",
    summary = "A task's events, newest first (limit/offset/total paging)",
    params(("id" = String, Path, description = "The task id"), ("limit" = Option<String>, Query, description = "Page size"), ("offset" = Option<String>, Query, description = "Offset of the page"), ("filter" = Option<String>, Query, description = "Filter clauses (see the summary)"), ("filter_is_error" = Option<String>, Query, description = "1: error events only; 0: the others")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn event_list(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let t = find(&state, &caller, &id).await?;
    let mut is_error = p.bool("filter_is_error")?;
    if let Some(f) = p.get("filter") {
        is_error = match f {
            "is_error:1" | "is_error:true" | "is_error:True" => Some(true),
            "is_error:0" | "is_error:false" | "is_error:False" => Some(false),
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unknown event filter '{other}'"
                )))
            }
        };
    }
    Ok(Json(events_doc(&state, &t, &p, is_error).await?))
}

/// One page of a task's events (limit/offset/total paging), newest first.
pub(super) async fn events_doc(
    state: &TransferState,
    t: &TaskRecord,
    p: &Params,
    is_error: Option<bool>,
) -> Result<Value, ApiError> {
    let limit = p.int("limit", 10, 1000)?;
    let offset = p.int("offset", 0, i64::MAX / 2)?;
    let (events, total) = state.store.events(t.id, is_error, limit, offset).await?;
    let data: Vec<Value> = events.iter().map(docs::event).collect();
    Ok(json!({
        "DATA_TYPE": "event_list", "DATA": data, "length": events.len(),
        "limit": limit, "offset": offset, "total": total,
    }))
}

const MARKER_PAGE: i64 = 1000;

/// Marker paging (spec §1.6): files after `marker`; `next_marker` is the last seq of a full page
/// (never 0: seqs start at 1) or null at the end.
async fn marker_page(
    state: &TransferState,
    t: &TaskRecord,
    p: &Params,
    file_state: FileState,
) -> Result<
    (
        i64,
        Vec<tessera_store::transfer::TaskFileRecord>,
        Option<i64>,
    ),
    ApiError,
> {
    let marker = p.int("marker", 0, i64::MAX / 2)?;
    let mut files = state
        .store
        .task_files(t.id, file_state, marker, MARKER_PAGE + 1)
        .await?;
    let more = files.len() > usize::try_from(MARKER_PAGE).unwrap_or(usize::MAX);
    files.truncate(usize::try_from(MARKER_PAGE).unwrap_or(usize::MAX));
    let next = if more {
        files.last().map(|f| f.seq)
    } else {
        None
    };
    Ok((marker, files, next))
}

#[utoipa::path(
    get,
    path = "/v0.10/task/{id}/successful_transfers",
    tag = "transfer_tasks",
    operation_id = "task_successful_transfers",
    summary = "The files a task copied, with checksums (marker paging: `next_marker` null at the end)",
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
    let t = find(&state, &caller, &id).await?;
    Ok(Json(successful_doc(&state, &t, &p).await?))
}

/// One marker page of the files a task copied.
pub(super) async fn successful_doc(
    state: &TransferState,
    t: &TaskRecord,
    p: &Params,
) -> Result<Value, ApiError> {
    let (marker, files, next) = marker_page(state, t, p, FileState::Done).await?;
    let data: Vec<Value> = files
        .iter()
        .filter(|f| !f.is_dir)
        .map(|f| {
            // The engine stores "ALGORITHM:hex"; rows written before it, plain MD5 hex.
            let (algorithm, checksum) = match f.checksum.as_deref().map(|c| c.split_once(':')) {
                Some(Some((alg, sum))) => (Some(alg), Some(sum)),
                Some(None) => (Some("MD5"), f.checksum.as_deref()),
                None => (None, None),
            };
            json!({
                "DATA_TYPE": "successful_transfer",
                "source_path": f.source_path,
                "destination_path": f.destination_path,
                "size": f.size,
                "checksum": checksum,
                "checksum_algorithm": algorithm,
                "dynamic": false,
            })
        })
        .collect();
    Ok(
        json!({"DATA_TYPE": "successful_transfers", "marker": marker, "next_marker": next, "DATA": data}),
    )
}

#[utoipa::path(
    get,
    path = "/v0.10/task/{id}/skipped_errors",
    tag = "transfer_tasks",
    operation_id = "task_skipped_errors",
    summary = "The source errors a task skipped (marker paging)",
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
    let t = find(&state, &caller, &id).await?;
    Ok(Json(skipped_doc(&state, &t, &p).await?))
}

/// One marker page of the source errors a task skipped.
pub(super) async fn skipped_doc(
    state: &TransferState,
    t: &TaskRecord,
    p: &Params,
) -> Result<Value, ApiError> {
    let (marker, files, next) = marker_page(state, t, p, FileState::Error).await?;
    let data: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "DATA_TYPE": "skipped_error",
                "error_code": f.error_code,
                "error_details": f.error_details,
                "error_time": f.error_time.map(timefmt::iso),
                "source_path": f.source_path,
                "destination_path": f.destination_path,
                "is_directory": f.is_dir,
                "is_symlink": false,
                "is_delete_destination_extra": false,
                "external_checksum": null,
                "checksum_algorithm": null,
            })
        })
        .collect();
    Ok(json!({"DATA_TYPE": "skipped_errors", "marker": marker, "next_marker": next, "DATA": data}))
}

#[utoipa::path(
    get,
    path = "/v0.10/task/{id}/pause_info",
    tag = "transfer_tasks",
    operation_id = "task_pause_info",
    summary = "What holds a task: its pause rules (`pause_info_limited`) and administrators' messages",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn pause_info(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let t = find(&state, &caller, &id).await?;
    Ok(Json(pause_info_doc(&state, &t, false).await?))
}

/// What holds a task: its rules (`full` for managers: who edited them) and the messages of a
/// pause by id, on the side whose manager paused it.
pub(super) async fn pause_info_doc(
    state: &TransferState,
    t: &TaskRecord,
    full: bool,
) -> Result<Value, ApiError> {
    use crate::service::pause;
    let held = pause::held(state, t).await?;
    let mut rules = Vec::with_capacity(held.rules.len());
    for r in &held.rules {
        let name = state
            .store
            .endpoint(r.endpoint_id)
            .await?
            .map(|e| e.display_name);
        rules.push(match full {
            true => pause::rule_doc(r, name.as_deref(), false),
            false => pause::limited_doc(r, name.as_deref()),
        });
    }
    let by_id = |sides: &[&str]| {
        held.by_id
            .as_ref()
            .filter(|p| sides.contains(&p.side.as_str()))
            .map(|p| p.message.clone())
    };
    Ok(json!({
        "DATA_TYPE": if full { "pause_info" } else { "pause_info_limited" },
        "pause_rules": rules,
        "source_pause_message": by_id(&["SOURCE", "BOTH"]),
        "destination_pause_message": by_id(&["DESTINATION", "BOTH"]),
        "source_pause_message_share": null,
        "destination_pause_message_share": null,
    }))
}
