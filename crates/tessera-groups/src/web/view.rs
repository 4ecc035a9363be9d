//! What the templates show, read from the API's own documents (so a page shows what the API
//! would answer the same person).

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Roles from weakest to strongest.
fn rank(role: &str) -> u8 {
    match role {
        "admin" => 3,
        "manager" => 2,
        "member" => 1,
        _ => 0,
    }
}

/// One of the person's own memberships.
#[derive(Serialize)]
pub(crate) struct Mine {
    identity_id: String,
    username: String,
    role: String,
    status: String,
}

fn mine(doc: &Value) -> Vec<Mine> {
    list(doc, "my_memberships")
        .iter()
        .map(|m| Mine {
            identity_id: text(m, "identity_id"),
            username: text(m, "username"),
            role: text(m, "role"),
            status: text(m, "status"),
        })
        .collect()
}

/// A line of "Your groups".
#[derive(Serialize)]
pub(crate) struct Listed {
    name: String,
    url: String,
    description: String,
    /// The strongest role among the person's memberships in this section.
    role: String,
    /// Their memberships of the section's status (an invitation per identity, say).
    memberships: Vec<Mine>,
}

/// "Your groups": the person's groups by the status of their memberships.
#[derive(Serialize, Default)]
pub(crate) struct MyGroups {
    pub(crate) active: Vec<Listed>,
    pub(crate) invited: Vec<Listed>,
    pub(crate) pending: Vec<Listed>,
}

impl MyGroups {
    /// From `my_groups` documents (with `my_memberships` of these three statuses).
    pub(crate) fn from_docs(docs: &[Value]) -> Self {
        let mut out = Self::default();
        for doc in docs {
            let all = mine(doc);
            for (status, into) in [
                ("active", &mut out.active),
                ("invited", &mut out.invited),
                ("pending", &mut out.pending),
            ] {
                let ms: Vec<Mine> = all
                    .iter()
                    .filter(|m| m.status == status)
                    .map(|m| Mine {
                        identity_id: m.identity_id.clone(),
                        username: m.username.clone(),
                        role: m.role.clone(),
                        status: m.status.clone(),
                    })
                    .collect();
                if ms.is_empty() {
                    continue;
                }
                let role = ms
                    .iter()
                    .max_by_key(|m| rank(&m.role))
                    .map(|m| m.role.clone())
                    .unwrap_or_default();
                into.push(Listed {
                    name: text(doc, "name"),
                    url: super::group_path(Uuid::parse_str(&text(doc, "id")).unwrap_or_default()),
                    description: text(doc, "description"),
                    role,
                    memberships: ms,
                });
            }
        }
        out
    }
}

/// A form button: POST `action` for `identity_id`.
#[derive(Serialize)]
pub(crate) struct Button {
    action: &'static str,
    identity_id: String,
    label: String,
    /// `""`, `"secondary"` or `"danger"`.
    class: &'static str,
}

/// A membership on the group's page, with what the person may do to it.
#[derive(Serialize)]
pub(crate) struct Member {
    identity_id: String,
    username: String,
    role: String,
    status: String,
    own: bool,
    buttons: Vec<Button>,
    /// Roles it may be changed to (admins only, active members only).
    roles: Vec<&'static str>,
}

/// A policy as a person reads it.
#[derive(Serialize)]
pub(crate) struct Policy {
    name: &'static str,
    value: String,
}

/// A group's page.
#[derive(Serialize)]
pub(crate) struct GroupPage {
    id: String,
    name: String,
    description: String,
    terms: String,
    policies: Vec<Policy>,
    mine: Vec<Mine>,
    /// What the person may do as themselves: accept, decline, join, request to join, leave.
    own_buttons: Vec<Button>,
    members: Vec<Member>,
    can_invite: bool,
    /// Roles an invitation may offer (manager and admin for admins only).
    invite_roles: Vec<&'static str>,
    can_see_members: bool,
}

/// What a person may do as themselves, as the page offers it. Not `join`: the API lets a
/// group that takes join requests be joined outright, and an invitee join, but the page asks
/// (so the group's admins decide) and accepts invitations.
const SELF_ACTIONS: [(&str, &str, &str); 4] = [
    ("accept", "Accept invitation", ""),
    ("decline", "Decline", "secondary"),
    ("request_join", "Ask to join", ""),
    ("leave", "Leave group", "danger"),
];

