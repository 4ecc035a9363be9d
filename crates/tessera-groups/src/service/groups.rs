//! Groups themselves: my_groups, read, create, update, delete, policies, subscriptions,
//! preferences.

use super::{load, load_visible, usernames, Loaded};
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::view;
use crate::GroupsState;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use tessera_core::group::allowed::allowed_actions;
use tessera_core::group::{
    authority, may_see_membership, validate_name, validate_text, Group, GroupVisibility,
    MembersVisibility, Membership, Policies, Role, Status, DEFAULT_ASSURANCE_TIMEOUT,
    SIGNUP_FIELDS,
};
use uuid::Uuid;

/// `include=` values of `GET /v2/groups/{id}`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Includes {
    pub memberships: bool,
    pub my_memberships: bool,
    pub child_ids: bool,
    pub allowed_actions: bool,
}

impl Includes {
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, GroupsError> {
        let mut inc = Self::default();
        for v in values.into_iter().flat_map(|v| v.split(',')).map(str::trim) {
            match v {
                // Policies are in every document (spec §2.1).
                "" | "policies" => {}
                "allowed_actions" => inc.allowed_actions = true,
                "memberships" => inc.memberships = true,
                "my_memberships" => inc.my_memberships = true,
                "child_ids" => inc.child_ids = true,
                other => {
                    return Err(GroupsError::bad_request(
                        "INVALID_INCLUDE",
                        format!("include={other:?} is not one of memberships, my_memberships, policies, allowed_actions, child_ids."),
                    ))
                }
            }
        }
        Ok(inc)
    }
}

/// `statuses=` of my_groups: comma lists or repeated; active when absent.
pub fn parse_statuses<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Status>, GroupsError> {
    let mut out = Vec::new();
    for v in values.into_iter().flat_map(|v| v.split(',')).map(str::trim) {
        if v.is_empty() {
            continue;
        }
        let s = Status::parse(v).ok_or_else(|| {
            GroupsError::bad_request(
                "INVALID_STATUS",
                format!("{v:?} is not a membership status."),
            )
        })?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        out.push(Status::Active);
    }
    Ok(out)
}

/// `GET /v2/groups/my_groups`: the groups where one of the caller's identities has a
/// membership in `statuses`, each with those memberships.
pub async fn my_groups(
    state: &GroupsState,
    caller: &Caller,
    statuses: &[Status],
) -> Result<Vec<Value>, GroupsError> {
    let mine: Vec<Membership> = state
        .store
        .memberships_of_identities(&caller.identities)
        .await?
        .into_iter()
        .filter(|m| statuses.contains(&m.status))
        .collect();
    let mut by_group: BTreeMap<Uuid, Vec<&Membership>> = BTreeMap::new();
    for m in &mine {
        by_group.entry(m.group_id).or_default().push(m);
    }
    let ids: Vec<Uuid> = by_group.keys().copied().collect();
    let mut groups = state.store.groups_by_ids(&ids).await?;
    groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let names = usernames(state, caller.identities.iter().copied()).await?;
    Ok(groups
        .iter()
        .map(|g| {
            let mut doc = view::group(g);
            let ms = by_group.get(&g.id).map(Vec::as_slice).unwrap_or_default();
            doc.insert(
                "my_memberships".into(),
                view::memberships(ms.iter().copied(), &names),
            );
            Value::Object(doc)
        })
        .collect())
}

/// `GET /v2/groups/{id}`.
pub async fn get(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
    include: Includes,
) -> Result<Value, GroupsError> {
    let loaded = load_visible(state, caller, id).await?;
    document(state, caller, &loaded, include).await
}

