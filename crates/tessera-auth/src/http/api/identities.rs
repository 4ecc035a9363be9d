//! `GET /v2/api/identities` (spec §3.1).

use super::{caller, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, Presented};
use crate::service::identities;
use crate::state::AppState;
use crate::view::identity_object;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

/// The SDK batches 100 at a time (`IdentityMap`); a little headroom, and a bound.
const MAX_LOOKUP: usize = 200;

fn csv(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[utoipa::path(
    get,
    path = "/v2/api/identities",
    tag = "identities",
    summary = "Identities by id or username (unknown ones are left out), or the caller's own",
    params(("ids" = Option<String>, Query, description = "Comma-separated identity ids"), ("usernames" = Option<String>, Query, description = "Comma-separated usernames")),
    responses((status = 200, description = "The identities", body = crate::http::openapi::schemas::IdentityList)),
    security(("basic" = []), ("bearer" = []))
)]
pub(super) async fn identities(
    axum::extract::State(state): State<AppState>,
    presented: Presented,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, presented).await?;
    let found = match (query.get("ids"), query.get("usernames")) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give ids or usernames, not both")),
        (Some(ids), None) => {
            let ids = csv(ids);
            if ids.len() > MAX_LOOKUP {
                return Err(ApiError::bad_request(format!(
                    "at most {MAX_LOOKUP} ids at a time"
                )));
            }
            let ids = ids
                .iter()
                .map(|s| {
                    Uuid::parse_str(s)
                        .map_err(|_| ApiError::bad_request(format!("{s:?} is not an identity id")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            identities::by_ids(&state, &ids).await?
        }
        (None, Some(names)) => {
            let names = csv(names);
            if names.len() > MAX_LOOKUP {
                return Err(ApiError::bad_request(format!(
                    "at most {MAX_LOOKUP} usernames at a time"
                )));
            }
            identities::by_usernames(&state, &names).await?
        }
        // Neither: the caller's own identity.
        (None, None) => {
            let own = match &who {
                Caller::Client(c) => c.client.id,
                Caller::Token(t) => t.subject,
            };
            identities::by_ids(&state, &[own]).await?
        }
    };
    Ok(Json(
        json!({"identities": found.iter().map(identity_object).collect::<Vec<_>>()}),
    ))
}
