//! The keys this node signs with and publishes, kept in step with the key table.

use super::master::{is_sealed, MasterKey};
use super::material::{generate, load, Family};
use super::set::{retired, KeySet, KeyState};
use super::{
    AccessTokenAlgorithm, KeyError, KeyFamily, KeyPolicy, KeySummary, Replaced, SignedIdToken,
    SigningAlgorithm, AT_JWT_TYP, ID_TOKEN_HOLD_S,
};
use jsonwebtoken::{Algorithm, Header, Validation};
use std::sync::{Arc, RwLock};
use tessera_core::clock::UnixTime;
use tessera_proto::oidc::JwkSet;
use tessera_store::{Store, StoreError, StoredKey};

/// The keys this node signs with and publishes; reloaded from the store by [`Self::refresh`].
pub struct SigningKeys {
    set: RwLock<Arc<KeySet>>,
    algorithm: SigningAlgorithm,
    access_algorithm: AccessTokenAlgorithm,
    master: Option<MasterKey>,
}

/// How far in the past an emergency key's activation is put (clock skew between nodes).
const EMERGENCY_BACKDATE_S: i64 = 60;

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.snapshot().keys.iter().map(|k| k.kid.clone()).collect();
        f.debug_struct("SigningKeys").field("kids", &kids).finish()
    }
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
        let key = self.new_key(family, now, activates_at).await?;
        match store.add_signing_key(&key, unless_created_after, now).await {
            Ok(true) => {
                tracing::info!(event = "signing_key_added", kid = %key.kid, algorithm = family.stored(), activates_at, "signing key added");
                Ok(Some(key.kid))
            }
            Ok(false) | Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh key of `family`, sealed as it will be stored.
    async fn new_key(
        &self,
        family: Family,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> Result<StoredKey, KeyError> {
        // RSA generation is CPU work of a second or so: keep it off the async threads.
        let mut key = tokio::task::spawn_blocking(move || generate(family, now, activates_at))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))??;
        if let Some(m) = &self.master {
            key.private_pem = m.seal(&key.kid, &key.private_pem)?;
        }
        Ok(key)
    }

    /// The stored algorithms of an operator's key family, and the one its new key gets (access
    /// tokens: every access-token algorithm, since a key of one no longer configured still
    /// verifies what it signed, and the configured one).
    fn members(&self, family: KeyFamily) -> (&'static [Family], Family) {
        match family {
            KeyFamily::IdToken => (&[Family::Rsa], Family::Rsa),
            KeyFamily::AccessToken => (
                &[Family::Es256, Family::EdDsa],
                Family::of_access(self.access_algorithm),
            ),
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

    /// Adds a next key of each of `families`, whatever the schedule says (an operator's
    /// rotation); it signs after `publish_ahead`. Returns the new kids (none for a family that
    /// already has a next key).
    pub async fn rotate_now(
        &self,
        store: &dyn Store,
        now: UnixTime,
        policy: KeyPolicy,
        families: &[KeyFamily],
    ) -> Result<Vec<String>, KeyError> {
        let mut added = Vec::new();
        for family in families.iter().map(|f| self.members(*f).1) {
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

    /// The emergency rotation, for a compromised key: for each of `families`, a new key that
    /// signs at once replaces every key of the family (current, next and retired), and those
    /// leave the JWKS at once. This node switches now; every other node at its next poll of
    /// the key table. Tokens the removed keys signed no longer verify (JWT access tokens are
    /// refused by introspection too).
    pub async fn replace_now(
        &self,
        store: &dyn Store,
        now: UnixTime,
        families: &[KeyFamily],
    ) -> Result<Replaced, KeyError> {
        let mut out = Replaced::default();
        for family in families {
            let (members, new) = self.members(*family);
            // Activated a little in the past: a node whose clock is behind ours must still find
            // it current, since the keys it replaces are gone.
            let key = self.new_key(new, now, now - EMERGENCY_BACKDATE_S).await?;
            let replacing: Vec<&str> = members.iter().map(|f| f.stored()).collect();
            let removed = store.replace_signing_keys(&replacing, &key).await?;
            tracing::warn!(event = "signing_keys_replaced", family = family.as_str(), kid = %key.kid, removed = ?removed, "signing keys replaced at once");
            out.added.push(key.kid);
            out.removed.extend(removed);
        }
        self.refresh(store).await?;
        Ok(out)
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

    /// Signs `claims` as a SciToken / WLCG-profile access token (`typ: JWT`): ES256 with the
    /// current access-token key when access tokens are ES256, else RS256 with the current RSA
    /// key (the `scitokens` libraries accept only RS256 and ES256).
    pub fn sign_scitoken<T: serde::Serialize>(
        &self,
        now: UnixTime,
        claims: &T,
    ) -> Result<String, KeyError> {
        let set = self.snapshot();
        let (family, alg) = match Family::of_access(self.access_algorithm) {
            Family::Es256 => (Family::Es256, Algorithm::ES256),
            _ => (Family::Rsa, Algorithm::RS256),
        };
        let key = set.current(family, now).ok_or(KeyError::Invalid {
            kid: String::new(),
            detail: format!("no {} key is active", family.stored()),
        })?;
        let mut header = Header::new(alg);
        header.typ = Some("JWT".into());
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Whether the key `token`'s header names is still loaded (its signature was checked by
    /// [`Self::is_own_access_token`] when it was first seen).
    pub fn has_access_key_of(&self, token: &str) -> bool {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return false;
        };
        let set = self.snapshot();
        set.keys.iter().any(|k| {
            (k.family != Family::Rsa || header.alg == Algorithm::RS256)
                && Some(&k.kid) == header.kid.as_ref()
        })
    }

    /// Whether `token` is an access token signed by one of our published access-token keys:
    /// the check that lets a JWT reach a lookup (as the checksum does for opaque tokens).
    /// Expiry is left to the stored record.
    pub fn is_own_access_token(&self, token: &str) -> bool {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return false;
        };
        // RFC 9068 tokens (`at+jwt`), or SciTokens (`JWT`, ES256 or RS256).
        let family = match (header.typ.as_deref(), header.alg) {
            (Some(AT_JWT_TYP), Algorithm::ES256) | (Some("JWT"), Algorithm::ES256) => Family::Es256,
            (Some(AT_JWT_TYP), Algorithm::EdDSA) => Family::EdDsa,
            (Some("JWT"), Algorithm::RS256) => Family::Rsa,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::material::load;
    use jsonwebtoken::DecodingKey;
    use tessera_store::StoredKey;

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
}