async fn document(
    state: &GroupsState,
    caller: &Caller,
    loaded: &Loaded,
    include: Includes,
) -> Result<Value, GroupsError> {
    let mine = loaded.mine(caller);
    let shown: Vec<&Membership> = if include.memberships {
        loaded
            .memberships
            .iter()
            .filter(|m| may_see_membership(&loaded.group, &mine, m))
            .collect()
    } else {
        Vec::new()
    };
    let names = usernames(
        state,
        mine.iter()
            .chain(shown.iter())
            .map(|m| m.identity_id)
            .collect::<Vec<_>>(),
    )
    .await?;
    let mut doc = view::group(&loaded.group);
    if include.my_memberships {
        doc.insert(
            "my_memberships".into(),
            view::memberships(mine.iter().copied(), &names),
        );
    }
    if include.memberships {
        doc.insert("memberships".into(), view::memberships(shown, &names));
    }
    if include.allowed_actions {
        let allowed = allowed_actions(
            &loaded.group,
            &loaded.memberships,
            &caller.identities,
            state.clock.now(),
        );
        let map: Map<String, Value> = allowed
            .into_iter()
            .map(|(a, ids)| (a.as_str().to_owned(), json!(ids)))
            .collect();
        doc.insert("allowed_actions".into(), Value::Object(map));
    }
    if include.child_ids {
        let children = state.store.child_group_ids(loaded.group.id).await?;
        doc.insert("child_ids".into(), json!(children));
    }
    Ok(Value::Object(doc))
}

/// The write model of policies: every key optional; `authentication_assurance_timeout: null`
/// means the default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesInput {
    pub is_high_assurance: Option<bool>,
    #[serde(default, deserialize_with = "explicit")]
    pub authentication_assurance_timeout: Option<Option<i64>>,
    pub group_visibility: Option<String>,
    pub group_members_visibility: Option<String>,
    pub join_requests: Option<bool>,
    pub signup_fields: Option<Vec<String>>,
}

/// `Some(None)` for an explicit null, `None` when absent.
fn explicit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl PoliciesInput {
    fn apply(self, mut p: Policies) -> Result<Policies, GroupsError> {
        let bad = |what: &str| GroupsError::bad_request("INVALID_POLICY", what.to_owned());
        if let Some(v) = self.is_high_assurance {
            p.is_high_assurance = v;
        }
        if let Some(t) = self.authentication_assurance_timeout {
            let t = t.unwrap_or(DEFAULT_ASSURANCE_TIMEOUT);
            if !(0..=31_536_000).contains(&t) {
                return Err(bad(
                    "authentication_assurance_timeout must be between 0 and 31536000 seconds.",
                ));
            }
            p.authentication_assurance_timeout = t;
        }
        if let Some(v) = self.group_visibility {
            GroupVisibility::parse(&v)
                .ok_or_else(|| bad("group_visibility must be authenticated or private."))?;
            p.group_visibility = v;
        }
        if let Some(v) = self.group_members_visibility {
            MembersVisibility::parse(&v)
                .ok_or_else(|| bad("group_members_visibility must be members or managers."))?;
            p.group_members_visibility = v;
        }
        if let Some(v) = self.join_requests {
            p.join_requests = v;
        }
        if let Some(fields) = self.signup_fields {
            let mut out: Vec<String> = Vec::new();
            for f in fields {
                if !SIGNUP_FIELDS.contains(&f.as_str()) {
                    return Err(bad(&format!("{f:?} is not a signup field.")));
                }
                if !out.contains(&f) {
                    out.push(f);
                }
            }
            p.signup_fields = out;
        }
        Ok(p)
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub terms_and_conditions: Option<String>,
    #[serde(default)]
    pub policies: Option<PoliciesInput>,
}

fn check_texts(name: Option<&str>, texts: &[Option<&str>]) -> Result<(), GroupsError> {
    if let Some(n) = name {
        validate_name(n).map_err(|e| GroupsError::bad_request("INVALID_NAME", e))?;
    }
    for t in texts.iter().flatten() {
        validate_text(t).map_err(|e| GroupsError::bad_request("INVALID_TEXT", e))?;
    }
    Ok(())
}

fn require_admin(loaded: &Loaded, caller: &Caller, what: &str) -> Result<(), GroupsError> {
    if authority(&loaded.mine(caller)) == Some(Role::Admin) {
        Ok(())
    } else {
        Err(GroupsError::forbidden(format!(
            "Only the group's admins may {what}."
        )))
    }
}

/// `POST /v2/groups`: the caller (the token's subject) becomes its active admin.
pub async fn create(
    state: &GroupsState,
    caller: &Caller,
    input: CreateInput,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    check_texts(
        Some(&input.name),
        &[
            input.description.as_deref(),
            input.terms_and_conditions.as_deref(),
        ],
    )?;
    if let Some(parent) = input.parent_id {
        let parent = match load(state, parent).await {
            Ok(p) => p,
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
                return Err(GroupsError::bad_request(
                    "INVALID_PARENT",
                    "No group has the parent_id given.",
                ))
            }
            Err(e) => return Err(e),
        };
        require_admin(&parent, caller, "create subgroups")?;
    }
    let policies = match input.policies {
        Some(p) => p.apply(Policies::default())?,
        None => Policies::default(),
    };
    let now = state.clock.now();
    let group = Group {
        id: state.random.uuid_v4(),
        name: input.name,
        description: input.description,
        parent_id: input.parent_id,
        terms_and_conditions: input.terms_and_conditions,
        policies,
        subscription_id: None,
        subscription_admin_verified_id: None,
        created_at: now,
        updated_at: now,
    };
    let creator = Membership {
        group_id: group.id,
        identity_id: caller.id,
        role: Role::Admin,
        status: Status::Active,
        status_reason: None,
        invite_email_address: None,
        invite_time: None,
        updated: now,
    };
    state.store.insert_group(&group, &creator).await?;
    let loaded = Loaded {
        group,
        memberships: vec![creator],
    };
    let include = Includes {
        my_memberships: true,
        ..Includes::default()
    };
    document(state, caller, &loaded, include).await
}

