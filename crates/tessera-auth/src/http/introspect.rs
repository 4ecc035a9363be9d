//! `POST /v2/oauth2/token/introspect` (RFC 7662, spec §2.5).

use super::error::OAuthError;
use super::extract::{OAuthForm, Presented};
use super::{authenticate_oauth, oauth_json, oauth_json_bytes};
use crate::service::introspect::{self, Includes, IntrospectError};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use tessera_proto::oauth::ActiveFlag;

#[utoipa::path(
    post,
    path = "/v2/oauth2/token/introspect",
    tag = "oauth2",
    summary = "Introspection (RFC 7662), answered to the token's client and audience",
    request_body(content = crate::http::openapi::schemas::IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The token's state; `{\"active\": false}` for anything not active or not the caller's to see", body = tessera_proto::oauth::ActiveIntrospection)),
    security((), ("basic" = []))
)]
pub async fn introspect(
    State(state): State<AppState>,
    presented: Presented,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    // RFC 7662 §2.1: the caller must authenticate; §4: only then is anything told.
    let caller = authenticate_oauth(&state, presented, &form).await?;
    if caller.client.is_public() {
        return Err(OAuthError::invalid_client());
    }
    let token = form.require("token")?;
    let mut includes = Includes::parse(form.get("include"));
    if let Some(ids) = form.get("authentication_policies") {
        for raw in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id = uuid::Uuid::parse_str(raw)
                .map_err(|_| OAuthError::invalid_request(format!("{raw:?} is not a policy id")))?;
            includes.policies.push(id);
        }
    }
    match introspect::introspect(&state, &caller.client, token, includes).await {
        Ok(Some(answer)) => Ok(oauth_json_bytes(answer)),
        Ok(None) => Ok(oauth_json(&ActiveFlag { active: false })),
        Err(IntrospectError::Store(e)) => Err(e.into()),
        Err(e @ IntrospectError::Render(_)) => Err(OAuthError::internal(&e)),
    }
}
