//! `/tasks/{id}`: the progress of a transfer, read with the person's token (only their own
//! tasks are visible). While it runs the page refreshes itself every second.

use super::{api_failure, signed_in};
use crate::state::Portal;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::TransferClient;

#[derive(Debug, serde::Deserialize)]
pub(crate) struct TaskQuery {
    /// The destination directory, as submitted (shown when the copy is done).
    to: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Portal>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<TaskQuery>,
) -> Response {
    let (session, user) = match signed_in(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let bad = || {
        state.pages.error(
            StatusCode::NOT_FOUND,
            "No such transfer",
            "That transfer does not exist or is not yours.",
            Some(&user.name),
            Some(&session.csrf),
        )
    };
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return bad();
    }
    let Some(transfer) = user
        .token_for(TRANSFER_ALL)
        .and_then(|t| TransferClient::new(&state.config.tessera_url, t).ok())
    else {
        return bad();
    };
    let task = match transfer.get_task(&id).await {
        Ok(t) => t,
        Err(e) if matches!(e.status(), Some(403 | 404)) => return bad(),
        Err(e) => return api_failure(&state, &session, &user, "read the transfer", &e),
    };
    let destination = task
        .extra
        .get("destination_endpoint_display_name")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| task.destination_endpoint_id.clone())
        .unwrap_or_default();
    let destination = match q
        .to
        .as_deref()
        .filter(|t| t.starts_with('/') && t.len() < 1100)
    {
        Some(to) => format!("{destination}:{to}"),
        None => destination,
    };
    let error = task.fatal_error.as_ref().map(|f| {
        if f.description.is_empty() {
            f.code.clone()
        } else {
            format!("{}: {}", f.code, f.description)
        }
    });
    state.pages.render(
        "task.html",
        json!({"user": user.name, "csrf": session.csrf, "task": {
            "status": task.status, "active": task.is_active(),
            "label": task.label.as_deref().unwrap_or(&task.task_id).trim_start_matches("Portal: "),
            "files": task.files, "files_transferred": task.files_transferred,
            "files_skipped": task.files_skipped, "bytes_transferred": task.bytes_transferred,
            "destination": destination, "error": error,
        }}),
    )
}
