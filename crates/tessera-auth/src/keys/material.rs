//! Key material: generating keys, their ids, and loading a stored key into signing and
//! verifying form with its JWK.

use super::{AccessTokenAlgorithm, KeyError, SigningAlgorithm};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use tessera_core::clock::UnixTime;
use tessera_proto::oidc::Jwk;
use tessera_store::StoredKey;

/// The algorithm stored with an RSA key; the key can sign with either RSA algorithm.
const RSA_FAMILY: &str = "RS512";
const RSA_BITS: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Rsa,
    Es256,
    EdDsa,
}

impl Family {
    pub(super) fn of(stored: &str) -> Option<Self> {
        match stored {
            RSA_FAMILY => Some(Self::Rsa),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
    pub(super) fn stored(self) -> &'static str {
        match self {
            Self::Rsa => RSA_FAMILY,
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
    pub(super) fn of_access(a: AccessTokenAlgorithm) -> Self {
        match a {
            AccessTokenAlgorithm::ES256 => Self::Es256,
            AccessTokenAlgorithm::EdDSA => Self::EdDsa,
        }
    }
}

pub(super) struct LoadedKey {
    pub(super) kid: String,
    pub(super) family: Family,
    pub(super) created_at: UnixTime,
    pub(super) activates_at: UnixTime,
    pub(super) encoding: EncodingKey,
    pub(super) decoding: DecodingKey,
    pub(super) jwk: Jwk,
}

/// A fresh key of `family`, as it is stored (clear PEM; sealed by the caller).
pub(super) fn generate(
    family: Family,
    now: UnixTime,
    activates_at: UnixTime,
) -> Result<StoredKey, KeyError> {
    let gen_err = |e: String| KeyError::Generate(e);
    let (kid, pem) = match family {
        Family::Rsa => {
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| gen_err(e.to_string()))?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| gen_err(e.to_string()))?;
            (rsa_kid(&key), pem.to_string())
        }
        Family::Es256 | Family::EdDsa => {
            let rng = SystemRandom::new();
            let der = match family {
                Family::Es256 => {
                    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                }
                _ => Ed25519KeyPair::generate_pkcs8(&rng),
            }
            .map_err(|e| gen_err(e.to_string()))?;
            let public = public_key(family, der.as_ref()).map_err(gen_err)?;
            let kid = match family {
                Family::Es256 if public.len() == 65 => ec_thumbprint(&public[1..33], &public[33..]),
                Family::Es256 => return Err(gen_err("not a P-256 point".into())),
                _ => okp_thumbprint(&public),
            };
            (kid, to_pem(der.as_ref()))
        }
    };
    Ok(StoredKey {
        kid,
        algorithm: family.stored().to_owned(),
        private_pem: pem,
        created_at: now,
        activates_at,
    })
}

fn public_key(family: Family, pkcs8: &[u8]) -> Result<Vec<u8>, String> {
    let rng = SystemRandom::new();
    match family {
        Family::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map(|k| k.public_key().as_ref().to_vec())
            .map_err(|e| e.to_string()),
        Family::EdDsa => Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map(|k| k.public_key().as_ref().to_vec())
            .map_err(|e| e.to_string()),
        Family::Rsa => Err("not an RSA operation".into()),
    }
}

fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

fn from_pem(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD.decode(body).map_err(|e| e.to_string())
}

/// The RFC 7638 JWK thumbprint: SHA-256 of the required members in lexicographic order, no
/// whitespace, base64url. Keys are named by it (SciToken verifiers cache keys by `kid`, so a
/// new key must never reuse an old key's id). Keys stored before this used a shortened digest
/// of the raw key; they keep their ids.
fn rfc7638(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn ec_thumbprint(x: &[u8], y: &[u8]) -> String {
    rfc7638(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    ))
}

fn okp_thumbprint(x: &[u8]) -> String {
    rfc7638(&format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x)
    ))
}

/// The RSA key's RFC 7638 thumbprint: the same key always gets the same id on every node.
fn rsa_kid(key: &RsaPrivateKey) -> String {
    rfc7638(&format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        URL_SAFE_NO_PAD.encode(key.n().to_bytes_be())
    ))
}

