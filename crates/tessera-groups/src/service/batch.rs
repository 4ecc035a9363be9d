//! `POST /v2/groups/{id}`: the batch membership action (spec §4). Parsing here, the rules in
//! `tessera_core::group::rules`, the write in one transaction that fails if anything it read
//! changed meanwhile (then the batch is planned again, once).

use super::{load_visible, usernames};
use crate::caller::Caller;
use crate::error::GroupsError;
use crate::view;
use crate::GroupsState;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use tessera_core::group::rules::{plan, Action, BatchError, Facts, Item};
use tessera_core::group::Role;
use tessera_store::StoreError;
use uuid::Uuid;

/// At most this many items in one batch.
pub const MAX_ITEMS: usize = 500;
const MAX_REASON_CHARS: usize = 2000;

fn bad(detail: impl Into<String>) -> GroupsError {
    GroupsError::bad_request("INVALID_ACTION", detail)
}

fn text(
    item: &Map<String, Value>,
    key: &str,
    action: Action,
) -> Result<Option<String>, GroupsError> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_REASON_CHARS => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!(
            "{}: {key} must be a string of at most {MAX_REASON_CHARS} characters.",
            action.as_str()
        ))),
    }
}

/// The items of a batch body, in the order of [`Action::ALL`], and the actions it named.
pub fn parse(body: &Value) -> Result<(Vec<Item>, Vec<Action>), GroupsError> {
    let Value::Object(map) = body else {
        return Err(bad("The body must be a JSON object of actions."));
    };
    for key in map.keys() {
        if Action::parse(key).is_none() {
            return Err(bad(format!("{key:?} is not a membership action.")));
        }
    }
    let mut items = Vec::new();
    let mut named = Vec::new();
    for &action in Action::ALL {
        let Some(list) = map.get(action.as_str()) else {
            continue;
        };
        named.push(action);
        let Value::Array(list) = list else {
            return Err(bad(format!("{} must be a list.", action.as_str())));
        };
        for entry in list {
            let Value::Object(entry) = entry else {
                return Err(bad(format!(
                    "Each {} item must be an object.",
                    action.as_str()
                )));
            };
            let identity_id = entry
                .get("identity_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "Each {} item needs an identity_id (a UUID).",
                        action.as_str()
                    ))
                })?;
            let role = match entry.get("role") {
                None | Some(Value::Null) => None,
                Some(Value::String(r)) => Some(Role::parse(r).ok_or_else(|| {
                    GroupsError::bad_request(
                        "INVALID_ROLE",
                        format!("{r:?} is not a role: member, manager or admin."),
                    )
                })?),
                Some(_) => {
                    return Err(GroupsError::bad_request(
                        "INVALID_ROLE",
                        "role must be a string.",
                    ))
                }
            };
            if action == Action::ChangeRole && role.is_none() {
                return Err(GroupsError::bad_request(
                    "INVALID_ROLE",
                    "change_role items need a role.",
                ));
            }
            items.push(Item {
                action,
                identity_id,
                role,
                status_reason: text(entry, "status_reason", action)?,
                invite_email_address: text(entry, "invite_email_address", action)?,
            });
            if items.len() > MAX_ITEMS {
                return Err(bad(format!("At most {MAX_ITEMS} items in one batch.")));
            }
        }
    }
    Ok((items, named))
}

/// Runs the batch; answers each named action's successes and, where any failed, `errors`.
pub async fn run(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
    body: &Value,
) -> Result<Value, GroupsError> {
    caller.require_all()?;
    let (items, named) = parse(body)?;
    let targets: Vec<Uuid> = items
        .iter()
        .filter(|i| matches!(i.action, Action::Add | Action::Invite))
        .map(|i| i.identity_id)
        .collect();
    let known: HashSet<Uuid> = usernames(state, targets.iter().copied())
        .await?
        .into_keys()
        .collect();
    let no_add: HashSet<Uuid> = state
        .store
        .group_preferences(&targets)
        .await?
        .into_iter()
        .filter(|(_, a)| *a == Some(false))
        .map(|(i, _)| i)
        .collect();
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let loaded = load_visible(state, caller, id).await?;
        let now = state.clock.now();
        let facts = Facts {
            caller: &caller.identities,
            known: &known,
            no_add: &no_add,
            now,
        };
        let outcome =
            plan(&loaded.group, &loaded.memberships, &items, &facts).map_err(|e| match e {
                BatchError::Ambiguous(ids) => GroupsError::ambiguous(&ids),
                BatchError::Forbidden(a) => GroupsError::forbidden(format!(
                    "None of your identities may perform {} in this group.",
                    a.as_str()
                )),
            })?;
        if outcome.writes.is_empty() {
            break outcome;
        }
        match state
            .store
            .write_memberships(id, &outcome.writes, now)
            .await
        {
            Ok(()) => break outcome,
            Err(StoreError::Conflict(_)) if attempt < 2 => continue,
            Err(StoreError::Conflict(what)) => {
                return Err(GroupsError::conflict(format!(
                "The group changed while the batch ran ({what}); nothing was changed, try again."
            )))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let names = usernames(state, outcome.done.iter().map(|(_, m)| m.identity_id)).await?;
    let mut answer = Map::new();
    for action in &named {
        let done: Vec<Value> = outcome
            .done
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, m)| view::membership(m, &names))
            .collect();
        answer.insert(action.as_str().to_owned(), Value::Array(done));
    }
    if !outcome.failed.is_empty() {
        let mut errors = Map::new();
        for (action, identity, e) in &outcome.failed {
            let entry = errors
                .entry(action.as_str().to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(json!({"identity_id": identity, "code": e.code, "detail": e.detail}));
            }
        }
        answer.insert("errors".into(), Value::Object(errors));
    }
    Ok(Value::Object(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_action_and_refuses_junk() {
        let id = Uuid::from_u128(5).to_string();
        let (items, named) =
            parse(&json!({"add": [{"identity_id": id, "role": "manager"}], "leave": []})).unwrap();
        assert_eq!(named, vec![Action::Add, Action::Leave]);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].role, Some(Role::Manager));
        for junk in [
            json!([]),
            json!({"promote": []}),
            json!({"add": {}}),
            json!({"add": [1]}),
            json!({"add": [{"identity_id": "nope"}]}),
            json!({"add": [{"identity_id": id, "role": "owner"}]}),
            json!({"change_role": [{"identity_id": id}]}),
            json!({"remove": [{"identity_id": id, "status_reason": 5}]}),
        ] {
            let e = parse(&junk).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{junk}");
        }
        let many: Vec<Value> = (0..=MAX_ITEMS as u128)
            .map(|n| json!({"identity_id": Uuid::from_u128(n)}))
            .collect();
        assert!(parse(&json!({"remove": many})).is_err());
    }
}
