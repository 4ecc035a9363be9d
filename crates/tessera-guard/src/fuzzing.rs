//! The guard's parsers, for the fuzz targets (`fuzz/`) and their corpus tests only: enabled by
//! the `fuzzing` feature, not part of the supported API.

use crate::{GuardError, TokenInfo};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tessera_proto::oidc::JwkSet;

/// The token of an `Authorization` header value, as the [`crate::Authenticated`] extractor
/// reads it.
pub fn bearer(value: &str) -> Result<&str, GuardError> {
    crate::extract::bearer_value(value)
}

/// The usable signing keys of a JWKS, by `kid`, as the guard keeps them after a fetch.
pub fn signing_keys(set: &JwkSet) -> HashMap<String, (Algorithm, Arc<DecodingKey>)> {
    crate::jwt::signing_keys(set)
}

/// Offline validation of a JWT access token against `keys`, as the guard does once it has
/// them: header (`typ`, allowed `alg`, `kid`), then signature, issuer, audience and times.
pub fn validate_jwt(
    token: &str,
    keys: &HashMap<String, (Algorithm, Arc<DecodingKey>)>,
    algorithms: &[Algorithm],
    issuer: &str,
    audience: &str,
    leeway: Duration,
) -> Result<TokenInfo, GuardError> {
    let (header_alg, kid) = crate::jwt::header(token, algorithms)?;
    let (alg, key) = keys
        .get(&kid)
        .filter(|(alg, _)| *alg == header_alg)
        .ok_or(GuardError::InvalidToken)?;
    crate::jwt::verify(token, *alg, key, issuer, audience, leeway)
}
