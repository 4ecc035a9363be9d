//! Browser sessions of the built-in identity provider.

use crate::clock::UnixTime;
use crate::secret::SecretHash;
use uuid::Uuid;

/// How long a sign-in lasts without `prompt=login`.
pub const SESSION_LIFETIME_S: i64 = 12 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// Public id (`session_info.session_id`); the cookie holds a secret whose hash is `hash`.
    pub id: Uuid,
    pub hash: SecretHash,
    pub identity_id: Uuid,
    /// When the user last proved who they are.
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl BrowserSession {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}
