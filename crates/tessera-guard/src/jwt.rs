//! Offline validation of RFC 9068 JWT access tokens against the auth server's JWKS.

use crate::guard::TokenInfo;
use crate::GuardError;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tessera_proto::oidc::{Jwk, JwkSet};

/// RFC 9068 §2.1: `typ` is `at+jwt` (`application/at+jwt` is the same media type).
fn is_at_jwt(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t == "at+jwt" || t == "application/at+jwt"
    })
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    username: String,
    exp: i64,
    #[serde(default)]
    identity_set: Vec<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The keys of one JWKS fetch, by `kid`.
#[derive(Default)]
struct KeySnapshot {
    keys: HashMap<String, (Algorithm, Arc<DecodingKey>)>,
    fetched_at: Option<Instant>,
}

struct Endpoints {
    issuer: String,
    jwks_uri: String,
}

pub(crate) struct JwtVerifier {
    http: reqwest::Client,
    discovery_url: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    min_refetch: Duration,
    leeway: Duration,
    endpoints: tokio::sync::OnceCell<Endpoints>,
    snapshot: RwLock<Arc<KeySnapshot>>,
    /// One fetch at a time; holds when a `kid` missing from fresh keys last caused one.
    refetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

fn decoding_key(jwk: &Jwk) -> Option<(Algorithm, DecodingKey)> {
    let alg: Algorithm = jwk.alg.parse().ok()?;
    let key = match (jwk.kty.as_str(), alg) {
        ("EC", Algorithm::ES256) if jwk.crv.as_deref() == Some("P-256") => {
            DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?
        }
        ("OKP", Algorithm::EdDSA) if jwk.crv.as_deref() == Some("Ed25519") => {
            DecodingKey::from_ed_components(jwk.x.as_deref()?).ok()?
        }
        ("RSA", Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512) => {
            DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?
        }
        _ => return None,
    };
    Some((alg, key))
}

/// The usable signing keys of a JWKS, by `kid`: `use` absent or `sig`, a known `alg` with a
/// matching key type.
pub(crate) fn signing_keys(set: &JwkSet) -> HashMap<String, (Algorithm, Arc<DecodingKey>)> {
    set.keys
        .iter()
        .filter(|j| j.use_.is_empty() || j.use_ == "sig")
        .filter_map(|j| decoding_key(j).map(|(a, k)| (j.kid.clone(), (a, Arc::new(k)))))
        .collect()
}

/// The algorithm and `kid` of a JWT access token's header, if it is `at+jwt` and its `alg` is
/// among `algorithms`.
pub(crate) fn header(
    token: &str,
    algorithms: &[Algorithm],
) -> Result<(Algorithm, String), GuardError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| GuardError::InvalidToken)?;
    if !is_at_jwt(header.typ.as_deref()) || !algorithms.contains(&header.alg) {
        return Err(GuardError::InvalidToken);
    }
    Ok((header.alg, header.kid.ok_or(GuardError::InvalidToken)?))
}

/// Checks `token`'s signature with `key` (for `alg`, already matched to the header), its
/// issuer, audience and times, and reads its claims. No IO.
pub(crate) fn verify(
    token: &str,
    alg: Algorithm,
    key: &DecodingKey,
    issuer: &str,
    audience: &str,
    leeway: Duration,
) -> Result<TokenInfo, GuardError> {
    let mut v = Validation::new(alg);
    v.leeway = leeway.as_secs();
    v.validate_nbf = true;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data =
        jsonwebtoken::decode::<Claims>(token, key, &v).map_err(|_| GuardError::InvalidToken)?;
    let c = data.claims;
    Ok(TokenInfo {
        sub: c.sub,
        username: c.username,
        client_id: c.client_id,
        scopes: c.scope.split_whitespace().map(str::to_owned).collect(),
        aud: vec![audience.to_owned()],
        exp: c.exp,
        identity_set: c.identity_set,
        // Judged only by introspection: a JWT carries no policy evaluations.
        policy_evaluations: Default::default(),
    })
}

