//! Recognisable opaque tokens: `<prefix>_<43 base62 random characters>_<6 base62 CRC32>`.
//!
//! The random part carries 256 bits (62^43 > 2^256). The checksum lets a malformed or mistyped
//! token be refused before any lookup, and the prefix lets secret scanners spot a leaked one.
//! Only a hash of a token is ever stored ([`crate::secret::SecretHash`]).
//!
//! Access and refresh tokens, which fill the token table at the rate they are issued, carry a
//! *selector* in front of the random part: `<prefix>_<11 base62 selector><43 random>_<crc>`.
//! The selector is a time-ordered 64-bit number ([`Selectors`]); it is not secret and adds no
//! entropy. Their stored hash ([`lookup_hash`]) is the selector (8 bytes, big-endian) followed
//! by the first 24 bytes of the token's SHA-256, so consecutive tokens have neighbouring keys
//! and the token table's unique index grows at its end instead of taking a random page per
//! token (the cost that dominated issuance). 192 bits of SHA-256 keep the key as unguessable
//! as the token. Tokens without a selector (issued before it existed) still classify and are
//! looked up by their plain SHA-256.

use crate::clock::UnixTime;
use crate::random::SecureRandom;
use crate::secret::{Secret, SecretHash};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 43;
const CRC_LEN: usize = 6;
/// Base62 digits of a selector: 62^11 > 2^64.
const SELECTOR_LEN: usize = 11;

/// What a token string is for. The prefix is part of the wire format: never change one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    ClientSecret,
    AuthorizationCode,
    /// A browser session cookie.
    Session,
    /// RFC 8628 device code, kept by the device that polls with it.
    DeviceCode,
    /// RFC 7592 registration access token, for managing a dynamically registered client.
    RegistrationAccess,
    /// RFC 7591 initial access token, gating dynamic registration.
    InitialAccess,
}

impl TokenKind {
    pub const ALL: [TokenKind; 8] = [
        Self::AccessToken,
        Self::RefreshToken,
        Self::ClientSecret,
        Self::AuthorizationCode,
        Self::Session,
        Self::DeviceCode,
        Self::RegistrationAccess,
        Self::InitialAccess,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Self::AccessToken => "tat",
            Self::RefreshToken => "trt",
            Self::ClientSecret => "tcs",
            Self::AuthorizationCode => "tac",
            Self::Session => "tss",
            Self::DeviceCode => "tdc",
            Self::RegistrationAccess => "trg",
            Self::InitialAccess => "tia",
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
            Self::DeviceCode => "device_code",
            Self::RegistrationAccess => "registration_access_token",
            Self::InitialAccess => "initial_access_token",
        }
    }

    pub fn parse_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Length of a token of this kind without a selector (every kind but access and refresh
    /// tokens, and access and refresh tokens from before selectors).
    pub fn token_len(self) -> usize {
        self.prefix().len() + 1 + RANDOM_LEN + 1 + CRC_LEN
    }

    /// Whether tokens of this kind carry a selector ([`TokenKind::generate_selected`]).
    pub fn has_selector(self) -> bool {
        matches!(self, Self::AccessToken | Self::RefreshToken)
    }

    /// Length of a token of this kind with a selector.
    pub fn selected_len(self) -> usize {
        self.token_len() + SELECTOR_LEN
    }

    /// A fresh token of this kind and the hash to store.
    pub fn generate(self, rng: &dyn SecureRandom) -> (Secret, SecretHash) {
        let s = self.fill(rng, String::with_capacity(self.token_len()), None);
        let hash = SecretHash::of(&s);
        (Secret::new(s), hash)
    }

    /// A fresh token with `selector` in front of its random part, and its [`lookup_hash`].
    /// For the kinds stored in the token table (access and refresh tokens).
    pub fn generate_selected(self, rng: &dyn SecureRandom, selector: u64) -> (Secret, SecretHash) {
        let s = self.fill(
            rng,
            String::with_capacity(self.selected_len()),
            Some(selector),
        );
        let hash = selected_hash(&s, selector);
        (Secret::new(s), hash)
    }

    fn fill(self, rng: &dyn SecureRandom, mut s: String, selector: Option<u64>) -> String {
        s.push_str(self.prefix());
        s.push('_');
        if let Some(mut n) = selector {
            let mut digits = [b'0'; SELECTOR_LEN];
            for slot in digits.iter_mut().rev() {
                *slot = ALPHABET[(n % 62) as usize];
                n /= 62;
            }
            s.extend(digits.iter().map(|&b| char::from(b)));
        }
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
        s
    }
}

