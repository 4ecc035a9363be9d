//! The Tessera domain: clients, resource servers and scopes, identities, tokens and secrets,
//! grants as pure planning functions, and the policy of who may see what.
//!
//! Everything here is pure. Time comes in through [`clock::Clock`] and randomness through
//! [`random::SecureRandom`]; this crate must never do IO, touch a database or know about HTTP,
//! so that every rule can be unit-tested without sleeping or mocking.

pub mod auth_policy;
pub mod client;
pub mod clock;
pub mod consent;
pub mod fqdn;
pub mod grant;
pub mod group;
pub mod identity;
pub mod pkce;
pub mod policy;
pub mod project;
pub mod random;
pub mod redirect;
pub mod registration;
pub mod scope;
pub mod scope_rule;
pub mod secret;
pub mod seed;
pub mod session;
pub mod token;
pub mod totp;
pub mod upstream;
