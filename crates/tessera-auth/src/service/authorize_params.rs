//! The parameters of an authorization request (RFC 6749 §4.1.1, spec §2.1) and the OpenID
//! Connect ones that say how the user may be involved (OIDC Core §3.1.2.1).

use tessera_core::clock::UnixTime;

/// The query (or, for POST, the form) of `/v2/oauth2/authorize`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub response_type: Option<String>,
    pub access_type: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub nonce: Option<String>,
    pub response_mode: Option<String>,
    /// Seconds; text so that a malformed value is an `invalid_request`, not a page.
    pub max_age: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub registration: Option<String>,
    /// The Globus session step-up parameters (comma-separated lists; `True`/`False`).
    pub session_required_identities: Option<String>,
    pub session_required_single_domain: Option<String>,
    pub session_required_policies: Option<String>,
    pub session_required_mfa: Option<String>,
    pub session_message: Option<String>,
}

/// How the user may be involved, from `prompt` and `max_age`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interaction {
    /// `prompt=none`: nothing may be shown; what would need the user is an error instead
    /// (`login_required`, `consent_required`, `interaction_required`).
    pub silent: bool,
    /// `prompt=login`: only a sign-in after the request counts.
    pub login: bool,
    /// `max_age`: a sign-in older than this many seconds does not count.
    pub max_age: Option<i64>,
}

impl Interaction {
    /// Whether a session authenticated at `auth_time` must sign in again at `now`.
    pub fn needs_sign_in(&self, auth_time: Option<UnixTime>, now: UnixTime) -> bool {
        self.login
            || match (self.max_age, auth_time) {
                (Some(max), Some(at)) => now - at > max,
                _ => false,
            }
    }
}

impl AuthorizeParams {
    /// What the request asks of the session (`session_required_*`), or why it is malformed.
    pub fn session_requirements(
        &self,
    ) -> Result<tessera_core::session::SessionRequirements, String> {
        tessera_core::session::SessionRequirements::parse(
            self.session_required_identities.as_deref(),
            self.session_required_single_domain.as_deref(),
            self.session_required_policies.as_deref(),
            self.session_required_mfa.as_deref(),
            self.session_message.as_deref(),
        )
    }

    /// The OIDC parameters checked once the redirect URI is trusted: an error code and
    /// description for the redirect, or how the user may be involved.
    pub fn interaction(&self) -> Result<Interaction, (&'static str, &'static str)> {
        // OIDC Core §6: request objects are not supported, and say so.
        if self.request.is_some() {
            return Err(("request_not_supported", "request objects are not supported"));
        }
        if self.request_uri.is_some() {
            return Err(("request_uri_not_supported", "request_uri is not supported"));
        }
        if self.registration.is_some() {
            return Err((
                "registration_not_supported",
                "the registration parameter is not supported",
            ));
        }
        // Answers go in the query only: anything else would reach the client where it does
        // not look.
        if self.response_mode.as_deref().is_some_and(|m| m != "query") {
            return Err(("invalid_request", "only response_mode=query is supported"));
        }
        let mut interaction = Interaction::default();
        let values: Vec<&str> = self
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|v| !v.is_empty())
            .collect();
        for v in &values {
            match *v {
                "none" => interaction.silent = true,
                "login" => interaction.login = true,
                // `consent`: consent already given is not asked again; `select_account`: there
                // is one account to pick. Values of later specs are ignored, as unknown
                // parameters are (RFC 6749 §3.1).
                _ => {}
            }
        }
        if interaction.silent && values.len() > 1 {
            return Err((
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        if let Some(max_age) = &self.max_age {
            interaction.max_age = Some(
                max_age
                    .parse::<i64>()
                    .ok()
                    .filter(|m| *m >= 0)
                    .ok_or(("invalid_request", "max_age must be a number of seconds"))?,
            );
        }
        Ok(interaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> AuthorizeParams {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn prompt_and_max_age_say_how_the_user_may_be_involved() {
        let ok = |pairs: &[(&str, &str)]| params(pairs).interaction().unwrap();
        assert_eq!(ok(&[]), Interaction::default());
        assert!(ok(&[("prompt", "none")]).silent);
        assert!(ok(&[("prompt", "login consent")]).login);
        assert_eq!(ok(&[("prompt", "consent")]), Interaction::default());
        assert_eq!(ok(&[("prompt", "create")]), Interaction::default());
        assert_eq!(ok(&[("max_age", "0")]).max_age, Some(0));
        assert_eq!(ok(&[("response_mode", "query")]), Interaction::default());

        let i = ok(&[("max_age", "60")]);
        assert!(!i.needs_sign_in(Some(100), 160));
        assert!(i.needs_sign_in(Some(100), 161));
        assert!(!i.needs_sign_in(None, 161), "no session: signing in anyway");
        assert!(ok(&[("max_age", "0")]).needs_sign_in(Some(100), 101));
        assert!(ok(&[("prompt", "login")]).needs_sign_in(Some(100), 100));
    }

    #[test]
    fn unsupported_oidc_parameters_are_refused_with_their_codes() {
        for (pairs, code) in [
            (&[("request", "eyJ.x.y")][..], "request_not_supported"),
            (
                &[("request_uri", "https://rp.example/r")],
                "request_uri_not_supported",
            ),
            (&[("registration", "{}")], "registration_not_supported"),
            (&[("response_mode", "fragment")], "invalid_request"),
            (&[("response_mode", "form_post")], "invalid_request"),
            (&[("prompt", "none login")], "invalid_request"),
            (&[("prompt", "none consent")], "invalid_request"),
            (&[("max_age", "-1")], "invalid_request"),
            (&[("max_age", "soon")], "invalid_request"),
        ] {
            assert_eq!(
                params(pairs).interaction().map_err(|(c, _)| c),
                Err(code),
                "{pairs:?}"
            );
        }
    }
}
