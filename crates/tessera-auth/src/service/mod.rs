//! The services behind the handlers: each function takes what the handler parsed and returns
//! a domain result or an error that says which rule was broken.

pub mod admin;
pub mod audit_log;
pub mod authorize;
pub mod authorize_params;
pub mod client_auth;
pub mod clients;
pub mod consent_grant;
pub mod consents;
pub mod credentials;
pub mod device;
pub mod fqdns;
pub mod group_rules;
pub mod id_token;
pub mod identities;
pub mod introspect;
pub mod issue;
pub mod mfa;
pub mod password;
pub mod person_tokens;
pub mod project_clients;
pub mod projects;
pub mod registration;
pub mod scopes;
pub mod sessions;
pub mod step_up;
pub mod throttle;
pub mod tokens;
pub mod upstream;

use tessera_store::StoreError;

/// A refusal of the REST API, by kind; the HTTP layer maps it to a status and envelope.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The proof asked for (DNS evidence of an FQDN) is missing or wrong.
    #[error("{0}")]
    Unverified(String),
    /// A service the request depends on did not answer; the caller may retry.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
