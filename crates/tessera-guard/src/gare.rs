//! Globus Auth Requirements Errors (GARE): the `authorization_parameters` a resource server's
//! 403 carries so that a client (the Python SDK's `globus_sdk.gare`, `globus session update`)
//! can send the person through a sign-in that meets them.

use serde::{Deserialize, Serialize};

/// What the person's session (or consents) must gain, in the shape the SDK's
/// `GlobusAuthorizationParameters` reads. Empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_required_identities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_required_single_domain: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_required_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_required_mfa: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
    /// `login` when the person must sign in again even if their session looks fine to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl AuthorizationParameters {
    /// The GARE code: `ConsentRequired` when only scopes are missing, else
    /// `AuthorizationRequired`.
    pub fn code(&self) -> &'static str {
        let session = self.session_message.is_some()
            || !self.session_required_identities.is_empty()
            || !self.session_required_single_domain.is_empty()
            || !self.session_required_policies.is_empty()
            || self.session_required_mfa.is_some()
            || self.prompt.is_some();
        if !session && !self.required_scopes.is_empty() {
            "ConsentRequired"
        } else {
            "AuthorizationRequired"
        }
    }
}
