//! Token format and checksum (tessera-core): what `classify` accepts has the documented shape,
//! and changing any one character of an accepted token makes it refused; generated tokens
//! classify as their kind and hash to the key they were stored under.

use tessera_core::random::SeededRandom;
use tessera_core::token::{classify, expect_kind, lookup_hash, TokenKind};

const REPLACEMENTS: &[u8] = b"0aZ_%";

/// Every single-character change of an accepted token is refused.
fn mutations_refused(token: &str) {
    let bytes = token.as_bytes();
    for i in 0..bytes.len() {
        for &r in REPLACEMENTS {
            if bytes[i] == r {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = r;
            if let Ok(changed) = String::from_utf8(changed) {
                assert!(
                    classify(&changed).is_err(),
                    "{token:?} changed at {i} to {:?} still classifies",
                    char::from(r)
                );
            }
        }
    }
}

/// Input: a mode byte, then (even) a string to classify, or (odd) a seed, a selector and a
/// position for generated tokens.
pub fn token(data: &[u8]) {
    let Some((mode, rest)) = crate::split_mode(data) else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(s) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = lookup_hash(s);
        if let Ok(kind) = classify(s) {
            assert!(s.starts_with(kind.prefix()));
            assert!(
                s.len() == kind.token_len()
                    || (kind.has_selector() && s.len() == kind.selected_len()),
                "{s:?}"
            );
            assert_eq!(expect_kind(s, kind), Ok(()));
            mutations_refused(s);
        }
        return;
    }
    let mut seed = [0u8; 8];
    let mut selector = [0u8; 8];
    for (i, b) in rest.iter().take(16).enumerate() {
        if i < 8 {
            seed[i] = *b;
        } else {
            selector[i - 8] = *b;
        }
    }
    let rng = SeededRandom::new(u64::from_le_bytes(seed));
    let selector = u64::from_le_bytes(selector);
    for kind in TokenKind::ALL {
        let (t, hash) = kind.generate(&rng);
        assert_eq!(classify(t.expose()), Ok(kind));
        assert_eq!(t.expose().len(), kind.token_len());
        assert_eq!(lookup_hash(t.expose()), hash);
        mutations_refused(t.expose());
        if kind.has_selector() {
            let (t, hash) = kind.generate_selected(&rng, selector);
            assert_eq!(classify(t.expose()), Ok(kind));
            assert_eq!(t.expose().len(), kind.selected_len());
            assert_eq!(lookup_hash(t.expose()), hash);
            assert_eq!(hash.as_bytes()[..8], selector.to_be_bytes());
            mutations_refused(t.expose());
        }
    }
}
