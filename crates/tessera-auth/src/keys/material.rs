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
            (thumbprint(&[&public]), to_pem(der.as_ref()))
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

fn thumbprint(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// A key id derived from the public key (an RFC 7638-style thumbprint, shortened): the same key
/// always gets the same id on every node.
fn rsa_kid(key: &RsaPrivateKey) -> String {
    thumbprint(&[&key.n().to_bytes_be(), &key.e().to_bytes_be()])
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
