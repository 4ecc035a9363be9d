//! The device authorization grant (RFC 8628).
//!
//! A device (a batch job, a detector's DAQ host) asks for a pair of codes: a high-entropy
//! *device code* it keeps and polls the token endpoint with, and a short *user code* a person
//! types on the verification page of another device. The grant's lifecycle is
//! Pending → Approved | Denied, then Approved → Redeemed exactly once; past `expires_at`
//! nothing moves any more. Only the device code's hash is stored.

use crate::clock::UnixTime;
use crate::random::SecureRandom;
use crate::secret::SecretHash;
use uuid::Uuid;

/// RFC 8628 §6.1: consonants only (no vowels, so no words; no digits, so no `0`/`O` mix-ups).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code: 20^8 ≈ 2^34.6 possibilities, against guesses that are rate-limited
/// and a code that lives [`DEVICE_CODE_LIFETIME_S`].
pub const USER_CODE_LEN: usize = 8;
/// How long a person has to enter the code and decide (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_LIFETIME_S: i64 = 600;
/// The polling interval a device starts with (RFC 8628 §3.2 `interval`, default 5).
pub const DEFAULT_INTERVAL_S: i64 = 5;
/// What `slow_down` adds to the interval, for good (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_S: i64 = 5;
/// A device that keeps polling too fast is not slowed beyond this.
pub const MAX_INTERVAL_S: i64 = 60;

/// A user code in its normal form: eight letters of [`USER_CODE_ALPHABET`], upper case.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not a long-lived secret, but whoever reads it may approve someone else's device.
        f.write_str("UserCode([redacted])")
    }
}

impl UserCode {
    /// A fresh code, every letter equally likely (rejection sampling: 240 = 12 * 20).
    pub fn generate(rng: &dyn SecureRandom) -> Self {
        let mut s = String::with_capacity(USER_CODE_LEN);
        let mut buf = [0u8; 32];
        while s.len() < USER_CODE_LEN {
            rng.fill(&mut buf);
            for &b in &buf {
                if b < 240 && s.len() < USER_CODE_LEN {
                    s.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
                }
            }
        }
        Self(s)
    }

    /// Reads a code as a person types it (RFC 8628 §6.1): case does not matter, and spaces,
    /// dashes and other punctuation are ignored. `None` unless exactly eight letters of the
    /// alphabet remain (a digit or a vowel is a typo, not punctuation).
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 64 {
            return None;
        }
        let mut s = String::with_capacity(USER_CODE_LEN);
        for c in typed.chars() {
            if c.is_ascii_punctuation() || c.is_whitespace() {
                continue;
            }
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii() || !USER_CODE_ALPHABET.contains(&(upper as u8)) {
                return None;
            }
            s.push(upper);
        }
        (s.len() == USER_CODE_LEN).then_some(Self(s))
    }

    /// The normal form, as stored and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown to people: `WDJB-MJHT`.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(USER_CODE_LEN / 2);
        format!("{a}-{b}")
    }
}

/// Who approved a grant, and with which session: what its tokens will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub identity_id: Uuid,
    pub session_id: Uuid,
    pub auth_time: UnixTime,
    /// The linked identity that satisfies the client's policy, when not `identity_id`.
    pub effective_identity: Option<Uuid>,
}

/// Where a grant is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for a person to enter the user code and decide.
    Pending,
    Approved(Approval),
    Denied,
    /// Approved, and its tokens were issued (once).
    Redeemed(Approval),
}

