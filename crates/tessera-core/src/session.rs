//! Browser sessions of the built-in identity provider.

use crate::clock::UnixTime;
use crate::secret::SecretHash;
use uuid::Uuid;

/// How long a sign-in lasts without `prompt=login`.
pub const SESSION_LIFETIME_S: i64 = 12 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// Public id (`session_info.session_id`); the cookie holds a secret whose hash is `hash`.
    pub id: Uuid,
    pub hash: SecretHash,
    pub identity_id: Uuid,
    /// When the user last proved who they are.
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl BrowserSession {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// One authentication of a browser session (Globus `session_info.authentications`): who
/// proved themselves, with which identity provider, when, and whether a second factor was used.
/// Signing in again with the same identity replaces its entry; signing in with another identity
/// (linking, "sign in with another identity") adds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAuthentication {
    pub identity_id: Uuid,
    pub idp: Uuid,
    pub auth_time: UnixTime,
    pub mfa: bool,
}

impl SessionAuthentication {
    /// `amr` (RFC 8176) for `session_info`: `pwd` always (the built-in IdP's factor, or the
    /// upstream's first), `otp` and `mfa` when a second factor was used.
    pub fn amr(&self) -> Vec<&'static str> {
        if self.mfa {
            vec!["pwd", "otp", "mfa"]
        } else {
            vec!["pwd"]
        }
    }
}

/// What a client asked of the session with the Globus `session_required_*` parameters of
/// `/v2/oauth2/authorize` (what `globus session update` sends after a resource server's 403).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRequirements {
    /// Each of these identities must have authenticated in the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<Uuid>,
    /// Some authenticated identity's username must be in one of these domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub single_domain: Vec<String>,
    /// Each policy must be satisfied by the session's authentications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Uuid>,
    /// Some authentication of the session must have used a second factor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa: bool,
    /// Shown to the person on the sign-in page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SessionRequirements {
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
            && self.single_domain.is_empty()
            && self.policies.is_empty()
            && !self.mfa
    }

    /// From the authorize parameters (comma-separated lists; `session_required_mfa` is `True`
    /// or `False`, any case). An error names the parameter that is malformed.
    pub fn parse(
        identities: Option<&str>,
        single_domain: Option<&str>,
        policies: Option<&str>,
        mfa: Option<&str>,
        message: Option<&str>,
    ) -> Result<Self, String> {
        let list = |v: Option<&str>| -> Vec<String> {
            v.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let uuids = |name: &str, v: Option<&str>| -> Result<Vec<Uuid>, String> {
            let mut out: Vec<Uuid> = Vec::new();
            for s in list(v) {
                let id = Uuid::parse_str(&s)
                    .map_err(|_| format!("{name} must be a comma-separated list of ids"))?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            if out.len() > 20 {
                return Err(format!("{name} names too many ids (at most 20)"));
            }
            Ok(out)
        };
        let single_domain: Vec<String> = list(single_domain)
            .into_iter()
            .map(|d| d.to_ascii_lowercase())
            .collect();
        if single_domain.len() > 20 || single_domain.iter().any(|d| d.len() > 253) {
            return Err("session_required_single_domain is too long".into());
        }
        let mfa = match mfa.map(str::trim) {
            None | Some("") => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err("session_required_mfa must be True or False".into()),
        };
        Ok(Self {
            identities: uuids("session_required_identities", identities)?,
            single_domain,
            policies: uuids("session_required_policies", policies)?,
            mfa,
            message: message
                .map(|m| m.chars().take(1000).collect::<String>())
                .filter(|m| !m.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_lists_and_capitalised_booleans() {
        let a = Uuid::from_u128(1);
        let r = SessionRequirements::parse(
            Some(&format!("{a}, {a}")),
            Some("Example.org,uni.edu"),
            None,
            Some("True"),
            Some("Please sign in with MFA"),
        )
        .unwrap();
        assert_eq!(r.identities, vec![a]);
        assert_eq!(r.single_domain, vec!["example.org", "uni.edu"]);
        assert!(r.mfa && !r.is_empty());
        assert_eq!(r.message.as_deref(), Some("Please sign in with MFA"));
        let none = SessionRequirements::parse(None, None, Some(""), Some("false"), None).unwrap();
        assert!(none.is_empty());
        for (ids, pol, mfa) in [
            (Some("not-a-uuid"), None, None),
            (None, Some("x"), None),
            (None, None, Some("yes")),
        ] {
            assert!(SessionRequirements::parse(ids, None, pol, mfa, None).is_err());
        }
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            serde_json::from_str::<SessionRequirements>(&json).unwrap(),
            r
        );
    }

    #[test]
    fn amr_says_whether_a_second_factor_was_used() {
        let mut a = SessionAuthentication {
            identity_id: Uuid::from_u128(1),
            idp: Uuid::from_u128(2),
            auth_time: 5,
            mfa: false,
        };
        assert_eq!(a.amr(), ["pwd"]);
        a.mfa = true;
        assert!(a.amr().contains(&"mfa"));
    }
}
