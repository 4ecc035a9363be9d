//! `POST /v2/oauth2/token` (RFC 6749 §3.2), dispatching on `grant_type`.

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::tokens::{self, GrantError};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::{GrantType, OAuthErrorCode};

pub async fn token(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let grant = GrantType::parse(form.require("grant_type")?);
    let client = match grant {
        GrantType::ClientCredentials | GrantType::AuthorizationCode | GrantType::RefreshToken => {
            authenticate_oauth(&state, presented, &form).await?
        }
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
        _ => tokens::refresh(&state, client, form.get("refresh_token")).await,
    };
    let response = result.map_err(|e| match e {
        GrantError::InvalidRequest(d) => OAuthError::invalid_request(d),
        GrantError::InvalidGrant(d) => OAuthError::new(OAuthErrorCode::InvalidGrant, d),
        GrantError::InvalidScope(d) => OAuthError::new(OAuthErrorCode::InvalidScope, d),
        GrantError::UnauthorizedClient(d) => OAuthError::new(OAuthErrorCode::UnauthorizedClient, d),
        GrantError::Internal(d) => OAuthError::internal(&d),
        GrantError::Store(e) => e.into(),
    })?;
    Ok(oauth_json(&response))
}
