//! Time-based one-time passwords (RFC 6238, HMAC-SHA-1, 6 digits, 30-second steps) and the
//! recovery codes that stand in for the authenticator when it is lost.
//!
//! Pure: the caller passes the time, the random bytes come from [`SecureRandom`], and which
//! step was used last (replay refusal) is the caller's to store.

use crate::clock::UnixTime;
use crate::random::SecureRandom;
use crate::secret::{Secret, SecretHash};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per code (RFC 6238 §4.1 X, the default every authenticator app uses).
pub const STEP_S: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that still count (clock drift, RFC 6238 §5.2).
pub const DRIFT_STEPS: i64 = 1;
/// Length of the shared secret in bytes (RFC 4226 §4 recommends 160 bits).
pub const SECRET_LEN: usize = 20;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP shared secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl TotpSecret {
    pub fn generate(rng: &dyn SecureRandom) -> Self {
        let mut b = vec![0u8; SECRET_LEN];
        rng.fill(&mut b);
        Self(b)
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &byte in &self.0 {
            buffer = (buffer << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// Reads base32 (case and spaces ignored, padding allowed); `None` if it is not base32 or
    /// shorter than 80 bits.
    pub fn from_base32(text: &str) -> Option<Self> {
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
            let v = BASE32
                .iter()
                .position(|b| char::from(*b) == c.to_ascii_uppercase())?;
            buffer = (buffer << 5) | v as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        (out.len() >= 10).then_some(Self(out))
    }

    /// The code of time step `step` (RFC 4226 §5.3 dynamic truncation).
    pub fn code_at_step(&self, step: i64) -> String {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&step.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let offset = usize::from(h[h.len() - 1] & 0x0f);
        let bin = u32::from_be_bytes([
            h[offset] & 0x7f,
            h[offset + 1],
            h[offset + 2],
            h[offset + 3],
        ]);
        format!(
            "{:0width$}",
            bin % 10u32.pow(DIGITS),
            width = DIGITS as usize
        )
    }

    /// The `otpauth://` URI of the QR code (Key Uri Format).
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}",
            enc(issuer).replace('+', "%20"),
            enc(account).replace('+', "%20"),
            self.to_base32(),
            enc(issuer).replace('+', "%20"),
        )
    }

    /// The raw bytes, for sealing at rest.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(b: Vec<u8>) -> Option<Self> {
        (b.len() >= 10).then_some(Self(b))
    }
}

/// The time step that contains `now`.
pub fn step_of(now: UnixTime) -> i64 {
    now.div_euclid(STEP_S)
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is not correct")]
    Wrong,
    /// Right code, but its step (or a later one) was used already: a replay.
    #[error("this code was used already; wait for the next one")]
    Reused,
}

/// Checks `code` at `now` against `secret`; `last_step` is the step of the last accepted code
/// (`None` before the first). Returns the step the code belongs to, which the caller must
/// record so that it (and any earlier) is refused from then on.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: UnixTime,
    last_step: Option<i64>,
) -> Result<i64, CodeError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodeError::Wrong);
    }
    let current = step_of(now);
    let mut matched = None;
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        // Constant time per comparison; every candidate is compared, matched or not.
        let candidate = secret.code_at_step(step);
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            candidate.as_bytes(),
            code.as_bytes(),
        )) {
            matched = Some(step);
        }
    }
    let step = matched.ok_or(CodeError::Wrong)?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(CodeError::Reused);
    }
    Ok(step)
}

/// Fresh recovery codes (`xxxxx-xxxxx`, 50 bits each) and their hashes, which is all that is
/// stored.
pub fn recovery_codes(rng: &dyn SecureRandom) -> Vec<(Secret, SecretHash)> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789x";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 10];
            rng.fill(&mut b);
            let mut s = String::with_capacity(11);
            for (i, byte) in b.iter().enumerate() {
                if i == 5 {
                    s.push('-');
                }
                s.push(char::from(ALPHABET[usize::from(byte & 31)]));
            }
            let hash = SecretHash::of(&s);
            (Secret::new(s), hash)
        })
        .collect()
}

/// A recovery code as typed, in the form it was hashed in (case, spaces ignored; the dash
/// optional).
pub fn normalize_recovery_code(typed: &str) -> String {
    let t: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if t.len() == 10 {
        format!("{}-{}", &t[..5], &t[5..])
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    /// RFC 6238 Appendix B, SHA-1, secret "12345678901234567890" (8 digits there; the last 6
    /// here).
    #[test]
    fn rfc6238_test_vectors() {
        let s = TotpSecret(b"12345678901234567890".to_vec());
        for (t, code8) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(s.code_at_step(step_of(t)), code8[2..], "t={t}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        let s = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"),
            Some(s)
        );
        assert_eq!(TotpSecret::from_base32("GEZ1"), None);
        assert_eq!(TotpSecret::from_base32("GEZD"), None, "too short");
        let r = TotpSecret::generate(&SeededRandom::new(1));
        assert_eq!(TotpSecret::from_base32(&r.to_base32()), Some(r));
    }

    #[test]
    fn codes_count_one_step_either_side_and_never_twice() {
        let s = TotpSecret::generate(&SeededRandom::new(7));
        let now = 1_800_000_015;
        let step = step_of(now);
        let code = s.code_at_step(step);
        assert_eq!(verify(&s, &code, now, None), Ok(step));
        assert_eq!(verify(&s, &code, now, Some(step)), Err(CodeError::Reused));
        assert_eq!(
            verify(&s, &s.code_at_step(step - 1), now, Some(step - 2)),
            Ok(step - 1)
        );
        assert_eq!(
            verify(&s, &s.code_at_step(step - 1), now, Some(step)),
            Err(CodeError::Reused),
            "an older code after a newer one is a replay too"
        );
        assert_eq!(
            verify(&s, &s.code_at_step(step - 2), now, None),
            Err(CodeError::Wrong)
        );
        assert_eq!(
            verify(&s, &s.code_at_step(step + 2), now, None),
            Err(CodeError::Wrong)
        );
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(verify(&s, bad, now, None), Err(CodeError::Wrong), "{bad:?}");
        }
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(verify(&s, &spaced, now, None), Ok(step));
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let s = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(
            s.uri("Tessera test", "alice@example.org"),
            "otpauth://totp/Tessera%20test:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera%20test&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{s:?}"), "TotpSecret([redacted])");
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = recovery_codes(&SeededRandom::new(3));
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut seen: Vec<&str> = codes.iter().map(|(c, _)| c.expose()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), RECOVERY_CODES);
        let (code, hash) = &codes[0];
        let typed = code.expose().to_uppercase().replace('-', " ");
        assert_eq!(SecretHash::of(&normalize_recovery_code(&typed)), *hash);
    }
}
