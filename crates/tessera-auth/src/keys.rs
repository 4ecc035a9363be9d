//! Signing keys: generated on first start, kept in the store, published as a JWKS.
//!
//! The Globus SDK verifies ID tokens with `keys[0]` of the JWKS and no `kid` matching
//! (spec §2.9), so the key that signs is always published first. When several nodes start at
//! once and each generates a key, all of them converge on the oldest stored key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use tessera_core::clock::Clock;
use tessera_proto::oidc::{Jwk, JwkSet};
use tessera_store::{Store, StoreError, StoredKey};

/// The algorithm stored with a generated key; the key can sign with either RSA algorithm.
const STORED_ALGORITHM: &str = "RS512";

/// How ID tokens are signed: RS512 by default (the Globus SDK's choice, spec §2.9), RS256 for
/// OIDC libraries that accept nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    RS256,
    #[default]
    RS512,
}

impl SigningAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "RS512" => Some(Self::RS512),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS512 => "RS512",
        }
    }
    fn jwt(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::RS512 => Algorithm::RS512,
        }
    }
}
const RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {detail}")]
    Invalid { kid: String, detail: String },
    #[error("generating an RSA key failed: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

struct LoadedKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

/// The keys this node signs with and publishes.
pub struct SigningKeys {
    /// Oldest first; the first signs.
    keys: Vec<LoadedKey>,
    jwks: JwkSet,
    algorithm: SigningAlgorithm,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field(
                "kids",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SigningKeys {
    /// Loads the stored keys, generating and storing one first if there is none.
    pub async fn load_or_generate(
        store: &dyn Store,
        clock: &dyn Clock,
        algorithm: SigningAlgorithm,
    ) -> Result<Self, KeyError> {
        let mut stored = store.signing_keys().await?;
        if stored.is_empty() {
            // RSA generation is CPU work of a second or so: keep it off the async threads.
            let key = tokio::task::spawn_blocking(generate)
                .await
                .map_err(|e| KeyError::Generate(e.to_string()))??;
            let kid = kid_of(&key);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| KeyError::Generate(e.to_string()))?;
            let record = StoredKey {
                kid,
                algorithm: STORED_ALGORITHM.to_owned(),
                private_pem: pem.to_string(),
                created_at: clock.now(),
            };
            match store.insert_signing_key(&record).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            stored = store.signing_keys().await?;
        }
        Self::from_stored(&stored, algorithm)
    }

    pub fn from_stored(
        stored: &[StoredKey],
        algorithm: SigningAlgorithm,
    ) -> Result<Self, KeyError> {
        let mut keys = Vec::with_capacity(stored.len());
        for s in stored {
            let invalid = |detail: String| KeyError::Invalid {
                kid: s.kid.clone(),
                detail,
            };
            let private = RsaPrivateKey::from_pkcs8_pem(&s.private_pem)
                .map_err(|e| invalid(e.to_string()))?;
            let encoding = EncodingKey::from_rsa_pem(s.private_pem.as_bytes())
                .map_err(|e| invalid(e.to_string()))?;
            let jwk = Jwk {
                kty: "RSA".into(),
                alg: algorithm.as_str().to_owned(),
                use_: "sig".into(),
                kid: s.kid.clone(),
                n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            };
            keys.push(LoadedKey {
                kid: s.kid.clone(),
                encoding,
                jwk,
            });
        }
        if keys.is_empty() {
            return Err(KeyError::Invalid {
                kid: String::new(),
                detail: "no signing key".into(),
            });
        }
        let jwks = JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        Ok(Self {
            keys,
            jwks,
            algorithm,
        })
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Signs `claims` as a JWT with the current key (RS512).
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let key = self.keys.first().ok_or(KeyError::Invalid {
            kid: String::new(),
            detail: "no key".into(),
        })?;
        let mut header = Header::new(self.algorithm.jwt());
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }
}

fn generate() -> Result<RsaPrivateKey, KeyError> {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        .map_err(|e| KeyError::Generate(e.to_string()))
}

/// A key id derived from the public key (an RFC 7638-style thumbprint, shortened): the same key
/// always gets the same id on every node.
fn kid_of(key: &RsaPrivateKey) -> String {
    let mut h = Sha256::new();
    h.update(key.n().to_bytes_be());
    h.update(key.e().to_bytes_be());
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        aud: String,
        exp: i64,
    }

    #[test]
    fn a_signed_token_verifies_against_the_published_jwk() {
        let key = generate().unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let stored = StoredKey {
            kid: kid_of(&key),
            algorithm: "RS512".into(),
            private_pem: pem,
            created_at: 1,
        };
        let keys = SigningKeys::from_stored(std::slice::from_ref(&stored), SigningAlgorithm::RS512)
            .unwrap();
        let jwt = keys
            .sign(&Claims {
                sub: "s".into(),
                aud: "a".into(),
                exp: 4_000_000_000,
            })
            .unwrap();

        let jwk = &keys.jwks().keys[0];
        assert_eq!(
            (jwk.kty.as_str(), jwk.alg.as_str(), jwk.e.as_str()),
            ("RSA", "RS512", "AQAB")
        );
        let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).unwrap();
        let mut v = Validation::new(Algorithm::RS512);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<Claims>(&jwt, &decoding, &v).unwrap();
        assert_eq!(data.claims.sub, "s");
        assert_eq!(data.header.kid.as_deref(), Some(jwk.kid.as_str()));
        assert!(!format!("{keys:?}").contains("PRIVATE"));

        // The same key signs RS256 when configured so, and says so in the JWKS.
        let rs256 = SigningKeys::from_stored(&[stored], SigningAlgorithm::RS256).unwrap();
        assert_eq!(rs256.jwks().keys[0].alg, "RS256");
        let jwt = rs256
            .sign(&Claims {
                sub: "s".into(),
                aud: "a".into(),
                exp: 4_000_000_000,
            })
            .unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["a"]);
        assert!(jsonwebtoken::decode::<Claims>(&jwt, &decoding, &v).is_ok());
    }

    #[test]
    fn a_corrupt_stored_key_is_an_error_not_a_panic() {
        let stored = StoredKey {
            kid: "k".into(),
            algorithm: "RS512".into(),
            private_pem: "nope".into(),
            created_at: 1,
        };
        assert!(matches!(
            SigningKeys::from_stored(&[stored], SigningAlgorithm::RS512),
            Err(KeyError::Invalid { .. })
        ));
    }
}
