//! The refresh-token grant (RFC 6749 §6) with the RFC 9700 §4.14 protections.
//!
//! A refresh token is bound to its client and lives until unused for its idle lifetime
//! (6 months by default, "good for 6 months after last use"). A public client's refresh token is
//! rotated on every use; presenting an already-rotated one is reuse, refused, and revokes the
//! whole family (RFC 9700 §4.14.2: the second use is how a stolen token is noticed).
//!
//! A deployment may trade some of that for availability with a grace window
//! (`refresh_token_reuse_grace`, 0 by default): within it, a rotated token is honoured once more,
//! so a response lost on the network does not log the user out — but a thief who uses a token
//! within the window is not detected either.

use super::TokenRecord;
use crate::clock::UnixTime;
use crate::token::TokenKind;
use uuid::Uuid;

pub const DEFAULT_IDLE_LIFETIME_S: i64 = 183 * 24 * 3600;
/// No grace window: a rotated refresh token is never accepted again.
pub const DEFAULT_GRACE_S: i64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPlan {
    /// Issue a new refresh token and retire this one (public clients).
    Rotate,
    /// The retired token came back within a grace window (when one is configured): rotate again,
    /// and revoke what the first rotation issued, which the client evidently never received.
    RotateAgain,
    /// Keep this refresh token and extend its idle lifetime (confidential clients).
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is not valid")]
    Invalid,
    #[error("the refresh token was issued to another client")]
    WrongClient,
    /// Reuse after rotation: the family must be revoked.
    #[error("the refresh token has been used already")]
    Reused,
}

/// Decides what a refresh with `token` by `client` does at `now`, with a grace window of
/// `grace` seconds after a rotation (0: none, not even within the same second).
pub fn plan(
    token: &TokenRecord,
    client: Uuid,
    public: bool,
    now: UnixTime,
    grace: i64,
) -> Result<RefreshPlan, RefreshError> {
    if token.kind != TokenKind::RefreshToken
        || token.revoked_at.is_some()
        || now >= token.expires_at
    {
        return Err(RefreshError::Invalid);
    }
    if token.client_id != client {
        return Err(RefreshError::WrongClient);
    }
    match (public, token.rotated_at) {
        (false, _) => Ok(RefreshPlan::Keep),
        (true, None) => Ok(RefreshPlan::Rotate),
        (true, Some(at)) if grace > 0 && now - at <= grace => Ok(RefreshPlan::RotateAgain),
        (true, Some(_)) => Err(RefreshError::Reused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::SubjectKind;
    use crate::secret::SecretHash;

    fn rt() -> TokenRecord {
        TokenRecord {
            hash: SecretHash::of("r"),
            kind: TokenKind::RefreshToken,
            client_id: Uuid::from_u128(1),
            subject: Uuid::from_u128(2),
            subject_kind: SubjectKind::Identity,
            resource_server: "auth.globus.org".into(),
            scope: "openid".into(),
            issued_at: 0,
            expires_at: 10_000,
            revoked_at: None,
            family_id: Some(Uuid::from_u128(3)),
            session_id: None,
            auth_time: None,
            parent: None,
            rotated_at: None,
            effective_identity: None,
        }
    }

    #[test]
    fn confidential_clients_keep_public_clients_rotate() {
        let t = rt();
        assert_eq!(plan(&t, t.client_id, false, 10, 60), Ok(RefreshPlan::Keep));
        assert_eq!(plan(&t, t.client_id, true, 10, 60), Ok(RefreshPlan::Rotate));
    }

    #[test]
    fn a_rotated_refresh_token_is_reuse_at_once_without_a_grace_window() {
        let mut t = rt();
        t.rotated_at = Some(100);
        for now in [100, 101, 160, 10_000 - 1] {
            assert_eq!(
                plan(&t, t.client_id, true, now, DEFAULT_GRACE_S),
                Err(RefreshError::Reused),
                "{now}"
            );
        }
    }

    #[test]
    fn refresh_token_reuse_after_rotation_is_detected_after_a_configured_grace_window() {
        let mut t = rt();
        t.rotated_at = Some(100);
        assert_eq!(
            plan(&t, t.client_id, true, 160, 60),
            Ok(RefreshPlan::RotateAgain)
        );
        assert_eq!(
            plan(&t, t.client_id, true, 161, 60),
            Err(RefreshError::Reused)
        );
    }

    #[test]
    fn refresh_tokens_are_bound_to_their_client_and_die_when_revoked_or_idle() {
        let t = rt();
        assert_eq!(
            plan(&t, Uuid::from_u128(9), true, 10, 60),
            Err(RefreshError::WrongClient)
        );
        assert_eq!(
            plan(&t, t.client_id, true, 10_000, 60),
            Err(RefreshError::Invalid)
        );
        let mut revoked = rt();
        revoked.revoked_at = Some(5);
        assert_eq!(
            plan(&revoked, revoked.client_id, false, 10, 60),
            Err(RefreshError::Invalid)
        );
        let mut access = rt();
        access.kind = TokenKind::AccessToken;
        assert_eq!(
            plan(&access, access.client_id, false, 10, 60),
            Err(RefreshError::Invalid)
        );
    }
}
