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

#[derive(serde::Deserialize)]
pub(super) struct NewFqdn {
    fqdn: String,
}

async fn envelope(state: &AppState, client: &Client) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"client": super::project_clients::object(state, client).await?}),
    ))
}

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
