//! `tessera-guard` protects any axum/tower service with tokens issued by Tessera (or Globus
//! Auth): what Authlib's `ResourceProtector` + `IntrospectTokenValidator` do for Python.
//!
//! A [`Guard`] holds the service's own client credentials. It takes the bearer token of a
//! request (RFC 6750 §2.1), introspects it (RFC 7662) with those credentials, and caches the
//! answer by the token's SHA-256 for a short TTL (default 10 s, the Globus guidance is 1–30 s),
//! unknown and revoked tokens included, with one request in flight per token however many
//! callers wait for it. It checks required scopes, answers refusals with RFC 6750 errors, and
//! fetches dependent tokens for calls to downstream services, cached until they expire.
//!
//! JWT access tokens (RFC 9068, `typ: at+jwt`) are validated offline instead: signature against
//! the auth server's JWKS (found through its discovery document, cached, fetched again for an
//! unknown `kid` at most once per interval), the algorithm allow-list, `iss`, `aud` (this
//! service's resource-server name), `exp`/`nbf` with a small leeway. A revoked JWT stays valid
//! here until it expires: that is the trade a resource server makes by choosing JWTs.
//!
//! This crate speaks only HTTP to the auth server; it must never link the server itself, so a
//! third-party service can use it against any deployment.

mod error;
mod extract;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gare;
mod guard;
mod jwt;

pub use error::GuardError;
pub use extract::Authenticated;
pub use gare::AuthorizationParameters;
pub use guard::{DependentToken, Guard, GuardBuilder, TokenInfo};
