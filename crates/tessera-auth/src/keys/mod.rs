//! Signing keys: generated on first start, kept in the store (sealed with the master key when
//! one is configured), rotated on a schedule, published as a JWKS.
//!
//! Two families of keys: one RSA key signs ID tokens (RS512 or RS256), one ES256 or EdDSA key
//! signs JWT access tokens (RFC 9068). The Globus SDK verifies ID tokens with `keys[0]` of the
//! JWKS and no `kid` matching (spec §2.9), so the RSA key that signs now is always published
//! first; the access-token keys follow it.
//!
//! Rotation: a new key is stored with `activates_at` in the future. From its creation every
//! node publishes it (after the current key); from `activates_at` every node signs with it, by
//! its own clock, so nodes switch together although each learns of the key by polling. A key
//! that no longer signs stays published until everything it signed has expired, then it is
//! deleted. Which key signs is a function of the stored rows and the time: nothing else to
//! agree on.

mod master;
mod material;
mod set;
mod signing;

pub use master::{open_secret, seal_secret, MasterKey};
pub use set::KeyState;
pub use signing::SigningKeys;

use jsonwebtoken::Algorithm;
use tessera_core::clock::UnixTime;
use tessera_store::StoreError;

/// The `typ` header of RFC 9068 access tokens.
pub const AT_JWT_TYP: &str = "at+jwt";

/// The keys an operator rotates together: the RSA key that signs ID tokens, or the keys that
/// sign JWT access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    IdToken,
    AccessToken,
}

impl KeyFamily {
    pub const ALL: [Self; 2] = [Self::IdToken, Self::AccessToken];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "id-token" => Some(Self::IdToken),
            "access-token" => Some(Self::AccessToken),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdToken => "id-token",
            Self::AccessToken => "access-token",
        }
    }
}

/// What an emergency rotation did ([`SigningKeys::replace_now`]).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Replaced {
    /// The new keys, signing already.
    pub added: Vec<String>,
    /// The keys deleted, no longer published.
    pub removed: Vec<String>,
}

/// How ID tokens are signed: RS512 by default (the Globus SDK's choice, spec §2.9), RS256 for
/// OIDC libraries that accept nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    RS256,
    #[default]
    RS512,
}

impl SigningAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "RS512" => Some(Self::RS512),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS512 => "RS512",
        }
    }
    fn jwt(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::RS512 => Algorithm::RS512,
        }
    }
}

/// How JWT access tokens are signed: ES256 (P-256, the default) or EdDSA (Ed25519).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessTokenAlgorithm {
    #[default]
    ES256,
    EdDSA,
}

impl AccessTokenAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {detail}")]
    Invalid { kid: String, detail: String },
    #[error("generating a key failed: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("{0}")]
    Seal(String),
}

/// How keys live: how often they are replaced, how long ahead a new one is published, and how
/// long a replaced one stays published.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A key signs for this long before the next one takes over.
    pub rotation_interval: i64,
    /// The next key is published this long before it signs.
    pub publish_ahead: i64,
    /// A replaced key stays published this long (the longest a token it signed can live, plus
    /// verification leeway).
    pub retain: i64,
}

impl KeyPolicy {
    /// Publishing ahead a tenth of the interval, between 3 polls and a day.
    pub fn new(rotation_interval: i64, poll_interval: i64, longest_token: i64) -> Self {
        let publish_ahead = (rotation_interval / 10).clamp(3 * poll_interval.max(1), 24 * 3600);
        Self {
            rotation_interval,
            publish_ahead,
            // The SDK verifies ID tokens with 300 s of leeway.
            retain: longest_token + 300,
        }
    }
}

/// How long before the next RSA key activates ID tokens are already signed by it, their answer
/// held back until it activates (see [`SigningKeys::sign`]). Longer than the SDK takes from the
/// exchange to its JWKS fetch; far shorter than the publication lead, so every node has the key.
pub const ID_TOKEN_HOLD_S: i64 = 2;

/// An ID token, and when it may be handed out.
#[derive(Debug)]
pub struct SignedIdToken {
    pub jwt: String,
    /// `None`: at once. Otherwise not before this time, when its key starts to sign and becomes
    /// `keys[0]` of the JWKS.
    pub not_before: Option<UnixTime>,
}

/// A key as `tessera admin keys list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeySummary {
    pub kid: String,
    pub algorithm: String,
    pub state: &'static str,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
}
