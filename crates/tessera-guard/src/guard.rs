//! The guard: cached introspection and cached dependent tokens.

use crate::jwt::JwtVerifier;
use crate::GuardError;
use quick_cache::sync::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the guard knows about an active token (from RFC 7662 introspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub sub: String,
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub aud: Vec<String>,
    pub exp: i64,
    /// The user's linked identities (`include=identity_set`).
    pub identity_set: Vec<String>,
    /// The auth server's judgement, when the token was introspected, of each authentication
    /// policy this guard was built with (`GuardBuilder::authentication_policies`): policy id →
    /// satisfied now.
    pub policy_evaluations: std::collections::BTreeMap<String, bool>,
}

#[derive(Deserialize)]
struct Introspection {
    active: bool,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    aud: Vec<String>,
    #[serde(default)]
    exp: i64,
    #[serde(default)]
    identity_set: Vec<String>,
    #[serde(default)]
    policy_evaluations: std::collections::BTreeMap<String, Evaluation>,
}

#[derive(Deserialize)]
struct Evaluation {
    #[serde(default)]
    evaluation: bool,
}

/// A cached introspection answer; `None` is "not active" (negative caching).
#[derive(Clone)]
struct Entry {
    info: Option<Arc<TokenInfo>>,
    until: Instant,
}

/// A token this service obtained for a downstream one with the dependent grant.
#[derive(Debug, Clone, Deserialize)]
pub struct DependentToken {
    pub access_token: String,
    pub scope: String,
    pub resource_server: String,
    pub expires_in: i64,
}

#[derive(Clone)]
struct DependentEntry {
    token: Arc<DependentToken>,
    until: Instant,
}

type Key = [u8; 32];

/// Protects a service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    token_url: String,
    introspect_url: String,
    client_id: String,
    /// Sent in HTTP Basic as it is, not form-encoded first as RFC 6749 §2.3.1 would have it:
    /// the Globus SDK sends it so, so every server it works with reads that form (Tessera reads
    /// both).
    client_secret: String,
    /// This service's resource-server name; a token must name it in `aud`.
    audience: Option<String>,
    ttl: Duration,
    negative_ttl: Duration,
    cache: Cache<Key, Entry>,
    dependent: Cache<(Key, String), DependentEntry>,
    /// Calls made to the auth server, for metrics and tests.
    introspections: AtomicU64,
    /// Offline validation of JWT access tokens.
    jwt: JwtVerifier,
    /// What this service requires of the session behind a token (see `require_policies`).
    requirements: SessionRequirements,
}

/// The authentication policies a service requires, and what its 403 then asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionRequirements {
    pub(crate) policies: Vec<String>,
    pub(crate) mfa: bool,
    pub(crate) message: Option<String>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("introspect_url", &self.inner.introspect_url)
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &"[redacted]")
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

pub struct GuardBuilder {
    base: String,
    client_id: String,
    client_secret: String,
    audience: Option<String>,
    ttl: Duration,
    negative_ttl: Duration,
    capacity: usize,
    timeout: Duration,
    jwks_max_age: Duration,
    jwks_min_refetch: Duration,
    leeway: Duration,
    algorithms: Vec<jsonwebtoken::Algorithm>,
    requirements: SessionRequirements,
}

