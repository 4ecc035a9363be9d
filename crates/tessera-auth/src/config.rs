//! What the authorization server needs to know about its deployment. The binary reads and
//! validates files, flags and environment; this is the validated result.

/// The shortest and longest access-token lifetimes accepted. Below a minute the SDK would
/// refresh constantly (it renews within 60 s of expiry); above a year revocation is the only
/// way a leaked token ever stops working.
pub const MIN_TOKEN_LIFETIME_S: i64 = 120;
pub const MAX_TOKEN_LIFETIME_S: i64 = 365 * 24 * 3600;
/// Signing keys are replaced every 30 days unless configured otherwise.
pub const DEFAULT_KEY_ROTATION_S: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The public base URL without a trailing slash: the OIDC issuer, and the base of
    /// `jwks_uri` and page links.
    pub public_url: String,
    /// Lifetime of access tokens in seconds (default 48 hours, as Globus).
    pub access_token_lifetime: i64,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// A refresh token dies after this many seconds unused ("good for 6 months after last use").
    pub refresh_idle_lifetime: i64,
    /// How long (seconds) a rotated refresh token may still be presented once, for a response
    /// lost on the network; 0 (the default): never, its reuse revokes the family at once.
    pub refresh_grace: i64,
    /// Whether cookies get `Secure` (the public URL is https).
    pub secure_cookies: bool,
    pub id_token_algorithm: crate::keys::SigningAlgorithm,
    /// The DNS server (`ip:port`) that FQDN verification asks; `None`: the system's resolvers.
    pub dns_resolver: Option<std::net::SocketAddr>,
    /// How long one DNS query waits (each is tried twice).
    pub dns_timeout: std::time::Duration,
    /// Usernames (normalised) of the people who may read the audit log, with a token that
    /// carries the `view_audit` scope.
    pub admin_usernames: Vec<String>,
    /// How JWT access tokens are signed (for resource servers that chose JWTs).
    pub access_token_algorithm: crate::keys::AccessTokenAlgorithm,
    /// Signing keys are replaced this often (seconds; 0: never).
    pub key_rotation_interval: i64,
    /// How often this node rereads the key table, to pick up another node's rotation.
    pub key_poll_interval: i64,
    /// Seals signing keys at rest; `None` stores them in clear (library use and tests; the
    /// binary always configures one).
    pub master_key: Option<crate::keys::MasterKey>,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` headers name the client; from any
    /// other peer those headers are ignored.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// RFC 7591 dynamic client registration: off (the default), open to anyone, or gated by
    /// an initial access token.
    pub registration: Registration,
    /// Where groups come from for scopes granted by group, and the SciToken lifetime.
    pub group_sources: crate::group_sources::GroupSourcesConfig,
    /// Pages of other services on this site that the front door links to for a signed-in
    /// person, as (label, path): the binary adds "Your groups".
    pub front_door_links: Vec<(String, String)>,
}

/// Who may register a client at `/v2/oauth2/register` (the `registration` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// No registration endpoint: it answers 404 and discovery does not list it.
    #[default]
    Off,
    /// Anyone may register (RFC 7591 §3, open registration).
    Open,
    /// Only with an initial access token from `tessera admin registration-token create`.
    Token,
}

impl Registration {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "open" => Some(Self::Open),
            "token" => Some(Self::Token),
            _ => None,
        }
    }

    pub fn enabled(self) -> bool {
        self != Self::Off
    }
}

impl AuthConfig {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            access_token_lifetime: 48 * 3600,
            max_body_bytes: 64 * 1024,
            refresh_idle_lifetime: tessera_core::grant::refresh::DEFAULT_IDLE_LIFETIME_S,
            refresh_grace: tessera_core::grant::refresh::DEFAULT_GRACE_S,
            secure_cookies: public_url.starts_with("https://"),
            id_token_algorithm: crate::keys::SigningAlgorithm::default(),
            dns_resolver: None,
            dns_timeout: std::time::Duration::from_secs(2),
            admin_usernames: Vec::new(),
            access_token_algorithm: crate::keys::AccessTokenAlgorithm::default(),
            key_rotation_interval: DEFAULT_KEY_ROTATION_S,
            key_poll_interval: 5,
            master_key: None,
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            registration: Registration::Off,
            group_sources: crate::group_sources::GroupSourcesConfig::default(),
            front_door_links: Vec::new(),
        }
    }

    /// The key lifecycle these settings give.
    pub fn key_policy(&self) -> crate::keys::KeyPolicy {
        crate::keys::KeyPolicy::new(
            self.key_rotation_interval,
            self.key_poll_interval,
            self.access_token_lifetime,
        )
    }

    pub fn issuer(&self) -> &str {
        &self.public_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.public_url, path.trim_start_matches('/'))
    }
}
