//! A Rust client for the Globus Auth API as Tessera serves it: what `globus_sdk`'s
//! `ConfidentialAppAuthClient` does, for the operations Tessera's own commands need; and small
//! `GroupsClient` and `TransferClient`s for the Groups v2 and Transfer v0.10 APIs.
//!
//! It speaks only HTTP and the wire types of `tessera-proto`; it must never depend on the
//! server's crates, so that it stays usable by any Rust program talking to any deployment.

pub mod groups;
pub mod transfer;

pub use groups::GroupsClient;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_proto::api::{ScopeCreate, ScopeEnvelope, ScopeObject};
use tessera_proto::oauth::TokenResponse;
pub use transfer::TransferClient;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not reach the server: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered with an error; `message` is its own description.
    #[error("HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// A confidential client's credentials and the server they are for.
pub struct AuthClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    /// Sent in HTTP Basic as it is, not form-encoded first as RFC 6749 §2.3.1 would have it:
    /// the Globus SDK sends it so, so every server it works with reads that form (Tessera reads
    /// both).
    client_secret: String,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl AuthClient {
    /// `base_url` with or without a trailing slash.
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(ClientError::Api {
                status: status.as_u16(),
                message: error_message(status, &body),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let r = self
            .http
            .post(self.url(path))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await?;
        Self::decode(r).await
    }

    /// RFC 6749 §4.4.
    pub async fn client_credentials(&self, scope: &str) -> Result<TokenResponse, ClientError> {
        self.post_form(
            "v2/oauth2/token",
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await
    }

    /// RFC 7662; `include` as Globus takes it (`identity_set,session_info`).
    pub async fn introspect(
        &self,
        token: &str,
        include: Option<&str>,
    ) -> Result<Value, ClientError> {
        let mut form = vec![("token", token)];
        if let Some(i) = include {
            form.push(("include", i));
        }
        self.post_form("v2/oauth2/token/introspect", &form).await
    }

    /// RFC 7009.
    pub async fn revoke(&self, token: &str) -> Result<(), ClientError> {
        let _: Value = self
            .post_form("v2/oauth2/token/revoke", &[("token", token)])
            .await?;
        Ok(())
    }

    /// Creates a scope owned by this client.
    pub async fn create_scope(&self, scope: ScopeCreate) -> Result<ScopeObject, ClientError> {
        let r = self
            .http
            .post(self.url(&format!("v2/api/clients/{}/scopes", self.client_id)))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .json(&ScopeEnvelope { scope })
            .send()
            .await?;
        Ok(Self::decode::<ScopeEnvelope<ScopeObject>>(r).await?.scope)
    }

    /// Registers `fqdn` for this client after the server has found a DNS TXT record at it whose
    /// value is the client id; the client object as it is now.
    pub async fn add_fqdn(&self, fqdn: &str) -> Result<Value, ClientError> {
        let r = self
            .http
            .post(self.url(&format!("v2/api/clients/{}/fqdns", self.client_id)))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .json(&serde_json::json!({ "fqdn": fqdn }))
            .send()
            .await?;
        Ok(Self::decode::<Value>(r).await?["client"].take())
    }

    /// Removes `fqdn` from this client; the client object as it is now.
    pub async fn remove_fqdn(&self, fqdn: &str) -> Result<Value, ClientError> {
        let mut url =
            reqwest::Url::parse(&self.url(&format!("v2/api/clients/{}/fqdns", self.client_id)))
                .map_err(|e| ClientError::Decode(format!("bad auth server URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Decode("bad auth server URL".into()))?
            .push(fqdn);
        let r = self
            .http
            .delete(url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .send()
            .await?;
        Ok(Self::decode::<Value>(r).await?["client"].take())
    }

    /// The scopes with these scope strings (unknown ones are absent from the answer).
    pub async fn scopes_by_strings(
        &self,
        strings: &[String],
    ) -> Result<Vec<ScopeObject>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Scopes {
            scopes: Vec<ScopeObject>,
        }
        let r = self
            .http
            .get(self.url("v2/api/scopes"))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .query(&[("scope_strings", strings.join(","))])
            .send()
            .await?;
        Ok(Self::decode::<Scopes>(r).await?.scopes)
    }
}

/// The most useful text of an error body: OAuth `error_description`/`error`, the Globus
/// `errors[0].detail`, or the status line.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let pick = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    // The Globus envelope also carries `error_description`, but only as the status title; its
    // `detail` says what happened.
    v.get("errors")
        .and_then(|e| e.get(0))
        .and_then(|e| {
            let detail = pick(e, "detail")?;
            Some(match pick(e, "code") {
                Some(code) => format!("{code}: {detail}"),
                None => detail,
            })
        })
        .or_else(|| {
            pick(&v, "error_description").map(|d| match pick(&v, "error") {
                Some(e) => format!("{e}: {d}"),
                None => d,
            })
        })
        .or_else(|| pick(&v, "error"))
        .unwrap_or_else(|| status.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_prefer_the_servers_words() {
        let m = error_message(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_scope","error_description":"unknown scope: x"}"#,
        );
        assert_eq!(m, "invalid_scope: unknown scope: x");
        let m = error_message(StatusCode::FORBIDDEN, br#"{"errors":[{"detail":"nope"}]}"#);
        assert_eq!(m, "nope");
        let m = error_message(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"errors":[{"code":"SERVICE_UNAVAILABLE","detail":"DNS timed out"}],"error":"service_unavailable","error_description":"Service Unavailable"}"#,
        );
        assert_eq!(m, "SERVICE_UNAVAILABLE: DNS timed out");
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, b"<html>"),
            "502 Bad Gateway"
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = AuthClient::new("http://127.0.0.1:1/", "id", "tcs_secret").unwrap();
        assert!(!format!("{c:?}").contains("tcs_secret"));
    }
}
