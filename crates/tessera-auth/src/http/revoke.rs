//! `POST /v2/oauth2/token/revoke` (RFC 7009, spec §2.7). Always `200 {"active": false}` once
//! the client is known, whether or not there was anything to revoke (RFC 7009 §2.2).

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::ActiveFlag;

pub async fn revoke(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let caller = authenticate_oauth(&state, presented, &form).await?;
    let token = form.require("token")?;
    tokens::revoke(&state, &caller.client, token).await?;
    Ok(oauth_json(&ActiveFlag { active: false }))
}
