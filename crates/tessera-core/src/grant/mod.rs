//! Grants as pure functions from a validated request to what must be issued, and the record
//! every issued token leaves behind.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh;

use crate::clock::UnixTime;
use crate::secret::SecretHash;
use crate::token::TokenKind;
use uuid::Uuid;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A person's identity.
    Identity,
    /// A client acting for itself (client credentials): the subject is the client id.
    Client,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Client => "client",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "identity" => Some(Self::Identity),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}

/// The stored record of an issued access or refresh token. The token itself is never stored;
/// `hash` is its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: SecretHash,
    pub kind: TokenKind,
    /// The client the token was issued to.
    pub client_id: Uuid,
    pub subject: Uuid,
    pub subject_kind: SubjectKind,
    /// The audience: the one resource server whose scopes the token carries.
    pub resource_server: String,
    /// Root scope strings separated by single spaces.
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// Tokens from one authorization code share a family, so that a replayed code or a reused
    /// refresh token can revoke all of them. `None` for client credentials.
    pub family_id: Option<Uuid>,
    /// The browser session the user signed in with (`session_info` in introspection).
    pub session_id: Option<Uuid>,
    pub auth_time: Option<UnixTime>,
    /// The refresh token this token was issued from.
    pub parent: Option<SecretHash>,
    /// Refresh tokens of public clients: when it was exchanged for its successor.
    pub rotated_at: Option<UnixTime>,
    /// The linked identity that satisfied the client's policy, when it is not `subject` (the
    /// identity signed in with); `None`: the subject is the effective identity.
    pub effective_identity: Option<Uuid>,
}

impl TokenRecord {
    /// The identity the grant acts as (spec §3.3 `effective_identity`).
    pub fn effective_subject(&self) -> Uuid {
        self.effective_identity.unwrap_or(self.subject)
    }

    /// Active means neither revoked nor expired at `now` (RFC 7662 §2.2).
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// What one issued token will carry: one resource server and its root scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPlan {
    pub resource_server: String,
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_until_expiry_or_revocation() {
        let mut r = TokenRecord {
            hash: SecretHash::of("x"),
            kind: TokenKind::AccessToken,
            client_id: Uuid::nil(),
            subject: Uuid::nil(),
            subject_kind: SubjectKind::Client,
            resource_server: "rs".into(),
            scope: "s".into(),
            issued_at: 100,
            expires_at: 200,
            revoked_at: None,
            family_id: None,
            session_id: None,
            auth_time: None,
            parent: None,
            rotated_at: None,
            effective_identity: None,
        };
        assert!(r.is_active(199));
        assert!(!r.is_active(200));
        r.revoked_at = Some(150);
        assert!(!r.is_active(160));
    }
}
