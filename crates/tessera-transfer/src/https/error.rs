//! Every refusal of the HTTPS access, answered as a small JSON document `{code, message}` with
//! the status the HTTP semantics call for (RFC 9110) and, for token problems, the RFC 6750
//! `WWW-Authenticate: Bearer` challenge. Messages name API paths only, never a host path.

use crate::error::ApiError;
use crate::storage::StorageError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The realm of the `WWW-Authenticate` challenges.
const REALM: &str = "tessera-https";

/// `Retry-After` of an operation refused by a pause rule, in seconds.
const PAUSE_RETRY_AFTER: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// RFC 6750 §3 challenge parameters after `Bearer realm=...`, for 401 and scope refusals.
    challenge: Option<String>,
    /// The file's size, for a 416's `Content-Range: bytes */size` (RFC 9110 §14.4).
    unsatisfiable_size: Option<u64>,
    /// Seconds for a 503's `Retry-After` (RFC 9110 §10.2.3).
    retry_after: Option<u64>,
}

impl HttpsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: None,
            unsatisfiable_size: None,
            retry_after: None,
        }
    }

    /// No token at all (RFC 6750 §3.1: no error code in the challenge).
    pub fn token_required() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "A bearer token is required (Authorization: Bearer ...)",
        );
        e.challenge = Some(String::new());
        e
    }

    /// A token that is malformed, expired, revoked or not meant for this service.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "InvalidToken", message);
        e.challenge = Some(", error=\"invalid_token\"".into());
        e
    }

    /// A valid token without the collection's `https` scope.
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "InsufficientScope",
            format!("The token lacks the scope {scope}"),
        );
        e.challenge = Some(format!(", error=\"insufficient_scope\", scope=\"{scope}\""));
        e
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "PermissionDenied", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    pub fn range_not_satisfiable(size: u64) -> Self {
        let mut e = Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "RangeNotSatisfiable",
            format!("The range is outside the file's {size} bytes"),
        );
        e.unsatisfiable_size = Some(size);
        e
    }

    /// The operation is paused on the endpoint by a pause rule of its administrators: 503 with
    /// `Retry-After`, the answer HTTP gives for scheduled maintenance, so `curl --retry`, rclone
    /// and browsers wait and try again instead of treating it as the client's mistake.
    pub fn paused(message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::service::pause_ops::CODE,
            message,
        );
        e.retry_after = Some(PAUSE_RETRY_AFTER);
        e
    }

    /// An internal failure: logged, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "https access failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceUnavailable",
            "An internal error occurred; it has been logged.",
        )
    }

    /// A storage failure on `path` of an endpoint. The messages of [`StorageError`] name API
    /// paths (a share's errors are rewritten into the share's namespace by its storage).
    pub fn from_storage(e: StorageError) -> Self {
        use StorageError as S;
        match e {
            S::InvalidPath(m) => Self::bad_request(format!("Invalid path: {m}")),
            S::NotFound(p) => Self::not_found(format!("No such file: {p}")),
            // A path through a file ("/f/x"): nothing can be at it.
            S::NotADirectory(p) => Self::conflict(format!("Not a directory: {p}")),
            S::IsADirectory(p) => Self::conflict(format!("Is a directory: {p}")),
            S::NotEmpty(p) => Self::conflict(format!("Directory not empty: {p}")),
            S::Exists(p) => Self::conflict(format!("Already exists: {p}")),
            S::PermissionDenied(p) => Self::forbidden(format!("Permission denied: {p}")),
            S::NoSpace(p) => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "NoSpace",
                format!("No space left: {p}"),
            ),
            S::Io(m) => Self::new(
                StatusCode::BAD_GATEWAY,
                "StorageError",
                format!("Storage error: {m}"),
            ),
        }
    }
}

/// The Transfer API's refusals (endpoint lookup, access decisions) in this surface's terms.
impl From<ApiError> for HttpsError {
    fn from(e: ApiError) -> Self {
        let code = match e.status {
            StatusCode::NOT_FOUND => "NotFound",
            StatusCode::FORBIDDEN => "PermissionDenied",
            StatusCode::BAD_REQUEST => "BadRequest",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::UNAUTHORIZED => "InvalidToken",
            // The endpoint's storage (a connector) failed or cannot be reached.
            StatusCode::BAD_GATEWAY => "StorageError",
            StatusCode::INSUFFICIENT_STORAGE => "NoSpace",
            // Any other client mistake stays one, with its status.
            s if s.is_client_error() => "ClientError",
            _ => "ServiceUnavailable",
        };
        Self::new(e.status, code, e.message)
    }
}

impl IntoResponse for HttpsError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code, "message": self.message});
        let mut r = (self.status, Json(body)).into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(params) = &self.challenge {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer realm=\"{REALM}\"{params}")) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(size) = self.unsatisfiable_size {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_refusals_keep_their_class() {
        let of = |status: StatusCode| HttpsError::from(ApiError::new(status, "X", "m"));
        assert_eq!(of(StatusCode::BAD_GATEWAY).code, "StorageError");
        let teapot = of(StatusCode::IM_A_TEAPOT);
        assert_eq!(
            (teapot.status, teapot.code),
            (StatusCode::IM_A_TEAPOT, "ClientError")
        );
        assert_eq!(
            of(StatusCode::INTERNAL_SERVER_ERROR).code,
            "ServiceUnavailable"
        );
    }

    #[test]
    fn a_paused_operation_says_when_to_retry() {
        let r = HttpsError::paused("writing is paused").into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            r.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("60")
        );
    }
}
