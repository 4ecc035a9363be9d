//! The smaller endpoints: subscriptions, preferences, membership fields, children.

use super::json_body;
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::service::{group_id, groups, load_visible};
use crate::GroupsState;
use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[utoipa::path(
    get,
    path = "/v2/subscription_info/{subscription_id}",
    tag = "groups",
    operation_id = "groups_subscription_info",
    summary = "The group of a subscription (Tessera has no subscriptions: always 404)",
    params(("subscription_id" = String, Path, description = "A subscription id")),
    responses((status = 404, description = "No such subscription")),
    security(("bearer" = []))
)]
pub(super) async fn subscription_info(
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GroupsError> {
    Err(GroupsError::not_found(format!(
        "No subscription has the id {id:?}."
    )))
}

#[derive(Deserialize)]
struct Verified {
    subscription_admin_verified_id: Option<Uuid>,
}

#[utoipa::path(
    put,
    path = "/v2/groups/{group_id}/subscription_admin_verified",
    tag = "groups",
    operation_id = "groups_set_subscription_verified",
    summary = "Clear (or keep) the subscription that verified a group (admins)",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "group_id and subscription_admin_verified_id")),
    security(("bearer" = []))
)]
pub(super) async fn set_subscription_verified(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GroupsError> {
    let id = group_id(&id)?;
    let body: Verified = json_body(&body)?;
    Ok(Json(
        groups::set_subscription_verified(&state, &caller, id, body.subscription_admin_verified_id)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v2/preferences",
    tag = "groups",
    operation_id = "groups_preferences",
    summary = "The caller's identities' preferences (allow_add)",
    responses((status = 200, description = "identity id -> {allow_add}")),
    security(("bearer" = []))
)]
pub(super) async fn preferences(
    State(state): State<GroupsState>,
    caller: Caller,
) -> Result<Json<Value>, GroupsError> {
    Ok(Json(groups::preferences(&state, &caller).await?))
}

#[utoipa::path(
    put,
    path = "/v2/preferences",
    tag = "groups",
    operation_id = "groups_set_preferences",
    summary = "Set allow_add for the caller's identities",
    responses((status = 200, description = "identity id -> {allow_add}")),
    security(("bearer" = []))
)]
pub(super) async fn set_preferences(
    State(state): State<GroupsState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, GroupsError> {
    let body: Value = json_body(&body)?;
    Ok(Json(groups::set_preferences(&state, &caller, body).await?))
}

#[utoipa::path(
    get,
    path = "/v2/groups/{group_id}/membership_fields",
    tag = "groups",
    operation_id = "groups_membership_fields",
    summary = "The caller's membership fields in a group (Tessera keeps none: empty objects)",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "identity id -> fields")),
    security(("bearer" = []))
)]
pub(super) async fn membership_fields(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GroupsError> {
    Ok(Json(
        groups::membership_fields(&state, &caller, group_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v2/groups/{group_id}/children",
    tag = "groups",
    operation_id = "groups_children",
    summary = "The subgroups of a group that the caller may see",
    params(("group_id" = String, Path, description = "The group's id")),
    responses((status = 200, description = "{children: [group…]}")),
    security(("bearer" = []))
)]
pub(super) async fn children(
    State(state): State<GroupsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GroupsError> {
    let id = group_id(&id)?;
    load_visible(&state, &caller, id).await?;
    let mut children = Vec::new();
    for child in state.store.child_group_ids(id).await? {
        if let Ok(doc) = groups::get(&state, &caller, child, groups::Includes::default()).await {
            children.push(doc);
        }
    }
    Ok(Json(json!({"children": children})))
}