impl JwtVerifier {
    pub(crate) fn new(
        http: reqwest::Client,
        base: &str,
        audience: String,
        algorithms: Vec<Algorithm>,
        max_age: Duration,
        min_refetch: Duration,
        leeway: Duration,
    ) -> Self {
        Self {
            http,
            discovery_url: format!("{base}/.well-known/openid-configuration"),
            audience,
            algorithms,
            max_age,
            min_refetch,
            leeway,
            endpoints: tokio::sync::OnceCell::new(),
            snapshot: RwLock::new(Arc::new(KeySnapshot::default())),
            refetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn current(&self) -> Arc<KeySnapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) async fn validate(&self, token: &str) -> Result<TokenInfo, GuardError> {
        let (header_alg, kid) = header(token, &self.algorithms)?;
        let (alg, key) = self
            .key(&kid)
            .await?
            .filter(|(alg, _)| *alg == header_alg)
            .ok_or(GuardError::InvalidToken)?;
        let issuer = &self
            .endpoints
            .get()
            .ok_or_else(|| GuardError::Unavailable("no discovery document".into()))?
            .issuer;
        verify(token, alg, &key, issuer, &self.audience, self.leeway)
    }

    /// The key `kid` names, from the cached JWKS while it is fresh; a stale JWKS or an unknown
    /// `kid` fetches it again (one fetch at a time, an unknown `kid` at most once per
    /// `min_refetch`).
    async fn key(&self, kid: &str) -> Result<Option<(Algorithm, Arc<DecodingKey>)>, GuardError> {
        let snap = self.current();
        let fresh = snap.fetched_at.is_some_and(|t| t.elapsed() < self.max_age);
        if fresh {
            if let Some((alg, k)) = snap.keys.get(kid) {
                return Ok(Some((*alg, k.clone())));
            }
        }
        let mut last = self.refetch.lock().await;
        // Whoever held the lock before may have fetched what we need.
        let again = self.current();
        if again.fetched_at != snap.fetched_at {
            return Ok(again.keys.get(kid).map(|(a, k)| (*a, k.clone())));
        }
        if fresh {
            // Fresh keys and an unknown kid: a rotation, or made-up ids; limit the latter.
            if last.is_some_and(|t| t.elapsed() < self.min_refetch) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(new) => {
                let found = new.keys.get(kid).map(|(a, k)| (*a, k.clone()));
                *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                Ok(found)
            }
            // The auth server is unreachable: keep using the keys we have.
            Err(e) => match snap.keys.get(kid) {
                Some((alg, k)) => {
                    tracing::warn!(error = %e, "JWKS refresh failed; using the cached keys");
                    Ok(Some((*alg, k.clone())))
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self) -> Result<KeySnapshot, GuardError> {
        let unavailable = |e: reqwest::Error| GuardError::Unavailable(e.without_url().to_string());
        let endpoints = self
            .endpoints
            .get_or_try_init(|| async {
                let d: Discovery = self
                    .http
                    .get(&self.discovery_url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(unavailable)?
                    .json()
                    .await
                    .map_err(unavailable)?;
                Ok::<_, GuardError>(Endpoints {
                    issuer: d.issuer,
                    jwks_uri: d.jwks_uri,
                })
            })
            .await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let set: JwkSet = self
            .http
            .get(&endpoints.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        Ok(KeySnapshot {
            keys: signing_keys(&set),
            fetched_at: Some(Instant::now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_at_jwt;

    #[test]
    fn only_at_jwt_types_are_access_tokens() {
        assert!(is_at_jwt(Some("at+jwt")));
        assert!(is_at_jwt(Some("application/at+JWT")));
        assert!(!is_at_jwt(Some("JWT")));
        assert!(!is_at_jwt(None));
    }
}
