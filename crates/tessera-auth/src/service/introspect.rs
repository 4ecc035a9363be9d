//! Introspection (RFC 7662, spec §2.5): the answer about a token, for the client that owns it
//! or a resource server in its audience.
//!
//! The answer is rendered once per token and set of `include=` parts and kept as JSON in
//! [`crate::cache::AnswerCache`]; every call still looks the token up and checks that it is
//! active and the caller's to see before an answer is used.

use super::tokens::{self, described, subject};
use crate::cache::PartsMask;
use crate::state::AppState;
use bytes::Bytes;
use std::collections::BTreeMap;
use tessera_core::auth_policy::Authenticated;
use tessera_core::client::Client;
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::identity::Identity;
use tessera_core::policy;
use tessera_proto::oauth::{
    ActiveIntrospection, IdentityDetail, PolicyEvaluation, SessionAuthentication, SessionInfo,
};
use tessera_store::StoreError;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering the introspection answer: {0}")]
    Render(#[from] serde_json::Error),
}

/// Which optional parts of an introspection answer were asked for (`include=`, spec §2.5).
#[derive(Debug, Default, Clone)]
pub struct Includes {
    pub identity_set: bool,
    pub identity_set_detail: bool,
    pub session_info: bool,
    /// `authentication_policies=<ids>`: evaluate these policies (`policy_evaluations`).
    pub policies: Vec<Uuid>,
}

impl Includes {
    pub fn parse(csv: Option<&str>) -> Self {
        let mut out = Self::default();
        for item in csv.unwrap_or("").split(',').map(str::trim) {
            match item {
                "identity_set" => out.identity_set = true,
                "identity_set_detail" => out.identity_set_detail = true,
                "session_info" => out.session_info = true,
                _ => {} // unknown includes are ignored, as Globus does
            }
        }
        out
    }

    /// The key of the cached answer, or `None` when the answer is not cached: policy
    /// evaluations read policies, which the change feed does not follow.
    fn parts(&self) -> Option<PartsMask> {
        self.policies.is_empty().then(|| {
            u8::from(self.identity_set)
                | u8::from(self.identity_set_detail) << 1
                | u8::from(self.session_info) << 2
        })
    }
}

/// RFC 7662: the active answer as JSON, or `None` for "tell them `{"active": false}`" —
/// unknown, malformed, expired, revoked, or not the caller's to see.
pub async fn introspect(
    state: &AppState,
    caller: &Client,
    presented: &str,
    includes: Includes,
) -> Result<Option<Bytes>, IntrospectError> {
    let Some(record) = tokens::active(state, presented).await? else {
        return Ok(None);
    };
    if !policy::may_introspect(caller, &record) {
        return Ok(None);
    }
    let parts = includes.parts();
    if let Some(parts) = parts {
        if let Some(body) = state.answers.get(&record.hash, parts, record.expires_at) {
            return Ok(Some(body));
        }
    }
    let generation = state.answers.generation();
    let Some(answer) = render(state, &record, &includes).await? else {
        return Ok(None);
    };
    let body = Bytes::from(serde_json::to_vec(&answer)?);
    if let Some(parts) = parts {
        state.answers.insert(
            record.hash,
            parts,
            record.expires_at,
            generation,
            body.clone(),
        );
    }
    Ok(Some(body))
}

