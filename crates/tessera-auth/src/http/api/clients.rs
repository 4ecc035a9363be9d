//! `GET /v2/api/clients/{id}` (spec §4).

use super::{basic_client, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Presented};
use crate::service::clients::managed_client;
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

/// `PUT /v2/api/clients/{id}` (spec §4), Basic: a client changes itself or its children.
pub(super) async fn update(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ClientEnvelope<serde_json::Map<String, Value>>>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = crate::service::clients::update(&state, &caller.client, &id, &body.client).await?;
    let scope_ids = state
        .store
        .scopes_of_client(client.id)
        .await?
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    Ok(Json(json!({"client": client_object(&client, scope_ids)})))
}

#[derive(serde::Deserialize)]
pub(super) struct NewClient {
    template_id: Option<String>,
    name: Option<String>,
}

/// `POST /v2/api/clients`: anonymous template instances (spec §4, what `globus login` does).
pub(super) async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClientEnvelope<NewClient>>,
) -> Result<Json<Value>, ApiError> {
    let Some(template) = body.client.template_id else {
        return Err(ApiError::forbidden(
            "creating clients through the API needs manage_projects, which is not supported yet; \
             use `tessera admin client add`",
        ));
    };
    let (client, cred, secret) =
        crate::service::clients::instantiate(&state, &template, body.client.name.as_deref())
            .await?;
    Ok(Json(json!({
        "client": client_object(&client, vec![]),
        "included": {"client_credential": crate::service::credentials::to_object(&cred, Some(&secret))},
    })))
}

#[derive(serde::Deserialize)]
pub(super) struct ClientEnvelope<T> {
    client: T,
}
