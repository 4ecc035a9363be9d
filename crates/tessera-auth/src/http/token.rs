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
    match grant {
        GrantType::ClientCredentials => {
            let client = authenticate_oauth(&state, presented, &form).await?;
            let response = tokens::client_credentials(&state, &client.client, form.get("scope"))
                .await
                .map_err(|e| match e {
                    GrantError::InvalidScope(d) => OAuthError::new(OAuthErrorCode::InvalidScope, d),
                    GrantError::UnauthorizedClient(d) => {
                        OAuthError::new(OAuthErrorCode::UnauthorizedClient, d)
                    }
                    GrantError::Store(e) => e.into(),
                })?;
            Ok(oauth_json(&response))
        }
        // RFC 9700 §2.4 and §2.1.2: never the password or implicit grants. The others are
        // named so the answer can say they are known but not served yet.
        other => Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            format!(
                "the grant type {:?} is not supported by this server",
                other.as_str()
            ),
        )),
    }
}