/// The answer about an active token the caller may see; `None` if its subject is gone.
async fn render(
    state: &AppState,
    record: &TokenRecord,
    includes: &Includes,
) -> Result<Option<ActiveIntrospection>, StoreError> {
    let Some(signed_in) = subject(state, record).await? else {
        return Ok(None);
    };
    let identity = match record.effective_identity {
        None => signed_in.clone(),
        Some(_) => described(state, record)
            .await?
            .unwrap_or_else(|| signed_in.clone()),
    };
    let mut aud = vec![record.resource_server.clone()];
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    if let Some(owner) = catalogue
        .owner_of(&record.resource_server)
        .map(|id| id.to_string())
    {
        if !aud.contains(&owner) {
            aud.push(owner);
        }
    }
    let authentications = if includes.session_info || !includes.policies.is_empty() {
        session_authentications(state, record).await?
    } else {
        Vec::new()
    };
    let policy_evaluations = if includes.policies.is_empty() {
        None
    } else {
        Some(evaluate_policies(state, record, &authentications, &includes.policies).await?)
    };
    let set = if (includes.identity_set || includes.identity_set_detail)
        && record.subject_kind == SubjectKind::Identity
    {
        state.store.identity_set(signed_in.id).await?
    } else {
        vec![identity.clone()]
    };
    let idp_names = state.upstreams.names_or_empty(state.store.as_ref()).await;
    let detail = |i: &Identity| IdentityDetail {
        id: i.id.to_string(),
        sub: i.id.to_string(),
        username: i.username.clone(),
        name: i.name.clone(),
        email: i.email.clone(),
        organization: i.organization.clone(),
        identity_provider: i.identity_provider.to_string(),
        identity_provider_display_name: i.provider_name(&idp_names).to_owned(),
        identity_type: i.identity_type.as_str().to_owned(),
        status: i.status.as_str().to_owned(),
    };
    Ok(Some(ActiveIntrospection {
        active: true,
        token_type: "Bearer".into(),
        scope: record.scope.clone(),
        client_id: record.client_id.to_string(),
        sub: identity.id.to_string(),
        username: identity.username.clone(),
        name: identity.name.clone(),
        email: identity.email.clone(),
        aud,
        iss: state.config.issuer().to_owned(),
        exp: record.expires_at,
        iat: record.issued_at,
        nbf: record.issued_at,
        identity_set: includes
            .identity_set
            .then(|| set.iter().map(|i| i.id.to_string()).collect()),
        identity_set_detail: includes
            .identity_set_detail
            .then(|| set.iter().map(detail).collect()),
        // Client tokens come from no browser session: no authentications to report.
        session_info: includes.session_info.then(|| SessionInfo {
            session_id: record.session_id.map(|s| s.to_string()),
            authentications: authentications
                .iter()
                .map(|a| {
                    (
                        a.identity_id.to_string(),
                        SessionAuthentication {
                            idp: a.idp.to_string(),
                            auth_time: a.auth_time,
                            amr: Some(a.amr().into_iter().map(str::to_owned).collect()),
                            acr: None,
                        },
                    )
                })
                .collect(),
        }),
        policy_evaluations,
    }))
}

/// The authentications of the session a token came from, as they are now (a person signing
/// in again in that session refreshes them). Tokens from before the session model, or whose
/// session recorded none, stand on their own sign-in (`auth_time`, no second factor).
async fn session_authentications(
    state: &AppState,
    record: &TokenRecord,
) -> Result<Vec<tessera_core::session::SessionAuthentication>, StoreError> {
    if record.subject_kind != SubjectKind::Identity {
        return Ok(Vec::new());
    }
    if let Some(session) = record.session_id {
        let found = state.store.session_authentications(session).await?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let Some(at) = record.auth_time else {
        return Ok(Vec::new());
    };
    let idp = state
        .identities
        .get(state.store.as_ref(), record.subject)
        .await?
        .map_or(tessera_core::identity::LOCAL_IDP_ID, |i| {
            i.identity_provider
        });
    Ok(vec![tessera_core::session::SessionAuthentication {
        identity_id: record.subject,
        idp,
        auth_time: at,
        mfa: false,
    }])
}

/// `policy_evaluations` (Globus introspection with `authentication_policies`), judged now, at
/// use: each policy against the identities of the grant (the one signed in with, and the
/// effective one while it is still linked) and the authentications of its session (with their
/// times and second factors). A high-assurance or time-limited policy so stops being satisfied
/// when its `authentication_assurance_timeout` passes, and a changed policy or an unlinked
/// identity counts at the next introspection (these answers are never cached). Unknown
/// policies evaluate to false.
async fn evaluate_policies(
    state: &AppState,
    record: &TokenRecord,
    authentications: &[tessera_core::session::SessionAuthentication],
    ids: &[Uuid],
) -> Result<BTreeMap<String, PolicyEvaluation>, StoreError> {
    let identities = match record.subject_kind {
        SubjectKind::Identity => state.store.identity_set(record.subject).await?,
        SubjectKind::Client => Vec::new(),
    };
    let find = |id: Uuid| identities.iter().find(|i| i.id == id);
    let mut judged: Vec<Authenticated<'_>> = Vec::new();
    for a in authentications {
        // Only identities still in the person's set count.
        if let Some(identity) = find(a.identity_id) {
            judged.push(Authenticated {
                identity,
                auth_time: Some(a.auth_time),
                mfa: a.mfa,
            });
        }
    }
    for id in std::iter::once(record.subject).chain(record.effective_identity) {
        if let Some(identity) = find(id) {
            judged.push(Authenticated {
                identity,
                auth_time: None,
                mfa: false,
            });
        }
    }
    let now = state.clock.now();
    let mut out = BTreeMap::new();
    for id in ids {
        let policy = state.store.policy(*id).await?;
        let evaluation = policy.is_some_and(|p| p.evaluate(&judged, now));
        out.insert(id.to_string(), PolicyEvaluation { evaluation });
    }
    Ok(out)
}
