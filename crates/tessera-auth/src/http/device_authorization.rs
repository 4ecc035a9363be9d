//! `POST /v2/oauth2/device_authorization` (RFC 8628 §3.1–§3.2): a device asks for a device code
//! and a user code. Clients authenticate as at the token endpoint; public clients name
//! themselves with `client_id`.

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::device::{self, StartError};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::OAuthErrorCode;

/// The RFC 8628 §3.2 answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DeviceAuthorizationResponse {
    device_code: String,
    /// Eight letters, shown as `XXXX-XXXX`.
    user_code: String,
    verification_uri: String,
    /// The verification page with the user code filled in (for a QR code or a link).
    verification_uri_complete: String,
    expires_in: i64,
    /// Seconds between polls of the token endpoint.
    interval: i64,
}

#[utoipa::path(
    post,
    path = "/v2/oauth2/device_authorization",
    tag = "oauth2",
    summary = "Device authorization (RFC 8628 §3.1): a device code to poll with and a user code for a person to enter",
    request_body(content = crate::http::openapi::schemas::DeviceAuthorizationRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The codes", body = DeviceAuthorizationResponse)),
    security((), ("basic" = []))
)]
pub async fn device_authorization(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let client = authenticate_oauth(&state, presented, &form).await?;
    let started = device::start(
        &state,
        &client.client,
        form.get("scope"),
        form.get("access_type"),
    )
    .await
    .map_err(|e| match e {
        StartError::InvalidRequest(d) => OAuthError::invalid_request(d),
        StartError::InvalidScope(d) => OAuthError::new(OAuthErrorCode::InvalidScope, d),
        StartError::UnauthorizedClient => {
            OAuthError::new(OAuthErrorCode::UnauthorizedClient, e.to_string())
        }
        StartError::Store(e) => e.into(),
    })?;
    let verification_uri = state.config.url("v2/web/device");
    let shown = started.user_code.display();
    Ok(oauth_json(&DeviceAuthorizationResponse {
        device_code: started.device_code.expose().to_owned(),
        verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
        user_code: shown,
        verification_uri,
        expires_in: started.expires_in,
        interval: started.interval,
    }))
}
