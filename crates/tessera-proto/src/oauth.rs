//! OAuth 2.0 wire types: error codes (RFC 6749 §5.2), token responses in the Globus shape
//! (spec §2.4), and the introspection response (RFC 7662, Globus extensions, spec §2.5).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// RFC 6749 §5.2 / RFC 7009 §2.2.1 error codes, plus `server_error` for opaque internal failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    /// RFC 8693 §2.2.2.
    InvalidTarget,
    /// RFC 8628 §3.5: the device's user has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: poll less often (the interval grew by 5 s).
    SlowDown,
    /// RFC 8628 §3.5 (and RFC 6749 §4.1.2.1): the user said no.
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken,
    /// RFC 7591 §3.2.2.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2.
    InvalidClientMetadata,
    /// RFC 7591 §3.2.2.
    UnapprovedSoftwareStatement,
    /// RFC 6750 §3.1: a bad Bearer token (initial or registration access token).
    InvalidToken,
    ServerError,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidTarget => "invalid_target",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::InvalidToken => "invalid_token",
            Self::ServerError => "server_error",
        }
    }
}

/// The JSON body of an OAuth error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    pub error: OAuthErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The grant types this server knows by name. Unknown names are kept as text so the error
/// can say which one was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DependentToken,
    TokenExchange,
    /// RFC 8628 §3.4.
    DeviceCode,
    Other(String),
}

impl GrantType {
    pub const DEPENDENT_TOKEN: &'static str = "urn:globus:auth:grant_type:dependent_token";
    pub const TOKEN_EXCHANGE: &'static str = "urn:ietf:params:oauth:grant-type:token-exchange";
    pub const DEVICE_CODE: &'static str = "urn:ietf:params:oauth:grant-type:device_code";

    pub fn parse(s: &str) -> Self {
        match s {
            "authorization_code" => Self::AuthorizationCode,
            "refresh_token" => Self::RefreshToken,
            "client_credentials" => Self::ClientCredentials,
            Self::DEPENDENT_TOKEN => Self::DependentToken,
            Self::TOKEN_EXCHANGE => Self::TokenExchange,
            Self::DEVICE_CODE => Self::DeviceCode,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DependentToken => Self::DEPENDENT_TOKEN,
            Self::TokenExchange => Self::TOKEN_EXCHANGE,
            Self::DeviceCode => Self::DEVICE_CODE,
            Self::Other(s) => s,
        }
    }
}

/// One token for one resource server: an element of `other_tokens` or of a dependent-token
/// array, and (flattened) the top level of a token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub access_token: String,
    /// Root scope strings only, separated by single spaces (the CLI splits on " ").
    pub scope: String,
    pub resource_server: String,
    pub expires_in: i64,
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The token endpoint's answer (spec §2.4): one token at the top level, the rest in
/// `other_tokens`, which is always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    #[serde(flatten)]
    pub top: TokenInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub other_tokens: Vec<TokenInfo>,
}

/// `session_info` in introspection (spec §2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub session_id: Option<String>,
    pub authentications: BTreeMap<String, SessionAuthentication>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionAuthentication {
    pub idp: String,
    pub auth_time: i64,
    /// RFC 8176 methods: `pwd`, plus `otp` and `mfa` when a second factor was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Always null: no assurance-level vocabulary is defined yet.
    #[serde(default)]
    pub acr: Option<String>,
}

/// One entry of `identity_set_detail`: both `id` and `sub`, since third-party code reads each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityDetail {
    pub id: String,
    pub sub: String,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
    pub identity_provider: String,
    pub identity_provider_display_name: String,
    pub identity_type: String,
    pub status: String,
}

/// An active introspection answer (RFC 7662 §2.2 with the Globus fields). An inactive one is
/// always exactly `{"active": false}`, so it is not a variant of this struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveIntrospection {
    pub active: bool,
    pub token_type: String,
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub aud: Vec<String>,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_set: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_set_detail: Option<Vec<IdentityDetail>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_info: Option<SessionInfo>,
    /// `authentication_policies=<ids>`: whether the token's authentications satisfy each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_evaluations: Option<std::collections::BTreeMap<String, PolicyEvaluation>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyEvaluation {
    pub evaluation: bool,
}

/// `{"active": false}` and `{"active": true}`: the validate and revoke answers, and the
/// inactive introspection answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveFlag {
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_always_has_other_tokens_and_flattens_the_top() {
        let r = TokenResponse {
            top: TokenInfo {
                access_token: "a".into(),
                scope: "openid".into(),
                resource_server: "auth.globus.org".into(),
                expires_in: 172800,
                token_type: "Bearer".into(),
                refresh_token: None,
            },
            id_token: None,
            state: None,
            other_tokens: vec![],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["access_token"], "a");
        assert_eq!(v["resource_server"], "auth.globus.org");
        assert_eq!(v["other_tokens"], serde_json::json!([]));
        assert!(v.get("refresh_token").is_none());
    }

    #[test]
    fn grant_type_names_round_trip() {
        for name in [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            GrantType::DEPENDENT_TOKEN,
        ] {
            assert_eq!(GrantType::parse(name).as_str(), name);
        }
        assert_eq!(
            GrantType::parse("password"),
            GrantType::Other("password".into())
        );
    }
}
