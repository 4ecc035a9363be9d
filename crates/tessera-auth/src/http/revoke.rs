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

#[utoipa::path(
    post,
    path = "/v2/oauth2/token/revoke",
    tag = "oauth2",
    summary = "Revocation (RFC 7009)",
    request_body(content = crate::http::openapi::schemas::TokenOnly, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Always `{\"active\": false}` once the client is known", body = tessera_proto::oauth::ActiveFlag)),
    security((), ("basic" = []))
)]
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
