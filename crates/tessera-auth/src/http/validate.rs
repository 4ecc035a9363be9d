//! `POST /v2/oauth2/token/validate` (spec §2.6): the Globus CLI's "am I still logged in?".

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::ActiveFlag;

pub async fn validate(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let caller = authenticate_oauth(&state, presented, &form).await?;
    let token = form.require("token")?;
    let active = tokens::validate(&state, &caller.client, token).await?;
    Ok(oauth_json(&ActiveFlag { active }))
}