impl GuardBuilder {
    /// Authentication policies (ids) every token's session must satisfy, judged by the auth
    /// server at introspection (`authentication_policies`, so a policy's
    /// `authentication_assurance_timeout` expires access). [`crate::Authenticated::require_policies`]
    /// refuses otherwise with a 403 carrying `authorization_parameters`. JWT access tokens are
    /// introspected too when policies are set: they carry no judgement of their own.
    pub fn authentication_policies<S: Into<String>>(
        mut self,
        ids: impl IntoIterator<Item = S>,
    ) -> Self {
        self.requirements.policies = ids.into_iter().map(Into::into).collect();
        self
    }
    /// Ask for `session_required_mfa` in the refusal (the policy requires MFA).
    pub fn session_required_mfa(mut self, mfa: bool) -> Self {
        self.requirements.mfa = mfa;
        self
    }
    /// The `session_message` of the refusal, shown to the person on the sign-in page.
    pub fn session_message(mut self, message: impl Into<String>) -> Self {
        self.requirements.message = Some(message.into());
        self
    }
    /// How long fetched signing keys are used before they are fetched again (default 5 min).
    pub fn jwks_max_age(mut self, d: Duration) -> Self {
        self.jwks_max_age = d;
        self
    }
    /// The shortest time between two fetches for an unknown `kid` (default 10 s): a flood of
    /// made-up key ids costs the auth server one request per interval.
    pub fn jwks_min_refetch(mut self, d: Duration) -> Self {
        self.jwks_min_refetch = d;
        self
    }
    /// Clock leeway for `exp`/`nbf` of JWT access tokens (default 30 s).
    pub fn leeway(mut self, d: Duration) -> Self {
        self.leeway = d;
        self
    }
    /// The JWT signature algorithms accepted (default ES256 and EdDSA).
    pub fn algorithms(mut self, algs: &[jsonwebtoken::Algorithm]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }
    /// How long an introspection answer is trusted (default 10 s). A revoked token keeps
    /// working for at most this long.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// How long "not active" is remembered (default 2 s), so junk tokens cost one call each.
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }
    /// Require this resource-server name in the token's `aud`.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries.max(1);
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    pub fn build(self) -> Result<Guard, GuardError> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("tessera-guard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GuardError::Unavailable(e.to_string()))?;
        let base = self.base.trim_end_matches('/').to_owned();
        // A JWT names its resource server in `aud`; Tessera's default name is the client id.
        let jwt_audience = self
            .audience
            .clone()
            .unwrap_or_else(|| self.client_id.clone());
        let jwt = JwtVerifier::new(
            http.clone(),
            &base,
            jwt_audience,
            self.algorithms,
            self.jwks_max_age,
            self.jwks_min_refetch,
            self.leeway,
        );
        Ok(Guard {
            inner: Arc::new(Inner {
                http,
                token_url: format!("{base}/v2/oauth2/token"),
                introspect_url: format!("{base}/v2/oauth2/token/introspect"),
                client_id: self.client_id,
                client_secret: self.client_secret,
                audience: self.audience,
                ttl: self.ttl,
                negative_ttl: self.negative_ttl,
                cache: Cache::new(self.capacity),
                dependent: Cache::new(self.capacity),
                introspections: AtomicU64::new(0),
                jwt,
                requirements: self.requirements,
            }),
        })
    }
}

