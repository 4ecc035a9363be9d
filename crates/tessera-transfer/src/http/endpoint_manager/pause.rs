//! `POST /endpoint_manager/admin_pause {message, task_id_list}` and `admin_resume
//! {task_id_list}`: an administrator or activity_manager pauses tasks by id (they stay ACTIVE,
//! `is_paused` true, the engine stops driving them) and resumes them.

use super::super::{docs, params, Caller};
use super::{message, task_id_list, tasks_to_act_on};
use crate::error::ApiError;
use crate::service::manager;
use crate::TransferState;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::{post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;
use tessera_store::endpoint_manager::TaskPauseRecord;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_manager/admin_pause", post(admin_pause)),
        ("/endpoint_manager/admin_resume", post(admin_resume)),
    ]
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint_manager/admin_pause",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_pause_tasks",
    summary = "Pause tasks by id (`{message, task_id_list}`): they stay ACTIVE with is_paused",
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn admin_pause(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: Value = params::json(&body)?;
    let ids = task_id_list(&body)?;
    let message = message(&body)?;
    let scope = manager::require_scope(&state, &caller).await?;
    let tasks = tasks_to_act_on(&state, &caller, &scope, &ids).await?;
    let now = state.clock.now();
    let mut paused = 0;
    for t in &tasks {
        let p = TaskPauseRecord {
            task_id: t.id,
            message: message.clone(),
            side: scope.side(t).to_owned(),
            paused_by: caller.id,
            paused_at: now,
        };
        if state.store.pause_task(&p).await? {
            paused += 1;
        }
    }
    Ok(Json(docs::result(
        "result",
        "PauseAccepted",
        &format!(
            "{paused} of {} tasks paused (finished tasks are left alone)",
            tasks.len()
        ),
        uri.path(),
    )))
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint_manager/admin_resume",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_resume_tasks",
    summary = "Resume tasks paused by id (`{task_id_list}`)",
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn admin_resume(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: Value = params::json(&body)?;
    let ids = task_id_list(&body)?;
    let scope = manager::require_scope(&state, &caller).await?;
    let tasks = tasks_to_act_on(&state, &caller, &scope, &ids).await?;
    let mut resumed = 0;
    for t in &tasks {
        if state.store.resume_task(t.id).await? {
            resumed += 1;
        }
    }
    state.wake.notify_one();
    Ok(Json(docs::result(
        "result",
        "ResumeAccepted",
        &format!(
            "{resumed} of {} tasks resumed (a pause rule may still hold some)",
            tasks.len()
        ),
        uri.path(),
    )))
}
