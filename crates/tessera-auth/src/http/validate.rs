//! `POST /v2/oauth2/token/validate` (spec §2.6): the Globus CLI's "am I still logged in?".

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json};
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::ActiveFlag;

#[utoipa::path(
    post,
    path = "/v2/oauth2/token/validate",
    tag = "oauth2",
    summary = "Whether a token of the caller is still active (Globus)",
    request_body(content = crate::http::openapi::schemas::TokenOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "`{\"active\": …}`", body = tessera_proto::oauth::ActiveFlag)),
    security((), ("basic" = []))
)]
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
