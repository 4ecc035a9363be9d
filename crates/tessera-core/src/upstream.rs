//! Upstream OpenID Connect identity providers (brokering): the registry entry an operator adds,
//! the sign-in in flight, and the pure rules that turn an upstream's verified claims into a
//! Tessera identity.
//!
//! An upstream identity is keyed by (issuer, `sub`) and nothing else: never by email or
//! `preferred_username`, which an upstream may reassign or let a person choose.

use crate::clock::UnixTime;
use crate::identity::{validate_username, CLIENT_USERNAME_DOMAIN};
use crate::secret::SecretHash;
use uuid::Uuid;

/// How long a person has to finish signing in upstream.
pub const LOGIN_LIFETIME_S: i64 = 600;

/// One upstream IdP as the operator registered it.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamIdp {
    pub id: Uuid,
    /// Shown on the button ("Sign in with NAME") and as `identity_provider_display_name`.
    pub name: String,
    /// Exactly as its discovery document gives it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret sealed with the master key (or in clear when the server has none).
    pub client_secret: String,
    /// Usernames are `local@domains[0]`; every domain is one this IdP vouches for.
    pub domains: Vec<String>,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim whose value is the local part of the username (default `preferred_username`).
    pub username_claim: Option<String>,
    /// Whether the upstream's `amr`/`acr` saying MFA counts as MFA here.
    pub trust_mfa: bool,
    /// The discovery document as fetched when the IdP was added (JSON text).
    pub metadata: String,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for UpstreamIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamIdp")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("domains", &self.domains)
            .field("scopes", &self.scopes)
            .field("username_claim", &self.username_claim)
            .field("trust_mfa", &self.trust_mfa)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What the sign-in started with the upstream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginPurpose {
    /// An ordinary sign-in.
    SignIn,
    /// Linking the upstream identity to the signed-in person's set (account page, or an
    /// application that needs an identity the person lacks).
    Link,
}

impl LoginPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Link => "link",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sign_in" => Some(Self::SignIn),
            "link" => Some(Self::Link),
            _ => None,
        }
    }
}

/// A sign-in in flight at an upstream, stored by the hash of its `state` and claimed once by
/// the callback.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamLogin {
    pub state_hash: SecretHash,
    pub idp_id: Uuid,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The pending authorization request it continues, if any.
    pub request: Option<String>,
    /// Where a sign-in for no application ends (a path on this site).
    pub next: Option<String>,
    pub purpose: LoginPurpose,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for UpstreamLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamLogin")
            .field("idp_id", &self.idp_id)
            .field("purpose", &self.purpose)
            .field("request", &self.request)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why an operator's IdP entry is refused.
pub fn validate(idp: &UpstreamIdp) -> Result<(), String> {
    let name = idp.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("the name must be 1 to 100 printable characters".into());
    }
    if idp.client_id.is_empty() {
        return Err("the client id must not be empty".into());
    }
    if idp.domains.is_empty() {
        return Err("at least one --domain is needed: usernames are local@domain".into());
    }
    for d in &idp.domains {
        validate_username(&format!("x@{d}")).map_err(|e| format!("domain {d:?}: {e}"))?;
        if d.eq_ignore_ascii_case(CLIENT_USERNAME_DOMAIN) {
            return Err(format!("domain {d:?} is reserved"));
        }
    }
    for s in &idp.scopes {
        if s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"')
        {
            return Err(format!("scope {s:?} is not a scope token"));
        }
    }
    Ok(())
}

/// The verified claims of an upstream's ID token (and userinfo, with the same `sub`) that
/// matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamClaims {
    pub subject: String,
    /// The value of the IdP's username claim, if the upstream sent it.
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
}

/// Why an upstream identity cannot get a username here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the identity provider did not send the {0} claim")]
    Missing(String),
    #[error("the identity provider's {0} claim is not a usable username")]
    Unusable(String),
}