impl DeviceState {
    /// The name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved(_) => "approved",
            Self::Denied => "denied",
            Self::Redeemed(_) => "redeemed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// SHA-256 of the device code.
    pub device_code_hash: SecretHash,
    pub user_code: UserCode,
    pub client_id: Uuid,
    /// The requested scope expression in normal form.
    pub scope: String,
    /// Refresh tokens for every token (`access_type=offline`, the default for devices).
    pub offline: bool,
    pub state: DeviceState,
    /// Seconds the device must wait between polls; grows with `slow_down`.
    pub interval: i64,
    pub last_polled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl DeviceGrant {
    /// A pending grant for `client_id`, created `now`.
    pub fn new(
        device_code_hash: SecretHash,
        user_code: UserCode,
        client_id: Uuid,
        scope: String,
        offline: bool,
        now: UnixTime,
    ) -> Self {
        Self {
            device_code_hash,
            user_code,
            client_id,
            scope,
            offline,
            state: DeviceState::Pending,
            interval: DEFAULT_INTERVAL_S,
            last_polled_at: None,
            created_at: now,
            expires_at: now + DEVICE_CODE_LIFETIME_S,
        }
    }

    /// Whether a person may still approve or deny it.
    pub fn awaits_decision(&self, now: UnixTime) -> bool {
        self.state == DeviceState::Pending && now < self.expires_at
    }
}

/// What a poll of the token endpoint gets (RFC 8628 §3.5), short of the tokens themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("the user has not yet approved the request")]
    AuthorizationPending,
    /// Polled faster than `interval`: the interval grows by [`SLOW_DOWN_STEP_S`].
    #[error("polling too fast: wait {0} seconds between requests")]
    SlowDown(i64),
    #[error("the user denied the request")]
    AccessDenied,
    #[error("the device code has expired")]
    ExpiredToken,
    /// Another client's code, or one redeemed already: nothing is said about which.
    #[error("the device code is not valid")]
    InvalidGrant,
}

impl PollError {
    /// The RFC 8628 §3.5 / RFC 6749 §5.2 error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown(_) => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::InvalidGrant => "invalid_grant",
        }
    }
}

