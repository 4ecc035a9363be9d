//! A caller's tasks: finding one (someone else's is as unknown as a missing one) and
//! cancelling it. Shared by the API's handlers and the activity pages.

use crate::error::ApiError;
use crate::http::Caller;
use crate::TransferState;
use serde_json::json;
use tessera_store::transfer::{EventRecord, TaskRecord};
use uuid::Uuid;

/// The caller's task `id`; anyone else's is as unknown as a missing one.
pub async fn find(
    state: &TransferState,
    caller: &Caller,
    id: &str,
) -> Result<TaskRecord, ApiError> {
    let wanted = Uuid::parse_str(id.trim()).map_err(|_| ApiError::task_not_found(id))?;
    match state.store.task(wanted).await? {
        Some(t) if caller.is(t.owner_id) => Ok(t),
        _ => Err(ApiError::task_not_found(id)),
    }
}

/// Cancels the caller's task `id`: it ends FAILED/CANCELED at once and its worker stops at its
/// next heartbeat. `false` when it had already ended (nothing to cancel).
pub async fn cancel(state: &TransferState, caller: &Caller, id: &str) -> Result<bool, ApiError> {
    let t = find(state, caller, id).await?;
    let now = state.clock.now();
    let fatal = json!({"code": "CANCELED", "description": "canceled"});
    let event = EventRecord {
        time: now,
        code: "CANCELED".into(),
        description: "canceled".into(),
        details: "The task was canceled by its owner".into(),
        is_error: true,
    };
    Ok(state
        .store
        .finish_task(t.id, "FAILED", Some(&fatal), &event, now)
        .await?)
}