/// `local@domain` for a new upstream identity: the local part is the username claim (the part
/// before any `@`), the domain the IdP's first domain.
pub fn username(idp: &UpstreamIdp, claims: &UpstreamClaims) -> Result<String, UsernameError> {
    let claim = idp
        .username_claim
        .clone()
        .unwrap_or_else(|| "preferred_username".into());
    let raw = claims
        .username
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UsernameError::Missing(claim.clone()))?;
    let local = raw.split('@').next().unwrap_or(raw);
    let domain = idp
        .domains
        .first()
        .ok_or_else(|| UsernameError::Unusable(claim.clone()))?;
    let username = format!("{local}@{domain}");
    if local.is_empty() || validate_username(&username).is_err() {
        return Err(UsernameError::Unusable(claim));
    }
    Ok(username)
}

/// `amr` values (RFC 8176) that mean more than one factor, and `acr` values that say MFA.
const MFA_AMR: &[&str] = &["mfa", "otp", "hwk", "sc", "swk", "fido", "totp"];

/// Whether this sign-in used MFA as far as Tessera is concerned: the upstream said so and the
/// operator trusts it to.
pub fn mfa(idp: &UpstreamIdp, claims: &UpstreamClaims) -> bool {
    if !idp.trust_mfa {
        return false;
    }
    let by_amr = claims
        .amr
        .iter()
        .any(|a| MFA_AMR.iter().any(|m| a.eq_ignore_ascii_case(m)));
    let by_acr = claims.acr.as_deref().is_some_and(|a| {
        let a = a.to_ascii_lowercase();
        a.contains("mfa") || a.contains("multi") || a == "https://refeds.org/profile/mfa"
    });
    by_amr || by_acr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp() -> UpstreamIdp {
        UpstreamIdp {
            id: Uuid::from_u128(1),
            name: "Uni".into(),
            issuer: "https://idp.uni.edu".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            domains: vec!["uni.edu".into(), "cs.uni.edu".into()],
            scopes: vec![],
            username_claim: None,
            trust_mfa: false,
            metadata: "{}".into(),
            created_at: 0,
        }
    }

    fn claims(u: Option<&str>) -> UpstreamClaims {
        UpstreamClaims {
            subject: "s1".into(),
            username: u.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn usernames_take_the_local_part_and_the_first_domain() {
        assert_eq!(
            username(&idp(), &claims(Some("alice"))).unwrap(),
            "alice@uni.edu"
        );
        assert_eq!(
            username(&idp(), &claims(Some("alice@elsewhere.org"))).unwrap(),
            "alice@uni.edu"
        );
        assert_eq!(
            username(&idp(), &claims(None)),
            Err(UsernameError::Missing("preferred_username".into()))
        );
        assert!(matches!(
            username(&idp(), &claims(Some("a b"))),
            Err(UsernameError::Unusable(_))
        ));
        assert!(matches!(
            username(&idp(), &claims(Some("@x"))),
            Err(UsernameError::Unusable(_))
        ));
    }

    #[test]
    fn mfa_counts_only_when_trusted_and_asserted() {
        let mut c = claims(Some("a"));
        c.amr = vec!["pwd".into(), "otp".into()];
        assert!(!mfa(&idp(), &c), "not trusted");
        let mut trusted = idp();
        trusted.trust_mfa = true;
        assert!(mfa(&trusted, &c));
        c.amr = vec!["pwd".into()];
        assert!(!mfa(&trusted, &c));
        c.acr = Some("https://refeds.org/profile/mfa".into());
        assert!(mfa(&trusted, &c));
    }

    #[test]
    fn entries_are_validated() {
        assert!(validate(&idp()).is_ok());
        let mut bad = idp();
        bad.domains.clear();
        assert!(validate(&bad).is_err());
        let mut bad = idp();
        bad.domains = vec!["localhost".into()];
        assert!(validate(&bad).is_err());
        let mut bad = idp();
        bad.domains = vec![CLIENT_USERNAME_DOMAIN.into()];
        assert!(validate(&bad).is_err());
        let mut bad = idp();
        bad.scopes = vec!["a b".into()];
        assert!(validate(&bad).is_err());
        let mut bad = idp();
        bad.name = " ".into();
        assert!(validate(&bad).is_err());
        assert!(!format!("{:?}", idp()).contains("\"s\""));
    }
}
