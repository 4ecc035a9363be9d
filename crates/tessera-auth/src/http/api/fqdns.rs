//! Client FQDNs (spec §4): `POST /v2/api/clients/{id}/fqdns`, `DELETE
//! /v2/api/clients/{id}/fqdns/{fqdn}` and `GET /v2/api/clients?fqdn=`. HTTP Basic, a client on
//! itself or the clients it created; the rules are in `service::fqdns`.

use super::{basic_client, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Presented};
use crate::service::clients::managed_client;
use crate::service::fqdns as service;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_core::client::Client;

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct NewFqdn {
    fqdn: String,
}

async fn envelope(state: &AppState, client: &Client) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"client": super::project_clients::object(state, client).await?}),
    ))
}

#[utoipa::path(
    post,
    path = "/v2/api/clients/{id}/fqdns",
    tag = "clients",
    summary = "Register a DNS name, proven by a TXT record holding the client id",
    params(("id" = String, Path, description = "The client id")),
    request_body = NewFqdn,
    responses((status = 200, description = "The client with the name", body = crate::http::openapi::schemas::ClientEnvelope), (status = 503, description = "DNS did not answer; retry", body = tessera_proto::api::ApiErrorEnvelope)),
    security(("basic" = []))
)]
pub(super) async fn add(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewFqdn>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let client = service::add(&state, &client, &body.fqdn).await?;
    envelope(&state, &client).await
}

#[utoipa::path(
    delete,
    path = "/v2/api/clients/{id}/fqdns/{fqdn}",
    tag = "clients",
    summary = "Remove a DNS name",
    params(("id" = String, Path, description = "The client id"), ("fqdn" = String, Path, description = "The name")),
    responses((status = 200, description = "The client without the name", body = crate::http::openapi::schemas::ClientEnvelope)),
    security(("basic" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath((id, fqdn)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let client = service::remove(&state, &client, &fqdn).await?;
    envelope(&state, &client).await
}

/// `GET /v2/api/clients?fqdn=`: the one client holding it, singular even on the list path
/// (spec §4). The list without `fqdn=` is `clients::list`.
pub(super) async fn by_fqdn(
    state: &AppState,
    presented: Presented,
    fqdn: &str,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(state, presented).await?;
    let client = service::client_by_fqdn(state, &caller.client, fqdn).await?;
    envelope(state, &client).await
}