impl GroupPage {
    /// From `GET /v2/groups/{id}?include=memberships,my_memberships,allowed_actions`.
    pub(crate) fn from_doc(doc: &Value) -> Self {
        let allowed: HashMap<&str, Vec<String>> = doc
            .get("allowed_actions")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let ids = v
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        (k.as_str(), ids)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let may = |a: &str| allowed.get(a).is_some_and(|ids| !ids.is_empty());
        let mine = mine(doc);
        let names: HashMap<&str, &str> = mine
            .iter()
            .map(|m| (m.identity_id.as_str(), m.username.as_str()))
            .collect();
        let several = allowed.values().any(|ids| ids.len() > 1);
        let mut own_buttons = Vec::new();
        for (action, label, class) in SELF_ACTIONS {
            for id in allowed.get(action).map(Vec::as_slice).unwrap_or_default() {
                let who = names.get(id.as_str()).copied().unwrap_or_default();
                own_buttons.push(Button {
                    action,
                    identity_id: id.clone(),
                    label: if several && !who.is_empty() {
                        format!("{label} as {who}")
                    } else {
                        label.to_owned()
                    },
                    class,
                });
            }
        }
        let admin = may("change_role");
        // Requests to decide first, then members, invitations, and the ones gone.
        let order = |status: &str| match status {
            "pending" => 0,
            "active" => 1,
            "invited" => 2,
            _ => 3,
        };
        let mut rows: Vec<&Value> = list(doc, "memberships").iter().collect();
        rows.sort_by_key(|m| (order(&text(m, "status")), text(m, "username")));
        let members = rows
            .into_iter()
            .map(|m| {
                let identity_id = text(m, "identity_id");
                let status = text(m, "status");
                let role = text(m, "role");
                let own = names.contains_key(identity_id.as_str());
                let mut buttons = Vec::new();
                if status == "pending" && may("approve") {
                    buttons.push(Button {
                        action: "approve",
                        identity_id: identity_id.clone(),
                        label: "Approve".into(),
                        class: "",
                    });
                    buttons.push(Button {
                        action: "reject",
                        identity_id: identity_id.clone(),
                        label: "Reject".into(),
                        class: "secondary",
                    });
                }
                let removable =
                    matches!(status.as_str(), "active" | "invited") && (role != "admin" || admin);
                if !own && removable && may("remove") {
                    buttons.push(Button {
                        action: "remove",
                        identity_id: identity_id.clone(),
                        label: if status == "invited" {
                            "Cancel invitation".into()
                        } else {
                            "Remove".into()
                        },
                        class: "danger",
                    });
                }
                let roles = if admin && status == "active" {
                    vec!["member", "manager", "admin"]
                } else {
                    Vec::new()
                };
                Member {
                    identity_id,
                    username: text(m, "username"),
                    role,
                    status,
                    own,
                    buttons,
                    roles,
                }
            })
            .collect();
        let p = doc.get("policies").cloned().unwrap_or(Value::Null);
        let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut policies = vec![
            Policy {
                name: "Who can see the group",
                value: match p.get("group_visibility").and_then(Value::as_str) {
                    Some("authenticated") => "Everyone signed in".into(),
                    _ => "Its members and invited people only".into(),
                },
            },
            Policy {
                name: "Who can see the members",
                value: match p.get("group_members_visibility").and_then(Value::as_str) {
                    Some("members") => "All active members".into(),
                    _ => "Admins and managers".into(),
                },
            },
            Policy {
                name: "Join requests",
                value: if flag("join_requests") {
                    "Anyone who can see the group may ask to join".into()
                } else {
                    "Invitation only".into()
                },
            },
            Policy {
                name: "High assurance",
                value: if flag("is_high_assurance") {
                    let t = p
                        .get("authentication_assurance_timeout")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    format!("Yes: members must have signed in within {} minutes", t / 60)
                } else {
                    "No".into()
                },
            },
        ];
        let fields: Vec<&str> = list(&p, "signup_fields")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !fields.is_empty() {
            policies.push(Policy {
                name: "Asked when joining",
                value: fields.join(", ").replace('_', " "),
            });
        }
        Self {
            id: text(doc, "id"),
            name: text(doc, "name"),
            description: text(doc, "description"),
            terms: text(doc, "terms_and_conditions"),
            policies,
            can_see_members: mine.iter().any(|m| m.status == "active"),
            mine,
            own_buttons,
            members,
            can_invite: may("invite"),
            invite_roles: if admin {
                vec!["member", "manager", "admin"]
            } else {
                vec!["member"]
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ME: &str = "00000000-0000-4000-8000-000000000001";
    const CY: &str = "00000000-0000-4000-8000-000000000003";

    fn doc(allowed: Value, memberships: Value, mine: Value) -> Value {
        json!({
            "id": "00000000-0000-4000-8000-0000000000aa", "name": "Lab", "description": null,
            "policies": {"group_visibility": "private", "group_members_visibility": "managers",
                         "join_requests": true, "is_high_assurance": false, "signup_fields": []},
            "allowed_actions": allowed, "memberships": memberships, "my_memberships": mine,
        })
    }

    fn buttons(p: &GroupPage) -> Vec<&str> {
        p.own_buttons.iter().map(|b| b.action).collect()
    }

    #[test]
    fn a_pending_person_is_offered_nothing_even_where_the_api_would_let_them_join() {
        let me =
            json!([{"identity_id": ME, "username": "me", "role": "member", "status": "pending"}]);
        let p = GroupPage::from_doc(&doc(
            json!({"join": [ME], "request_join": []}),
            json!([]),
            me,
        ));
        assert!(buttons(&p).is_empty());
        assert!(!p.can_invite);
    }

    #[test]
    fn an_admin_decides_requests_first_and_changes_roles_of_active_members() {
        let ms = json!([
            {"identity_id": ME, "username": "me", "role": "admin", "status": "active"},
            {"identity_id": CY, "username": "cy", "role": "member", "status": "pending"},
        ]);
        let me =
            json!([{"identity_id": ME, "username": "me", "role": "admin", "status": "active"}]);
        let all = json!({"invite": [ME], "approve": [ME], "remove": [ME], "change_role": [ME], "leave": []});
        let p = GroupPage::from_doc(&doc(all, ms, me));
        assert!(
            buttons(&p).is_empty(),
            "the last admin is not offered leave"
        );
        assert_eq!(p.members[0].username, "cy");
        let cy: Vec<&str> = p.members[0].buttons.iter().map(|b| b.action).collect();
        assert_eq!(cy, vec!["approve", "reject"]);
        assert!(p.members[0].roles.is_empty());
        assert!(p.members[1].own && p.members[1].buttons.is_empty());
        assert_eq!(p.members[1].roles.len(), 3);
        assert!(p.can_invite);
        assert_eq!(p.invite_roles, vec!["member", "manager", "admin"]);
    }
}