pub(super) fn load(
    s: &StoredKey,
    pem: &str,
    id_alg: SigningAlgorithm,
) -> Result<LoadedKey, KeyError> {
    let invalid = |detail: String| KeyError::Invalid {
        kid: s.kid.clone(),
        detail,
    };
    let family = Family::of(&s.algorithm)
        .ok_or_else(|| invalid(format!("unknown algorithm {}", s.algorithm)))?;
    let (encoding, decoding, jwk) = match family {
        Family::Rsa => {
            let private = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| invalid(e.to_string()))?;
            let encoding =
                EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
            let (n, e) = (
                URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            );
            let decoding =
                DecodingKey::from_rsa_components(&n, &e).map_err(|e| invalid(e.to_string()))?;
            let jwk = Jwk {
                kty: "RSA".into(),
                alg: id_alg.as_str().to_owned(),
                use_: "sig".into(),
                kid: s.kid.clone(),
                n: Some(n),
                e: Some(e),
                ..Jwk::default()
            };
            (encoding, decoding, jwk)
        }
        Family::Es256 => {
            let der = from_pem(pem).map_err(invalid)?;
            let public = public_key(family, &der).map_err(invalid)?;
            // Uncompressed point: 0x04 ‖ x ‖ y.
            if public.len() != 65 {
                return Err(invalid("not a P-256 point".into()));
            }
            let (x, y) = (
                URL_SAFE_NO_PAD.encode(&public[1..33]),
                URL_SAFE_NO_PAD.encode(&public[33..]),
            );
            let decoding =
                DecodingKey::from_ec_components(&x, &y).map_err(|e| invalid(e.to_string()))?;
            let jwk = Jwk {
                kty: "EC".into(),
                alg: "ES256".into(),
                use_: "sig".into(),
                kid: s.kid.clone(),
                crv: Some("P-256".into()),
                x: Some(x),
                y: Some(y),
                ..Jwk::default()
            };
            (EncodingKey::from_ec_der(&der), decoding, jwk)
        }
        Family::EdDsa => {
            let der = from_pem(pem).map_err(invalid)?;
            let public = public_key(family, &der).map_err(invalid)?;
            let x = URL_SAFE_NO_PAD.encode(&public);
            let decoding =
                DecodingKey::from_ed_components(&x).map_err(|e| invalid(e.to_string()))?;
            let jwk = Jwk {
                kty: "OKP".into(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
                kid: s.kid.clone(),
                crv: Some("Ed25519".into()),
                x: Some(x),
                ..Jwk::default()
            };
            (EncodingKey::from_ed_der(&der), decoding, jwk)
        }
    };
    Ok(LoadedKey {
        kid: s.kid.clone(),
        family,
        created_at: s.created_at,
        activates_at: s.activates_at,
        encoding,
        decoding,
        jwk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 7638 thumbprint of a published JWK, computed from the JWK itself.
    fn thumbprint_of(jwk: &Jwk) -> String {
        let canonical = match jwk.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                jwk.e.as_deref().unwrap_or_default(),
                jwk.n.as_deref().unwrap_or_default()
            ),
            "EC" => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                jwk.x.as_deref().unwrap_or_default(),
                jwk.y.as_deref().unwrap_or_default()
            ),
            _ => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                jwk.x.as_deref().unwrap_or_default()
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    #[test]
    fn new_keys_are_named_by_their_rfc7638_thumbprint() {
        for family in [Family::Es256, Family::EdDsa, Family::Rsa] {
            let stored = generate(family, 1, 1).unwrap();
            let loaded = load(&stored, &stored.private_pem, SigningAlgorithm::RS256).unwrap();
            assert_eq!(loaded.kid, thumbprint_of(&loaded.jwk), "{family:?}");
            assert_eq!(loaded.kid.len(), 43);
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1: the example RSA key's thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        assert_eq!(
            rfc7638(&canonical),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_corrupt_stored_key_is_an_error_not_a_panic() {
        let stored = StoredKey {
            kid: "k".into(),
            algorithm: "RS512".into(),
            private_pem: "nope".into(),
            created_at: 1,
            activates_at: 1,
        };
        assert!(matches!(
            load(&stored, "nope", SigningAlgorithm::RS512),
            Err(KeyError::Invalid { .. })
        ));
        let es = StoredKey {
            algorithm: "ES256".into(),
            ..stored
        };
        assert!(load(&es, "nope", SigningAlgorithm::RS512).is_err());
    }
}
