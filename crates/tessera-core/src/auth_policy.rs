//! Authentication policies (spec §4) and the effective identity they choose.
//!
//! A client may require that the person signs in with an identity from a given identity
//! provider (`required_idp`) or one that satisfies a policy of its project (username domain in
//! `domain_constraints_include`, not in `domain_constraints_exclude`). Of the person's linked
//! identities, the one that satisfies both is the *effective identity* of the grant; without
//! requirements it is the identity signed in with.

use crate::clock::UnixTime;
use crate::identity::Identity;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPolicy {
    pub id: Uuid,
    pub project_id: Uuid,
    pub display_name: String,
    pub description: String,
    /// Only identities authenticated in the session count (not ones merely linked).
    pub high_assurance: bool,
    /// Seconds: the satisfying authentication must be no older than this when the token is
    /// used (introspection) or the session is judged (authorize).
    pub authentication_assurance_timeout: Option<i64>,
    /// The satisfying authentication must have used a second factor (TOTP, or an upstream's
    /// trusted `amr`).
    pub required_mfa: bool,
    /// Lowercase domains (`example.org`, or `*.example.org` for its subdomains); `None`: any.
    pub domain_constraints_include: Option<Vec<String>>,
    pub domain_constraints_exclude: Option<Vec<String>>,
    pub created_at: UnixTime,
}

/// The domain of a username (`alice@Example.org` → `example.org`).
pub fn username_domain(username: &str) -> Option<String> {
    username
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// Whether `domain` is matched by the constraint `pattern` (exact, or `*.` for subdomains).
pub fn domain_matches(pattern: &str, domain: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => domain
            .strip_suffix(parent)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => pattern == domain,
    }
}

/// A domain constraint as the API accepts it: lowercase DNS labels (letters, digits, `-`),
/// at least two of them, optionally led by `*.`.
pub fn validate_domain(pattern: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{pattern:?} is not a valid domain: {why}"));
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    if name.len() > 253 || name.is_empty() {
        return bad("it must be 1 to 253 characters");
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return bad("domains must be lowercase");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return bad("it needs at least two labels (example.org)");
    }
    for l in labels {
        let ok = !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-');
        if !ok {
            return bad("labels are 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'");
        }
    }
    Ok(())
}

impl AuthPolicy {
    /// Whether `identity` satisfies the domain constraints.
    pub fn satisfied_by(&self, identity: &Identity) -> bool {
        let Some(domain) = username_domain(&identity.username) else {
            return false;
        };
        let included = self
            .domain_constraints_include
            .as_ref()
            .is_none_or(|inc| inc.iter().any(|p| domain_matches(p, &domain)));
        let excluded = self
            .domain_constraints_exclude
            .as_ref()
            .is_some_and(|exc| exc.iter().any(|p| domain_matches(p, &domain)));
        included && !excluded
    }

    /// What a person is asked for when no identity of theirs satisfies the policy.
    pub fn requirement(&self) -> String {
        match &self.domain_constraints_include {
            Some(inc) if !inc.is_empty() => {
                format!("an identity from {}", inc.join(" or "))
            }
            _ => match &self.domain_constraints_exclude {
                Some(exc) if !exc.is_empty() => {
                    format!("an identity not from {}", exc.join(" or "))
                }
                _ => "an identity that satisfies the application's policy".into(),
            },
        }
    }
}

/// One identity as a policy judges it: authenticated in the session at `auth_time` (with or
/// without a second factor), or only linked / named by the grant (`auth_time` `None`).
#[derive(Debug, Clone, Copy)]
pub struct Authenticated<'a> {
    pub identity: &'a Identity,
    pub auth_time: Option<UnixTime>,
    pub mfa: bool,
}

impl AuthPolicy {
    /// Whether judging this policy needs the session's authentications, not only identities.
    pub fn judges_session(&self) -> bool {
        self.high_assurance || self.required_mfa || self.authentication_assurance_timeout.is_some()
    }

    /// The policy judged at `now` (at introspection, so time-limited policies expire access,
    /// and at authorize for `session_required_policies`): some identity satisfies the domain
    /// constraints and, as far as the policy asks, authenticated in the session (high
    /// assurance), within the timeout, with a second factor.
    pub fn evaluate(&self, identities: &[Authenticated<'_>], now: UnixTime) -> bool {
        identities.iter().any(|a| {
            self.satisfied_by(a.identity)
                && (!self.judges_session() || a.auth_time.is_some())
                && (!self.required_mfa || a.mfa)
                && self
                    .authentication_assurance_timeout
                    .is_none_or(|t| a.auth_time.is_some_and(|at| now.saturating_sub(at) <= t))
        })
    }

    /// What the person must do to satisfy the policy, for the sign-in page.
    pub fn step_up(&self) -> String {
        let mut s = format!("sign in with {}", self.requirement());
        if self.required_mfa {
            s.push_str(" using two-step verification");
        }
        if let Some(t) = self.authentication_assurance_timeout {
            s.push_str(&format!(" (at least every {} minutes)", (t / 60).max(1)));
        }
        s
    }
}

/// What a client requires of the identity it acts for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requirement<'a> {
    pub required_idp: Option<Uuid>,
    pub policy: Option<&'a AuthPolicy>,
}

