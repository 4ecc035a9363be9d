//! Signing keys: generated on first start, kept in the store (sealed with the master key when
//! one is configured), rotated on a schedule, published as a JWKS.
//!
//! Two families of keys: one RSA key signs ID tokens (RS512 or RS256), one ES256 or EdDSA key
//! signs JWT access tokens (RFC 9068). The Globus SDK verifies ID tokens with `keys[0]` of the
//! JWKS and no `kid` matching (spec §2.9), so the RSA key that signs now is always published
//! first; the access-token keys follow it.
//!
//! Rotation: a new key is stored with `activates_at` in the future. From its creation every
//! node publishes it (after the current key); from `activates_at` every node signs with it, by
//! its own clock, so nodes switch together although each learns of the key by polling. A key
//! that no longer signs stays published until everything it signed has expired, then it is
//! deleted. Which key signs is a function of the stored rows and the time: nothing else to
//! agree on.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use tessera_core::clock::UnixTime;
use tessera_proto::oidc::{Jwk, JwkSet};
use tessera_store::{Store, StoreError, StoredKey};

/// The algorithm stored with an RSA key; the key can sign with either RSA algorithm.
const RSA_FAMILY: &str = "RS512";
const RSA_BITS: usize = 2048;
/// The `typ` header of RFC 9068 access tokens.
pub const AT_JWT_TYP: &str = "at+jwt";
const SEALED_PREFIX: &str = "sealed:v1:";

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

/// How JWT access tokens are signed: ES256 (P-256, the default) or EdDSA (Ed25519).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessTokenAlgorithm {
    #[default]
    ES256,
    EdDSA,
}

impl AccessTokenAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// The 256-bit key that seals signing keys at rest (AES-256-GCM). Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// 32 bytes written as base64 (standard alphabet) or 64 hex digits, surrounding
    /// whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| e.to_string())?
        } else {
            STANDARD
                .decode(t)
                .map_err(|_| "the master key is neither base64 nor hex".to_owned())?
        };
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the master key must be 32 bytes (256 bits)".to_owned())?;
        Ok(Self(arr))
    }

    /// A fresh key from the OS.
    pub fn generate() -> Result<Self, String> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| "the OS random generator failed".to_owned())?;
        Ok(Self(b))
    }

    /// The text form `parse` reads (base64).
    pub fn encode(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn aead(&self) -> Result<LessSafeKey, KeyError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| KeyError::Seal("bad master key".into()))
    }

    /// `sealed:v1:` + base64(nonce ‖ ciphertext ‖ tag); the kid is authenticated with it, so a
    /// sealed key cannot be moved to another row.
    pub fn seal(&self, kid: &str, pem: &str) -> Result<String, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Seal("the OS random generator failed".into()))?;
        let mut buf = pem.as_bytes().to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| KeyError::Seal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    fn open(&self, kid: &str, sealed: &str) -> Result<String, KeyError> {
        let bad = || KeyError::Invalid {
            kid: kid.to_owned(),
            detail: "cannot be opened with this master key".into(),
        };
        let raw = STANDARD
            .decode(sealed.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buf = rest.to_vec();
        let clear = self
            .aead()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| bad())?;
        String::from_utf8(clear.to_vec()).map_err(|_| bad())
    }
}

fn is_sealed(material: &str) -> bool {
    material.starts_with(SEALED_PREFIX)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {detail}")]
    Invalid { kid: String, detail: String },
    #[error("generating a key failed: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("{0}")]
    Seal(String),
}

/// How keys live: how often they are replaced, how long ahead a new one is published, and how
/// long a replaced one stays published.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A key signs for this long before the next one takes over.
    pub rotation_interval: i64,
    /// The next key is published this long before it signs.
    pub publish_ahead: i64,
    /// A replaced key stays published this long (the longest a token it signed can live, plus
    /// verification leeway).
    pub retain: i64,
}

