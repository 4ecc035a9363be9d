//! Who may change which membership how: the batch membership action of `POST /v2/groups/{id}`
//! (spec §4), as a pure function from what is stored and what is asked to what should be stored.

use super::{authority, Group, Membership, Role, Status};
use crate::clock::UnixTime;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

macro_rules! string_action {
    ($($variant:ident = $text:literal),+ $(,)?) => {
        /// One kind of batch membership action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),+ }
        impl Action {
            /// In the order answers list them.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

string_action!(
    Add = "add",
    Invite = "invite",
    Accept = "accept",
    Decline = "decline",
    Join = "join",
    RequestJoin = "request_join",
    Approve = "approve",
    Reject = "reject",
    Remove = "remove",
    Leave = "leave",
    ChangeRole = "change_role",
);

impl Action {
    /// The least role (active) the caller needs in the group; `None`: the action is on the
    /// caller's own identities and needs none.
    pub fn needs(self) -> Option<Role> {
        match self {
            Self::Add | Self::Invite | Self::Approve | Self::Reject | Self::Remove => {
                Some(Role::Manager)
            }
            Self::ChangeRole => Some(Role::Admin),
            Self::Accept | Self::Decline | Self::Join | Self::RequestJoin | Self::Leave => None,
        }
    }
}

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub action: Action,
    pub identity_id: Uuid,
    /// For `add`, `invite` (default member) and `change_role` (required).
    pub role: Option<Role>,
    pub status_reason: Option<String>,
    pub invite_email_address: Option<String>,
}

/// Why one item was refused; the rest of the batch goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub code: &'static str,
    pub detail: &'static str,
}

const fn refuse(code: &'static str, detail: &'static str) -> ItemError {
    ItemError { code, detail }
}

/// Why a whole batch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The same identity more than once (400 with `ambiguous_identities`).
    Ambiguous(Vec<Uuid>),
    /// No identity of the caller may perform this action here (403).
    Forbidden(Action),
}

/// What a batch does: the memberships to store (as they were, as they become) and the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub done: Vec<(Action, Membership)>,
    pub failed: Vec<(Action, Uuid, ItemError)>,
    /// `(before, after)` of every membership written; `before` is `None` for a new one.
    pub writes: Vec<(Option<Membership>, Membership)>,
}

/// What the planner needs to know besides the group and its memberships.
pub struct Facts<'a> {
    /// The caller's identity set.
    pub caller: &'a [Uuid],
    /// Identities that exist (users and clients), among the targets of `add` and `invite`.
    pub known: &'a HashSet<Uuid>,
    /// Identities whose preference `allow_add` is false.
    pub no_add: &'a HashSet<Uuid>,
    pub now: UnixTime,
}

/// Applies `items` to the group's `memberships`, in order, as the caller of `facts`.
pub fn plan(
    group: &Group,
    memberships: &[Membership],
    items: &[Item],
    facts: &Facts<'_>,
) -> Result<Outcome, BatchError> {
    let mut seen = HashSet::new();
    let mut ambiguous: Vec<Uuid> = Vec::new();
    for item in items {
        if !seen.insert(item.identity_id) && !ambiguous.contains(&item.identity_id) {
            ambiguous.push(item.identity_id);
        }
    }
    if !ambiguous.is_empty() {
        return Err(BatchError::Ambiguous(ambiguous));
    }
    let mine: Vec<&Membership> = memberships
        .iter()
        .filter(|m| facts.caller.contains(&m.identity_id))
        .collect();
    let power = authority(&mine);
    for item in items {
        if let Some(needed) = item.action.needs() {
            if power.is_none_or(|p| p < needed) {
                return Err(BatchError::Forbidden(item.action));
            }
        }
    }
    let power = power.unwrap_or(Role::Member);
    let mut state: HashMap<Uuid, Membership> = memberships
        .iter()
        .map(|m| (m.identity_id, m.clone()))
        .collect();
    let mut outcome = Outcome::default();
    for item in items {
        let before = state.get(&item.identity_id).cloned();
        let admins = state
            .values()
            .filter(|m| m.status == Status::Active && m.role == Role::Admin)
            .count();
        match decide(group, before.as_ref(), item, power, admins, facts) {
            Ok(after) => {
                state.insert(after.identity_id, after.clone());
                outcome.done.push((item.action, after.clone()));
                outcome.writes.push((before, after));
            }
            Err(e) => outcome.failed.push((item.action, item.identity_id, e)),
        }
    }
    Ok(outcome)
}

