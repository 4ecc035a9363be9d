//! The Tessera authorization server: the Globus Auth compatible HTTP surface (`/v2/oauth2/*`,
//! `/v2/api/*`, OIDC discovery and JWKS), the services behind it, and signing-key management.
//!
//! Handlers in [`http`] are thin: they parse the request, call one function of [`service`], and
//! turn its result or error into a response. Services hold the rules that need IO (the store,
//! caches, keys); the rules that need none live in `tessera-core`. This crate must never build
//! SQL (that is `tessera-store`'s) and never log a secret.

pub mod audit;
pub mod cache;
pub mod client_addr;
pub mod config;
pub mod dns;
pub mod group_sources;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod service;
pub mod state;
pub mod view;

pub use config::{AuthConfig, Registration};
pub use http::{metrics_router, router, router_with_docs};
pub use state::AppState;
