//! `/endpoint_manager/...` (spec §9, Globus "advanced collection management"): the views and
//! actions of endpoint administrators, activity managers and activity monitors over every
//! task touching their endpoints, whoever owns it. One file per group: endpoints, tasks,
//! cancel (admin_cancel), pause (admin_pause / admin_resume), pause_rules. The rules of who may
//! do what are `service::manager`.

pub(super) mod cancel;
pub(super) mod endpoints;
pub(super) mod pause;
pub(super) mod pause_rules;
pub(super) mod tasks;

use crate::error::ApiError;
use crate::TransferState;
use axum::routing::MethodRouter;
use serde_json::Value;
use uuid::Uuid;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    let mut r = endpoints::routes();
    r.extend(tasks::routes());
    r.extend(cancel::routes());
    r.extend(pause::routes());
    r.extend(pause_rules::routes());
    r
}

/// At most this many tasks in one admin_cancel / admin_pause / admin_resume.
const MAX_TASKS: usize = 1000;

/// `task_id_list` of an admin action body: a non-empty list of task UUIDs (deduplicated).
fn task_id_list(body: &Value) -> Result<Vec<Uuid>, ApiError> {
    let list = body
        .get("task_id_list")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("task_id_list must be a list of task ids"))?;
    if list.is_empty() || list.len() > MAX_TASKS {
        return Err(ApiError::bad_request(format!(
            "task_id_list must hold 1 to {MAX_TASKS} task ids"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let id = v
            .as_str()
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .ok_or_else(|| ApiError::bad_request(format!("task_id_list: {v} is not a task id")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// `message` of an admin action body: required, 1 to 2048 characters.
fn message(body: &Value) -> Result<String, ApiError> {
    let m = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if m.is_empty() || m.chars().count() > 2048 {
        return Err(ApiError::bad_request(
            "message is required (1 to 2048 characters): the task owners read it",
        ));
    }
    Ok(m.to_owned())
}

/// The tasks of `ids`, each of which the caller must hold `need` over; any unknown id or any
/// task beyond their power refuses the whole request before anything changes.
async fn tasks_to_act_on(
    state: &TransferState,
    caller: &super::Caller,
    scope: &crate::service::manager::Scope,
    ids: &[Uuid],
) -> Result<Vec<tessera_store::transfer::TaskRecord>, ApiError> {
    use crate::service::manager::{check, Power};
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let t = state
            .store
            .task(*id)
            .await?
            .ok_or_else(|| ApiError::task_not_found(&id.to_string()))?;
        check(caller, scope, &t, Power::Manage)?;
        out.push(t);
    }
    Ok(out)
}
