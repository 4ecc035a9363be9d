//! A pane with no endpoint chosen: endpoint search over what the person can see (the API's
//! `endpoint_search`, scope `all`), their bookmarks, and the endpoints of their recent tasks.

use super::pane::{PaneState, Panes, Side};
use super::Person;
use crate::error::ApiError;
use crate::service::search;
use crate::TransferState;
use serde::Serialize;
use tessera_store::transfer::{EndpointRecord, TaskQuery};
use uuid::Uuid;

/// One endpoint offered: its name, whose, and the address that opens it in this pane.
#[derive(Serialize)]
pub(super) struct Choice {
    name: String,
    detail: String,
    url: String,
}

#[derive(Serialize)]
pub(super) struct Picker {
    query: String,
    results: Vec<Choice>,
    bookmarks: Vec<Choice>,
    recent: Vec<Choice>,
    /// The other pane's state, kept by the search form.
    keep_name: &'static str,
    keep_value: String,
}

fn describe(e: &EndpointRecord) -> String {
    match e.host_endpoint_id {
        Some(_) => format!("shared by {}", e.owner_string),
        None => format!("owned by {}", e.owner_string),
    }
}

pub(super) async fn picker(
    state: &TransferState,
    person: &Person,
    panes: &Panes,
    side: Side,
    query: &str,
) -> Result<Picker, ApiError> {
    let caller = super::caller(person);
    let open = |id: Uuid, path: &str| panes.with(side, PaneState::at(id, path)).url(&[]);
    let q = search::Query {
        fulltext: Some(query.to_owned()).filter(|q| !q.trim().is_empty()),
        scope: "all".into(),
        owner_id: None,
        host_endpoint: None,
        entity_type: None,
        limit: 25,
        offset: 0,
    };
    let page = search::run(state, &caller, &q).await?;
    let results = page
        .hits
        .iter()
        .map(|e| Choice {
            name: e.display_name.clone(),
            detail: describe(e),
            url: open(e.id, "~"),
        })
        .collect();
    let mut bookmarks = Vec::new();
    for b in state.store.bookmarks_of(&person.identities).await? {
        let Some(e) = state.store.endpoint(b.endpoint_id).await? else {
            continue;
        };
        bookmarks.push(Choice {
            name: b.name.clone(),
            detail: format!("{} {}", e.display_name, b.path),
            url: open(e.id, &b.path),
        });
    }
    let (tasks, _) = state
        .store
        .tasks(&TaskQuery {
            owner_ids: person.identities.clone(),
            newest_first: true,
            limit: 20,
            ..TaskQuery::default()
        })
        .await?;
    let mut seen = Vec::new();
    let mut recent = Vec::new();
    let mut used = Vec::new();
    for t in &tasks {
        used.push(t.source_endpoint_id);
        used.extend(t.destination_endpoint_id);
    }
    for id in used {
        if seen.contains(&id) || recent.len() >= 5 {
            continue;
        }
        seen.push(id);
        if let Some(e) = state.store.endpoint(id).await? {
            recent.push(Choice {
                name: e.display_name.clone(),
                detail: describe(&e),
                url: open(e.id, "~"),
            });
        }
    }
    let other = side.other();
    Ok(Picker {
        query: query.to_owned(),
        results,
        bookmarks,
        recent,
        keep_name: other.name(),
        keep_value: panes.get(other).encode(),
    })
}