/// The outcome of one poll: `Ok` when the tokens may be issued (after the grant is claimed),
/// else why not. `interval` is what the grant's interval is after this poll (it grows on
/// `slow_down`); the caller stores it with `now` as the last poll.
pub fn poll(grant: &DeviceGrant, client_id: Uuid, now: UnixTime) -> (Result<(), PollError>, i64) {
    let interval = grant.interval;
    if grant.client_id != client_id {
        return (Err(PollError::InvalidGrant), interval);
    }
    if let DeviceState::Redeemed(_) = grant.state {
        return (Err(PollError::InvalidGrant), interval);
    }
    if now >= grant.expires_at {
        return (Err(PollError::ExpiredToken), interval);
    }
    match grant.state {
        DeviceState::Denied => (Err(PollError::AccessDenied), interval),
        DeviceState::Approved(_) => (Ok(()), interval),
        DeviceState::Pending | DeviceState::Redeemed(_) => {
            let too_fast = grant.last_polled_at.is_some_and(|t| now - t < interval);
            if too_fast {
                let slower = (interval + SLOW_DOWN_STEP_S).min(MAX_INTERVAL_S);
                (Err(PollError::SlowDown(slower)), slower)
            } else {
                (Err(PollError::AuthorizationPending), interval)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn grant(now: UnixTime) -> DeviceGrant {
        DeviceGrant::new(
            SecretHash::of("d"),
            UserCode::parse("WDJBMJHT").unwrap(),
            Uuid::from_u128(1),
            "openid".into(),
            true,
            now,
        )
    }

    fn approval() -> Approval {
        Approval {
            identity_id: Uuid::from_u128(2),
            session_id: Uuid::from_u128(3),
            auth_time: 90,
            effective_identity: None,
        }
    }

    #[test]
    fn generated_codes_use_the_alphabet_and_differ() {
        let rng = SeededRandom::new(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let c = UserCode::generate(&rng);
            assert_eq!(c.as_str().len(), USER_CODE_LEN);
            assert!(c.as_str().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            assert_eq!(UserCode::parse(&c.display()), Some(c.clone()));
            seen.insert(c.as_str().to_owned());
        }
        assert_eq!(seen.len(), 500);
    }

    #[test]
    fn every_letter_of_the_alphabet_occurs() {
        let rng = SeededRandom::new(8);
        let mut counts = [0usize; 20];
        for _ in 0..1000 {
            for b in UserCode::generate(&rng).as_str().bytes() {
                let i = USER_CODE_ALPHABET.iter().position(|&a| a == b).unwrap();
                counts[i] += 1;
            }
        }
        // 8000 letters, 400 expected each: a biased sampler would show.
        assert!(
            counts.iter().all(|&n| (300..500).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn typed_codes_ignore_case_and_punctuation() {
        let want = UserCode::parse("WDJBMJHT").unwrap();
        for typed in [
            "WDJB-MJHT",
            "wdjb-mjht",
            "wdjbmjht",
            " WDJB MJHT ",
            "wd.jb_mj:ht",
            "WDJB–MJHT".replace('–', "-").as_str(),
        ] {
            assert_eq!(UserCode::parse(typed), Some(want.clone()), "{typed:?}");
        }
        assert_eq!(want.display(), "WDJB-MJHT");
    }

    #[test]
    fn typos_and_hostile_input_are_not_codes() {
        for typed in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTT",
            "WDJB-MJH0",
            "WDJA-MJHT", // a vowel
            "WDJB-MJHŤ",
            "WDJB\u{0}MJHT",
            &"B".repeat(100),
            "' OR 1=1 --",
        ] {
            assert_eq!(UserCode::parse(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn debug_does_not_show_the_code() {
        let c = UserCode::parse("WDJBMJHT").unwrap();
        assert!(!format!("{c:?}").contains("WDJB"));
    }

    #[test]
    fn pending_polls_say_pending_then_slow_down_when_too_fast() {
        let mut g = grant(100);
        let id = g.client_id;
        assert_eq!(poll(&g, id, 101), (Err(PollError::AuthorizationPending), 5));
        g.last_polled_at = Some(101);
        assert_eq!(poll(&g, id, 104), (Err(PollError::SlowDown(10)), 10));
        g.interval = 10;
        g.last_polled_at = Some(104);
        assert_eq!(poll(&g, id, 110), (Err(PollError::SlowDown(15)), 15));
        g.interval = 15;
        g.last_polled_at = Some(110);
        assert_eq!(
            poll(&g, id, 125),
            (Err(PollError::AuthorizationPending), 15)
        );
        g.interval = MAX_INTERVAL_S;
        assert_eq!(
            poll(&g, id, 126),
            (Err(PollError::SlowDown(MAX_INTERVAL_S)), MAX_INTERVAL_S)
        );
    }

    #[test]
    fn decisions_and_expiry() {
        let mut g = grant(100);
        let id = g.client_id;
        assert!(g.awaits_decision(100));
        assert!(!g.awaits_decision(100 + DEVICE_CODE_LIFETIME_S));
        assert_eq!(
            poll(&g, id, 100 + DEVICE_CODE_LIFETIME_S).0,
            Err(PollError::ExpiredToken)
        );
        g.state = DeviceState::Denied;
        assert!(!g.awaits_decision(101));
        assert_eq!(poll(&g, id, 101).0, Err(PollError::AccessDenied));
        g.state = DeviceState::Approved(approval());
        assert_eq!(poll(&g, id, 101).0, Ok(()));
        assert_eq!(
            poll(&g, id, 100 + DEVICE_CODE_LIFETIME_S).0,
            Err(PollError::ExpiredToken),
            "an approval not redeemed in time is lost"
        );
        g.state = DeviceState::Redeemed(approval());
        assert_eq!(poll(&g, id, 101).0, Err(PollError::InvalidGrant));
    }

    #[test]
    fn another_clients_code_is_invalid_whatever_its_state() {
        let mut g = grant(100);
        g.state = DeviceState::Approved(approval());
        assert_eq!(
            poll(&g, Uuid::from_u128(9), 101).0,
            Err(PollError::InvalidGrant)
        );
    }

    #[test]
    fn error_codes_are_rfc_8628s() {
        assert_eq!(PollError::SlowDown(10).code(), "slow_down");
        assert_eq!(PollError::ExpiredToken.code(), "expired_token");
        assert_eq!(PollError::AccessDenied.code(), "access_denied");
        assert_eq!(
            PollError::AuthorizationPending.code(),
            "authorization_pending"
        );
    }
}
