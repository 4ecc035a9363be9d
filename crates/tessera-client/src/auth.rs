//! The Globus Auth API: `AuthClient` as a confidential client (HTTP Basic, the Globus SDK's
//! `ConfidentialAppAuthClient`) or a native one (no secret, `client_id` in the form, PKCE: the
//! `NativeAppAuthClient`), and the native-app login flow.

#[cfg(doc)]
use crate::authorizer::AccessTokenAuthorizer;
use crate::authorizer::{Authorizer, BasicAuthorizer, NullAuthorizer};
use crate::core::{Call, Core};
use crate::ClientError;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use tessera_proto::api::{ScopeCreate, ScopeEnvelope, ScopeObject};
use tessera_proto::oauth::TokenResponse;

/// A client of the Auth API, confidential or native.
#[derive(Clone)]
pub struct AuthClient {
    core: Core,
    base: String,
    client_id: String,
    /// `None`: a native (public) client.
    basic: Option<BasicAuthorizer>,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("confidential", &self.basic.is_some())
            .finish()
    }
}

/// The `/v2/oauth2/userinfo` claims (those the token's scopes allow).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    /// With `…:view_identity_set`: every identity linked with this one.
    #[serde(default)]
    pub identity_set: Vec<LinkedIdentity>,
    /// The other claims, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct LinkedIdentity {
    pub sub: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub identity_provider_display_name: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl AuthClient {
    /// A confidential client. `base_url` with or without a trailing slash.
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Result<Self, ClientError> {
        let mut c = Self::native(base_url, client_id)?;
        c.basic = Some(BasicAuthorizer::new(client_id, client_secret));
        Ok(c)
    }

    /// A native (public) client: no secret; logs people in with PKCE.
    pub fn native(base_url: &str, client_id: &str) -> Result<Self, ClientError> {
        Ok(Self {
            core: Core::new(Duration::from_secs(30))?,
            base: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            basic: None,
        })
    }

    /// Replaces the retry policy (default: [`RetryPolicy::default`](crate::RetryPolicy)).
    pub fn with_retry(mut self, retry: crate::RetryPolicy) -> Self {
        self.core.retry = retry;
        self
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn is_confidential(&self) -> bool {
        self.basic.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    fn client_auth(&self) -> &dyn Authorizer {
        match &self.basic {
            Some(b) => b,
            None => &NullAuthorizer,
        }
    }

    /// A form to the token endpoints: Basic for a confidential client, `client_id` in the
    /// form for a native one (spec §2.3).
    async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let mut form = form.to_vec();
        if self.basic.is_none() {
            form.push(("client_id", &self.client_id));
        }
        let call = Call::new(Method::POST, self.url(path)).form(&form)?;
        self.core.json(&call, self.client_auth()).await
    }

    /// RFC 6749 §4.4 (confidential clients).
    pub async fn client_credentials(&self, scope: &str) -> Result<TokenResponse, ClientError> {
        self.post_form(
            "v2/oauth2/token",
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await
    }

    /// RFC 6749 §6: new tokens for the refresh token's resource server (its refresh token
    /// rotated: keep the new one).
    pub async fn refresh_token(&self, refresh_token: &str) -> Result<TokenResponse, ClientError> {
        self.post_form(
            "v2/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// RFC 6749 §4.1.3 with RFC 7636's `code_verifier` when the flow used PKCE.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, ClientError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = code_verifier {
            form.push(("code_verifier", v));
        }
        self.post_form("v2/oauth2/token", &form).await
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

    /// RFC 7009: revokes an access or refresh token of this client.
    pub async fn revoke(&self, token: &str) -> Result<(), ClientError> {
        let _: Value = self
            .post_form("v2/oauth2/token/revoke", &[("token", token)])
            .await?;
        Ok(())
    }

    /// OIDC UserInfo, with an authorizer for `auth.globus.org` whose token has `openid`
    /// (an [`AccessTokenAuthorizer`] or a renewing one).
    pub async fn userinfo(&self, user: &dyn Authorizer) -> Result<UserInfo, ClientError> {
        let call = Call::new(Method::GET, self.url("v2/oauth2/userinfo"));
        self.core.json(&call, user).await
    }

    /// Starts a native-app login (PKCE S256) to `redirect_uri` (this server's
    /// `/v2/web/auth-code` page when `None`, where a person copies the code from).
    ///
    /// ```
    /// use tessera_client::AuthClient;
    ///
    /// let auth = AuthClient::native("https://auth.example.org", "my-native-app-id")?;
    /// let flow = auth.start_native_flow(&["openid", "profile"], None, true);
    /// let url = flow.authorize_url();
    /// assert!(url.starts_with("https://auth.example.org/v2/oauth2/authorize?client_id=my-native-app-id"));
    /// assert!(url.contains("code_challenge_method=S256"));
    /// assert!(url.contains("access_type=offline"));
    /// // Then, with the code the person pasted: `flow.exchange(&code).await?`.
    /// # Ok::<(), tessera_client::ClientError>(())
    /// ```
    pub fn start_native_flow(
        &self,
        scopes: &[&str],
        redirect_uri: Option<&str>,
        refresh_tokens: bool,
    ) -> NativeFlow {
        let redirect_uri = redirect_uri
            .map(str::to_owned)
            .unwrap_or_else(|| self.url("v2/web/auth-code"));
        NativeFlow {
            auth: self.clone(),
            redirect_uri,
            scopes: scopes.join(" "),
            pkce: crate::pkce::Pkce::generate(),
            state: crate::pkce::random_state(),
            refresh_tokens,
            prefill_named_grant: None,
        }
    }

    /// Starts a web app's sign-in: the authorization code grant (RFC 6749 §4.1) with PKCE S256
    /// and a random `state`, back to the app's own registered `redirect_uri`. A confidential
    /// client exchanges the code with its secret *and* the verifier. Keep the flow on the server
    /// (never in the browser) until the redirect returns, and compare its
    /// [`state`](NativeFlow::state) with the one that came back before [`exchange`](NativeFlow::exchange).
    ///
    /// ```
    /// use tessera_client::AuthClient;
    ///
    /// let portal = AuthClient::new("https://auth.example.org", "portal-id", "portal-secret")?;
    /// let flow = portal.start_authorization_code_flow(
    ///     &["openid", "profile", "urn:globus:auth:scope:transfer.api.globus.org:all"],
    ///     "https://portal.example.org/callback",
    ///     false,
    /// );
    /// let url = flow.authorize_url();
    /// assert!(url.contains("redirect_uri=https%3A%2F%2Fportal.example.org%2Fcallback"));
    /// assert!(url.contains(&format!("state={}", flow.state())));
    /// // Later, in the callback: check `state`, then `flow.exchange(&code).await?`.
    /// # Ok::<(), tessera_client::ClientError>(())
    /// ```
    pub fn start_authorization_code_flow(
        &self,
        scopes: &[&str],
        redirect_uri: &str,
        refresh_tokens: bool,
    ) -> NativeFlow {
        self.start_native_flow(scopes, Some(redirect_uri), refresh_tokens)
    }

    /// Creates a scope owned by this (confidential) client.
    pub async fn create_scope(&self, scope: ScopeCreate) -> Result<ScopeObject, ClientError> {
        let call = Call::new(
            Method::POST,
            self.url(&format!("v2/api/clients/{}/scopes", self.client_id)),
        )
        .json(&ScopeEnvelope { scope })?;
        let e: ScopeEnvelope<ScopeObject> = self.core.json(&call, self.client_auth()).await?;
        Ok(e.scope)
    }

    /// Registers `fqdn` for this client after the server has found a DNS TXT record at it whose
    /// value is the client id; the client object as it is now.
    pub async fn add_fqdn(&self, fqdn: &str) -> Result<Value, ClientError> {
        let call = Call::new(
            Method::POST,
            self.url(&format!("v2/api/clients/{}/fqdns", self.client_id)),
        )
        .json(&serde_json::json!({ "fqdn": fqdn }))?;
        let mut v: Value = self.core.json(&call, self.client_auth()).await?;
        Ok(v["client"].take())
    }

    /// Removes `fqdn` from this client; the client object as it is now.
    pub async fn remove_fqdn(&self, fqdn: &str) -> Result<Value, ClientError> {
        let mut url =
            reqwest::Url::parse(&self.url(&format!("v2/api/clients/{}/fqdns", self.client_id)))
                .map_err(|e| ClientError::Usage(format!("bad auth server URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Usage("bad auth server URL".into()))?
            .push(fqdn);
        let call = Call::new(Method::DELETE, url.to_string());
        let mut v: Value = self.core.json(&call, self.client_auth()).await?;
        Ok(v["client"].take())
    }

    /// The scopes with these scope strings (unknown ones are absent from the answer).
    pub async fn scopes_by_strings(
        &self,
        strings: &[String],
    ) -> Result<Vec<ScopeObject>, ClientError> {
        #[derive(Deserialize)]
        struct Scopes {
            scopes: Vec<ScopeObject>,
        }
        let joined = strings.join(",");
        let query = [("scope_strings", joined.as_str())];
        let call = Call::new(Method::GET, self.url("v2/api/scopes")).query(&query);
        let s: Scopes = self.core.json(&call, self.client_auth()).await?;
        Ok(s.scopes)
    }
}

/// A native-app login under way: send the person to [`authorize_url`](Self::authorize_url),
/// then [`exchange`](Self::exchange) the code they bring back. `Debug` hides the verifier.
pub struct NativeFlow {
    auth: AuthClient,
    redirect_uri: String,
    scopes: String,
    pkce: crate::pkce::Pkce,
    state: String,
    refresh_tokens: bool,
    prefill_named_grant: Option<String>,
}

impl std::fmt::Debug for NativeFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeFlow")
            .field("client_id", &self.auth.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl NativeFlow {
    /// Names the grant on the consent page ("tessera CLI on host").
    pub fn prefill_named_grant(mut self, name: &str) -> Self {
        self.prefill_named_grant = Some(name.to_owned());
        self
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The `state` the redirect must bring back.
    pub fn state(&self) -> &str {
        &self.state
    }

    pub fn authorize_url(&self) -> String {
        let mut q = vec![
            ("client_id", self.auth.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scopes.as_str()),
            ("state", self.state.as_str()),
            ("response_type", "code"),
            ("code_challenge", self.pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            (
                "access_type",
                if self.refresh_tokens {
                    "offline"
                } else {
                    "online"
                },
            ),
        ];
        if let Some(n) = &self.prefill_named_grant {
            q.push(("prefill_named_grant", n));
        }
        let query = serde_urlencoded::to_string(&q).unwrap_or_default();
        format!("{}?{query}", self.auth.url("v2/oauth2/authorize"))
    }

    /// Trades the code for tokens (with the PKCE verifier).
    pub async fn exchange(&self, code: &str) -> Result<TokenResponse, ClientError> {
        self.auth
            .exchange_code(code.trim(), &self.redirect_uri, Some(&self.pkce.verifier))
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = AuthClient::new("http://127.0.0.1:1/", "id", "tcs_secret").unwrap();
        assert!(!format!("{c:?}").contains("tcs_secret"));
    }

    #[test]
    fn the_authorize_url_carries_pkce_and_state_but_not_the_verifier() {
        let c = AuthClient::native("http://127.0.0.1:1/", "cid").unwrap();
        let flow = c
            .start_native_flow(&["openid", "email"], Some("http://127.0.0.1:5/"), false)
            .prefill_named_grant("cli on host");
        let url = url::Url::parse(&flow.authorize_url()).unwrap();
        assert_eq!(url.path(), "/v2/oauth2/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["scope"], "openid email");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:5/");
        assert_eq!(q["access_type"], "online");
        assert_eq!(q["state"], flow.state());
        assert_eq!(q["prefill_named_grant"], "cli on host");
        assert_eq!(q["code_challenge"], flow.pkce.challenge);
        assert!(!url.as_str().contains(&flow.pkce.verifier));
        assert!(!format!("{flow:?}").contains(&flow.pkce.verifier));
        let default = c.start_native_flow(&["openid"], None, true);
        assert_eq!(
            default.redirect_uri(),
            "http://127.0.0.1:1/v2/web/auth-code"
        );
    }
}