/// One item: the membership it leads to, or why not. `power` is the caller's role (checked
/// against [`Action::needs`] already); `admins` counts the group's active admins now.
fn decide(
    group: &Group,
    current: Option<&Membership>,
    item: &Item,
    power: Role,
    admins: usize,
    facts: &Facts<'_>,
) -> Result<Membership, ItemError> {
    let own = facts.caller.contains(&item.identity_id);
    let status = current.map(|m| m.status);
    let is_last_admin =
        current.is_some_and(|m| m.status == Status::Active && m.role == Role::Admin && admins <= 1);
    let fresh = |role: Role, status: Status| Membership {
        group_id: group.id,
        identity_id: item.identity_id,
        role,
        status,
        status_reason: item.status_reason.clone(),
        invite_email_address: None,
        invite_time: None,
        updated: facts.now,
    };
    let moved = |status: Status| -> Result<Membership, ItemError> {
        let mut m = current.cloned().ok_or(NO_MEMBERSHIP)?;
        m.status = status;
        m.status_reason = item.status_reason.clone();
        m.updated = facts.now;
        Ok(m)
    };
    if item.action.needs().is_none() && !own {
        return Err(refuse(
            "PERMISSION_DENIED",
            "This action is only allowed for the caller's own identities.",
        ));
    }
    match item.action {
        Action::Add | Action::Invite => {
            let role = item.role.unwrap_or(Role::Member);
            if role > Role::Member && power < Role::Admin {
                return Err(refuse(
                    "PERMISSION_DENIED",
                    "Only admins may give the role manager or admin.",
                ));
            }
            if !facts.known.contains(&item.identity_id) {
                return Err(refuse("IDENTITY_NOT_FOUND", "No identity has this id."));
            }
            if status == Some(Status::Active) {
                return Err(ALREADY_ACTIVE);
            }
            if item.action == Action::Invite {
                let mut m = fresh(role, Status::Invited);
                m.invite_email_address = item.invite_email_address.clone();
                m.invite_time = Some(facts.now);
                return Ok(m);
            }
            if status == Some(Status::Left) {
                return Err(refuse(
                    "IDENTITY_LEFT",
                    "The identity left the group; it may be invited, not added.",
                ));
            }
            if facts.no_add.contains(&item.identity_id) {
                return Err(refuse(
                    "ADD_NOT_ALLOWED",
                    "The identity does not allow being added to groups; invite it instead.",
                ));
            }
            Ok(fresh(role, Status::Active))
        }
        Action::Accept | Action::Decline => match status {
            Some(Status::Invited) => moved(if item.action == Action::Accept {
                Status::Active
            } else {
                Status::Declined
            }),
            None => Err(NO_MEMBERSHIP),
            Some(_) => Err(refuse(
                "NOT_INVITED",
                "The identity has no pending invitation.",
            )),
        },
        Action::Join => match status {
            Some(Status::Active) => Err(ALREADY_ACTIVE),
            Some(Status::Invited) => moved(Status::Active),
            _ if group.policies.join_requests && !group.policies.is_high_assurance => {
                Ok(fresh(Role::Member, Status::Active))
            }
            _ => Err(refuse(
                "JOIN_NOT_ALLOWED",
                "This group does not allow joining without an invitation.",
            )),
        },
        Action::RequestJoin => match status {
            _ if !group.policies.join_requests => Err(refuse(
                "JOIN_NOT_ALLOWED",
                "This group does not accept join requests.",
            )),
            Some(Status::Active) => Err(ALREADY_ACTIVE),
            Some(Status::Pending) => Err(refuse(
                "ALREADY_PENDING",
                "The identity has asked to join already.",
            )),
            _ => Ok(fresh(Role::Member, Status::Pending)),
        },
        Action::Approve | Action::Reject => match status {
            Some(Status::Pending) => moved(if item.action == Action::Approve {
                Status::Active
            } else {
                Status::Rejected
            }),
            None => Err(NO_MEMBERSHIP),
            Some(_) => Err(refuse("NOT_PENDING", "The identity has not asked to join.")),
        },
        Action::Remove => {
            if own {
                return Err(refuse(
                    "PERMISSION_DENIED",
                    "An identity cannot remove itself; use leave.",
                ));
            }
            match current {
                None => Err(NO_MEMBERSHIP),
                Some(m) if m.role == Role::Admin && power < Role::Admin => Err(refuse(
                    "PERMISSION_DENIED",
                    "Only admins may remove an admin.",
                )),
                Some(m) if matches!(m.status, Status::Active | Status::Invited) => {
                    moved(Status::Removed)
                }
                Some(_) => Err(refuse(
                    "NOT_ACTIVE",
                    "The identity is neither an active member nor invited.",
                )),
            }
        }
        Action::Leave => match status {
            Some(Status::Active) if is_last_admin => Err(LAST_ADMIN),
            Some(Status::Active) => moved(Status::Left),
            None => Err(NO_MEMBERSHIP),
            Some(_) => Err(refuse(
                "NOT_ACTIVE",
                "The identity is not an active member.",
            )),
        },
        Action::ChangeRole => {
            let role = item
                .role
                .ok_or(refuse("INVALID_ROLE", "change_role needs a role."))?;
            match current {
                Some(m) if m.status == Status::Active => {
                    if is_last_admin && role != Role::Admin {
                        return Err(LAST_ADMIN);
                    }
                    let mut m = m.clone();
                    m.role = role;
                    m.updated = facts.now;
                    Ok(m)
                }
                None => Err(NO_MEMBERSHIP),
                Some(_) => Err(refuse(
                    "NOT_ACTIVE",
                    "Only an active member's role can change.",
                )),
            }
        }
    }
}

