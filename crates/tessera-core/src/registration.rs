//! Dynamic client registration (RFC 7591, RFC 7592): the metadata a client registers with,
//! checked once, and what it becomes.
//!
//! A registered client is an ordinary client: `token_endpoint_auth_method=none` makes it a
//! public (native) client, anything else a confidential one. Its redirect URIs pass the same
//! checks as every other client's (the caller's `check_uri`). Metadata we do not know is
//! dropped, as RFC 7591 §2 allows; metadata we know but cannot honour is refused with
//! `invalid_client_metadata` rather than silently ignored.

use crate::client::{validate_client_name, ClientType, DEVICE_CODE_GRANT};
use crate::clock::UnixTime;
use crate::secret::SecretHash;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The stored registration of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: Uuid,
    /// The registered metadata as JSON text, in the normal form [`Metadata::to_json`] writes.
    pub metadata: String,
    /// SHA-256 of the registration access token (RFC 7592 §1).
    pub access_token_hash: SecretHash,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// RFC 7591 §3.2.2 error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error("{0}")]
    UnapprovedSoftwareStatement(String),
}

impl MetadataError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::UnapprovedSoftwareStatement(_) => "unapproved_software_statement",
        }
    }
}

/// How a registered client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// Validated metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub client_name: String,
    /// Free text, kept and echoed; the scopes a client gets are decided at consent.
    pub scope: Option<String>,
    pub contacts: Vec<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// OIDC Registration `application_type`: `web` or `native`.
    pub application_type: String,
}

/// The name a client that gives none is shown under on consent pages.
pub const DEFAULT_CLIENT_NAME: &str = "Unnamed application";
const MAX_LIST: usize = 20;
const MAX_TEXT: usize = 2048;

fn strings(body: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, MetadataError> {
    let bad = || MetadataError::InvalidClientMetadata(format!("{key} must be an array of strings"));
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > MAX_LIST {
                return Err(MetadataError::InvalidClientMetadata(format!(
                    "{key} has more than {MAX_LIST} entries"
                )));
            }
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| s.len() <= MAX_TEXT)
                        .map(str::to_owned)
                        .ok_or_else(bad)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Some(_) => Err(bad()),
    }
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, MetadataError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_TEXT && !s.chars().any(char::is_control) => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(MetadataError::InvalidClientMetadata(format!(
            "{key} must be a string of at most {MAX_TEXT} characters"
        ))),
    }
}

/// A web page of the client's (`client_uri`, `policy_uri`, …): an absolute http(s) URL.
fn web_uri(body: &Map<String, Value>, key: &str) -> Result<Option<String>, MetadataError> {
    let Some(s) = text(body, key)? else {
        return Ok(None);
    };
    match url::Url::parse(&s) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(Some(s)),
        _ => Err(MetadataError::InvalidClientMetadata(format!(
            "{key} must be an absolute http or https URL"
        ))),
    }
}

