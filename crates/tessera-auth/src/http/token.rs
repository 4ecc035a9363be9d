//! `POST /v2/oauth2/token` (RFC 6749 §3.2), dispatching on `grant_type`.

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::device;
use crate::service::tokens::{self, GrantError};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_core::grant::device_code::PollError;
use tessera_proto::oauth::{GrantType, OAuthErrorCode};

#[utoipa::path(
    post,
    path = "/v2/oauth2/token",
    tag = "oauth2",
    summary = "Tokens (RFC 6749 §3.2): client credentials, authorization code, refresh, dependent tokens, token exchange (RFC 8693), device code (RFC 8628)",
    request_body(content = crate::http::openapi::schemas::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The tokens; `other_tokens` holds one per further resource server", body = tessera_proto::oauth::TokenResponse)),
    security((), ("basic" = []))
)]
pub async fn token(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let grant = GrantType::parse(form.require("grant_type")?);
    let client = match grant {
        GrantType::ClientCredentials
        | GrantType::AuthorizationCode
        | GrantType::RefreshToken
        | GrantType::DependentToken
        | GrantType::TokenExchange
        | GrantType::DeviceCode => authenticate_oauth(&state, presented, &form).await?,
        other => {
            // RFC 9700 §2.4 and §2.1.2: never the password or implicit grants.
            return Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!(
                    "the grant type {:?} is not supported by this server",
                    other.as_str()
                ),
            ));
        }
    };
    let client = &client.client;
    let refused = |e: GrantError| match e {
        GrantError::InvalidRequest(d) => OAuthError::invalid_request(d),
        GrantError::InvalidGrant(d) => OAuthError::new(OAuthErrorCode::InvalidGrant, d),
        GrantError::InvalidScope(d) => OAuthError::new(OAuthErrorCode::InvalidScope, d),
        GrantError::InvalidTarget(d) => OAuthError::new(OAuthErrorCode::InvalidTarget, d),
        GrantError::UnauthorizedClient(d) => OAuthError::new(OAuthErrorCode::UnauthorizedClient, d),
        GrantError::Internal(d) => OAuthError::internal(&d),
        GrantError::Device(e) => OAuthError::new(device_error(e), e.to_string()),
        GrantError::Store(e) => e.into(),
    };
    if grant == GrantType::DependentToken {
        // A top-level JSON array (spec §2.3).
        let offline = form.get("access_type") == Some("offline");
        let tokens = tokens::dependent(
            &state,
            client,
            form.get("token"),
            form.get("scope"),
            offline,
        )
        .await
        .map_err(refused)?;
        return Ok(oauth_json(&tokens));
    }
    if grant == GrantType::TokenExchange {
        let t = tokens::exchange(
            &state,
            client,
            form.get("subject_token"),
            form.get("subject_token_type"),
            form.get("scope"),
            form.get("audience"),
        )
        .await
        .map_err(refused)?;
        // RFC 8693 §2.2.1, with the Globus resource_server alongside.
        return Ok(oauth_json(&serde_json::json!({
            "access_token": t.access_token,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": t.expires_in,
            "scope": t.scope,
            "resource_server": t.resource_server,
        })));
    }
    let result = match grant {
        GrantType::ClientCredentials => {
            tokens::client_credentials(&state, client, form.get("scope")).await
        }
        GrantType::AuthorizationCode => {
            tokens::authorization_code(
                &state,
                client,
                form.get("code"),
                form.get("redirect_uri"),
                form.get("code_verifier"),
            )
            .await
        }
        GrantType::DeviceCode => device::poll(&state, client, form.get("device_code")).await,
        _ => tokens::refresh(&state, client, form.get("refresh_token")).await,
    };
    let response = result.map_err(refused)?;
    Ok(oauth_json(&response))
}

/// RFC 8628 §3.5's answers to a poll.
fn device_error(e: PollError) -> OAuthErrorCode {
    match e {
        PollError::AuthorizationPending => OAuthErrorCode::AuthorizationPending,
        PollError::SlowDown(_) => OAuthErrorCode::SlowDown,
        PollError::AccessDenied => OAuthErrorCode::AccessDenied,
        PollError::ExpiredToken => OAuthErrorCode::ExpiredToken,
        PollError::InvalidGrant => OAuthErrorCode::InvalidGrant,
    }
}
