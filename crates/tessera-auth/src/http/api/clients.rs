//! `/v2/api/clients[/{id}]` (spec §4).

use super::ApiPath;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Presented};
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
    let client = super::project_clients::managed(&state, presented, &id).await?;
    Ok(Json(
        json!({"client": super::project_clients::object(&state, &client).await?}),
    ))
}

#[derive(serde::Deserialize)]
pub(super) struct NewClient {
    template_id: Option<String>,
    name: Option<String>,
}

/// `POST /v2/api/clients`: anonymous template instances (spec §4, what `globus login` does),
/// or, without `template_id`, a client in a project (`project_clients.rs`).
pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiJson(body): ApiJson<ClientEnvelope<Value>>,
) -> Result<Json<Value>, ApiError> {
    if body.client.get("template_id").is_none() {
        return Ok(Json(
            super::project_clients::create(&state, presented, body.client).await?,
        ));
    }
    let body: NewClient = serde_json::from_value(body.client)
        .map_err(|e| ApiError::bad_request(format!("invalid client: {e}")))?;
    let template = body.template_id.unwrap_or_default();
    let (client, cred, secret) =
        crate::service::clients::instantiate(&state, &template, body.name.as_deref()).await?;
    Ok(Json(json!({
        "client": client_object(&client, vec![]),
        "included": {"client_credential": crate::service::credentials::to_object(&cred, Some(&secret))},
    })))
}

#[derive(serde::Deserialize)]
pub(super) struct ClientEnvelope<T> {
    client: T,
}

/// `GET /v2/api/clients` (project admins; a Basic caller sees itself).
pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    if let Some(fqdn) = query.get("fqdn") {
        return super::fqdns::by_fqdn(&state, presented, fqdn).await;
    }
    Ok(Json(super::project_clients::list(&state, presented).await?))
}

/// `PUT /v2/api/clients/{id}`.
pub(super) async fn update(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ClientEnvelope<Value>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        super::project_clients::update(&state, presented, &id, body.client).await?,
    ))
}

/// `DELETE /v2/api/clients/{id}`.
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        super::project_clients::delete(&state, presented, &id).await?,
    ))
}
