//! The Groups operations: parse → (here) → respond. Reads and writes go through
//! `tessera-store`'s `GroupRepository`; the rules are `tessera_core::group`'s.

pub mod batch;
pub mod groups;

use crate::caller::Caller;
use crate::error::GroupsError;
use crate::view::Usernames;
use crate::GroupsState;
use tessera_core::group::{visible_to, Group, Membership};
use tessera_core::identity::client_username;
use uuid::Uuid;

/// A group with all its memberships, as read.
pub struct Loaded {
    pub group: Group,
    pub memberships: Vec<Membership>,
}

impl Loaded {
    /// The caller's memberships of this group (one per linked identity at most).
    pub fn mine(&self, caller: &Caller) -> Vec<&Membership> {
        self.memberships
            .iter()
            .filter(|m| caller.owns(m.identity_id))
            .collect()
    }

    pub fn visible(&self, caller: &Caller) -> bool {
        visible_to(&self.group, &self.mine(caller))
    }
}

/// Unknown ids answer 404; so do ids that are not UUIDs (nothing could have them).
pub fn group_id(raw: &str) -> Result<Uuid, GroupsError> {
    Uuid::parse_str(raw)
        .map_err(|_| GroupsError::not_found(format!("No group has the id {raw:?}.")))
}

pub async fn load(state: &GroupsState, id: Uuid) -> Result<Loaded, GroupsError> {
    let group = state
        .store
        .group(id)
        .await?
        .ok_or_else(|| GroupsError::not_found(format!("No group has the id {id}.")))?;
    let memberships = state.store.memberships_of_group(id).await?;
    Ok(Loaded { group, memberships })
}

/// [`load`], refused with 403 when the group is not visible to the caller (spec §3.1).
pub async fn load_visible(
    state: &GroupsState,
    caller: &Caller,
    id: Uuid,
) -> Result<Loaded, GroupsError> {
    let loaded = load(state, id).await?;
    if !loaded.visible(caller) {
        return Err(GroupsError::forbidden(
            "You are not allowed to see this group.",
        ));
    }
    Ok(loaded)
}

/// Usernames of these identities: users from the identity table, clients as
/// `<client id>@clients.auth.globus.org`. Unknown ids are left out.
pub async fn usernames(
    state: &GroupsState,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<Usernames, GroupsError> {
    let mut wanted: Vec<Uuid> = ids.into_iter().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out: Usernames = state
        .store
        .identities_by_ids(&wanted)
        .await?
        .into_iter()
        .map(|i| (i.id, i.username))
        .collect();
    for id in wanted {
        if !out.contains_key(&id) && state.store.client(id).await?.is_some() {
            out.insert(id, client_username(id));
        }
    }
    Ok(out)
}
