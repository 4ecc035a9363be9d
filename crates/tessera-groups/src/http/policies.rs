//! `GET`/`PUT /v2/groups/{group_id}/policies`.

use super::json_body;
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::service::{group_id, groups};
use crate::GroupsState;
use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

#[utoipa::path(
    get,
    path = "/v2/groups/{group_id}/policies",
    tag = "groups",
    operation_id = "groups_policies_get",
    summary = "A group's policies (all six keys)",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "The policies")),
    security(("bearer" = []))
)]
pub(super) async fn get(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GroupsError> {
    Ok(Json(
        groups::get_policies(&state, &caller, group_id(&id)?).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v2/groups/{group_id}/policies",
    tag = "groups",
    operation_id = "groups_policies_set",
    summary = "Change a group's policies (admins); keys left out stay, a null timeout is the default",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "The policies")),
    security(("bearer" = []))
)]
pub(super) async fn set(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GroupsError> {
    let id = group_id(&id)?;
    let input = json_body(&body)?;
    Ok(Json(
        groups::set_policies(&state, &caller, id, input).await?,
    ))
}
