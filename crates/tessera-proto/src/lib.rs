//! Wire types shared by every Tessera crate: OAuth2/OIDC requests and responses, RFC error
//! codes, the Globus `errors[]` envelope, typed scope expressions and the JSON objects of the
//! Globus Auth API (identities, clients, scopes, credentials).
//!
//! This crate owns the *shape* of what crosses the wire and nothing else. It must never do IO,
//! know about storage, or hold policy: it is `serde` plus small, total parsers.

pub mod api;
pub mod oauth;
pub mod oidc;
pub mod scope;
pub mod transfer;
