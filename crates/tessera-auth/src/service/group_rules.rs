//! Scopes granted by group, applied: at consent and at every issuance (code exchange, refresh,
//! device poll, dependent tokens) a scope with a group rule goes only to a member of one of its
//! groups, with the capabilities its templates expand to for that member. Nothing is cached
//! between requests here except the POSIX and LDAP answers (`crate::group_sources`, short
//! TTL); Tessera memberships are read from the store each time a rule is evaluated.

use crate::state::AppState;
use tessera_core::grant::SubjectKind;
use tessera_core::identity::normalize_username;
use tessera_core::scope_rule::{evaluate, GroupRef, GroupRule, Member};
use tessera_proto::scope::{parse_scope_request, ScopeRequest};
use tessera_store::StoreError;
use uuid::Uuid;

/// What the rules of a token's scopes decide for its subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// The scopes the subject gets (in the order asked).
    pub allowed: Vec<String>,
    /// The scopes refused: their rule names no group the subject is in.
    pub refused: Vec<String>,
    /// The expanded capabilities of the allowed scopes (`read:/data`, …).
    pub capabilities: Vec<String>,
    /// The names of the rules' groups the subject is in.
    pub groups: Vec<String>,
}

/// The subject whose groups are looked up, resolved once per request.
pub struct Subject {
    pub id: Uuid,
    pub kind: SubjectKind,
    member: Option<Member>,
}

impl Subject {
    pub fn new(id: Uuid, kind: SubjectKind) -> Self {
        Self {
            id,
            kind,
            member: None,
        }
    }
}

/// Which sources the rules need (so no LDAP round trip for a rule that names none).
#[derive(Debug, Default, Clone, Copy)]
struct Needs {
    posix: bool,
    ldap: bool,
}

fn needs(rules: &[&GroupRule]) -> Needs {
    let mut n = Needs::default();
    for r in rules {
        for g in r.group_refs() {
            match g {
                GroupRef::Posix(_) => n.posix = true,
                GroupRef::Ldap(_) => n.ldap = true,
                GroupRef::Tessera(_) => {}
            }
        }
        n.posix |= r.capabilities.iter().any(|c| c.contains("{posix_uid}"));
    }
    n
}

/// Decides `scopes` for `subject`. Scopes without a rule are always allowed.
pub async fn decide(
    state: &AppState,
    subject: &mut Subject,
    scopes: &[String],
) -> Result<Decision, StoreError> {
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let rules: Vec<Option<GroupRule>> = scopes
        .iter()
        .map(|s| catalogue.by_string(s).and_then(|x| x.group_rule.clone()))
        .collect();
    let present: Vec<&GroupRule> = rules.iter().flatten().collect();
    if present.is_empty() {
        return Ok(Decision {
            allowed: scopes.to_vec(),
            ..Decision::default()
        });
    }
    if subject.member.is_none() {
        let needs = needs(&present);
        subject.member = Some(member(state, subject.id, subject.kind, needs).await?);
    }
    let member = subject.member.clone().unwrap_or_default();
    let mut d = Decision::default();
    for (scope, rule) in scopes.iter().zip(&rules) {
        let Some(rule) = rule else {
            d.allowed.push(scope.clone());
            continue;
        };
        match evaluate(rule, &member) {
            Some(granted) => {
                d.allowed.push(scope.clone());
                for c in granted.capabilities {
                    if !d.capabilities.contains(&c) {
                        d.capabilities.push(c);
                    }
                }
                for g in granted.groups {
                    if !d.groups.contains(&g) {
                        d.groups.push(g);
                    }
                }
            }
            None => d.refused.push(scope.clone()),
        }
    }
    Ok(d)
}

/// Every scope string of a scope expression, dependencies included.
fn flatten(requests: &[ScopeRequest], out: &mut Vec<String>) {
    for r in requests {
        if !out.contains(&r.scope) {
            out.push(r.scope.clone());
        }
        flatten(&r.dependencies, out);
    }
}

/// At consent: the scopes of the (normal-form) expression `scope` that `identity` may not get,
/// space-separated; `None` when every rule holds.
pub async fn refused_at_consent(
    state: &AppState,
    identity: Uuid,
    scope: &str,
) -> Result<Option<String>, StoreError> {
    let mut strings = Vec::new();
    flatten(
        &parse_scope_request(scope).unwrap_or_default(),
        &mut strings,
    );
    let mut subject = Subject::new(identity, SubjectKind::Identity);
    let d = decide(state, &mut subject, &strings).await?;
    Ok((!d.refused.is_empty()).then(|| d.refused.join(" ")))
}

/// What is known of the subject: its Tessera groups (over its whole identity set), and, when one
/// of its identities is in the local domain, that account's POSIX and LDAP groups.
async fn member(
    state: &AppState,
    id: Uuid,
    kind: SubjectKind,
    needs: Needs,
) -> Result<Member, StoreError> {
    let (ids, usernames): (Vec<Uuid>, Vec<String>) = match kind {
        SubjectKind::Identity => state
            .store
            .identity_set(id)
            .await?
            .into_iter()
            .map(|i| (i.id, normalize_username(&i.username)))
            .unzip(),
        SubjectKind::Client => (vec![id], vec![tessera_core::identity::client_username(id)]),
    };
    // The subject's own username first, then its linked identities'.
    let own = match kind {
        SubjectKind::Identity => state
            .identities
            .get(state.store.as_ref(), id)
            .await?
            .map(|i| normalize_username(&i.username)),
        SubjectKind::Client => usernames.first().cloned(),
    };
    let cfg = &state.group_sources.config;
    let local = own
        .iter()
        .chain(usernames.iter())
        .find_map(|u| cfg.local_name(u))
        .map(str::to_owned);
    let mut m = Member {
        username: local
            .clone()
            .or(own)
            .or_else(|| usernames.first().cloned())
            .unwrap_or_default(),
        ..Member::default()
    };
    let active: Vec<Uuid> = state
        .store
        .memberships_of_identities(&ids)
        .await?
        .into_iter()
        .filter(|ms| ms.status == tessera_core::group::Status::Active)
        .map(|ms| ms.group_id)
        .collect();
    if !active.is_empty() {
        m.tessera_groups = state
            .store
            .groups_by_ids(&active)
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
    }
    if let Some(local) = &local {
        if needs.posix {
            let account = state.group_sources.posix(local).await;
            m.posix_uid = account.uid;
            m.posix_groups = account.groups;
        }
        if needs.ldap {
            m.ldap_groups = state.group_sources.ldap(local).await;
        }
    }
    Ok(m)
}
