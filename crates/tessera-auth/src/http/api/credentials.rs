//! Client secrets (spec §4): list, create (the only answer with the secret), delete.

use super::{basic_client, ApiPath};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Presented};
use crate::service::clients::managed_client;
use crate::service::credentials::{self as service, to_object};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_proto::api::{CredentialCreate, CredentialEnvelope};

#[utoipa::path(
    get,
    path = "/v2/api/clients/{id}/credentials",
    tag = "credentials",
    summary = "A client's secrets (never their values)",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The credentials", body = crate::http::openapi::schemas::CredentialList)),
    security(("basic" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let creds = state.store.credentials(client.id).await?;
    Ok(Json(
        json!({"credentials": creds.iter().map(|c| to_object(c, None)).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(
    post,
    path = "/v2/api/clients/{id}/credentials",
    tag = "credentials",
    summary = "A new secret, shown once",
    params(("id" = String, Path, description = "The client id")),
    request_body = tessera_proto::api::CredentialEnvelope<tessera_proto::api::CredentialCreate>,
    responses((status = 200, description = "The credential with its secret", body = tessera_proto::api::CredentialEnvelope<tessera_proto::api::CredentialObject>)),
    security(("basic" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CredentialEnvelope<CredentialCreate>>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let (cred, secret) = service::create(&state, &client, &body.credential.name).await?;
    crate::audit::client_secret_created(&state, caller.client.id, &cred);
    Ok(Json(json!({"credential": to_object(&cred, Some(&secret))})))
}

#[utoipa::path(
    delete,
    path = "/v2/api/clients/{id}/credentials/{credential}",
    tag = "credentials",
    summary = "Delete a secret",
    params(("id" = String, Path, description = "The client id"), ("credential" = String, Path, description = "The credential id")),
    responses((status = 200, description = "The deleted credential", body = tessera_proto::api::CredentialEnvelope<tessera_proto::api::CredentialObject>)),
    security(("basic" = []))
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    ApiPath((id, credential)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let caller = basic_client(&state, presented).await?;
    let client = managed_client(&state, &caller.client, &id).await?;
    let deleted = service::delete(&state, &client, &credential).await?;
    crate::audit::client_secret_deleted(&state, caller.client.id, &deleted);
    Ok(Json(json!({"credential": to_object(&deleted, None)})))
}
