//! `POST /v2/oauth2/register` (RFC 7591 §3) and `GET`/`PUT`/`DELETE
//! /v2/oauth2/register/{client_id}` (RFC 7592 §2), when the `registration` setting allows it
//! (otherwise 404, and discovery does not list the endpoint).

use super::error::{no_store, ApiError, OAuthError};
use super::extract::Presented;
use crate::service::registration::{self, Described, RegistrationError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use tessera_core::registration::MetadataError;
use tessera_core::secret::Secret;
use tessera_proto::oauth::OAuthErrorCode;

fn refused(e: RegistrationError) -> Response {
    match e {
        RegistrationError::Disabled => ApiError::not_found("no such resource").into_response(),
        RegistrationError::Metadata(m) => {
            let code = match m {
                MetadataError::InvalidRedirectUri(_) => OAuthErrorCode::InvalidRedirectUri,
                MetadataError::InvalidClientMetadata(_) => OAuthErrorCode::InvalidClientMetadata,
                MetadataError::UnapprovedSoftwareStatement(_) => {
                    OAuthErrorCode::UnapprovedSoftwareStatement
                }
            };
            OAuthError::new(code, m.to_string()).into_response()
        }
        RegistrationError::InvalidToken(d) => {
            OAuthError::new(OAuthErrorCode::InvalidToken, d).into_response()
        }
        RegistrationError::Refused(d) => OAuthError::invalid_request(d)
            .with_status(StatusCode::FORBIDDEN)
            .into_response(),
        RegistrationError::Store(e) => OAuthError::from(e).into_response(),
    }
}

/// The Bearer token of the request, if it sent one.
fn bearer(presented: Presented) -> Option<Secret> {
    match presented {
        Presented::Bearer(t) => Some(t),
        _ => None,
    }
}

/// A JSON object body (`application/json`, charset allowed), or `invalid_client_metadata`.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    let invalid = |d: &'static str| OAuthError::new(OAuthErrorCode::InvalidClientMetadata, d);
    if !is_json {
        return Err(invalid("the body must be application/json"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(invalid("the body must be a JSON object")),
        Err(_) => Err(invalid("the body is not valid JSON")),
    }
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the metadata, the client's id, and what goes with it.
fn described(state: &AppState, status: StatusCode, d: Described) -> Response {
    let mut body = d.metadata;
    body.insert("client_id".into(), d.client_id.to_string().into());
    body.insert("client_id_issued_at".into(), d.client_id_issued_at.into());
    if let Some(s) = d.client_secret {
        body.insert("client_secret".into(), s.expose().into());
    }
    if d.confidential {
        // Secrets do not expire (RFC 7591 §3.2.1: 0).
        body.insert("client_secret_expires_at".into(), 0.into());
    }
    if let Some(t) = d.registration_access_token {
        body.insert("registration_access_token".into(), t.expose().into());
    }
    body.insert(
        "registration_client_uri".into(),
        state
            .config
            .url(&format!("v2/oauth2/register/{}", d.client_id))
            .into(),
    );
    let mut r = (status, Json(Value::Object(body))).into_response();
    no_store(&mut r);
    r
}

#[utoipa::path(
    post,
    path = "/v2/oauth2/register",
    tag = "oauth2",
    summary = "Dynamic client registration (RFC 7591 §3), when the `registration` setting is open or token",
    request_body(content = Object, content_type = "application/json", description = "RFC 7591 §2 client metadata"),
    responses(
        (status = 201, description = "The registered client: metadata, client_id, client_secret, registration_access_token, registration_client_uri", body = Object),
        (status = 400, description = "invalid_redirect_uri, invalid_client_metadata or unapproved_software_statement", body = tessera_proto::oauth::OAuthErrorBody),
        (status = 401, description = "invalid_token: the initial access token is missing or not valid", body = tessera_proto::oauth::OAuthErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn register(
    State(state): State<AppState>,
    presented: Presented,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.config.registration.enabled() {
        return refused(RegistrationError::Disabled);
    }
    let body = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    match registration::register(&state, bearer(presented).as_ref(), &body).await {
        Ok(d) => described(&state, StatusCode::CREATED, d),
        Err(e) => refused(e),
    }
}

#[utoipa::path(
    get,
    path = "/v2/oauth2/register/{client_id}",
    tag = "oauth2",
    summary = "Read a dynamically registered client (RFC 7592 §2.1) with its registration access token",
    params(("client_id" = String, Path)),
    responses((status = 200, description = "The client's metadata", body = Object)),
    security(("bearer" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    presented: Presented,
    Path(client_id): Path<String>,
) -> Response {
    match registration::read(&state, bearer(presented).as_ref(), &client_id).await {
        Ok(d) => described(&state, StatusCode::OK, d),
        Err(e) => refused(e),
    }
}

#[utoipa::path(
    put,
    path = "/v2/oauth2/register/{client_id}",
    tag = "oauth2",
    summary = "Replace a dynamically registered client's metadata (RFC 7592 §2.2)",
    params(("client_id" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "The client's metadata", body = Object)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    presented: Presented,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.config.registration.enabled() {
        return refused(RegistrationError::Disabled);
    }
    let token = bearer(presented);
    let body = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    match registration::update(&state, token.as_ref(), &client_id, &body).await {
        Ok(d) => described(&state, StatusCode::OK, d),
        Err(e) => refused(e),
    }
}

#[utoipa::path(
    delete,
    path = "/v2/oauth2/register/{client_id}",
    tag = "oauth2",
    summary = "Delete a dynamically registered client (RFC 7592 §2.3), with its tokens and consents",
    params(("client_id" = String, Path)),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    presented: Presented,
    Path(client_id): Path<String>,
) -> Response {
    match registration::delete(&state, bearer(presented).as_ref(), &client_id).await {
        Ok(()) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => refused(e),
    }
}