const ALREADY_ACTIVE: ItemError = refuse(
    "ALREADY_ACTIVE",
    "The identity is already an active member of the group.",
);
const NO_MEMBERSHIP: ItemError = refuse("NO_MEMBERSHIP", "Identity has no membership in group.");
const LAST_ADMIN: ItemError = refuse(
    "LAST_ADMIN",
    "The group's last admin cannot leave or give up the role; make another admin first.",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Policies;

    const G: Uuid = Uuid::from_u128(100);
    const ALICE: Uuid = Uuid::from_u128(1);
    const BOB: Uuid = Uuid::from_u128(2);
    const CAROL: Uuid = Uuid::from_u128(3);
    const NOBODY: Uuid = Uuid::from_u128(9);

    fn group(join_requests: bool) -> Group {
        Group {
            id: G,
            name: "Lab".into(),
            description: None,
            parent_id: None,
            terms_and_conditions: None,
            policies: Policies {
                join_requests,
                ..Policies::default()
            },
            subscription_id: None,
            subscription_admin_verified_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn m(id: Uuid, role: Role, status: Status) -> Membership {
        Membership {
            group_id: G,
            identity_id: id,
            role,
            status,
            status_reason: None,
            invite_email_address: None,
            invite_time: None,
            updated: 0,
        }
    }

    fn item(action: Action, id: Uuid) -> Item {
        Item {
            action,
            identity_id: id,
            role: None,
            status_reason: None,
            invite_email_address: None,
        }
    }

    fn run(
        g: &Group,
        ms: &[Membership],
        caller: Uuid,
        items: &[Item],
    ) -> Result<Outcome, BatchError> {
        let known: HashSet<Uuid> = [ALICE, BOB, CAROL].into_iter().collect();
        let no_add = HashSet::new();
        plan(
            g,
            ms,
            items,
            &Facts {
                caller: &[caller],
                known: &known,
                no_add: &no_add,
                now: 7,
            },
        )
    }

    fn one(out: Result<Outcome, BatchError>) -> Result<Membership, &'static str> {
        let out = out.map_err(|_| "batch error")?;
        match (out.done.first(), out.failed.first()) {
            (Some((_, m)), None) => Ok(m.clone()),
            (None, Some((_, _, e))) => Err(e.code),
            _ => Err("not exactly one result"),
        }
    }

    fn admin_only() -> Vec<Membership> {
        vec![m(ALICE, Role::Admin, Status::Active)]
    }

    #[test]
    fn invitation_accept_and_decline() {
        let g = group(false);
        let invited = one(run(&g, &admin_only(), ALICE, &[item(Action::Invite, BOB)])).unwrap();
        assert_eq!(
            (invited.role, invited.status),
            (Role::Member, Status::Invited)
        );
        assert_eq!(invited.invite_time, Some(7));
        let ms = vec![m(ALICE, Role::Admin, Status::Active), invited.clone()];
        let accepted = one(run(&g, &ms, BOB, &[item(Action::Accept, BOB)])).unwrap();
        assert_eq!(accepted.status, Status::Active);
        let declined = one(run(&g, &ms, BOB, &[item(Action::Decline, BOB)])).unwrap();
        assert_eq!(declined.status, Status::Declined);
        // Only for one's own identities; and only when invited.
        assert_eq!(
            one(run(&g, &ms, CAROL, &[item(Action::Accept, BOB)])),
            Err("PERMISSION_DENIED")
        );
        assert_eq!(
            one(run(&g, &ms, CAROL, &[item(Action::Accept, CAROL)])),
            Err("NO_MEMBERSHIP")
        );
    }

    #[test]
    fn join_requests_need_the_policy_and_a_manager_to_approve() {
        let closed = group(false);
        assert_eq!(
            one(run(
                &closed,
                &admin_only(),
                CAROL,
                &[item(Action::RequestJoin, CAROL)]
            )),
            Err("JOIN_NOT_ALLOWED")
        );
        assert_eq!(
            one(run(
                &closed,
                &admin_only(),
                CAROL,
                &[item(Action::Join, CAROL)]
            )),
            Err("JOIN_NOT_ALLOWED")
        );
        let open = group(true);
        let pending = one(run(
            &open,
            &admin_only(),
            CAROL,
            &[item(Action::RequestJoin, CAROL)],
        ))
        .unwrap();
        assert_eq!(pending.status, Status::Pending);
        let ms = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Manager, Status::Active),
            pending,
        ];
        assert_eq!(
            one(run(&open, &ms, BOB, &[item(Action::Approve, CAROL)]))
                .unwrap()
                .status,
            Status::Active
        );
        assert_eq!(
            one(run(&open, &ms, ALICE, &[item(Action::Reject, CAROL)]))
                .unwrap()
                .status,
            Status::Rejected
        );
        assert_eq!(
            one(run(&open, &ms, BOB, &[item(Action::Approve, ALICE)])),
            Err("NOT_PENDING")
        );
        // A plain member may not approve at all: the whole batch is refused.
        let ms2 = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Member, Status::Active),
        ];
        assert_eq!(
            run(&open, &ms2, BOB, &[item(Action::Approve, CAROL)]),
            Err(BatchError::Forbidden(Action::Approve))
        );
    }

    #[test]
    fn add_rules() {
        let g = group(false);
        let ms = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Manager, Status::Active),
            m(CAROL, Role::Member, Status::Left),
        ];
        assert_eq!(
            one(run(&g, &ms, ALICE, &[item(Action::Add, BOB)])),
            Err("ALREADY_ACTIVE")
        );
        assert_eq!(
            one(run(&g, &ms, ALICE, &[item(Action::Add, CAROL)])),
            Err("IDENTITY_LEFT")
        );
        assert_eq!(
            one(run(&g, &ms, ALICE, &[item(Action::Add, NOBODY)])),
            Err("IDENTITY_NOT_FOUND")
        );
        let mut promote = item(Action::Add, CAROL);
        promote.role = Some(Role::Manager);
        let ms2 = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Manager, Status::Active),
        ];
        assert_eq!(
            one(run(&g, &ms2, BOB, &[promote.clone()])),
            Err("PERMISSION_DENIED")
        );
        assert_eq!(
            one(run(&g, &ms2, ALICE, &[promote])).unwrap().role,
            Role::Manager
        );
        // Removed (not left) may be added back.
        let ms3 = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(CAROL, Role::Member, Status::Removed),
        ];
        assert_eq!(
            one(run(&g, &ms3, ALICE, &[item(Action::Add, CAROL)]))
                .unwrap()
                .status,
            Status::Active
        );
        // Preference allow_add false.
        let known: HashSet<Uuid> = [CAROL].into_iter().collect();
        let no_add: HashSet<Uuid> = [CAROL].into_iter().collect();
        let facts = Facts {
            caller: &[ALICE],
            known: &known,
            no_add: &no_add,
            now: 1,
        };
        let out = plan(&g, &admin_only(), &[item(Action::Add, CAROL)], &facts).unwrap();
        assert_eq!(out.failed[0].2.code, "ADD_NOT_ALLOWED");
    }

    #[test]
    fn removal_and_roles() {
        let g = group(false);
        let ms = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Manager, Status::Active),
            m(CAROL, Role::Member, Status::Active),
        ];
        assert_eq!(
            one(run(&g, &ms, BOB, &[item(Action::Remove, CAROL)]))
                .unwrap()
                .status,
            Status::Removed
        );
        assert_eq!(
            one(run(&g, &ms, BOB, &[item(Action::Remove, ALICE)])),
            Err("PERMISSION_DENIED")
        );
        assert_eq!(
            one(run(&g, &ms, BOB, &[item(Action::Remove, BOB)])),
            Err("PERMISSION_DENIED")
        );
        assert_eq!(
            run(&g, &ms, CAROL, &[item(Action::Remove, BOB)]),
            Err(BatchError::Forbidden(Action::Remove))
        );
        let mut demote = item(Action::ChangeRole, BOB);
        demote.role = Some(Role::Member);
        assert_eq!(
            run(&g, &ms, BOB, &[demote.clone()]),
            Err(BatchError::Forbidden(Action::ChangeRole))
        );
        assert_eq!(
            one(run(&g, &ms, ALICE, &[demote])).unwrap().role,
            Role::Member
        );
        let mut self_demote = item(Action::ChangeRole, ALICE);
        self_demote.role = Some(Role::Member);
        assert_eq!(one(run(&g, &ms, ALICE, &[self_demote])), Err("LAST_ADMIN"));
    }

    #[test]
    fn the_last_admin_cannot_leave_but_others_can() {
        let g = group(false);
        let ms = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(CAROL, Role::Member, Status::Active),
        ];
        assert_eq!(
            one(run(&g, &ms, ALICE, &[item(Action::Leave, ALICE)])),
            Err("LAST_ADMIN")
        );
        assert_eq!(
            one(run(&g, &ms, CAROL, &[item(Action::Leave, CAROL)]))
                .unwrap()
                .status,
            Status::Left
        );
        let two = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Admin, Status::Active),
        ];
        assert_eq!(
            one(run(&g, &two, ALICE, &[item(Action::Leave, ALICE)]))
                .unwrap()
                .status,
            Status::Left
        );
    }

    #[test]
    fn one_identity_twice_is_ambiguous_and_nothing_happens() {
        let g = group(false);
        let mut cr = item(Action::ChangeRole, BOB);
        cr.role = Some(Role::Member);
        let out = run(&g, &admin_only(), ALICE, &[cr, item(Action::Remove, BOB)]);
        assert_eq!(out, Err(BatchError::Ambiguous(vec![BOB])));
    }

    #[test]
    fn items_see_the_effects_of_earlier_items() {
        // Promote bob to admin, then the former last admin may leave in the same batch.
        let g = group(false);
        let ms = vec![
            m(ALICE, Role::Admin, Status::Active),
            m(BOB, Role::Member, Status::Active),
        ];
        let mut promote = item(Action::ChangeRole, BOB);
        promote.role = Some(Role::Admin);
        let out = run(&g, &ms, ALICE, &[promote, item(Action::Leave, ALICE)]).unwrap();
        assert!(out.failed.is_empty(), "{:?}", out.failed);
        assert_eq!(out.writes.len(), 2);
    }
}
