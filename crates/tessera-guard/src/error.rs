//! Refusals as RFC 6750 §3 describes them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GuardError {
    /// No bearer token, or a malformed Authorization header (§3.1 `invalid_request`, sent as
    /// 401 without an error code per §3.1 when no credentials were given).
    #[error("a bearer token is required")]
    MissingToken,
    /// Unknown, expired, revoked, or not meant for this service (§3.1 `invalid_token`).
    #[error("the access token is not valid")]
    InvalidToken,
    /// Valid, but without a scope this call needs (§3.1 `insufficient_scope`).
    #[error("the access token lacks the scope {0}")]
    InsufficientScope(String),
    /// Valid, but not for this identity: none of the caller's identities may do this.
    #[error("none of the caller's identities is allowed here")]
    Forbidden,
    /// Valid, but the session behind it does not meet this service's authentication policies
    /// (or other session requirements): 403 with the `authorization_parameters` of a Globus
    /// Auth Requirements Error, which the SDK turns into a new sign-in.
    #[error("{}", .0.session_message.as_deref().unwrap_or("the session does not meet this service's authentication requirements"))]
    AuthorizationRequired(Box<crate::AuthorizationParameters>),
    /// The auth server could not be asked; the request cannot be decided (503).
    #[error("the authorization server is unavailable: {0}")]
    Unavailable(String),
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::MissingToken => (StatusCode::UNAUTHORIZED, None),
            Self::InvalidToken => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            Self::InsufficientScope(_) => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            Self::Forbidden => (StatusCode::FORBIDDEN, None),
            Self::AuthorizationRequired(_) => (StatusCode::FORBIDDEN, None),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
        };
        let mut challenge = String::from("Bearer realm=\"tessera\"");
        if let Some(c) = code {
            challenge.push_str(&format!(", error=\"{c}\""));
        }
        if let Self::InsufficientScope(s) = &self {
            challenge.push_str(&format!(", scope=\"{}\"", s.replace('"', "")));
        }
        let fallback = match status {
            StatusCode::UNAUTHORIZED => "invalid_request",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "temporarily_unavailable",
        };
        let mut body = serde_json::json!({"error": code.unwrap_or(fallback), "error_description": self.to_string()});
        let parameters = match &self {
            Self::AuthorizationRequired(p) => Some((**p).clone()),
            Self::InsufficientScope(s) => Some(crate::AuthorizationParameters {
                required_scopes: vec![s.clone()],
                ..Default::default()
            }),
            _ => None,
        };
        if let Some(p) = parameters {
            // The GARE fields beside the RFC 6750 ones: `code` and `authorization_parameters`.
            body["code"] = serde_json::Value::from(p.code());
            body["authorization_parameters"] = serde_json::to_value(&p).unwrap_or_default();
        }
        let mut r = (status, Json(body)).into_response();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        r
    }
}
