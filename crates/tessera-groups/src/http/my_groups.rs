//! `GET /v2/groups/my_groups`: the single most important endpoint (spec §6).

use super::{query_pairs, values};
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::service::groups::{my_groups as list, parse_statuses};
use crate::GroupsState;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::Value;

#[utoipa::path(
    get,
    path = "/v2/groups/my_groups",
    tag = "groups",
    operation_id = "groups_my_groups",
    summary = "The groups where one of the caller's identities has a membership in `statuses` (default active)",
    params(("statuses" = Option<String>, Query, description = "Comma-separated membership statuses")),
    responses((status = 200, description = "A JSON array of groups, each with my_memberships")),
    security(("bearer" = []))
)]
pub(super) async fn my_groups(
    State(state): State<GroupsState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Value>>, GroupsError> {
    let pairs = query_pairs(raw.as_deref())?;
    let statuses = parse_statuses(values(&pairs, "statuses"))?;
    Ok(Json(list(&state, &caller, &statuses).await?))
}