impl Requirement<'_> {
    pub fn is_none(&self) -> bool {
        self.required_idp.is_none() && self.policy.is_none()
    }

    pub fn satisfied_by(&self, identity: &Identity) -> bool {
        self.required_idp
            .is_none_or(|idp| identity.identity_provider == idp)
            && self.policy.is_none_or(|p| p.satisfied_by(identity))
    }
}

/// The effective identity of a grant: the signed-in identity if it satisfies the requirement,
/// else the oldest linked identity that does; `None` when none does.
pub fn effective_identity<'a>(
    signed_in: &'a Identity,
    set: &'a [Identity],
    requirement: &Requirement<'_>,
) -> Option<&'a Identity> {
    if requirement.satisfied_by(signed_in) {
        return Some(signed_in);
    }
    set.iter().find(|i| requirement.satisfied_by(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{IdentityStatus, IdentityType, LOCAL_IDP_ID};

    fn person(n: u128, username: &str) -> Identity {
        Identity {
            id: Uuid::from_u128(n),
            username: username.into(),
            name: None,
            email: None,
            organization: None,
            identity_provider: LOCAL_IDP_ID,
            identity_type: IdentityType::Login,
            status: IdentityStatus::Used,
            created_at: 0,
        }
    }

    fn policy(inc: Option<&[&str]>, exc: Option<&[&str]>) -> AuthPolicy {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        AuthPolicy {
            id: Uuid::from_u128(9),
            project_id: Uuid::from_u128(8),
            display_name: "p".into(),
            description: String::new(),
            high_assurance: false,
            authentication_assurance_timeout: None,
            required_mfa: false,
            domain_constraints_include: inc.map(list),
            domain_constraints_exclude: exc.map(list),
            created_at: 0,
        }
    }

    #[test]
    fn domains_include_and_exclude() {
        let p = policy(Some(&["example.org", "*.uni.edu"]), Some(&["bad.uni.edu"]));
        assert!(p.satisfied_by(&person(1, "a@Example.ORG")));
        assert!(p.satisfied_by(&person(1, "a@cs.uni.edu")));
        assert!(
            !p.satisfied_by(&person(1, "a@uni.edu")),
            "*. is for subdomains"
        );
        assert!(!p.satisfied_by(&person(1, "a@bad.uni.edu")));
        assert!(!p.satisfied_by(&person(1, "a@other.org")));
        assert!(!p.satisfied_by(&person(1, "a@notexample.org")));
        let only_exclude = policy(None, Some(&["other.org"]));
        assert!(only_exclude.satisfied_by(&person(1, "a@example.org")));
        assert!(!only_exclude.satisfied_by(&person(1, "a@other.org")));
        assert_eq!(p.requirement(), "an identity from example.org or *.uni.edu");
    }

    #[test]
    fn policies_judge_freshness_and_mfa_at_use() {
        let alice = person(1, "a@example.org");
        let other = person(2, "a@other.org");
        let mut p = policy(Some(&["example.org"]), None);
        let linked = Authenticated {
            identity: &alice,
            auth_time: None,
            mfa: false,
        };
        assert!(p.evaluate(&[linked], 0), "a plain policy: linked is enough");
        p.high_assurance = true;
        p.authentication_assurance_timeout = Some(1800);
        p.required_mfa = true;
        assert!(
            !p.evaluate(&[linked], 0),
            "high assurance: authenticated in the session"
        );
        let fresh = Authenticated {
            identity: &alice,
            auth_time: Some(1000),
            mfa: true,
        };
        assert!(p.evaluate(&[fresh], 1000 + 1800));
        assert!(!p.evaluate(&[fresh], 1000 + 1801), "older than the timeout");
        let no_mfa = Authenticated {
            mfa: false,
            ..fresh
        };
        assert!(!p.evaluate(&[no_mfa], 1000));
        let wrong_domain = Authenticated {
            identity: &other,
            ..fresh
        };
        assert!(!p.evaluate(&[wrong_domain], 1000));
        assert!(p.evaluate(&[wrong_domain, fresh], 1000));
        assert!(p.step_up().contains("two-step") && p.step_up().contains("30 minutes"));
    }

    #[test]
    fn domain_constraints_are_validated() {
        for ok in ["example.org", "*.example.org", "a-b.c0.org"] {
            assert!(validate_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Example.org",
            "localhost",
            "a..org",
            "-a.org",
            "a-.org",
            "a b.org",
            "*.",
            "*.org",
            "a@b.org",
            "*example.org",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_effective_identity_prefers_the_signed_in_one() {
        let a = person(1, "a@example.org");
        let b = person(2, "a@other.org");
        let set = vec![a.clone(), b.clone()];
        let none = Requirement::default();
        assert_eq!(effective_identity(&b, &set, &none), Some(&b));
        let p = policy(Some(&["other.org"]), None);
        let req = Requirement {
            required_idp: None,
            policy: Some(&p),
        };
        assert_eq!(effective_identity(&a, &set, &req), Some(&b));
        assert_eq!(effective_identity(&a, &set[..1], &req), None);
        let idp = Requirement {
            required_idp: Some(Uuid::from_u128(5)),
            policy: None,
        };
        assert_eq!(effective_identity(&a, &set, &idp), None);
        let local = Requirement {
            required_idp: Some(LOCAL_IDP_ID),
            policy: None,
        };
        assert_eq!(effective_identity(&a, &set, &local), Some(&a));
    }
}
