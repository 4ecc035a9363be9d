//! `POST /v2/groups`, and `GET`/`PUT`/`DELETE`/`POST` (the batch) of `/v2/groups/{group_id}`.

use super::{json_body, query_pairs, values};
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::service::groups::{self, Includes};
use crate::service::{batch as batches, group_id};
use crate::GroupsState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

#[utoipa::path(
    post,
    path = "/v2/groups",
    tag = "groups",
    operation_id = "groups_create",
    summary = "Create a group (or a subgroup of one the caller administers); the caller becomes its admin",
    responses((status = 201, description = "The group, with my_memberships")),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<GroupsState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), GroupsError> {
    let input = json_body(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(groups::create(&state, &caller, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/v2/groups/{group_id}",
    tag = "groups",
    operation_id = "groups_get",
    summary = "A group, if visible to the caller",
    params(
        ("group_id" = String, Path, description = "The group's id"),
        ("include" = Option<String>, Query, description = "memberships, my_memberships, policies, allowed_actions, child_ids (comma-separated or repeated)"),
    ),
    responses((status = 200, description = "The group"), (status = 403, description = "Not visible"), (status = 404, description = "Unknown")),
    security(("bearer" = []))
)]
pub(super) async fn get(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GroupsError> {
    let pairs = query_pairs(raw.as_deref())?;
    let include = Includes::parse(values(&pairs, "include"))?;
    Ok(Json(
        groups::get(&state, &caller, group_id(&id)?, include).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v2/groups/{group_id}",
    tag = "groups",
    operation_id = "groups_update",
    summary = "Update name, description, terms_and_conditions, subscription_admin_verified_id (admins)",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "The group")),
    security(("bearer" = []))
)]
pub(super) async fn update(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GroupsError> {
    let id = group_id(&id)?;
    let input = json_body(&body)?;
    Ok(Json(groups::update(&state, &caller, id, input).await?))
}

#[utoipa::path(
    delete,
    path = "/v2/groups/{group_id}",
    tag = "groups",
    operation_id = "groups_delete",
    summary = "Delete a group without subgroups (admins); answers the deleted group",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "The deleted group")),
    security(("bearer" = []))
)]
pub(super) async fn delete(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GroupsError> {
    Ok(Json(groups::delete(&state, &caller, group_id(&id)?).await?))
}

#[utoipa::path(
    post,
    path = "/v2/groups/{group_id}",
    tag = "groups",
    operation_id = "groups_batch",
    summary = "Batch membership actions: add, invite, accept, decline, join, request_join, approve, reject, remove, leave, change_role",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "Each action's new memberships, and per-item errors"), (status = 400, description = "Malformed, or one identity twice (ambiguous_identities)"), (status = 403, description = "No identity of the caller may perform an action")),
    security(("bearer" = []))
)]
pub(super) async fn batch(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GroupsError> {
    let id = group_id(&id)?;
    let body: Value = json_body(&body)?;
    Ok(Json(batches::run(&state, &caller, id, &body).await?))
}
