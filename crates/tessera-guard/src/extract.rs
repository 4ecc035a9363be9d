//! The axum extractor: `Authenticated` in a handler's arguments means "a valid token".

use crate::{Guard, GuardError, TokenInfo};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::sync::Arc;

/// A request whose bearer token the guard found active for this service.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub token: Arc<TokenInfo>,
    /// The bearer token itself, for dependent-token calls downstream.
    pub bearer: Arc<str>,
    /// The refusal when the token's session does not meet the guard's authentication policies.
    policy_refusal: Option<GuardError>,
}

impl Authenticated {
    /// Refuses with 403 and Globus `authorization_parameters` (`session_required_policies`,
    /// `session_required_mfa`, `session_message`, `prompt=login`) unless the session behind
    /// the token satisfies every authentication policy the guard was built with, as the auth
    /// server judged it at introspection.
    pub fn require_policies(&self) -> Result<(), GuardError> {
        match &self.policy_refusal {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Refuses with 403 `insufficient_scope` unless the token carries every scope.
    pub fn require(&self, scopes: &[&str]) -> Result<(), GuardError> {
        match scopes
            .iter()
            .find(|s| !self.token.scopes.iter().any(|t| t == *s))
        {
            Some(missing) => Err(GuardError::InsufficientScope((*missing).to_owned())),
            None => Ok(()),
        }
    }

    /// Refuses with 403 unless one of the user's linked identities (or the client identity of a
    /// client token) is among `allowed`: authorization by who the caller is, across identities.
    pub fn require_identity(&self, allowed: &[&str]) -> Result<(), GuardError> {
        let ids = std::iter::once(&self.token.sub).chain(self.token.identity_set.iter());
        for id in ids {
            if allowed.contains(&id.as_str()) {
                return Ok(());
            }
        }
        Err(GuardError::Forbidden)
    }
}

/// RFC 6750 §2.1: `Authorization: Bearer <token>`, scheme case-insensitive.
pub(crate) fn bearer(parts: &Parts) -> Result<&str, GuardError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(GuardError::MissingToken)?;
    bearer_value(value.to_str().map_err(|_| GuardError::MissingToken)?)
}

/// The token of an `Authorization` header's value, if it is `Bearer <token>`.
pub(crate) fn bearer_value(value: &str) -> Result<&str, GuardError> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').ok_or(GuardError::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 4096 {
        return Err(GuardError::MissingToken);
    }
    Ok(token)
}

impl<S> FromRequestParts<S> for Authenticated
where
    Guard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GuardError> {
        let guard = Guard::from_ref(state);
        let token = bearer(parts)?;
        let info = guard.validate(token).await?;
        Ok(Self {
            policy_refusal: guard.policy_refusal(&info),
            token: info,
            bearer: token.into(),
        })
    }
}
