//! The HTTP surface of the Groups API v2: one file per resource, the router and its document.

mod group;
mod my_groups;
mod other;
mod policies;

use crate::error::GroupsError;
use crate::GroupsState;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn documented() -> OpenApiRouter<GroupsState> {
    OpenApiRouter::new()
        .routes(routes!(my_groups::my_groups))
        .routes(routes!(group::create))
        .routes(routes!(
            group::get,
            group::update,
            group::delete,
            group::batch
        ))
        .routes(routes!(policies::get, policies::set))
        .routes(routes!(other::subscription_info))
        .routes(routes!(other::set_subscription_verified))
        .routes(routes!(other::preferences, other::set_preferences))
        .routes(routes!(other::membership_fields))
        .routes(routes!(other::children))
}

/// A JSON body, or a 400 in the Groups envelope saying what is wrong with it.
pub(crate) fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, GroupsError> {
    serde_json::from_slice(bytes).map_err(|e| {
        GroupsError::bad_request(
            "INVALID_JSON",
            format!("The request body is not valid: {e}"),
        )
    })
}

/// `key=value` pairs of a query string (repeated keys kept, in order).
pub(crate) fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, GroupsError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| GroupsError::bad_request("INVALID_QUERY", "The query string cannot be read."))
}

pub(crate) fn values<'a>(
    pairs: &'a [(String, String)],
    key: &'a str,
) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
