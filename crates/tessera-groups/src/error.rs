//! Errors in the Groups envelope (spec §1.2): `{"code", "detail"}`, plus `ambiguous_identities`
//! on a batch naming one identity twice and `provided_scopes` on a scope refusal. Never an
//! `authorization_parameters` object: the CLI would take it for a step-up demand and exit 4.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tessera_store::StoreError;

#[derive(Debug)]
pub struct GroupsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    extra: Map<String, Value>,
}

impl GroupsError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: Map::new(),
        }
    }
    /// No Authorization header, or one that is not a bearer token.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "A bearer token for groups.api.globus.org is required.",
        )
    }
    /// Unknown, expired, revoked, or another resource server's token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "The access token is not valid for groups.api.globus.org.",
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", detail)
    }
    /// The token lacks the scope for this call.
    pub fn scope(provided: &[String]) -> Self {
        let mut e = Self::forbidden(
            "This call needs the scope urn:globus:auth:scope:groups.api.globus.org:all.",
        );
        e.extra.insert("provided_scopes".into(), json!(provided));
        e
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", detail)
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn ambiguous(ids: &[uuid::Uuid]) -> Self {
        let mut e = Self::bad_request(
            "AMBIGUOUS_IDENTITIES",
            "An identity may appear only once in a batch.",
        );
        e.extra.insert(
            "ambiguous_identities".into(),
            json!(ids.iter().map(ToString::to_string).collect::<Vec<_>>()),
        );
        e
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", detail)
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            detail,
        )
    }
    /// A failure of ours: logged, answered opaquely.
    pub fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "groups: internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Something went wrong on the server.",
        )
    }
}

impl From<StoreError> for GroupsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::conflict(format!("conflict: {what}")),
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for GroupsError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".into(), Value::String(self.code.to_owned()));
        body.insert("detail".into(), Value::String(self.detail));
        body.extend(self.extra);
        (self.status, Json(Value::Object(body))).into_response()
    }
}
