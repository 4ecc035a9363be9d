//! Authorizers: what goes into a request's `Authorization` header, and what to do when the
//! server answers 401. The Globus SDK's `AccessTokenAuthorizer`, `RefreshTokenAuthorizer` and
//! `ClientCredentialsAuthorizer`, written for Rust.
//!
//! Renewing authorizers get a new access token when the one they hold expires within
//! [`EXPIRY_MARGIN_SECONDS`], and once more when the server answers 401 anyway (a revoked or
//! rotated-out token): the request is then sent again, once.

use crate::auth::AuthClient;
use crate::tokens::{system_clock, Clock, TokenData};
use crate::ClientError;
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Renew an access token this many seconds before it expires (the Globus SDK's 60 s).
pub const EXPIRY_MARGIN_SECONDS: i64 = 60;

#[async_trait]
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// The `Authorization` header value for the next request, or `None` for none.
    async fn authorization(&self) -> Result<Option<String>, ClientError>;

    /// The server answered 401: get new credentials if possible. `true` means the request is
    /// worth sending again (once).
    async fn handle_unauthorized(&self) -> bool {
        false
    }
}

/// No `Authorization` header (native clients at the token endpoint, public pages).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullAuthorizer;

#[async_trait]
impl Authorizer for NullAuthorizer {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        Ok(None)
    }
}

/// A fixed bearer token; a 401 is final.
///
/// ```
/// use tessera_client::AccessTokenAuthorizer;
/// let a = AccessTokenAuthorizer::new("secret-token");
/// assert!(!format!("{a:?}").contains("secret-token"));
/// ```
#[derive(Clone)]
pub struct AccessTokenAuthorizer {
    token: String,
}

impl AccessTokenAuthorizer {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
        }
    }
}

impl fmt::Debug for AccessTokenAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessTokenAuthorizer([redacted])")
    }
}

#[async_trait]
impl Authorizer for AccessTokenAuthorizer {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        Ok(Some(format!("Bearer {}", self.token)))
    }
}

/// HTTP Basic with a client's id and secret (how confidential clients call Auth).
#[derive(Clone)]
pub struct BasicAuthorizer {
    header: String,
}

impl BasicAuthorizer {
    /// The secret goes in as it is, not form-encoded first as RFC 6749 §2.3.1 would have it:
    /// the Globus SDK sends it so, so every server it works with reads that form.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        use base64::Engine;
        let raw = format!("{client_id}:{client_secret}");
        Self {
            header: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
        }
    }
}

impl fmt::Debug for BasicAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuthorizer([redacted])")
    }
}

#[async_trait]
impl Authorizer for BasicAuthorizer {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        Ok(Some(self.header.clone()))
    }
}

/// Called with the new token after every renewal, to persist it (a refresh token is rotated:
/// the old one stops working). An error fails the call that caused the renewal, so a program
/// learns that its new tokens were not saved.
pub type OnRefresh = Arc<dyn Fn(&TokenData) -> Result<(), ClientError> + Send + Sync>;

/// The state and policy of a renewing authorizer.
struct Renewing {
    token: Mutex<TokenData>,
    on_refresh: Option<OnRefresh>,
    clock: Clock,
    margin: i64,
}

impl Renewing {
    fn new(token: TokenData) -> Self {
        Self {
            token: Mutex::new(token),
            on_refresh: None,
            clock: system_clock(),
            margin: EXPIRY_MARGIN_SECONDS,
        }
    }

    async fn header<F, Fut>(&self, renew: F) -> Result<Option<String>, ClientError>
    where
        F: FnOnce(TokenData) -> Fut,
        Fut: std::future::Future<Output = Result<TokenData, ClientError>>,
    {
        let mut t = self.token.lock().await;
        if t.access_token.is_empty() || t.expires_within((self.clock)(), self.margin) {
            *t = self.renewed(renew(t.clone()).await?)?;
        }
        Ok(Some(format!("Bearer {}", t.access_token)))
    }

    async fn after_401<F, Fut>(&self, renew: F) -> bool
    where
        F: FnOnce(TokenData) -> Fut,
        Fut: std::future::Future<Output = Result<TokenData, ClientError>>,
    {
        let mut t = self.token.lock().await;
        match renew(t.clone()).await.and_then(|n| self.renewed(n)) {
            Ok(n) => {
                *t = n;
                true
            }
            Err(_) => false,
        }
    }

    fn renewed(&self, new: TokenData) -> Result<TokenData, ClientError> {
        if let Some(hook) = &self.on_refresh {
            hook(&new)?;
        }
        Ok(new)
    }
}

