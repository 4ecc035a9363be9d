//! `GET /v2/oauth2/userinfo` (OIDC Core §5.3, spec §2.8). Errors follow RFC 6750 §3.

use super::extract::Presented;
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tessera_core::identity::Identity;

pub const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";
const VIEW_IDENTITY_SET: &str = "urn:globus:auth:scope:auth.globus.org:view_identity_set";

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
    let identity = tokens::subject(&state, &record)
        .await
        .map_err(|e| internal(&e))?
        .ok_or(BearerError::invalid_token(
            "the token's identity no longer exists",
        ))?;
    Ok(Json(claims(&identity, &scopes)))
}

/// The claims `scopes` allow: `sub` always; names with `profile`, `email` with `email`, the
/// identity set with `view_identity_set`.
fn claims(identity: &Identity, scopes: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert("sub".into(), json!(identity.id.to_string()));
    if scopes.contains(&"profile") {
        m.insert("preferred_username".into(), json!(identity.username));
        m.insert("name".into(), json!(identity.name));
        m.insert("organization".into(), json!(identity.organization));
        m.insert(
            "identity_provider".into(),
            json!(identity.identity_provider.to_string()),
        );
        m.insert(
            "identity_provider_display_name".into(),
            json!(identity.provider_display_name()),
        );
    }
    if scopes.contains(&"email") {
        m.insert("email".into(), json!(identity.email));
    }
    if scopes.contains(&VIEW_IDENTITY_SET) {
        m.insert(
            "identity_set".into(),
            json!([{
                "sub": identity.id.to_string(),
                "username": identity.username,
                "name": identity.name,
                "email": identity.email,
                "identity_provider": identity.identity_provider.to_string(),
                "identity_provider_display_name": identity.provider_display_name(),
                "organization": identity.organization,
                "status": identity.status.as_str(),
            }]),
        );
    }
    Value::Object(m)
}
