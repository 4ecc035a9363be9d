//! `GET /v2/api/clients/{id}` (spec §4).

use super::{basic_client, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::Presented;
use crate::service::scopes::managed_client;
use crate::state::AppState;
use crate::view::client_object;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub(super) async fn get_client(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let scope_ids = state
        .store
        .scopes_of_client(client.id)
        .await?
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    Ok(Json(json!({"client": client_object(&client, scope_ids)})))
}