fn key(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

/// Wall time for `exp` checks. The guard is a library for other services, which have no
/// injected clock to hand it; its TTLs use the monotonic `Instant`.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Guard {
    /// A guard for the service whose confidential client is `client_id`/`client_secret`, talking
    /// to the auth server at `auth_url`.
    pub fn builder(auth_url: &str, client_id: &str, client_secret: &str) -> GuardBuilder {
        GuardBuilder {
            base: auth_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            audience: None,
            ttl: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(2),
            capacity: 100_000,
            timeout: Duration::from_secs(10),
            jwks_max_age: Duration::from_secs(300),
            jwks_min_refetch: Duration::from_secs(10),
            leeway: Duration::from_secs(30),
            algorithms: vec![
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::Algorithm::EdDSA,
            ],
            requirements: SessionRequirements::default(),
        }
    }

    /// How many times this guard fetched the JWKS.
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.jwt.fetches()
    }

    /// How many introspection calls this guard has made.
    pub fn introspections(&self) -> u64 {
        self.inner.introspections.load(Ordering::Relaxed)
    }

    /// The token's information if it is active (and meant for this service), from the cache
    /// when fresh. Concurrent misses for one token share one call.
    pub async fn validate(&self, token: &str) -> Result<Arc<TokenInfo>, GuardError> {
        // RFC 9068 JWTs are checked offline; opaque tokens (no dots) are introspected.
        if token.bytes().filter(|b| *b == b'.').count() == 2
            && self.inner.requirements.policies.is_empty()
        {
            return self.inner.jwt.validate(token).await.map(Arc::new);
        }
        let k = key(token);
        loop {
            match self.inner.cache.get_value_or_guard_async(&k).await {
                Ok(entry) if entry.until > Instant::now() => {
                    return entry
                        .info
                        .filter(|i| i.exp > unix_now())
                        .ok_or(GuardError::InvalidToken);
                }
                Ok(_) => {
                    // Stale: drop it and take the loader's place (or wait for whoever did).
                    self.inner.cache.remove(&k);
                }
                Err(placeholder) => {
                    let info = self.introspect(token).await?;
                    let ttl = if info.is_some() {
                        self.inner.ttl
                    } else {
                        self.inner.negative_ttl
                    };
                    let _ = placeholder.insert(Entry {
                        info: info.clone(),
                        until: Instant::now() + ttl,
                    });
                    return info.ok_or(GuardError::InvalidToken);
                }
            }
        }
    }

    fn introspection_form<'a>(
        &'a self,
        token: &'a str,
    ) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
        let mut form = vec![
            ("token", std::borrow::Cow::Borrowed(token)),
            ("include", std::borrow::Cow::Borrowed("identity_set")),
        ];
        if !self.inner.requirements.policies.is_empty() {
            form.push((
                "authentication_policies",
                std::borrow::Cow::Owned(self.inner.requirements.policies.join(",")),
            ));
        }
        form
    }

    /// The refusal for a token whose session does not satisfy the policies: which failed, and
    /// what the person must do (sign in again, with MFA when the service asks for it).
    pub(crate) fn policy_refusal(&self, info: &TokenInfo) -> Option<GuardError> {
        let r = &self.inner.requirements;
        let failed: Vec<String> = r
            .policies
            .iter()
            .filter(|id| !info.policy_evaluations.get(*id).copied().unwrap_or(false))
            .cloned()
            .collect();
        if failed.is_empty() {
            return None;
        }
        Some(GuardError::AuthorizationRequired(Box::new(
            crate::AuthorizationParameters {
                session_message: Some(r.message.clone().unwrap_or_else(|| {
                    "This service requires a recent sign-in that meets its authentication policy."
                        .into()
                })),
                session_required_policies: failed,
                session_required_mfa: r.mfa.then_some(true),
                prompt: Some("login".into()),
                ..Default::default()
            },
        )))
    }

    async fn introspect(&self, token: &str) -> Result<Option<Arc<TokenInfo>>, GuardError> {
        self.inner.introspections.fetch_add(1, Ordering::Relaxed);
        let response = self
            .inner
            .http
            .post(&self.inner.introspect_url)
            .basic_auth(&self.inner.client_id, Some(&self.inner.client_secret))
            .form(&self.introspection_form(token))
            .send()
            .await
            .map_err(|e| GuardError::Unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(GuardError::Unavailable(format!(
                "introspection answered HTTP {}",
                response.status()
            )));
        }
        let body: Introspection = response
            .json()
            .await
            .map_err(|e| GuardError::Unavailable(e.to_string()))?;
        if !body.active {
            return Ok(None);
        }
        if let Some(aud) = &self.inner.audience {
            if !body.aud.contains(aud) {
                return Ok(None);
            }
        }
        Ok(Some(Arc::new(TokenInfo {
            sub: body.sub,
            username: body.username,
            client_id: body.client_id,
            scopes: body.scope.split_whitespace().map(str::to_owned).collect(),
            aud: body.aud,
            exp: body.exp,
            identity_set: body.identity_set,
            policy_evaluations: body
                .policy_evaluations
                .into_iter()
                .map(|(id, e)| (id, e.evaluation))
                .collect(),
        })))
    }

    /// A token for `scope` of a downstream service on behalf of the user of `token` (the
    /// dependent grant), cached until a minute before it expires.
    pub async fn dependent_token(
        &self,
        token: &str,
        scope: &str,
    ) -> Result<Arc<DependentToken>, GuardError> {
        let k = (key(token), scope.to_owned());
        if let Some(e) = self.inner.dependent.get(&k) {
            if e.until > Instant::now() {
                return Ok(e.token);
            }
        }
        let response = self
            .inner
            .http
            .post(&self.inner.token_url)
            .basic_auth(&self.inner.client_id, Some(&self.inner.client_secret))
            .form(&[
                ("grant_type", "urn:globus:auth:grant_type:dependent_token"),
                ("token", token),
                ("scope", scope),
            ])
            .send()
            .await
            .map_err(|e| GuardError::Unavailable(e.without_url().to_string()))?;
        if response.status().is_client_error() {
            return Err(GuardError::InvalidToken);
        }
        if !response.status().is_success() {
            return Err(GuardError::Unavailable(format!(
                "the dependent grant answered HTTP {}",
                response.status()
            )));
        }
        let tokens: Vec<DependentToken> = response
            .json()
            .await
            .map_err(|e| GuardError::Unavailable(e.to_string()))?;
        let found = tokens
            .into_iter()
            .find(|t| t.scope.split_whitespace().any(|s| s == scope))
            .ok_or_else(|| GuardError::InsufficientScope(scope.to_owned()))?;
        let lifetime =
            Duration::from_secs(u64::try_from(found.expires_in.saturating_sub(60)).unwrap_or(0));
        let token = Arc::new(found);
        self.inner.dependent.insert(
            k,
            DependentEntry {
                token: token.clone(),
                until: Instant::now() + lifetime,
            },
        );
        Ok(token)
    }
}
