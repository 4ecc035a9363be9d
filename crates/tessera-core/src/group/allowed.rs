//! `allowed_actions` of a group document (spec §2.1): for each batch action, which of the
//! caller's identities may perform it now. Derived from the same rules as the batch itself
//! ([`super::rules`]), so what the document offers is what a batch would accept.

use super::rules::{plan, Action, Facts, Item};
use super::{Group, Membership, Role, Status};
use crate::clock::UnixTime;
use std::collections::HashSet;
use uuid::Uuid;

/// For every action (in [`Action::ALL`] order), the caller's identities that may perform it.
///
/// Actions on others (add, invite, approve, reject, remove, change_role) list the caller's
/// identities whose own active role is enough ([`Action::needs`]); actions on oneself (accept,
/// decline, join, request_join, leave) list the identities for which a one-item batch would
/// succeed.
pub fn allowed_actions(
    group: &Group,
    memberships: &[Membership],
    caller: &[Uuid],
    now: UnixTime,
) -> Vec<(Action, Vec<Uuid>)> {
    let empty = HashSet::new();
    Action::ALL
        .iter()
        .map(|&action| {
            let who = caller
                .iter()
                .copied()
                .filter(|&id| match action.needs() {
                    Some(needed) => role_of(memberships, id).is_some_and(|r| r >= needed),
                    None => {
                        let facts = Facts {
                            caller: &[id],
                            known: &empty,
                            no_add: &empty,
                            now,
                        };
                        let item = Item {
                            action,
                            identity_id: id,
                            role: None,
                            status_reason: None,
                            invite_email_address: None,
                        };
                        plan(group, memberships, &[item], &facts)
                            .is_ok_and(|o| o.failed.is_empty() && !o.done.is_empty())
                    }
                })
                .collect();
            (action, who)
        })
        .collect()
}

/// The role of `id`'s own active membership.
fn role_of(memberships: &[Membership], id: Uuid) -> Option<Role> {
    memberships
        .iter()
        .find(|m| m.identity_id == id && m.status == Status::Active)
        .map(|m| m.role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Policies;

    fn group(join_requests: bool) -> Group {
        Group {
            id: Uuid::from_u128(100),
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

    fn m(id: u128, role: Role, status: Status) -> Membership {
        Membership {
            group_id: Uuid::from_u128(100),
            identity_id: Uuid::from_u128(id),
            role,
            status,
            status_reason: None,
            invite_email_address: None,
            invite_time: None,
            updated: 0,
        }
    }

    fn of(list: &[(Action, Vec<Uuid>)], action: Action) -> Vec<u128> {
        list.iter()
            .find(|(a, _)| *a == action)
            .map(|(_, ids)| ids.iter().map(|i| i.as_u128()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_action_is_listed_once() {
        let list = allowed_actions(&group(false), &[], &[Uuid::from_u128(1)], 0);
        let actions: Vec<Action> = list.iter().map(|(a, _)| *a).collect();
        assert_eq!(actions, Action::ALL);
        assert!(list.iter().all(|(_, ids)| ids.is_empty()));
    }

    #[test]
    fn the_last_admin_manages_but_cannot_leave() {
        let ms = [m(1, Role::Admin, Status::Active)];
        let list = allowed_actions(&group(false), &ms, &[Uuid::from_u128(1)], 0);
        for a in [
            Action::Add,
            Action::Invite,
            Action::Approve,
            Action::Reject,
            Action::Remove,
            Action::ChangeRole,
        ] {
            assert_eq!(of(&list, a), vec![1], "{a:?}");
        }
        assert!(of(&list, Action::Leave).is_empty());
        assert!(of(&list, Action::Join).is_empty());
    }

    #[test]
    fn per_identity_of_a_linked_set() {
        // Identity 2 is a manager, 3 is invited, 4 a stranger; join requests are open.
        let ms = [
            m(1, Role::Admin, Status::Active),
            m(2, Role::Manager, Status::Active),
            m(3, Role::Member, Status::Invited),
        ];
        let me = [2, 3, 4].map(Uuid::from_u128);
        let list = allowed_actions(&group(true), &ms, &me, 0);
        assert_eq!(of(&list, Action::Invite), vec![2]);
        assert!(of(&list, Action::ChangeRole).is_empty());
        assert_eq!(of(&list, Action::Accept), vec![3]);
        assert_eq!(of(&list, Action::Decline), vec![3]);
        assert_eq!(of(&list, Action::Leave), vec![2]);
        assert_eq!(of(&list, Action::Join), vec![3, 4]);
        assert_eq!(of(&list, Action::RequestJoin), vec![3, 4]);
        let closed = allowed_actions(&group(false), &ms, &me, 0);
        assert_eq!(of(&closed, Action::Join), vec![3]);
        assert!(of(&closed, Action::RequestJoin).is_empty());
    }
}
