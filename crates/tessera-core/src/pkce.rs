//! PKCE (RFC 7636) with S256 only: `plain` offers no protection against a stolen code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 base64url characters (S256)")]
    BadChallenge,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    BadVerifier,
}

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.3: the challenge the authorize request carries. A method other than S256 is
/// refused (RFC 9700 §2.1.1).
pub fn validate_challenge(challenge: &str, method: Option<&str>) -> Result<(), PkceError> {
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PkceError::BadChallenge);
    }
    Ok(())
}

/// RFC 7636 §4.1 and §4.6: the verifier's shape, then BASE64URL(SHA256(verifier)) == challenge,
/// compared in constant time.
pub fn verify(verifier: &str, challenge: &str) -> Result<bool, PkceError> {
    if !(43..=128).contains(&verifier.len()) || !unreserved(verifier) {
        return Err(PkceError::BadVerifier);
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Ok(computed.as_bytes().ct_eq(challenge.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(validate_challenge(CHALLENGE, Some("S256")), Ok(()));
        assert_eq!(verify(VERIFIER, CHALLENGE), Ok(true));
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        assert_eq!(verify(other, CHALLENGE), Ok(false));
    }

    #[test]
    fn plain_and_malformed_values_are_refused() {
        assert_eq!(
            validate_challenge(CHALLENGE, Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            validate_challenge(CHALLENGE, None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            validate_challenge("short", Some("S256")),
            Err(PkceError::BadChallenge)
        );
        assert_eq!(verify("short", CHALLENGE), Err(PkceError::BadVerifier));
        assert_eq!(
            verify(&"a".repeat(129), CHALLENGE),
            Err(PkceError::BadVerifier)
        );
        assert_eq!(
            verify(&format!("{}+", &VERIFIER[..43]), CHALLENGE),
            Err(PkceError::BadVerifier)
        );
    }
}