impl KeyPolicy {
    /// Publishing ahead a tenth of the interval, between 3 polls and a day.
    pub fn new(rotation_interval: i64, poll_interval: i64, longest_token: i64) -> Self {
        let publish_ahead = (rotation_interval / 10).clamp(3 * poll_interval.max(1), 24 * 3600);
        Self {
            rotation_interval,
            publish_ahead,
            // The SDK verifies ID tokens with 300 s of leeway.
            retain: longest_token + 300,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    Es256,
    EdDsa,
}

impl Family {
    fn of(stored: &str) -> Option<Self> {
        match stored {
            RSA_FAMILY => Some(Self::Rsa),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
    fn stored(self) -> &'static str {
        match self {
            Self::Rsa => RSA_FAMILY,
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
    fn of_access(a: AccessTokenAlgorithm) -> Self {
        match a {
            AccessTokenAlgorithm::ES256 => Self::Es256,
            AccessTokenAlgorithm::EdDSA => Self::EdDsa,
        }
    }
}

struct LoadedKey {
    kid: String,
    family: Family,
    created_at: UnixTime,
    activates_at: UnixTime,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

/// Where a key stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

/// One loaded snapshot of the key table.
struct KeySet {
    keys: Vec<LoadedKey>,
}

impl KeySet {
    /// The family's keys in publication order at `now`: current, next (soonest first), retired
    /// (newest first).
    fn ordered(&self, family: Family, now: UnixTime) -> Vec<(&LoadedKey, KeyState)> {
        let mut of: Vec<&LoadedKey> = self.keys.iter().filter(|k| k.family == family).collect();
        // The newest activated key signs; among keys activated together (stored before rotation
        // existed, all 0), the oldest, as before.
        of.sort_by(|a, b| {
            b.activates_at
                .cmp(&a.activates_at)
                .then(a.created_at.cmp(&b.created_at))
                .then(a.kid.cmp(&b.kid))
        });
        let current = of.iter().position(|k| k.activates_at <= now);
        let mut out = Vec::with_capacity(of.len());
        if let Some(c) = current {
            out.push((of[c], KeyState::Current));
        }
        let mut next: Vec<&LoadedKey> = of
            .iter()
            .copied()
            .filter(|k| k.activates_at > now)
            .collect();
        next.reverse();
        out.extend(next.into_iter().map(|k| (k, KeyState::Next)));
        if let Some(c) = current {
            out.extend(of[c + 1..].iter().map(|k| (*k, KeyState::Retired)));
        }
        out
    }

    fn current(&self, family: Family, now: UnixTime) -> Option<&LoadedKey> {
        self.ordered(family, now)
            .into_iter()
            .find(|(_, s)| *s == KeyState::Current)
            .map(|(k, _)| k)
    }
}

/// How long before the next RSA key activates ID tokens are already signed by it, their answer
/// held back until it activates (see [`SigningKeys::sign`]). Longer than the SDK takes from the
/// exchange to its JWKS fetch; far shorter than the publication lead, so every node has the key.
pub const ID_TOKEN_HOLD_S: i64 = 2;

/// An ID token, and when it may be handed out.
#[derive(Debug)]
pub struct SignedIdToken {
    pub jwt: String,
    /// `None`: at once. Otherwise not before this time, when its key starts to sign and becomes
    /// `keys[0]` of the JWKS.
    pub not_before: Option<UnixTime>,
}

/// A key as `tessera admin keys list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeySummary {
    pub kid: String,
    pub algorithm: String,
    pub state: &'static str,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
}

/// The keys this node signs with and publishes; reloaded from the store by [`Self::refresh`].
pub struct SigningKeys {
    set: RwLock<Arc<KeySet>>,
    algorithm: SigningAlgorithm,
    access_algorithm: AccessTokenAlgorithm,
    master: Option<MasterKey>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.snapshot().keys.iter().map(|k| k.kid.clone()).collect();
        f.debug_struct("SigningKeys").field("kids", &kids).finish()
    }
}

/// A fresh key of `family`, as it is stored (clear PEM; sealed by the caller).
fn generate(family: Family, now: UnixTime, activates_at: UnixTime) -> Result<StoredKey, KeyError> {
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

fn load(s: &StoredKey, pem: &str, id_alg: SigningAlgorithm) -> Result<LoadedKey, KeyError> {
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

impl SigningKeys {
    /// Loads the stored keys, first sealing any stored in clear (when a master key is given) and
    /// generating the first key of each family in use if there is none.
    pub async fn load_or_generate(
        store: &dyn Store,
        now: UnixTime,
        algorithm: SigningAlgorithm,
        access_algorithm: AccessTokenAlgorithm,
        master: Option<MasterKey>,
    ) -> Result<Self, KeyError> {
        let keys = Self {
            set: RwLock::new(Arc::new(KeySet { keys: Vec::new() })),
            algorithm,
            access_algorithm,
            master,
        };
        keys.seal_clear_rows(store).await?;
        for family in [Family::Rsa, Family::of_access(access_algorithm)] {
            if !store
                .signing_keys()
                .await?
                .iter()
                .any(|k| k.algorithm == family.stored())
            {
                keys.add_key(store, family, now, now, i64::MIN).await?;
            }
        }
        keys.refresh(store).await?;
        Ok(keys)
    }

    /// Existing clear rows (databases from before encryption at rest) are sealed in place.
    async fn seal_clear_rows(&self, store: &dyn Store) -> Result<(), KeyError> {
        let Some(master) = &self.master else {
            return Ok(());
        };
        for k in store.signing_keys().await? {
            if !is_sealed(&k.private_pem) {
                let sealed = master.seal(&k.kid, &k.private_pem)?;
                if store
                    .replace_key_material(&k.kid, &k.private_pem, &sealed)
                    .await?
                {
                    tracing::info!(event = "signing_key_sealed", kid = %k.kid, "signing key encrypted at rest");
                }
            }
        }
        Ok(())
    }

    /// Generates a key of `family` and stores it unless one was created after
    /// `unless_created_after` or one is waiting to activate (another node may have won).
    async fn add_key(
        &self,
        store: &dyn Store,
        family: Family,
        now: UnixTime,
        activates_at: UnixTime,
        unless_created_after: UnixTime,
    ) -> Result<Option<String>, KeyError> {
        // RSA generation is CPU work of a second or so: keep it off the async threads.
        let mut key = tokio::task::spawn_blocking(move || generate(family, now, activates_at))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        if let Some(m) = &self.master {
            key.private_pem = m.seal(&key.kid, &key.private_pem)?;
        }
        match store.add_signing_key(&key, unless_created_after, now).await {
            Ok(true) => {
                tracing::info!(event = "signing_key_added", kid = %key.kid, algorithm = family.stored(), activates_at, "signing key added");
                Ok(Some(key.kid))
            }
            Ok(false) | Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Rereads the key table (another node may have rotated).
    pub async fn refresh(&self, store: &dyn Store) -> Result<(), KeyError> {
        let stored = store.signing_keys().await?;
        let mut keys = Vec::with_capacity(stored.len());
        for s in &stored {
            let pem = if is_sealed(&s.private_pem) {
                match &self.master {
                    Some(m) => m.open(&s.kid, &s.private_pem)?,
                    None => {
                        return Err(KeyError::Invalid {
                            kid: s.kid.clone(),
                            detail: "is encrypted, and no master key is configured".into(),
                        })
                    }
                }
            } else {
                s.private_pem.clone()
            };
            keys.push(load(s, &pem, self.algorithm)?);
        }
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(KeySet { keys });
        Ok(())
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One maintenance round, run by every node every poll interval: adds the next key of a
    /// family whose current key is due (at most one node's key is stored), deletes replaced
    /// keys past their retention, and reloads the table.
    pub async fn maintain(
        &self,
        store: &dyn Store,
        now: UnixTime,
        policy: KeyPolicy,
    ) -> Result<(), KeyError> {
        let set = self.snapshot();
        for family in [Family::Rsa, Family::of_access(self.access_algorithm)] {
            let ordered = set.ordered(family, now);
            if ordered.is_empty() {
                self.add_key(store, family, now, now, i64::MIN).await?;
                continue;
            }
            let due = policy.rotation_interval > 0
                && ordered.iter().all(|(k, s)| {
                    *s != KeyState::Next
                        && (*s != KeyState::Current
                            || k.activates_at.max(k.created_at) + policy.rotation_interval
                                - policy.publish_ahead
                                <= now)
                });
            if due {
                self.add_key(
                    store,
                    family,
                    now,
                    now + policy.publish_ahead,
                    now - (policy.rotation_interval - policy.publish_ahead),
                )
                .await?;
            }
        }
        for (kid, successor) in retired(&set, now) {
            if successor + policy.retain < now && store.delete_signing_key(&kid).await? {
                tracing::info!(event = "signing_key_removed", kid = %kid, "retired signing key removed");
            }
        }
        self.refresh(store).await
    }

    /// Adds a next key of every family in use now, whatever the schedule says (an operator's
    /// rotation); it signs after `publish_ahead`. Returns the new kids (none for a family that
    /// already has a next key).
    pub async fn rotate_now(
        &self,
        store: &dyn Store,
        now: UnixTime,
        policy: KeyPolicy,
    ) -> Result<Vec<String>, KeyError> {
        let mut added = Vec::new();
        for family in [Family::Rsa, Family::of_access(self.access_algorithm)] {
            if let Some(kid) = self
                .add_key(store, family, now, now + policy.publish_ahead, i64::MAX)
                .await?
            {
                added.push(kid);
            }
        }
        self.refresh(store).await?;
        Ok(added)
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub fn access_algorithm(&self) -> AccessTokenAlgorithm {
        self.access_algorithm
    }

    /// The JWKS at `now`: the RSA key that signs ID tokens first (the SDK uses `keys[0]`), then
    /// the next and retired RSA keys, then the access-token keys in the same order.
    pub fn jwks(&self, now: UnixTime) -> JwkSet {
        let set = self.snapshot();
        let first_access = Family::of_access(self.access_algorithm);
        let mut keys = Vec::new();
        for family in [Family::Rsa, first_access] {
            keys.extend(
                set.ordered(family, now)
                    .into_iter()
                    .map(|(k, _)| k.jwk.clone()),
            );
        }
        // Keys of an access-token algorithm no longer configured still verify what they signed.
        for family in [Family::Es256, Family::EdDsa] {
            if family != first_access {
                keys.extend(
                    set.ordered(family, now)
                        .into_iter()
                        .map(|(k, _)| k.jwk.clone()),
                );
            }
        }
        JwkSet { keys }
    }

    /// Every key with its state at `now`.
    pub fn summary(&self, now: UnixTime) -> Vec<KeySummary> {
        let set = self.snapshot();
        let mut out = Vec::new();
        for family in [Family::Rsa, Family::Es256, Family::EdDsa] {
            for (k, state) in set.ordered(family, now) {
                out.push(KeySummary {
                    kid: k.kid.clone(),
                    algorithm: family.stored().to_owned(),
                    state: state.as_str(),
                    created_at: k.created_at,
                    activates_at: k.activates_at,
                });
            }
        }
        out
    }

    /// Signs `claims` as an ID token: with the current RSA key, or, within [`ID_TOKEN_HOLD_S`]
    /// of the next RSA key's activation, with the next key, to be handed out no earlier than
    /// that activation ([`SignedIdToken::not_before`]).
    ///
    /// The Globus SDK verifies an ID token with `keys[0]` of a JWKS it fetches right after the
    /// exchange, and `keys[0]` changes the instant the next key activates: a token signed by
    /// the old key a moment before that instant would fail against the JWKS fetched a moment
    /// after. Signed by the next key and held until the instant, it verifies against `keys[0]`
    /// from then on (and by `kid` at any time: the next key is published well ahead).
    pub fn sign<T: serde::Serialize>(
        &self,
        now: UnixTime,
        claims: &T,
    ) -> Result<SignedIdToken, KeyError> {
        let set = self.snapshot();
        let ordered = set.ordered(Family::Rsa, now);
        // Next keys come soonest first.
        let soon = ordered
            .iter()
            .find(|(k, s)| *s == KeyState::Next && k.activates_at - now <= ID_TOKEN_HOLD_S)
            .map(|(k, _)| *k);
        let (key, not_before) = match soon {
            Some(k) => (k, Some(k.activates_at)),
            None => (
                set.current(Family::Rsa, now).ok_or(KeyError::Invalid {
                    kid: String::new(),
                    detail: "no RSA key is active".into(),
                })?,
                None,
            ),
        };
        let mut header = Header::new(self.algorithm.jwt());
        header.kid = Some(key.kid.clone());
        Ok(SignedIdToken {
            jwt: jsonwebtoken::encode(&header, claims, &key.encoding)?,
            not_before,
        })
    }

    /// Signs `claims` as an RFC 9068 access token (`typ: at+jwt`) with the current
    /// access-token key.
    pub fn sign_access_token<T: serde::Serialize>(
        &self,
        now: UnixTime,
        claims: &T,
    ) -> Result<String, KeyError> {
        let set = self.snapshot();
        let family = Family::of_access(self.access_algorithm);
        let key = set.current(family, now).ok_or(KeyError::Invalid {
            kid: String::new(),
            detail: format!("no {} key is active", family.stored()),
        })?;
        let mut header = Header::new(match family {
            Family::EdDsa => Algorithm::EdDSA,
            _ => Algorithm::ES256,
        });
        header.typ = Some(AT_JWT_TYP.into());
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Whether `token` is an access token signed by one of our published access-token keys:
    /// the check that lets a JWT reach a lookup (as the checksum does for opaque tokens).
    /// Expiry is left to the stored record.
    pub fn is_own_access_token(&self, token: &str) -> bool {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return false;
        };
        if header.typ.as_deref() != Some(AT_JWT_TYP) {
            return false;
        }
        let family = match header.alg {
            Algorithm::ES256 => Family::Es256,
            Algorithm::EdDSA => Family::EdDsa,
            _ => return false,
        };
        let set = self.snapshot();
        let Some(key) = set
            .keys
            .iter()
            .find(|k| k.family == family && Some(&k.kid) == header.kid.as_ref())
        else {
            return false;
        };
        let mut v = Validation::new(header.alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &v).is_ok()
    }
}

/// Replaced keys with the time their successor started to sign.
fn retired(set: &KeySet, now: UnixTime) -> Vec<(String, UnixTime)> {
    let mut out = Vec::new();
    for family in [Family::Rsa, Family::Es256, Family::EdDsa] {
        let ordered = set.ordered(family, now);
        // Activated keys, newest first: each one's successor is the one before it.
        let activated: Vec<&LoadedKey> = ordered
            .iter()
            .filter(|(_, s)| *s != KeyState::Next)
            .map(|(k, _)| *k)
            .collect();
        for pair in activated.windows(2) {
            out.push((pair[1].kid.clone(), pair[0].activates_at));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        aud: String,
        exp: i64,
    }

    fn claims() -> Claims {
        Claims {
            sub: "s".into(),
            aud: "a".into(),
            exp: 4_000_000_000,
        }
    }

    fn keys_from(
        stored: &[StoredKey],
        alg: SigningAlgorithm,
        at: AccessTokenAlgorithm,
    ) -> SigningKeys {
        let keys = SigningKeys {
            set: RwLock::new(Arc::new(KeySet { keys: Vec::new() })),
            algorithm: alg,
            access_algorithm: at,
            master: None,
        };
        let loaded = stored
            .iter()
            .map(|s| load(s, &s.private_pem, alg).unwrap())
            .collect();
        *keys.set.write().unwrap() = Arc::new(KeySet { keys: loaded });
        keys
    }

    #[test]
    fn a_signed_id_token_verifies_against_the_first_published_jwk() {
        let rsa = generate(Family::Rsa, 1, 1).unwrap();
        let es = generate(Family::Es256, 1, 1).unwrap();
        let keys = keys_from(
            &[es.clone(), rsa.clone()],
            SigningAlgorithm::RS512,
            AccessTokenAlgorithm::ES256,
        );
        let jwt = keys.sign(10, &claims()).unwrap().jwt;
        let jwks = keys.jwks(10);
        let jwk = &jwks.keys[0];
        assert_eq!(
            (jwk.kty.as_str(), jwk.alg.as_str(), jwk.e.as_deref()),
            ("RSA", "RS512", Some("AQAB"))
        );
        assert_eq!(jwks.keys[1].kty, "EC", "the access-token key comes after");
        let decoding =
            DecodingKey::from_rsa_components(jwk.n.as_ref().unwrap(), jwk.e.as_ref().unwrap())
                .unwrap();
        let mut v = Validation::new(Algorithm::RS512);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<Claims>(&jwt, &decoding, &v).unwrap();
        assert_eq!(data.claims.sub, "s");
        assert_eq!(data.header.kid.as_deref(), Some(jwk.kid.as_str()));
        assert!(!format!("{keys:?}").contains("PRIVATE"));

        // The same key signs RS256 when configured so, and says so in the JWKS.
        let rs256 = keys_from(&[rsa], SigningAlgorithm::RS256, AccessTokenAlgorithm::ES256);
        assert_eq!(rs256.jwks(10).keys[0].alg, "RS256");
        let jwt = rs256.sign(10, &claims()).unwrap().jwt;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["a"]);
        assert!(jsonwebtoken::decode::<Claims>(&jwt, &decoding, &v).is_ok());
    }

    #[test]
    fn access_tokens_are_at_jwt_and_verify_with_their_published_key_for_both_algorithms() {
        for (family, alg) in [
            (Family::Es256, AccessTokenAlgorithm::ES256),
            (Family::EdDsa, AccessTokenAlgorithm::EdDSA),
        ] {
            let stored = generate(family, 1, 1).unwrap();
            let keys = keys_from(&[stored], SigningAlgorithm::RS512, alg);
            let jwt = keys.sign_access_token(10, &claims()).unwrap();
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            assert!(keys.is_own_access_token(&jwt));
            // One changed character of the signature and it is not ours.
            let mut tampered = jwt.clone().into_bytes();
            let i = tampered.len() - 5;
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            assert!(!keys.is_own_access_token(&String::from_utf8(tampered).unwrap()));
            assert!(!keys.is_own_access_token("a.b.c"));
            // Another deployment's key is not ours either.
            let other = keys_from(
                &[generate(family, 1, 1).unwrap()],
                SigningAlgorithm::RS512,
                alg,
            );
            assert!(!other.is_own_access_token(&jwt));
        }
    }

    #[test]
    fn the_next_key_is_published_after_the_current_one_and_signs_from_its_activation() {
        let old = generate(Family::Es256, 0, 0).unwrap();
        let new = generate(Family::Es256, 100, 200).unwrap();
        let keys = keys_from(
            &[old.clone(), new.clone()],
            SigningAlgorithm::RS512,
            AccessTokenAlgorithm::ES256,
        );
        let kids = |t| -> Vec<String> { keys.jwks(t).keys.into_iter().map(|k| k.kid).collect() };
        assert_eq!(kids(150), vec![old.kid.clone(), new.kid.clone()]);
        assert_eq!(kids(200), vec![new.kid.clone(), old.kid.clone()]);
        let kid_at = |t| {
            jsonwebtoken::decode_header(&keys.sign_access_token(t, &claims()).unwrap())
                .unwrap()
                .kid
                .unwrap()
        };
        assert_eq!(kid_at(199), old.kid);
        assert_eq!(kid_at(200), new.kid);
        assert_eq!(retired(&keys.snapshot(), 250), vec![(old.kid.clone(), 200)]);
        // Legacy rows (activates_at 0 for all): the oldest signs, as before rotation existed.
        let a = generate(Family::Es256, 5, 0).unwrap();
        let b = generate(Family::Es256, 6, 0).unwrap();
        let legacy = keys_from(
            &[b, a.clone()],
            SigningAlgorithm::RS512,
            AccessTokenAlgorithm::ES256,
        );
        assert_eq!(legacy.jwks(10).keys[0].kid, a.kid);
    }

    #[test]
    fn id_tokens_are_signed_by_the_next_key_just_before_it_activates_and_held_until_then() {
        let old = generate(Family::Rsa, 0, 0).unwrap();
        let new = generate(Family::Rsa, 100, 200).unwrap();
        let keys = keys_from(
            &[old.clone(), new.clone()],
            SigningAlgorithm::RS512,
            AccessTokenAlgorithm::ES256,
        );
        let signed = |t| {
            let s = keys.sign(t, &claims()).unwrap();
            (
                jsonwebtoken::decode_header(&s.jwt).unwrap().kid.unwrap(),
                s.not_before,
            )
        };
        assert_eq!(signed(200 - ID_TOKEN_HOLD_S - 1), (old.kid.clone(), None));
        for t in 200 - ID_TOKEN_HOLD_S..200 {
            assert_eq!(signed(t), (new.kid.clone(), Some(200)), "at {t}");
            assert_eq!(keys.jwks(t).keys[0].kid, old.kid, "still keys[0] at {t}");
        }
        assert_eq!(signed(200), (new.kid.clone(), None));
        assert_eq!(keys.jwks(200).keys[0].kid, new.kid);
    }

    #[test]
    fn sealed_keys_open_only_with_their_master_key_and_kid() {
        let m = MasterKey::generate().unwrap();
        let sealed = m.seal("kid1", "-----BEGIN PRIVATE KEY-----").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("PRIVATE"));
        assert_eq!(
            m.open("kid1", &sealed).unwrap(),
            "-----BEGIN PRIVATE KEY-----"
        );
        assert!(m.open("kid2", &sealed).is_err(), "bound to its row");
        assert!(MasterKey::generate()
            .unwrap()
            .open("kid1", &sealed)
            .is_err());
        assert_eq!(MasterKey::parse(&m.encode()).unwrap().0, m.0);
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse("short").is_err());
        assert!(!format!("{m:?}").contains(&m.encode()));
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
