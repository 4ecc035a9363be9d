//! The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636) and the RFC 9700 rules.
//!
//! A code is bound to everything the user approved: the client, the redirect URI, the scope
//! expression, the PKCE challenge, the identity and its session, `access_type`, and `auth_time`.
//! Its lifecycle is Issued → Exchanged; a second exchange is a replay (§4.1.2), and everything
//! the first one produced is revoked.

use crate::clock::UnixTime;
use crate::pkce;
use crate::secret::SecretHash;
use uuid::Uuid;

/// How long a code may wait to be exchanged (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_LIFETIME_S: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub hash: SecretHash,
    pub client_id: Uuid,
    pub redirect_uri: String,
    /// The approved scope expression, in its normal form (`ScopeRequest` Display).
    pub scope: String,
    pub code_challenge: Option<String>,
    pub identity_id: Uuid,
    pub session_id: Uuid,
    pub auth_time: UnixTime,
    /// `access_type=offline`: refresh tokens for every token.
    pub offline: bool,
    pub nonce: Option<String>,
    /// Every token the exchange produces belongs to this family, so a replay can revoke them.
    pub family_id: Uuid,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub exchanged_at: Option<UnixTime>,
    /// The linked identity the grant acts as, when not `identity_id` (see `TokenRecord`).
    pub effective_identity: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("the authorization code was issued to another client")]
    WrongClient,
    #[error("the authorization code has expired")]
    Expired,
    #[error("the authorization code has been used already")]
    Replayed,
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    #[error("code_verifier is required for this code")]
    VerifierMissing,
    #[error("code_verifier was sent but the authorization request had no code_challenge")]
    VerifierUnexpected,
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6. `already_exchanged` reports whether this attempt lost the
/// race to claim the code (or it was used before).
pub fn check_exchange(
    code: &AuthorizationCode,
    client_id: Uuid,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: UnixTime,
) -> Result<(), ExchangeError> {
    if code.client_id != client_id {
        return Err(ExchangeError::WrongClient);
    }
    if code.exchanged_at.is_some() {
        return Err(ExchangeError::Replayed);
    }
    if now >= code.expires_at {
        return Err(ExchangeError::Expired);
    }
    // The authorize request always carries redirect_uri here, so the exchange must repeat it.
    if redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err(ExchangeError::RedirectMismatch);
    }
    match (&code.code_challenge, verifier) {
        (Some(_), None) => Err(ExchangeError::VerifierMissing),
        // PKCE downgrade (RFC 9700 §2.1.1): a verifier for a code that had no challenge.
        (None, Some(_)) => Err(ExchangeError::VerifierUnexpected),
        (None, None) => Ok(()),
        (Some(challenge), Some(v)) => match pkce::verify(v, challenge) {
            Ok(true) => Ok(()),
            _ => Err(ExchangeError::VerifierMismatch),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(challenge: Option<&str>) -> AuthorizationCode {
        AuthorizationCode {
            hash: SecretHash::of("c"),
            client_id: Uuid::from_u128(1),
            redirect_uri: "http://127.0.0.1:5000/".into(),
            scope: "openid".into(),
            code_challenge: challenge.map(str::to_owned),
            identity_id: Uuid::from_u128(2),
            session_id: Uuid::from_u128(3),
            auth_time: 100,
            offline: false,
            nonce: None,
            family_id: Uuid::from_u128(4),
            created_at: 100,
            expires_at: 100 + CODE_LIFETIME_S,
            exchanged_at: None,
            effective_identity: None,
        }
    }

    #[test]
    fn a_valid_exchange_passes() {
        let c = code(Some(CHALLENGE));
        assert_eq!(
            check_exchange(
                &c,
                c.client_id,
                Some("http://127.0.0.1:5000/"),
                Some(VERIFIER),
                101
            ),
            Ok(())
        );
        let c = code(None);
        assert_eq!(
            check_exchange(&c, c.client_id, Some("http://127.0.0.1:5000/"), None, 101),
            Ok(())
        );
    }

    #[test]
    fn each_binding_is_enforced() {
        let c = code(Some(CHALLENGE));
        let uri = Some("http://127.0.0.1:5000/");
        let other_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        let table = [
            (
                Uuid::from_u128(9),
                uri,
                Some(VERIFIER),
                101,
                ExchangeError::WrongClient,
            ),
            (
                c.client_id,
                uri,
                Some(VERIFIER),
                100 + CODE_LIFETIME_S,
                ExchangeError::Expired,
            ),
            (
                c.client_id,
                Some("http://127.0.0.1:5001/"),
                Some(VERIFIER),
                101,
                ExchangeError::RedirectMismatch,
            ),
            (
                c.client_id,
                None,
                Some(VERIFIER),
                101,
                ExchangeError::RedirectMismatch,
            ),
            (c.client_id, uri, None, 101, ExchangeError::VerifierMissing),
            (
                c.client_id,
                uri,
                Some(other_verifier),
                101,
                ExchangeError::VerifierMismatch,
            ),
            (
                c.client_id,
                uri,
                Some("short"),
                101,
                ExchangeError::VerifierMismatch,
            ),
        ];
        for (client, redirect, verifier, now, want) in table {
            assert_eq!(
                check_exchange(&c, client, redirect, verifier, now),
                Err(want)
            );
        }
    }

    #[test]
    fn pkce_downgrade_is_refused_both_ways() {
        let without = code(None);
        let uri = Some("http://127.0.0.1:5000/");
        assert_eq!(
            check_exchange(&without, without.client_id, uri, Some(VERIFIER), 101),
            Err(ExchangeError::VerifierUnexpected)
        );
        let with = code(Some(CHALLENGE));
        assert_eq!(
            check_exchange(&with, with.client_id, uri, None, 101),
            Err(ExchangeError::VerifierMissing)
        );
    }

    #[test]
    fn a_used_code_is_a_replay() {
        let mut c = code(None);
        c.exchanged_at = Some(150);
        assert_eq!(
            check_exchange(&c, c.client_id, Some("http://127.0.0.1:5000/"), None, 151),
            Err(ExchangeError::Replayed)
        );
    }
}

/// An authorize request waiting for the user to sign in and decide (stored, so that any node
/// can continue it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub id: Uuid,
    pub client_id: Uuid,
    pub redirect_uri: String,
    /// The requested scope expression in normal form.
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub offline: bool,
    /// `prompt=login`: only a sign-in after `created_at` counts.
    pub force_login: bool,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// How long a user has to sign in and decide.
pub const PENDING_LIFETIME_S: i64 = 1800;