/// A user's tokens for one resource server, renewed with the refresh token before the access
/// token expires and after a 401. Each renewal's new token (with its rotated refresh token)
/// goes to the [`on_refresh`](Self::on_refresh) hook.
///
/// ```no_run
/// use std::sync::Arc;
/// use tessera_client::storage::{JsonFileTokenStorage, TokenStorage};
/// use tessera_client::{AuthClient, RefreshTokenAuthorizer, TransferClient};
///
/// # async fn run() -> Result<(), tessera_client::ClientError> {
/// let server = "https://auth.example.org";
/// let storage = Arc::new(JsonFileTokenStorage::new("tokens.json"));
/// let login = storage.get(server)?.expect("logged in");
/// let token = login.tokens["transfer.api.globus.org"].clone();
/// let auth = AuthClient::native(server, login.client_id.as_deref().unwrap_or_default())?;
/// let keep = storage.clone();
/// let authorizer = RefreshTokenAuthorizer::new(token, auth)?
///     .on_refresh(move |t| Ok(keep.store_token(server, t)?));
/// let transfer = TransferClient::with_authorizer(server, Arc::new(authorizer))?;
/// println!("{}", transfer.submission_id().await?);
/// # Ok(()) }
/// ```
pub struct RefreshTokenAuthorizer {
    auth: AuthClient,
    state: Renewing,
}

impl RefreshTokenAuthorizer {
    /// `token` must carry a refresh token; its access token is used until it nears expiry (an
    /// empty one is renewed at once).
    pub fn new(token: TokenData, auth: AuthClient) -> Result<Self, ClientError> {
        if token.refresh_token.as_deref().is_none_or(str::is_empty) {
            return Err(ClientError::Usage(format!(
                "no refresh token for {}: log in again",
                token.resource_server
            )));
        }
        Ok(Self {
            auth,
            state: Renewing::new(token),
        })
    }

    pub fn on_refresh(
        mut self,
        hook: impl Fn(&TokenData) -> Result<(), ClientError> + Send + Sync + 'static,
    ) -> Self {
        self.state.on_refresh = Some(Arc::new(hook));
        self
    }

    /// Replaces the clock (tests move time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.state.clock = clock;
        self
    }

    /// The tokens held now.
    pub async fn current(&self) -> TokenData {
        self.state.token.lock().await.clone()
    }

    async fn refresh(&self, old: TokenData) -> Result<TokenData, ClientError> {
        let rt = old.refresh_token.clone().unwrap_or_default();
        let response = self.auth.refresh_token(&rt).await?;
        let now = (self.state.clock)();
        let fresh = std::iter::once(&response.top)
            .chain(&response.other_tokens)
            .find(|t| t.resource_server == old.resource_server)
            .unwrap_or(&response.top);
        let mut new = TokenData::from_info(fresh, now);
        // A server that does not rotate answers without one: the old one still holds.
        if new.refresh_token.is_none() {
            new.refresh_token = old.refresh_token;
        }
        Ok(new)
    }
}

impl fmt::Debug for RefreshTokenAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenAuthorizer")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authorizer for RefreshTokenAuthorizer {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        self.state.header(|old| self.refresh(old)).await
    }

    async fn handle_unauthorized(&self) -> bool {
        self.state.after_401(|old| self.refresh(old)).await
    }
}

/// A confidential client acting as itself: client-credentials tokens for `scopes` (one
/// resource server), fetched on first use and again before expiry or after a 401.
///
/// ```no_run
/// use std::sync::Arc;
/// use tessera_client::{AuthClient, ClientCredentialsAuthorizer, TransferClient};
/// use tessera_client::transfer::TRANSFER_ALL;
///
/// # async fn run() -> Result<(), tessera_client::ClientError> {
/// let auth = AuthClient::new("https://auth.example.org", "client-id", "client-secret")?;
/// let authorizer = ClientCredentialsAuthorizer::new(auth, TRANSFER_ALL);
/// let transfer = TransferClient::with_authorizer("https://auth.example.org", Arc::new(authorizer))?;
/// let ls = transfer.ls("endpoint-id", "/").await?;
/// println!("{} entries", ls.data.len());
/// # Ok(()) }
/// ```
pub struct ClientCredentialsAuthorizer {
    auth: AuthClient,
    scopes: String,
    state: Renewing,
}

impl ClientCredentialsAuthorizer {
    pub fn new(auth: AuthClient, scopes: &str) -> Self {
        let empty = TokenData {
            resource_server: String::new(),
            scope: scopes.to_owned(),
            access_token: String::new(),
            refresh_token: None,
            expires_at_seconds: 0,
            token_type: "Bearer".into(),
        };
        Self {
            auth,
            scopes: scopes.to_owned(),
            state: Renewing::new(empty),
        }
    }

    pub fn on_refresh(
        mut self,
        hook: impl Fn(&TokenData) -> Result<(), ClientError> + Send + Sync + 'static,
    ) -> Self {
        self.state.on_refresh = Some(Arc::new(hook));
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.state.clock = clock;
        self
    }

    async fn fetch(&self) -> Result<TokenData, ClientError> {
        let response = self.auth.client_credentials(&self.scopes).await?;
        if !response.other_tokens.is_empty() {
            return Err(ClientError::Usage(format!(
                "{:?} spans several resource servers; a client-credentials authorizer is for one",
                self.scopes
            )));
        }
        Ok(TokenData::from_info(&response.top, (self.state.clock)()))
    }
}

impl fmt::Debug for ClientCredentialsAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsAuthorizer")
            .field("auth", &self.auth)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authorizer for ClientCredentialsAuthorizer {
    async fn authorization(&self) -> Result<Option<String>, ClientError> {
        self.state.header(|_| self.fetch()).await
    }

    async fn handle_unauthorized(&self) -> bool {
        self.state.after_401(|_| self.fetch()).await
    }
}
