//! `/v2/api/clients[/{id}]` (spec §4).

use super::ApiPath;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Presented};
use crate::state::AppState;
use crate::view::client_object;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

#[utoipa::path(
    get,
    path = "/v2/api/clients/{id}",
    tag = "clients",
    summary = "A client",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client", body = crate::http::openapi::schemas::ClientEnvelope)),
    security(("basic" = []), ("bearer" = []))
)]
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
#[utoipa::path(
    post,
    path = "/v2/api/clients",
    tag = "clients",
    summary = "Create a client in a project (Bearer `manage_projects`), or an instance of a template (`template_id`, no credentials)",
    request_body = crate::http::openapi::schemas::ClientEnvelope,
    responses((status = 200, description = "The new client", body = crate::http::openapi::schemas::ClientCreated)),
    security(("basic" = []), ("bearer" = []))
)]
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
#[utoipa::path(
    get,
    path = "/v2/api/clients",
    tag = "clients",
    summary = "A project admin's clients (a Basic caller: itself); with `fqdn=`, the one client holding that name, singular",
    params(("fqdn" = Option<String>, Query, description = "A verified FQDN")),
    responses((status = 200, description = "The clients, or `{\"client\": …}` with `fqdn=`", body = crate::http::openapi::schemas::ClientList)),
    security(("basic" = []), ("bearer" = []))
)]
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
#[utoipa::path(
    put,
    path = "/v2/api/clients/{id}",
    tag = "clients",
    summary = "Change a client",
    params(("id" = String, Path, description = "The client id")),
    request_body = crate::http::openapi::schemas::ClientEnvelope,
    responses((status = 200, description = "The client as it is now", body = crate::http::openapi::schemas::ClientEnvelope)),
    security(("basic" = []), ("bearer" = []))
)]
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
#[utoipa::path(
    delete,
    path = "/v2/api/clients/{id}",
    tag = "clients",
    summary = "Delete a client with its secrets, scopes, tokens and consents",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client as it was", body = crate::http::openapi::schemas::ClientEnvelope), (status = 409, description = "Another client's scope depends on one of its scopes (named), or it has child clients", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("basic" = []), ("bearer" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        super::project_clients::delete(&state, presented, &id).await?,
    ))
}
