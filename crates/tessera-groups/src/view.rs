//! The documents of the API (spec §2): groups, memberships, policies.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tessera_core::clock::iso8601;
use tessera_core::group::{Group, Membership, Policies};
use uuid::Uuid;

/// Usernames by identity id (users and client identities).
pub type Usernames = HashMap<Uuid, String>;

pub fn policies(p: &Policies) -> Value {
    json!({
        "is_high_assurance": p.is_high_assurance,
        "authentication_assurance_timeout": p.authentication_assurance_timeout,
        "group_visibility": p.group_visibility,
        "group_members_visibility": p.group_members_visibility,
        "join_requests": p.join_requests,
        "signup_fields": p.signup_fields,
    })
}

pub fn membership(m: &Membership, names: &Usernames) -> Value {
    json!({
        "group_id": m.group_id,
        "identity_id": m.identity_id,
        "username": names.get(&m.identity_id),
        "role": m.role.as_str(),
        "status": m.status.as_str(),
        "status_reason": m.status_reason,
        "invite_email_address": m.invite_email_address,
        "invite_time": m.invite_time.map(iso8601),
        "updated": iso8601(m.updated),
        "membership_fields": {},
    })
}

/// A group document with every key the CLI reads, whatever was asked to be included (spec
/// §2.1: a missing `description`, `terms_and_conditions` or `subscription_admin_verified_id`
/// crashes `globus group update`).
pub fn group(g: &Group) -> Map<String, Value> {
    let doc = json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "parent_id": g.parent_id,
        "group_type": "regular",
        "enforce_session": g.policies.is_high_assurance,
        "session_limit": g.policies.authentication_assurance_timeout,
        "session_timeouts": {},
        "terms_and_conditions": g.terms_and_conditions,
        "policies": policies(&g.policies),
        "subscription_id": g.subscription_id,
        "subscription_info": null,
        "subscription_admin_verified_id": g.subscription_admin_verified_id,
    });
    match doc {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn memberships<'a>(ms: impl IntoIterator<Item = &'a Membership>, names: &Usernames) -> Value {
    Value::Array(ms.into_iter().map(|m| membership(m, names)).collect())
}