impl Metadata {
    /// Checks a registration request's JSON body (RFC 7591 §2, §3.1). `check_uri` applies the
    /// redirect-URI rules every client is held to.
    pub fn from_request(
        body: &Value,
        check_uri: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Self, MetadataError> {
        let invalid = |m: &str| MetadataError::InvalidClientMetadata(m.to_owned());
        let Value::Object(body) = body else {
            return Err(invalid("the request body must be a JSON object"));
        };
        if body.contains_key("software_statement") {
            return Err(MetadataError::UnapprovedSoftwareStatement(
                "software statements are not accepted by this server".into(),
            ));
        }
        if body.contains_key("jwks") || body.contains_key("jwks_uri") {
            return Err(invalid(
                "jwks and jwks_uri are not supported: clients authenticate with a secret or not at all",
            ));
        }
        let auth_method = match text(body, "token_endpoint_auth_method")?.as_deref() {
            None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("none") => AuthMethod::None,
            Some(other) => {
                return Err(invalid(&format!(
                    "token_endpoint_auth_method {other:?} is not supported (client_secret_basic, client_secret_post, none)"
                )))
            }
        };
        let client_type = if auth_method == AuthMethod::None {
            ClientType::PublicInstalled
        } else {
            ClientType::Confidential
        };
        let grant_types =
            strings(body, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
        if grant_types.is_empty() {
            return Err(invalid("grant_types must not be empty"));
        }
        for g in &grant_types {
            if !client_type.allows_grant(g) || !REGISTRABLE_GRANTS.contains(&g.as_str()) {
                return Err(invalid(&format!(
                    "grant type {g:?} is not available to a client with token_endpoint_auth_method {:?}",
                    auth_method.as_str()
                )));
            }
        }
        let response_types = strings(body, "response_types")?.unwrap_or_else(|| {
            if grant_types.iter().any(|g| g == "authorization_code") {
                vec!["code".into()]
            } else {
                vec![]
            }
        });
        if response_types.iter().any(|r| r != "code") {
            return Err(invalid("only the response type \"code\" is supported"));
        }
        let code_grant = grant_types.iter().any(|g| g == "authorization_code");
        // RFC 7591 §2.1: the two lists must agree.
        if code_grant == response_types.is_empty() {
            return Err(invalid(
                "response_types [\"code\"] goes with grant_types [\"authorization_code\"], and only with it",
            ));
        }
        let redirect_uris = strings(body, "redirect_uris")?.unwrap_or_default();
        if code_grant && redirect_uris.is_empty() {
            return Err(MetadataError::InvalidRedirectUri(
                "redirect_uris is required for the authorization_code grant".into(),
            ));
        }
        for uri in &redirect_uris {
            check_uri(uri).map_err(MetadataError::InvalidRedirectUri)?;
        }
        let client_name = match text(body, "client_name")? {
            Some(n) => {
                validate_client_name(&n).map_err(invalid)?;
                n.trim().to_owned()
            }
            None => DEFAULT_CLIENT_NAME.to_owned(),
        };
        let application_type = match text(body, "application_type")?.as_deref() {
            None | Some("web") => "web",
            Some("native") => "native",
            Some(_) => return Err(invalid("application_type must be web or native")),
        };
        Ok(Self {
            redirect_uris,
            auth_method,
            grant_types,
            response_types,
            client_name,
            scope: text(body, "scope")?,
            contacts: strings(body, "contacts")?.unwrap_or_default(),
            client_uri: web_uri(body, "client_uri")?,
            logo_uri: web_uri(body, "logo_uri")?,
            policy_uri: web_uri(body, "policy_uri")?,
            tos_uri: web_uri(body, "tos_uri")?,
            software_id: text(body, "software_id")?,
            software_version: text(body, "software_version")?,
            application_type: application_type.to_owned(),
        })
    }

    /// The client type this metadata makes.
    pub fn client_type(&self) -> ClientType {
        if self.auth_method == AuthMethod::None {
            ClientType::PublicInstalled
        } else {
            ClientType::Confidential
        }
    }

    /// The metadata as echoed to the client (RFC 7591 §3.2.1) and stored.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("redirect_uris".into(), self.redirect_uris.clone().into());
        m.insert(
            "token_endpoint_auth_method".into(),
            self.auth_method.as_str().into(),
        );
        m.insert("grant_types".into(), self.grant_types.clone().into());
        m.insert("response_types".into(), self.response_types.clone().into());
        m.insert("client_name".into(), self.client_name.clone().into());
        m.insert(
            "application_type".into(),
            self.application_type.clone().into(),
        );
        if !self.contacts.is_empty() {
            m.insert("contacts".into(), self.contacts.clone().into());
        }
        for (k, v) in [
            ("scope", &self.scope),
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("policy_uri", &self.policy_uri),
            ("tos_uri", &self.tos_uri),
            ("software_id", &self.software_id),
            ("software_version", &self.software_version),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        m
    }
}

/// The grants a registered client may ask for: those of the code and device flows, and client
/// credentials for confidential clients (what `ClientType::allows_grant` also permits).
pub const REGISTRABLE_GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(uri: &str) -> Result<(), String> {
        if uri.starts_with("https://") || uri.starts_with("http://127.0.0.1") {
            Ok(())
        } else {
            Err(format!("redirect URI {uri:?} is not allowed"))
        }
    }

    #[test]
    fn defaults_make_a_confidential_code_client() {
        let m = Metadata::from_request(&json!({"redirect_uris": ["https://a.example/cb"]}), strict)
            .unwrap();
        assert_eq!(m.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(m.client_type(), ClientType::Confidential);
        assert_eq!(m.grant_types, ["authorization_code"]);
        assert_eq!(m.response_types, ["code"]);
        assert_eq!(m.client_name, DEFAULT_CLIENT_NAME);
        let echoed = Value::Object(m.to_json());
        assert_eq!(Metadata::from_request(&echoed, strict).unwrap(), m);
    }

    #[test]
    fn a_public_device_client_needs_no_redirect_uri() {
        let m = Metadata::from_request(
            &json!({"token_endpoint_auth_method": "none", "grant_types": [DEVICE_CODE_GRANT, "refresh_token"], "client_name": "DAQ host"}),
            strict,
        )
        .unwrap();
        assert_eq!(m.client_type(), ClientType::PublicInstalled);
        assert!(m.response_types.is_empty());
        assert_eq!(m.client_name, "DAQ host");
    }

    #[test]
    fn bad_metadata_gets_the_rfc_7591_code() {
        let cases = [
            (json!([]), "invalid_client_metadata"),
            (json!({}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                "invalid_client_metadata",
            ),
            (json!({"redirect_uris": [1]}), "invalid_client_metadata"),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": ""}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_uri": "javascript:alert(1)"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "jwks_uri": "https://a.example/jwks"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "software_statement": "e30.e30."}),
                "unapproved_software_statement",
            ),
            (
                json!({"redirect_uris": vec!["https://a.example/cb"; 21]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "application_type": "toaster"}),
                "invalid_client_metadata",
            ),
        ];
        for (body, code) in cases {
            let e = Metadata::from_request(&body, strict).unwrap_err();
            assert_eq!(e.code(), code, "{body}");
        }
    }

    #[test]
    fn unknown_metadata_is_dropped() {
        let m = Metadata::from_request(
            &json!({"redirect_uris": ["https://a.example/cb"], "frobnicate": true}),
            strict,
        )
        .unwrap();
        assert!(!m.to_json().contains_key("frobnicate"));
    }
}
