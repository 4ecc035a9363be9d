//! OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6), shaped as the Globus SDK verifies them
//! (spec §2.9): RS512, `aud` = the client that redeemed the code, integer `iat`/`exp`.

use crate::keys::{KeyError, SignedIdToken, SigningAlgorithm};
use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};
use tessera_core::clock::UnixTime;
use tessera_core::identity::Identity;
use uuid::Uuid;

pub const VIEW_IDENTITY_SET: &str = "urn:globus:auth:scope:auth.globus.org:view_identity_set";

/// OIDC Core §3.1.3.6: the left half of the hash of the access token, with the hash of the
/// signing algorithm (SHA-512 for RS512, SHA-256 for RS256).
pub fn at_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match algorithm {
        SigningAlgorithm::RS512 => Sha512::digest(access_token.as_bytes()).to_vec(),
        SigningAlgorithm::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The identity claims the granted scopes allow (shared with userinfo). `set` is the user's
/// linked identities, the user included.
pub fn identity_claims(
    identity: &Identity,
    set: &[Identity],
    scopes: &[&str],
    last_authentication: Option<UnixTime>,
    idp_names: &std::collections::HashMap<Uuid, String>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), json!(identity.id.to_string()));
    if scopes.contains(&"profile") {
        m.insert("preferred_username".into(), json!(identity.username));
        m.insert("name".into(), json!(identity.name));
        m.insert("organization".into(), json!(identity.organization));
        m.insert(
            "identity_provider".into(),
            json!(identity.identity_provider.to_string()),
        );
        m.insert(
            "identity_provider_display_name".into(),
            json!(identity.provider_name(idp_names)),
        );
        if let Some(t) = last_authentication {
            m.insert("last_authentication".into(), json!(t));
        }
    }
    if scopes.contains(&"email") {
        m.insert("email".into(), json!(identity.email));
    }
    if scopes.contains(&VIEW_IDENTITY_SET) {
        let members: Vec<Value> = set
            .iter()
            .map(|i| {
                json!({
                    "sub": i.id.to_string(),
                    "username": i.username,
                    "name": i.name,
                    "email": i.email,
                    "identity_provider": i.identity_provider.to_string(),
                    "identity_provider_display_name": i.provider_name(idp_names),
                    "organization": i.organization,
                    "status": i.status.as_str(),
                    "last_authentication": if i.id == identity.id { last_authentication } else { None },
                })
            })
            .collect();
        m.insert("identity_set".into(), Value::Array(members));
    }
    m
}

pub struct IdTokenInput<'a> {
    pub identity: &'a Identity,
    pub identity_set: &'a [Identity],
    pub client_id: Uuid,
    pub scopes: &'a [&'a str],
    pub access_token: &'a str,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    /// Upstream IdP names by id (`Registry::names_or_empty`).
    pub idp_names: &'a std::collections::HashMap<Uuid, String>,
}

/// The ID token, and when it may be handed out (see [`crate::keys::SigningKeys::sign`]).
pub fn sign(state: &AppState, input: &IdTokenInput<'_>) -> Result<SignedIdToken, KeyError> {
    let now = state.clock.now();
    let mut claims = identity_claims(
        input.identity,
        input.identity_set,
        input.scopes,
        Some(input.auth_time),
        input.idp_names,
    );
    claims.insert("iss".into(), json!(state.config.issuer()));
    claims.insert("aud".into(), json!(input.client_id.to_string()));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now + state.config.access_token_lifetime),
    );
    claims.insert("auth_time".into(), json!(input.auth_time));
    claims.insert(
        "at_hash".into(),
        json!(at_hash(state.keys.algorithm(), input.access_token)),
    );
    if let Some(n) = input.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    state.keys.sign(now, &Value::Object(claims))
}

/// The client an ID token of ours was issued to (its `aud`), for an `id_token_hint`
/// (RP-Initiated Logout 1.0 §2): it must be signed by one of our published RSA keys and name us
/// as `iss`. Expiry does not matter: a hint is often an old token.
pub fn issued_to(state: &AppState, token: &str) -> Option<Uuid> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(token).ok()?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::RS512) {
        return None;
    }
    let kid = header.kid?;
    let jwks = state.keys.jwks(state.clock.now());
    let jwk = jwks.keys.iter().find(|k| k.kty == "RSA" && k.kid == kid)?;
    let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
    let mut v = Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v).ok()?.claims;
    if claims["iss"] != state.config.issuer() {
        return None;
    }
    let aud = match &claims["aud"] {
        Value::Array(a) => a.first()?.as_str()?,
        a => a.as_str()?,
    };
    Uuid::parse_str(aud).ok()
}

#[cfg(test)]
mod tests {
    use super::at_hash;
    use crate::keys::SigningAlgorithm;

    #[test]
    fn at_hash_is_the_left_half_of_the_algorithms_hash() {
        // OIDC Core §3.3.2.11 example: RS256 over "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                SigningAlgorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // 32 bytes of a 64-byte digest -> 43 base64url characters without padding.
        assert_eq!(at_hash(SigningAlgorithm::RS512, "tat_example").len(), 43);
    }
}