/// `PUT /v2/groups/{id}`: only these four keys are writable (spec §3).
#[derive(Debug, Default, Deserialize)]
pub struct UpdateInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "explicit_text")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit_text")]
    pub terms_and_conditions: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit_uuid")]
    pub subscription_admin_verified_id: Option<Option<Uuid>>,
}

fn explicit_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}
fn explicit_uuid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(d).map(Some)
}

/// A group's verified subscription may be cleared, or kept; setting one needs a subscription
/// admin, which Tessera does not have.
fn verified_subscription(group: &Group, wanted: Option<Uuid>) -> Result<Option<Uuid>, GroupsError> {
    match wanted {
        None => Ok(None),
        Some(s) if Some(s) == group.subscription_admin_verified_id => Ok(Some(s)),
        Some(_) => Err(GroupsError::forbidden(
            "Only a subscription admin may mark a group as verified by a subscription.",
        )),
    }
}

pub async fn update(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
    input: UpdateInput,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let mut loaded = load_visible(state, caller, id).await?;
    require_admin(&loaded, caller, "update it")?;
    check_texts(
        input.name.as_deref(),
        &[
            input.description.as_ref().and_then(|d| d.as_deref()),
            input
                .terms_and_conditions
                .as_ref()
                .and_then(|d| d.as_deref()),
        ],
    )?;
    let g = &mut loaded.group;
    if let Some(n) = input.name {
        g.name = n;
    }
    if let Some(d) = input.description {
        g.description = d;
    }
    if let Some(t) = input.terms_and_conditions {
        g.terms_and_conditions = t;
    }
    if let Some(s) = input.subscription_admin_verified_id {
        g.subscription_admin_verified_id = verified_subscription(g, s)?;
    }
    g.updated_at = state.clock.now();
    if !state.store.update_group(g).await? {
        return Err(GroupsError::not_found(format!("No group has the id {id}.")));
    }
    document(state, caller, &loaded, Includes::default()).await
}

