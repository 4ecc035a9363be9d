//! The two error dialects of the surface, each mapped to a response in exactly one place.
//!
//! OAuth endpoints answer RFC 6749 §5.2 bodies; `/v2/api` answers the Globus `errors[]`
//! envelope (spec §0.3). Internal failures become an opaque `server_error` / 500 whose detail
//! goes only to the log. Client mistakes are never 5xx: the SDK retries those five times.

use crate::service::Failure;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::borrow::Cow;
use tessera_proto::api::{ApiErrorCode, ApiErrorEnvelope};
use tessera_proto::oauth::{OAuthErrorBody, OAuthErrorCode};
use tessera_store::StoreError;

/// Headers every OAuth response carries (RFC 6749 §5.1): nothing here may be cached.
pub(crate) fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[derive(Debug)]
pub struct OAuthError {
    code: OAuthErrorCode,
    description: Cow<'static, str>,
    status: StatusCode,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let status = match code {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            code,
            description: description.into(),
            status,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, d)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// An internal failure: logged here, opaque to the client.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error at an OAuth endpoint");
        Self::new(
            OAuthErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    pub fn code(&self) -> OAuthErrorCode {
        self.code
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.code,
            error_description: Some(self.description.into_owned()),
        };
        let mut response = (self.status, Json(body)).into_response();
        no_store(&mut response);
        if self.code == OAuthErrorCode::InvalidClient {
            // RFC 6749 §5.2: a 401 for client authentication names the scheme to use.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tessera\""),
            );
        }
        if self.code == OAuthErrorCode::InvalidToken {
            // RFC 6750 §3.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// An error of the Globus REST API.
#[derive(Debug)]
pub struct ApiError {
    code: ApiErrorCode,
    detail: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ApiErrorCode::BadRequest, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ApiErrorCode::Unauthorized, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ApiErrorCode::Forbidden, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ApiErrorCode::NotFound, detail)
    }
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error at the REST API");
        Self::new(
            ApiErrorCode::InternalError,
            "the server could not complete the request",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(&e)
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::BadRequest(d) => Self::bad_request(d),
            Failure::Forbidden(d) => Self::forbidden(d),
            Failure::NotFound(d) => Self::not_found(d),
            Failure::Conflict(d) => Self::new(ApiErrorCode::Conflict, d),
            Failure::Unverified(d) => Self::new(ApiErrorCode::FqdnNotVerified, d),
            Failure::Unavailable(d) => Self::new(ApiErrorCode::ServiceUnavailable, d),
            Failure::Store(e) => Self::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ApiErrorEnvelope::new(self.code, uuid::Uuid::new_v4().to_string(), self.detail);
        let mut response = (status, Json(body)).into_response();
        if self.code == ApiErrorCode::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\", error=\"invalid_token\""),
            );
        }
        if self.code == ApiErrorCode::ServiceUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
