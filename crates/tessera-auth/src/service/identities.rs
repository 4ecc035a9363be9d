//! Identity lookups (`/v2/api/identities`, spec §3.1): people from the store, and client
//! identities made up from their clients.

use crate::state::AppState;
use tessera_core::identity::{
    client_id_from_username, client_identity, normalize_username, Identity,
};
use tessera_store::StoreError;
use uuid::Uuid;

/// The identities with these ids, in the order asked, unknown ones omitted.
pub async fn by_ids(state: &AppState, ids: &[Uuid]) -> Result<Vec<Identity>, StoreError> {
    let people = state.store.identities_by_ids(ids).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in dedup(ids) {
        if let Some(p) = people.iter().find(|p| p.id == id) {
            out.push(p.clone());
        } else if let Some(entry) = state.clients.get(state.store.as_ref(), id).await? {
            out.push(client_identity(&entry.client));
        }
    }
    Ok(out)
}

/// The identities with these usernames (case-insensitive), in the order asked.
pub async fn by_usernames(
    state: &AppState,
    usernames: &[String],
) -> Result<Vec<Identity>, StoreError> {
    let normalized: Vec<String> = dedup(
        &usernames
            .iter()
            .map(|u| normalize_username(u))
            .collect::<Vec<_>>(),
    );
    let people = state.store.identities_by_usernames(&normalized).await?;
    let mut out = Vec::with_capacity(normalized.len());
    for name in &normalized {
        if let Some(id) = client_id_from_username(name) {
            if let Some(entry) = state.clients.get(state.store.as_ref(), id).await? {
                out.push(client_identity(&entry.client));
            }
        } else if let Some(p) = people
            .iter()
            .find(|p| &normalize_username(&p.username) == name)
        {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn dedup<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}
