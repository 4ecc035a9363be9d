//! One error type for every client: the server unreachable, a refusal in any of the three
//! error shapes the Globus APIs use, an answer that does not parse, or token storage failing.
//!
//! The three refusal shapes (all read into [`ClientError::Api`]):
//! - Auth API: `{"errors": [{"code", "detail", "id", "status", …}], "error", "error_description"}`;
//! - OAuth endpoints (RFC 6749 §5.2): `{"error", "error_description"}`;
//! - Transfer (and Groups): `{"code", "message" | "detail", "request_id", "authorization_parameters"?}`.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not reach the server: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered with an error. `code` is the API's own (`EndpointNotFound`,
    /// `invalid_grant`, `FORBIDDEN`, …), `message` its words for this case.
    #[error("HTTP {status}: {}", describe(.code.as_deref(), .message))]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
        /// What a new login must satisfy (Transfer's `AuthorizationRequired`/`ConsentRequired`,
        /// Auth's session step-up): the parameters to pass on to the authorize URL.
        authorization_parameters: Option<Box<AuthorizationParameters>>,
    },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    #[error("token storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// The call cannot be made as asked (no refresh token, a bad base URL, …).
    #[error("{0}")]
    Usage(String),
}

fn describe(code: Option<&str>, message: &str) -> String {
    match code {
        Some(c) if c != message => format!("{c}: {message}"),
        _ => message.to_owned(),
    }
}

/// The session requirements a refusal names (Globus "authorization parameters").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuthorizationParameters {
    #[serde(default)]
    pub session_message: Option<String>,
    #[serde(default)]
    pub session_required_identities: Option<Vec<String>>,
    #[serde(default)]
    pub session_required_single_domain: Option<Vec<String>>,
    #[serde(default)]
    pub session_required_policies: Option<Vec<String>>,
    #[serde(default)]
    pub session_required_mfa: Option<bool>,
    #[serde(default)]
    pub required_scopes: Option<Vec<String>>,
    #[serde(default)]
    pub prompt: Option<String>,
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The API's error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Worth asking again later: the server unreachable, overloaded or failing (5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Reads a refusal body in whichever of the three shapes it is.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let first = v.get("errors").and_then(|e| e.get(0));
        let code = first
            .and_then(|e| text(e, "code"))
            .or_else(|| text(&v, "code"))
            .or_else(|| text(&v, "error"));
        // The Auth envelope's `error_description` is only the status title; `detail` says
        // what happened.
        let message = first
            .and_then(|e| text(e, "detail"))
            .or_else(|| text(&v, "message"))
            .or_else(|| text(&v, "detail"))
            .or_else(|| text(&v, "error_description"))
            .or_else(|| code.clone())
            .unwrap_or_else(|| status_line(status));
        let request_id = text(&v, "request_id").or_else(|| first.and_then(|e| text(e, "id")));
        let authorization_parameters = v
            .get("authorization_parameters")
            .or_else(|| first.and_then(|e| e.get("authorization_parameters")))
            .and_then(|p| serde_json::from_value(p.clone()).ok())
            .map(Box::new);
        Self::Api {
            status,
            code,
            message,
            request_id,
            authorization_parameters,
        }
    }
}

fn status_line(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status) {
        Ok(s) => s.to_string(),
        Err(_) => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts(e: &ClientError) -> (Option<&str>, String, Option<String>) {
        match e {
            ClientError::Api {
                code,
                message,
                request_id,
                ..
            } => (code.as_deref(), message.clone(), request_id.clone()),
            _ => panic!("{e:?}"),
        }
    }

    #[test]
    fn oauth_errors_keep_their_code_and_description() {
        let e = ClientError::from_response(
            400,
            br#"{"error":"invalid_scope","error_description":"unknown scope: x"}"#,
        );
        assert_eq!(
            parts(&e),
            (Some("invalid_scope"), "unknown scope: x".into(), None)
        );
        assert_eq!(e.to_string(), "HTTP 400: invalid_scope: unknown scope: x");
    }

    #[test]
    fn the_auth_envelope_prefers_detail_over_the_title() {
        let e = ClientError::from_response(
            503,
            br#"{"errors":[{"code":"SERVICE_UNAVAILABLE","detail":"DNS timed out","id":"r1"}],"error":"service_unavailable","error_description":"Service Unavailable"}"#,
        );
        assert_eq!(
            parts(&e),
            (
                Some("SERVICE_UNAVAILABLE"),
                "DNS timed out".into(),
                Some("r1".into())
            )
        );
        assert!(e.is_transient());
    }

    #[test]
    fn the_transfer_envelope_with_authorization_parameters() {
        let e = ClientError::from_response(
            403,
            br#"{"code":"ConsentRequired","message":"Missing consent","request_id":"abc","resource":"/x",
                 "authorization_parameters":{"session_required_policies":["p1"],"required_scopes":["s"]}}"#,
        );
        assert_eq!(e.to_string(), "HTTP 403: ConsentRequired: Missing consent");
        let ClientError::Api {
            request_id,
            authorization_parameters,
            ..
        } = &e
        else {
            panic!()
        };
        assert_eq!(request_id.as_deref(), Some("abc"));
        let p = authorization_parameters.as_ref().unwrap();
        assert_eq!(p.session_required_policies, Some(vec!["p1".to_owned()]));
        assert_eq!(p.required_scopes, Some(vec!["s".to_owned()]));
        assert!(!e.is_transient());
    }

    #[test]
    fn groups_errors_and_bodies_that_are_not_json() {
        let e = ClientError::from_response(404, br#"{"code":"NOT_FOUND","detail":"no group"}"#);
        assert_eq!(e.to_string(), "HTTP 404: NOT_FOUND: no group");
        let e = ClientError::from_response(502, b"<html>");
        assert_eq!(e.to_string(), "HTTP 502: 502 Bad Gateway");
        assert_eq!(e.code(), None);
        assert_eq!(e.status(), Some(502));
        let e = ClientError::from_response(401, br#"{"error":"invalid_token"}"#);
        assert_eq!(e.to_string(), "HTTP 401: invalid_token");
    }
}
