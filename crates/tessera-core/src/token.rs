//! Recognisable opaque tokens: `<prefix>_<43 base62 random characters>_<6 base62 CRC32>`.
//!
//! The random part carries 256 bits (62^43 > 2^256). The checksum lets a malformed or mistyped
//! token be refused before any lookup, and the prefix lets secret scanners spot a leaked one.
//! Only the SHA-256 of a token is ever stored ([`crate::secret::SecretHash`]).

use crate::random::SecureRandom;
use crate::secret::{Secret, SecretHash};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 43;
const CRC_LEN: usize = 6;

/// What a token string is for. The prefix is part of the wire format: never change one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    ClientSecret,
    AuthorizationCode,
    /// A browser session cookie.
    Session,
}

impl TokenKind {
    pub const ALL: [TokenKind; 5] = [
        Self::AccessToken,
        Self::RefreshToken,
        Self::ClientSecret,
        Self::AuthorizationCode,
        Self::Session,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Self::AccessToken => "tat",
            Self::RefreshToken => "trt",
            Self::ClientSecret => "tcs",
            Self::AuthorizationCode => "tac",
            Self::Session => "tss",
        }
    }

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::ClientSecret => "client_secret",
            Self::AuthorizationCode => "authorization_code",
            Self::Session => "session",
        }
    }

    pub fn parse_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Length of every token of this kind.
    pub fn token_len(self) -> usize {
        self.prefix().len() + 1 + RANDOM_LEN + 1 + CRC_LEN
    }

    /// A fresh token of this kind and the hash to store.
    pub fn generate(self, rng: &dyn SecureRandom) -> (Secret, SecretHash) {
        let mut s = String::with_capacity(self.token_len());
        s.push_str(self.prefix());
        s.push('_');
        let mut filled = 0;
        let mut buf = [0u8; 64];
        while filled < RANDOM_LEN {
            rng.fill(&mut buf);
            for &b in &buf {
                // Rejection sampling keeps every character equally likely (248 = 4 * 62).
                if b < 248 && filled < RANDOM_LEN {
                    s.push(char::from(ALPHABET[usize::from(b % 62)]));
                    filled += 1;
                }
            }
        }
        let crc = base62_fixed(crc32fast::hash(s.as_bytes()));
        s.push('_');
        s.push_str(&crc);
        let hash = SecretHash::of(&s);
        (Secret::new(s), hash)
    }
}

/// Why a string is not a token; none of these needs a database lookup to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedToken {
    #[error("the token has an unknown prefix or length")]
    Shape,
    #[error("the token contains characters outside its alphabet")]
    Alphabet,
    #[error("the token's checksum does not match")]
    Checksum,
}

/// Checks a presented token's shape and checksum and says what kind it is.
pub fn classify(token: &str) -> Result<TokenKind, MalformedToken> {
    // Everything below slices by byte offset: only ASCII makes that safe.
    if !token.is_ascii() {
        return Err(MalformedToken::Alphabet);
    }
    let kind = TokenKind::ALL
        .into_iter()
        .find(|k| {
            token.len() == k.token_len()
                && token.starts_with(k.prefix())
                && token.as_bytes()[k.prefix().len()] == b'_'
        })
        .ok_or(MalformedToken::Shape)?;
    let body_end = token.len() - CRC_LEN - 1;
    let (body, tail) = token.split_at(body_end);
    let random = &body[kind.prefix().len() + 1..];
    if !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(MalformedToken::Alphabet);
    }
    let Some(crc) = tail.strip_prefix('_') else {
        return Err(MalformedToken::Shape);
    };
    if base62_fixed(crc32fast::hash(body.as_bytes())) != crc {
        return Err(MalformedToken::Checksum);
    }
    Ok(kind)
}

/// Checks that `token` is a well-formed token of `kind`.
pub fn expect_kind(token: &str, kind: TokenKind) -> Result<(), MalformedToken> {
    match classify(token)? {
        k if k == kind => Ok(()),
        _ => Err(MalformedToken::Shape),
    }
}

fn base62_fixed(mut n: u32) -> String {
    let mut out = [b'0'; CRC_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn generated_tokens_classify_as_their_kind() {
        let rng = SeededRandom::new(7);
        for kind in TokenKind::ALL {
            let (t, h) = kind.generate(&rng);
            assert_eq!(t.expose().len(), kind.token_len());
            assert_eq!(classify(t.expose()), Ok(kind));
            assert_eq!(SecretHash::of(t.expose()), h);
        }
    }

    #[test]
    fn tokens_are_distinct() {
        let rng = SeededRandom::new(1);
        let a = TokenKind::AccessToken.generate(&rng).0;
        let b = TokenKind::AccessToken.generate(&rng).0;
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn malformed_tokens_are_refused_without_lookup() {
        let rng = SeededRandom::new(3);
        let good = TokenKind::AccessToken.generate(&rng).0.expose().to_owned();
        let mut flipped = good.clone().into_bytes();
        flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
        let flipped = String::from_utf8(flipped).unwrap();
        let table = [
            ("", MalformedToken::Shape),
            ("junk", MalformedToken::Shape),
            ("tat_short_000000", MalformedToken::Shape),
            (flipped.as_str(), MalformedToken::Checksum),
        ];
        for (input, want) in table {
            assert_eq!(classify(input), Err(want), "{input:?}");
        }
        let non_ascii = format!("tat_{}é_{}", &good[4..45], &good[good.len() - 6..]);
        assert!(classify(&non_ascii).is_err());
        // Same byte length as a real token, with a multi-byte character where the checksum
        // separator would be: must be refused, not panic.
        let sneaky = format!("{}é{}", &good[..good.len() - 8], &good[good.len() - 6..]);
        assert_eq!(sneaky.len(), good.len());
        assert_eq!(classify(&sneaky), Err(MalformedToken::Alphabet));
        assert_eq!(
            expect_kind(&good, TokenKind::RefreshToken),
            Err(MalformedToken::Shape)
        );
    }
}
