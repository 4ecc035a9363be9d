//! JWS and JWK parsing in the guard: any JWKS document parses into usable keys or none without
//! a panic, and offline validation accepts no token but the ones signed by the key (no change
//! to a valid token, however small, still validates).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tessera_guard::fuzzing::{signing_keys, validate_jwt};
use tessera_proto::oidc::{Jwk, JwkSet};

/// A throwaway Ed25519 key made for these tests (`openssl genpkey -algorithm ed25519`); it
/// signs nothing anywhere else.
const PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDCKx0j9FeUU06v7XcU8W8PQMjrTTRAlMgwK9ePqg3aD
-----END PRIVATE KEY-----
";
/// Its public key, base64url (the JWK's `x`).
const PUBLIC_X: &str = "AsDHG2uItyld9zutbxBeaQA_gQuofUtq7WKeX-g0Avw";
const ISSUER: &str = "https://auth.example.org";
const AUDIENCE: &str = "transfer.example.org";
const ALGORITHMS: &[Algorithm] = &[Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    scope: &'a str,
    exp: i64,
}

type Keys = HashMap<String, (Algorithm, Arc<DecodingKey>)>;

struct Fixture {
    keys: Keys,
    /// Valid tokens: the only strings that may validate.
    valid: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let set = JwkSet {
            keys: vec![Jwk {
                kty: "OKP".into(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
                kid: "k1".into(),
                crv: Some("Ed25519".into()),
                x: Some(PUBLIC_X.into()),
                ..Jwk::default()
            }],
        };
        let keys = signing_keys(&set);
        assert_eq!(keys.len(), 1, "the fixture key is not usable");
        let signer = EncodingKey::from_ed_pem(PRIVATE_PEM.as_bytes())
            .unwrap_or_else(|e| panic!("fixture key: {e}"));
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k1".into());
        let valid = ["urn:transfer.example.org:all", "openid email"]
            .into_iter()
            .map(|scope| {
                let claims = Claims {
                    iss: ISSUER,
                    aud: AUDIENCE,
                    sub: "b6f5c1e2-0000-4000-8000-000000000001",
                    client_id: "c1",
                    scope,
                    // 2100-01-01: valid for the life of this corpus.
                    exp: 4_102_444_800,
                };
                jsonwebtoken::encode(&header, &claims, &signer)
                    .unwrap_or_else(|e| panic!("signing the fixture token: {e}"))
            })
            .collect();
        Fixture { keys, valid }
    })
}

/// The valid tokens, for seeding the corpus.
pub fn valid_tokens() -> Vec<String> {
    fixture().valid.clone()
}

fn only_valid_tokens_validate(token: &str) {
    let f = fixture();
    let got = validate_jwt(token, &f.keys, ALGORITHMS, ISSUER, AUDIENCE, Duration::ZERO);
    let valid = f.valid.iter().any(|v| v == token);
    assert_eq!(got.is_ok(), valid, "validate({token:?}) = {got:?}");
    if let Ok(info) = got {
        assert_eq!(info.aud, [AUDIENCE]);
        assert_eq!(info.client_id, "c1");
    }
}

/// Input: a mode byte, then (0) a JWKS document, (1) a token to validate, or (2) changes to a
/// valid token, as (position, byte) pairs.
pub fn jwt(data: &[u8]) {
    let Some((mode, rest)) = crate::split_mode(data) else {
        return;
    };
    match mode % 3 {
        0 => {
            let Ok(set) = serde_json::from_slice::<JwkSet>(rest) else {
                return;
            };
            for (kid, (alg, _)) in signing_keys(&set) {
                // Several keys may share a `kid`; one of them must be this signing key.
                let of_set = set.keys.iter().any(|k| {
                    k.kid == kid
                        && (k.use_.is_empty() || k.use_ == "sig")
                        && k.alg.parse::<jsonwebtoken::Algorithm>().ok() == Some(alg)
                });
                assert!(
                    of_set,
                    "key {kid:?} ({alg:?}) is not a signing key of the set"
                );
            }
        }
        1 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                only_valid_tokens_validate(token);
            }
        }
        _ => {
            let valid = &fixture().valid;
            let Some((&pick, changes)) = rest.split_first() else {
                return;
            };
            let mut token = valid[usize::from(pick) % valid.len()].clone().into_bytes();
            for change in changes.chunks_exact(2) {
                let at = usize::from(change[0]) * token.len() / 256;
                token[at] = change[1];
            }
            if let Ok(token) = String::from_utf8(token) {
                only_valid_tokens_validate(&token);
            }
        }
    }
}
