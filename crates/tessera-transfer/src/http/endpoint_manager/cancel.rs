//! `POST /endpoint_manager/admin_cancel {message, task_id_list}` and `GET admin_cancel/{id}`:
//! an administrator or activity_manager ends other people's tasks; each owner reads the
//! message in the task's CANCELED event and in `canceled_by_admin_message`.

use super::super::{params, Caller};
use super::{message, task_id_list, tasks_to_act_on};
use crate::error::ApiError;
use crate::service::manager;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_store::endpoint_manager::{AdminCancelRecord, TaskAdminCancelRecord};
use tessera_store::transfer::EventRecord;
use uuid::Uuid;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_manager/admin_cancel", post(admin_cancel)),
        ("/endpoint_manager/admin_cancel/{id}", get(show)),
    ]
}

fn doc(c: &AdminCancelRecord) -> Value {
    let ids = |l: &[Uuid]| l.iter().map(Uuid::to_string).collect::<Vec<_>>();
    json!({
        "DATA_TYPE": "admin_cancel",
        "id": c.id.to_string(),
        "done": true,
        "message": c.message,
        "task_id_list": ids(&c.task_ids),
        "processed_task_id_list": ids(&c.processed_task_ids),
    })
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint_manager/admin_cancel",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_cancel_tasks",
    summary = "Cancel tasks (`{message, task_id_list}`; administrator or activity_manager of a side of each); the owners read the message",
    responses((status = 202, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn admin_cancel(
    State(state): State<TransferState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: Value = params::json(&body)?;
    let ids = task_id_list(&body)?;
    let message = message(&body)?;
    let scope = manager::require_scope(&state, &caller).await?;
    let tasks = tasks_to_act_on(&state, &caller, &scope, &ids).await?;
    let id = state.rng.uuid_v4();
    let now = state.clock.now();
    let fatal = json!({"code": "CANCELED", "description": "canceled by an administrator"});
    let mut ended = Vec::new();
    for t in &tasks {
        let event = EventRecord {
            time: now,
            code: "CANCELED".into(),
            description: "canceled".into(),
            details: format!("Canceled by an administrator: {message}"),
            is_error: true,
        };
        if state
            .store
            .finish_task(t.id, "FAILED", Some(&fatal), &event, now)
            .await?
        {
            ended.push(TaskAdminCancelRecord {
                task_id: t.id,
                admin_cancel_id: id,
                message: message.clone(),
                side: scope.side(t).to_owned(),
            });
        }
    }
    let record = AdminCancelRecord {
        id,
        message,
        task_ids: ids.clone(),
        // Finished tasks are processed too: there was nothing left to cancel.
        processed_task_ids: ids,
        created_by: caller.id,
        created_at: now,
    };
    state.store.insert_admin_cancel(&record, &ended).await?;
    Ok((StatusCode::ACCEPTED, Json(doc(&record))))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/admin_cancel/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_cancel_status",
    summary = "One of the caller's admin cancels (`admin_cancel`: done, processed_task_id_list)",
    params(("id" = String, Path, description = "The admin cancel id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || {
        ApiError::not_found(
            "AdminCancelNotFound",
            format!("No admin cancel '{id}' of yours"),
        )
    };
    let wanted = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    match state.store.admin_cancel(wanted).await? {
        Some(c) if caller.is(c.created_by) => Ok(Json(doc(&c))),
        _ => Err(not_found()),
    }
}
