//! Pause rules: `GET pause_rule_list?filter_endpoint=`, `POST pause_rule`, `GET/PUT/DELETE
//! pause_rule/{id}`. Managers (administrator, activity_manager) of the rule's endpoint create,
//! change and delete; its monitors read. A changed or deleted rule wakes the tasks it held.

use super::super::{docs, params, Caller, Params};
use crate::error::ApiError;
use crate::service::manager::{self, Power, Scope};
use crate::service::pause::rule_doc;
use crate::{timefmt, TransferState};
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_store::endpoint_manager::PauseRuleRecord;
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_manager/pause_rule_list", get(list)),
        ("/endpoint_manager/pause_rule", post(create)),
        (
            "/endpoint_manager/pause_rule/{id}",
            get(show).put(update).delete(remove),
        ),
    ]
}

const FLAGS: [&str; 6] = [
    "pause_ls",
    "pause_mkdir",
    "pause_rename",
    "pause_task_delete",
    "pause_task_transfer_write",
    "pause_task_transfer_read",
];

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m)
}

fn flag(body: &Value, key: &str, current: bool) -> Result<bool, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(current),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad(format!("{key} must be true or false, got {other}"))),
    }
}

/// Applies a create or update body to `r` (fields not given keep their value).
fn apply(r: &mut PauseRuleRecord, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(bad(
            "The body must be a pause_rule document (a JSON object)",
        ));
    }
    match body.get("DATA_TYPE") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "pause_rule" => {}
        Some(other) => return Err(bad(format!("DATA_TYPE must be 'pause_rule', got {other}"))),
    }
    if let Some(m) = body.get("message") {
        let m = m
            .as_str()
            .map(str::trim)
            .filter(|m| !m.is_empty() && m.chars().count() <= 2048)
            .ok_or_else(|| bad("message must be 1 to 2048 characters"))?;
        r.message = m.to_owned();
    }
    if let Some(i) = body.get("identity_id") {
        r.identity_id = match i {
            Value::Null => None,
            Value::String(s) => Some(Uuid::parse_str(s.trim()).map_err(|_| {
                bad(format!(
                    "identity_id must be an identity id or null, got '{s}'"
                ))
            })?),
            other => {
                return Err(bad(format!(
                    "identity_id must be a string or null, got {other}"
                )))
            }
        };
    }
    if let Some(s) = body.get("start_time") {
        r.start_time = match s {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(timefmt::parse(s).ok_or_else(|| {
                bad(format!(
                    "start_time must be an ISO 8601 date-time, got '{s}'"
                ))
            })?),
            other => {
                return Err(bad(format!(
                    "start_time must be a string or null, got {other}"
                )))
            }
        };
    }
    r.pause_ls = flag(body, FLAGS[0], r.pause_ls)?;
    r.pause_mkdir = flag(body, FLAGS[1], r.pause_mkdir)?;
    r.pause_rename = flag(body, FLAGS[2], r.pause_rename)?;
    r.pause_task_delete = flag(body, FLAGS[3], r.pause_task_delete)?;
    r.pause_task_transfer_write = flag(body, FLAGS[4], r.pause_task_transfer_write)?;
    r.pause_task_transfer_read = flag(body, FLAGS[5], r.pause_task_transfer_read)?;
    Ok(())
}

async fn render(
    state: &TransferState,
    scope: &Scope,
    r: &PauseRuleRecord,
) -> Result<Value, ApiError> {
    let name = state
        .store
        .endpoint(r.endpoint_id)
        .await?
        .map(|e| e.display_name);
    let editable = scope.power_on(r.endpoint_id) == Some(Power::Manage);
    Ok(rule_doc(r, name.as_deref(), editable))
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::not_found("PauseRuleNotFound", format!("No such pause rule '{id}'"))
}

