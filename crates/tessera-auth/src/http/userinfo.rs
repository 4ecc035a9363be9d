//! `GET /v2/oauth2/userinfo` (OIDC Core §5.3, spec §2.8). Errors follow RFC 6750 §3.

use super::extract::Presented;
use crate::service::id_token::identity_claims;
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tessera_core::grant::SubjectKind;

pub const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

/// An RFC 6750 §3.1 error: the status, the code in `WWW-Authenticate` and in the body.
#[derive(Debug)]
pub struct BearerError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
}

impl BearerError {
    fn invalid_token(description: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
            description,
        }
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "error_description": self.description});
        let mut r = (self.status, Json(body)).into_response();
        let challenge = format!("Bearer realm=\"tessera\", error=\"{}\"", self.code);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

fn internal(e: &dyn std::fmt::Display) -> BearerError {
    tracing::error!(error = %e, "internal error at userinfo");
    BearerError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "server_error",
        description: "the server could not complete the request",
    }
}

#[utoipa::path(
    method(get, post),
    path = "/v2/oauth2/userinfo",
    tag = "oidc",
    summary = "OpenID Connect UserInfo of the token's effective identity",
    responses(
        (status = 200, description = "The claims the token's scopes allow", body = Object),
        (status = 401, description = "RFC 6750 `invalid_token` (with `WWW-Authenticate`)"),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo(
    State(state): State<AppState>,
    presented: Presented,
) -> Result<Json<Value>, BearerError> {
    let Presented::Bearer(token) = presented else {
        return Err(BearerError::invalid_token(
            "a Bearer access token is required",
        ));
    };
    let record = tokens::active(&state, token.expose())
        .await
        .map_err(|e| internal(&e))?
        .filter(|r| r.resource_server == AUTH_RESOURCE_SERVER)
        .ok_or(BearerError::invalid_token(
            "the access token is not valid here",
        ))?;
    let scopes: Vec<&str> = record.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Err(BearerError {
            status: StatusCode::FORBIDDEN,
            code: "insufficient_scope",
            description: "userinfo needs the openid scope",
        });
    }
    let signed_in = tokens::subject(&state, &record)
        .await
        .map_err(|e| internal(&e))?
        .ok_or(BearerError::invalid_token(
            "the token's identity no longer exists",
        ))?;
    let identity = tokens::described(&state, &record)
        .await
        .map_err(|e| internal(&e))?
        .ok_or(BearerError::invalid_token(
            "the token's identity no longer exists",
        ))?;
    let set = match record.subject_kind {
        SubjectKind::Identity => state
            .store
            .identity_set(signed_in.id)
            .await
            .map_err(|e| internal(&e))?,
        SubjectKind::Client => vec![signed_in.clone()],
    };
    let idp_names = state.upstreams.names_or_empty(state.store.as_ref()).await;
    Ok(Json(Value::Object(identity_claims(
        &identity,
        &set,
        &scopes,
        record.auth_time,
        &idp_names,
    ))))
}
