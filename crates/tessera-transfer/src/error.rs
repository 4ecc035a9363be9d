//! Every refusal of the Transfer API as one value, answered in the Globus "type zero" envelope
//! `{code, message, request_id, resource}` with `Content-Type: application/json` (spec §1.5).
//!
//! Client mistakes are 4xx; 502 only with an `ExternalError.*` code (the SDK does not retry
//! those); internal failures are an opaque 500 with the detail in the log only.

use crate::storage::StorageError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use tessera_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ClientError.BadRequest", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AuthenticationFailed", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn endpoint_not_found(id: &str) -> Self {
        Self::not_found("EndpointNotFound", format!("No such endpoint '{id}'"))
    }
    pub fn task_not_found(id: &str) -> Self {
        Self::not_found("TaskNotFound", format!("Task '{id}' not found"))
    }
    /// An internal failure: logged, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "transfer API failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceUnavailable",
            "An internal error occurred; it has been logged.",
        )
    }

    /// A storage failure during a file operation, in that operation's terms.
    pub fn from_storage(op: Op, e: StorageError) -> Self {
        use StorageError as S;
        match (op, e) {
            (_, S::InvalidPath(m)) => Self::bad_request(format!("Invalid path: {m}")),
            (Op::Stat, S::NotFound(p)) => {
                Self::not_found("NotFound", format!("Path not found: {p}"))
            }
            (_, S::NotFound(p)) => {
                Self::not_found("ClientError.NotFound", format!("Path not found: {p}"))
            }
            (Op::Ls, S::NotADirectory(p)) => Self::new(
                StatusCode::BAD_GATEWAY,
                "ExternalError.DirListingFailed.NotDirectory",
                format!("Not a directory: {p}"),
            ),
            (Op::Mkdir, S::Exists(p)) => Self::new(
                StatusCode::BAD_GATEWAY,
                "ExternalError.MkdirFailed.Exists",
                format!("Path already exists: {p}"),
            ),
            (Op::Mkdir, S::PermissionDenied(p)) => Self::forbidden(
                "ExternalError.MkdirFailed.PermissionDenied",
                format!("Permission denied: {p}"),
            ),
            (_, S::PermissionDenied(p)) => Self::forbidden(
                "EndpointPermissionDenied",
                format!("Permission denied: {p}"),
            ),
            (_, S::Exists(p)) => Self::conflict("Exists", format!("Path already exists: {p}")),
            (_, S::NotADirectory(p)) => Self::conflict("Conflict", format!("Not a directory: {p}")),
            (_, S::IsADirectory(p)) => Self::conflict("Conflict", format!("Is a directory: {p}")),
            (_, S::NotEmpty(p)) => Self::conflict("Conflict", format!("Directory not empty: {p}")),
            (_, S::NoSpace(p)) => Self::new(
                StatusCode::BAD_GATEWAY,
                "ExternalError.QuotaExceeded",
                format!("No space left: {p}"),
            ),
            (_, S::Io(m)) => Self::new(
                StatusCode::BAD_GATEWAY,
                "ExternalError.StorageError",
                format!("Storage error: {m}"),
            ),
        }
    }
}

/// Which file operation failed (the codes differ, spec §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ls,
    Stat,
    Mkdir,
    Rename,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The body is rendered by `http::envelope`, which knows the request's path; until then
        // the error rides along as an extension.
        let mut r = self.status.into_response();
        r.extensions_mut().insert(self);
        r
    }
}