/// The rule `id` if the caller's power on its endpoint reaches `need`.
async fn find(
    state: &TransferState,
    scope: &Scope,
    id: &str,
    need: Power,
) -> Result<PauseRuleRecord, ApiError> {
    let wanted = Uuid::parse_str(id.trim()).map_err(|_| rule_not_found(id))?;
    let r = state
        .store
        .pause_rule(wanted)
        .await?
        .ok_or_else(|| rule_not_found(id))?;
    match scope.power_on(r.endpoint_id) {
        Some(p) if p >= need => Ok(r),
        Some(_) => Err(ApiError::forbidden(
            "PermissionDenied",
            "Changing a pause rule needs the administrator or activity_manager role on its endpoint",
        )),
        None => Err(rule_not_found(id)),
    }
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/pause_rule_list",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_pause_rule_list",
    summary = "Pause rules on the caller's monitored endpoints",
    params(("filter_endpoint" = Option<String>, Query, description = "One endpoint id (and the shares it hosts)")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn list(State(state): State<TransferState>, caller: Caller, p: Params) -> Answer {
    let scope = manager::require_scope(&state, &caller).await?;
    let endpoints = match p.get("filter_endpoint") {
        Some(e) => {
            let e = Uuid::parse_str(e.trim())
                .map_err(|_| bad(format!("filter_endpoint must be an endpoint id, got '{e}'")))?;
            if scope.power_on(e).is_none() {
                return Err(ApiError::forbidden(
                    "PermissionDenied",
                    format!("You have no activity_monitor or higher role on endpoint {e}"),
                ));
            }
            let mut ids = vec![e];
            for share in state.store.all_endpoints().await? {
                if share.host_endpoint_id == Some(e) {
                    ids.push(share.id);
                }
            }
            ids
        }
        None => scope.endpoint_ids(),
    };
    let mut data = Vec::new();
    for r in state.store.pause_rules(&endpoints).await? {
        data.push(render(&state, &scope, &r).await?);
    }
    Ok(Json(json!({"DATA_TYPE": "pause_rule_list", "DATA": data})))
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint_manager/pause_rule",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_create_pause_rule",
    summary = "Create a pause rule (`endpoint_id`, `message`, `identity_id`, `start_time`, `pause_*` flags, each true unless given)",
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<TransferState>,
    caller: Caller,
    body: Bytes,
) -> Answer {
    let body: Value = params::json(&body)?;
    let endpoint = body
        .get("endpoint_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| bad("endpoint_id (the endpoint the rule pauses) is required"))?;
    if body.get("message").is_none() {
        return Err(bad("message is required: the task owners read it"));
    }
    let scope = manager::require_scope(&state, &caller).await?;
    if state.store.endpoint(endpoint).await?.is_none() {
        return Err(ApiError::endpoint_not_found(&endpoint.to_string()));
    }
    if scope.power_on(endpoint) != Some(Power::Manage) {
        return Err(ApiError::forbidden(
            "PermissionDenied",
            format!("Creating a pause rule needs the administrator or activity_manager role on endpoint {endpoint}"),
        ));
    }
    // Everything pauses unless the body says otherwise.
    let mut r = PauseRuleRecord {
        id: state.rng.uuid_v4(),
        endpoint_id: endpoint,
        identity_id: None,
        message: String::new(),
        start_time: None,
        pause_ls: true,
        pause_mkdir: true,
        pause_rename: true,
        pause_task_delete: true,
        pause_task_transfer_write: true,
        pause_task_transfer_read: true,
        modified_by_id: caller.id,
        modified_by: caller.username.clone(),
        created_at: state.clock.now(),
    };
    apply(&mut r, &body)?;
    state.store.insert_pause_rule(&r).await?;
    Ok(Json(render(&state, &scope, &r).await?))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_manager/pause_rule/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_get_pause_rule",
    summary = "One pause rule",
    params(("id" = String, Path, description = "The pause rule id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let scope = manager::require_scope(&state, &caller).await?;
    let r = find(&state, &scope, &id, Power::Monitor).await?;
    Ok(Json(render(&state, &scope, &r).await?))
}

#[utoipa::path(
    put,
    path = "/v0.10/endpoint_manager/pause_rule/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_update_pause_rule",
    summary = "Change a pause rule (fields not given are kept; endpoint_id cannot change)",
    params(("id" = String, Path, description = "The pause rule id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let body: Value = params::json(&body)?;
    let scope = manager::require_scope(&state, &caller).await?;
    let mut r = find(&state, &scope, &id, Power::Manage).await?;
    // endpoint_id and the editor fields are not the body's to change.
    apply(&mut r, &body)?;
    r.modified_by_id = caller.id;
    r.modified_by = caller.username.clone();
    if !state.store.update_pause_rule(&r).await? {
        return Err(rule_not_found(&id));
    }
    wake_held(&state).await?;
    Ok(Json(render(&state, &scope, &r).await?))
}

#[utoipa::path(
    delete,
    path = "/v0.10/endpoint_manager/pause_rule/{id}",
    tag = "transfer_endpoint_manager",
    operation_id = "endpoint_manager_delete_pause_rule",
    summary = "Delete a pause rule; the tasks it held go on",
    params(("id" = String, Path, description = "The pause rule id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn remove(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let scope = manager::require_scope(&state, &caller).await?;
    let r = find(&state, &scope, &id, Power::Manage).await?;
    state.store.delete_pause_rule(r.id).await?;
    wake_held(&state).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Pause rule deleted successfully",
        uri.path(),
    )))
}

/// Parked tasks look at the rules again now (those still held park again).
async fn wake_held(state: &TransferState) -> Result<(), ApiError> {
    state.store.unpark_tasks(&[]).await?;
    state.wake.notify_one();
    Ok(())
}