/// The hash stored for a presented token, and the key it is looked up by: for a token with a
/// selector, the selector followed by 24 bytes of its SHA-256 (see the module comment); for
/// any other string, its SHA-256. Call [`classify`] first: this does not check the token.
pub fn lookup_hash(token: &str) -> SecretHash {
    let selected = TokenKind::ALL.into_iter().find(|k| {
        k.has_selector() && token.len() == k.selected_len() && token.starts_with(k.prefix())
    });
    let selector = selected.and_then(|k| {
        let start = k.prefix().len() + 1;
        token
            .as_bytes()
            .get(start..start + SELECTOR_LEN)?
            .iter()
            .try_fold(0u64, |n, &b| {
                let digit = ALPHABET.iter().position(|&a| a == b)?;
                n.checked_mul(62)?.checked_add(digit as u64)
            })
    });
    match selector {
        Some(selector) => selected_hash(token, selector),
        // Not a token with a selector (or a forged one whose selector overflows): whatever the
        // hash, nothing stored has it.
        None => SecretHash::of(token),
    }
}

fn selected_hash(token: &str, selector: u64) -> SecretHash {
    let digest = Sha256::digest(token.as_bytes());
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&selector.to_be_bytes());
    key[8..].copy_from_slice(&digest[..24]);
    SecretHash(key)
}

/// Hands out selectors: increasing within a process, and starting each second at
/// `second << 20` so that they also increase across restarts and roughly agree between the
/// nodes of a cluster. Uniqueness is not needed (the hash part of a key is unique); order is,
/// for the index's sake.
#[derive(Debug, Default)]
pub struct Selectors(AtomicU64);

impl Selectors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn next(&self, now: UnixTime) -> u64 {
        let floor = u64::try_from(now).unwrap_or(0) << 20;
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(floor.max(last.wrapping_add(1)))
            })
            .unwrap_or_else(|last| last);
        floor.max(previous.wrapping_add(1))
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
            (token.len() == k.token_len() || (k.has_selector() && token.len() == k.selected_len()))
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

    #[test]
    fn selected_tokens_classify_and_hash_to_their_key() {
        let rng = SeededRandom::new(11);
        let selectors = Selectors::new();
        for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
            let selector = selectors.next(1_800_000_000);
            let (t, h) = kind.generate_selected(&rng, selector);
            assert_eq!(t.expose().len(), kind.selected_len());
            assert_eq!(classify(t.expose()), Ok(kind));
            assert_eq!(lookup_hash(t.expose()), h);
            assert_eq!(h.as_bytes()[..8], selector.to_be_bytes());
            let digest = Sha256::digest(t.expose().as_bytes());
            assert_eq!(h.as_bytes()[8..], digest[..24]);
            assert_ne!(h, SecretHash::of(t.expose()));
        }
        // A token from before selectors keeps its plain SHA-256 key.
        let (old, h) = TokenKind::AccessToken.generate(&rng);
        assert_eq!(classify(old.expose()), Ok(TokenKind::AccessToken));
        assert_eq!(lookup_hash(old.expose()), h);
        // Other kinds never carry one.
        let (code, _) = TokenKind::AuthorizationCode.generate_selected(&rng, 5);
        assert_eq!(classify(code.expose()), Err(MalformedToken::Shape));
    }

    #[test]
    fn keys_of_consecutive_tokens_are_ordered() {
        let rng = SeededRandom::new(12);
        let selectors = Selectors::new();
        let keys: Vec<[u8; 32]> = (0..100)
            .map(|i| {
                let s = selectors.next(1_800_000_000 + i / 10);
                TokenKind::AccessToken.generate_selected(&rng, s).1 .0
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // The clock going back does not send selectors back.
        let before = selectors.next(1_800_000_100);
        assert!(selectors.next(1_000) > before);
        assert_eq!(selectors.next(1_800_000_200), 1_800_000_200 << 20);
    }

    #[test]
    fn forged_selectors_are_refused_or_match_nothing_without_panicking() {
        let rng = SeededRandom::new(13);
        let (t, _) = TokenKind::AccessToken.generate_selected(&rng, u64::MAX);
        assert_eq!(classify(t.expose()), Ok(TokenKind::AccessToken));
        assert_eq!(
            lookup_hash(t.expose()).as_bytes()[..8],
            u64::MAX.to_be_bytes()
        );
        // 11 'z's overflow 64 bits: a checksum-valid forgery of that shape gets a plain hash.
        let body = format!("tat_{}{}", "z".repeat(11), &t.expose()[15..58]);
        let forged = format!("{body}_{}", base62_fixed(crc32fast::hash(body.as_bytes())));
        assert_eq!(classify(&forged), Ok(TokenKind::AccessToken));
        assert_eq!(lookup_hash(&forged), SecretHash::of(&forged));
        assert_eq!(lookup_hash("tat_é"), SecretHash::of("tat_é"));
    }
}