/// `DELETE /v2/groups/{id}`: answers the deleted group.
pub async fn delete(state: &GroupsState, caller: &Caller, id: Uuid) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let loaded = load_visible(state, caller, id).await?;
    require_admin(&loaded, caller, "delete it")?;
    match state.store.delete_group(id).await {
        Ok(Some(g)) => Ok(Value::Object(view::group(&g))),
        Ok(None) => Err(GroupsError::not_found(format!("No group has the id {id}."))),
        Err(tessera_store::StoreError::Conflict(_)) => Err(GroupsError::conflict(
            "The group has subgroups; delete them first.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn get_policies(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
) -> Result<Value, GroupsError> {
    let loaded = load_visible(state, caller, id).await?;
    Ok(view::policies(&loaded.group.policies))
}

pub async fn set_policies(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
    input: PoliciesInput,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let mut loaded = load_visible(state, caller, id).await?;
    require_admin(&loaded, caller, "change its policies")?;
    loaded.group.policies = input.apply(loaded.group.policies.clone())?;
    loaded.group.updated_at = state.clock.now();
    state.store.update_group(&loaded.group).await?;
    Ok(view::policies(&loaded.group.policies))
}

/// `PUT /v2/groups/{id}/subscription_admin_verified`.
pub async fn set_subscription_verified(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
    wanted: Option<Uuid>,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let mut loaded = load_visible(state, caller, id).await?;
    require_admin(&loaded, caller, "change its verified subscription")?;
    loaded.group.subscription_admin_verified_id = verified_subscription(&loaded.group, wanted)?;
    loaded.group.updated_at = state.clock.now();
    state.store.update_group(&loaded.group).await?;
    Ok(
        json!({"group_id": id, "subscription_admin_verified_id": loaded.group.subscription_admin_verified_id}),
    )
}

/// `GET /v2/preferences`: the caller's identities, each with `allow_add`.
pub async fn preferences(state: &GroupsState, caller: &Caller) -> Result<Value, GroupsError> {
    let set: BTreeMap<Uuid, Option<bool>> = state
        .store
        .group_preferences(&caller.identities)
        .await?
        .into_iter()
        .collect();
    let mut out = Map::new();
    for id in &caller.identities {
        out.insert(
            id.to_string(),
            json!({"allow_add": set.get(id).copied().flatten()}),
        );
    }
    Ok(Value::Object(out))
}

/// `PUT /v2/preferences`: `{"<identity>": {"allow_add": bool|null}}` for the caller's own
/// identities, or `{"allow_add": …}` for all of them (the SDK docstring's form).
pub async fn set_preferences(
    state: &GroupsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let bad = || {
        GroupsError::bad_request(
            "INVALID_PREFERENCES",
            "Expected {\"<identity id>\": {\"allow_add\": true|false|null}}.",
        )
    };
    let Value::Object(map) = body else {
        return Err(bad());
    };
    let allow = |v: &Value| -> Result<Option<bool>, GroupsError> {
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            _ => Err(bad()),
        }
    };
    let mut writes = Vec::new();
    if let Some(v) = map.get("allow_add") {
        let a = allow(v)?;
        writes.extend(caller.identities.iter().map(|i| (*i, a)));
    } else {
        for (k, v) in &map {
            let id = Uuid::parse_str(k).map_err(|_| bad())?;
            if !caller.owns(id) {
                return Err(GroupsError::forbidden(
                    "Preferences can be set only for your own identities.",
                ));
            }
            let Value::Object(inner) = v else {
                return Err(bad());
            };
            writes.push((id, allow(inner.get("allow_add").unwrap_or(&Value::Null))?));
        }
    }
    for (id, a) in writes {
        state.store.set_group_preference(id, a).await?;
    }
    preferences(state, caller).await
}

/// `GET /v2/groups/{id}/membership_fields`: the caller's memberships' fields (none are kept).
pub async fn membership_fields(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
) -> Result<Value, GroupsError> {
    let loaded = load_visible(state, caller, id).await?;
    let mut out = Map::new();
    for m in loaded.mine(caller) {
        out.insert(m.identity_id.to_string(), json!({}));
    }
    Ok(Value::Object(out))
}
