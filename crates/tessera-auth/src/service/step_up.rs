//! What a pending authorization asks of the browser session beyond "someone is signed in": the
//! Globus `session_required_*` parameters (what `globus session update` sends after a
//! resource server's 403) and the session demands of the client's own policy (high assurance,
//! a timeout, MFA). When the session falls short, the person is asked to sign in again (with
//! their second factor when one is needed). Signing in there with an identity outside the
//! person's set starts a session of its own and links nothing: linking is only ever the
//! explicit "Link another identity" (a planted session cookie must not collect the victim's
//! identity); a linked identity's sign-in is recorded in the session.

use super::sessions;
use crate::state::AppState;
use tessera_core::auth_policy::{username_domain, AuthPolicy, Authenticated};
use tessera_core::grant::authorization_code::PendingAuthorization;
use tessera_core::identity::Identity;
use tessera_core::session::{BrowserSession, SessionRequirements};
use tessera_store::StoreError;

/// Why the session does not do yet, in words for the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub message: String,
    /// The session needs a second factor: signing in asks for it.
    pub mfa: bool,
}

/// What `pending` asks of the session: its `session_required_*`, plus the client's policy when
/// that policy judges the session.
pub async fn requirements(
    state: &AppState,
    pending: &PendingAuthorization,
) -> Result<SessionRequirements, StoreError> {
    let mut req = state
        .store
        .session_requirements(pending.id)
        .await?
        .unwrap_or_default();
    if let Some(c) = state
        .clients
        .get(state.store.as_ref(), pending.client_id)
        .await?
    {
        if let Some(policy) = c.client.authentication_policy {
            if state
                .store
                .policy(policy)
                .await?
                .is_some_and(|p| p.judges_session())
                && !req.policies.contains(&policy)
            {
                req.policies.push(policy);
            }
        }
    }
    Ok(req)
}

/// Whether the session satisfies what `pending` asks; `None` when it does.
pub async fn shortfall(
    state: &AppState,
    pending: &PendingAuthorization,
    session: &BrowserSession,
    identity: &Identity,
) -> Result<Option<Shortfall>, StoreError> {
    let req = requirements(state, pending).await?;
    if req.is_empty() {
        return Ok(None);
    }
    let authentications = sessions::authentications(state, session, identity).await?;
    let set = state.store.identity_set(identity.id).await?;
    let mut policies = Vec::new();
    for id in &req.policies {
        policies.push(state.store.policy(*id).await?);
    }
    let now = state.clock.now();
    let judged: Vec<Authenticated<'_>> = authentications
        .iter()
        .filter_map(|a| {
            set.iter()
                .find(|i| i.id == a.identity_id)
                .map(|i| Authenticated {
                    identity: i,
                    auth_time: Some(a.auth_time),
                    mfa: a.mfa,
                })
        })
        .chain(set.iter().map(|i| Authenticated {
            identity: i,
            auth_time: None,
            mfa: false,
        }))
        .collect();
    let missing = judge(&req, &judged, &policies, &set, now);
    Ok(missing.map(|(why, mfa)| Shortfall {
        message: match &req.message {
            Some(m) => format!("{m} ({why})"),
            None => why,
        },
        mfa,
    }))
}

/// The rule itself (pure): the first requirement the session's authentications do not meet.
/// `judged` holds the session's authentications (with times) and the linked identities (without);
/// `policies` the requested policies in order (`None`: unknown, never satisfied).
fn judge(
    req: &SessionRequirements,
    judged: &[Authenticated<'_>],
    policies: &[Option<AuthPolicy>],
    set: &[Identity],
    now: i64,
) -> Option<(String, bool)> {
    let authenticated = || judged.iter().filter(|a| a.auth_time.is_some());
    for id in &req.identities {
        if !authenticated().any(|a| a.identity.id == *id) {
            let who = set
                .iter()
                .find(|i| i.id == *id)
                .map_or_else(|| format!("identity {id}"), |i| i.username.clone());
            return Some((format!("sign in with {who}"), false));
        }
    }
    if !req.single_domain.is_empty()
        && !authenticated().any(|a| {
            username_domain(&a.identity.username).is_some_and(|d| req.single_domain.contains(&d))
        })
    {
        return Some((
            format!(
                "sign in with an identity from {}",
                req.single_domain.join(" or ")
            ),
            false,
        ));
    }
    if req.mfa && !authenticated().any(|a| a.mfa) {
        return Some(("sign in using two-step verification".into(), true));
    }
    for (id, p) in req.policies.iter().zip(policies) {
        match p {
            Some(p) if p.evaluate(judged, now) => {}
            Some(p) => return Some((p.step_up(), p.required_mfa)),
            None => return Some((format!("the policy {id} is unknown"), false)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::identity::{IdentityStatus, IdentityType, LOCAL_IDP_ID};
    use uuid::Uuid;

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

    #[test]
    fn each_requirement_names_what_is_missing() {
        let alice = person(1, "alice@example.org");
        let work = person(2, "alice@uni.edu");
        let set = vec![alice.clone(), work.clone()];
        let signed_in = [
            Authenticated {
                identity: &alice,
                auth_time: Some(100),
                mfa: false,
            },
            Authenticated {
                identity: &work,
                auth_time: None,
                mfa: false,
            },
        ];
        let none = SessionRequirements::default();
        assert_eq!(judge(&none, &signed_in, &[], &set, 100), None);

        let ids = SessionRequirements {
            identities: vec![work.id],
            ..Default::default()
        };
        assert_eq!(
            judge(&ids, &signed_in, &[], &set, 100),
            Some(("sign in with alice@uni.edu".into(), false)),
            "linked is not enough: it must have authenticated"
        );
        let domain = SessionRequirements {
            single_domain: vec!["uni.edu".into()],
            ..Default::default()
        };
        assert!(judge(&domain, &signed_in, &[], &set, 100).is_some());
        let both = [
            signed_in[0],
            Authenticated {
                identity: &work,
                auth_time: Some(100),
                mfa: true,
            },
        ];
        assert_eq!(judge(&ids, &both, &[], &set, 100), None);
        assert_eq!(judge(&domain, &both, &[], &set, 100), None);

        let mfa = SessionRequirements {
            mfa: true,
            ..Default::default()
        };
        assert_eq!(
            judge(&mfa, &signed_in, &[], &set, 100).map(|s| s.1),
            Some(true)
        );
        assert_eq!(judge(&mfa, &both, &[], &set, 100), None);

        let policy = AuthPolicy {
            id: Uuid::from_u128(9),
            project_id: Uuid::from_u128(8),
            display_name: "p".into(),
            description: String::new(),
            high_assurance: true,
            authentication_assurance_timeout: Some(1800),
            required_mfa: true,
            domain_constraints_include: Some(vec!["uni.edu".into()]),
            domain_constraints_exclude: None,
            created_at: 0,
        };
        let pol = SessionRequirements {
            policies: vec![policy.id],
            ..Default::default()
        };
        assert_eq!(
            judge(&pol, &both, &[Some(policy.clone())], &set, 1900),
            None
        );
        assert!(
            judge(&pol, &both, &[Some(policy.clone())], &set, 1901).is_some(),
            "older than the policy's timeout"
        );
        assert!(judge(&pol, &both, &[None], &set, 100).is_some());
    }
}
