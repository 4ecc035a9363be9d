//! `GET /endpoint_search` (spec §2.3): full text over the descriptive fields, scopes relative to
//! the caller, has_next paging (limit ≤ 100, offset + limit ≤ 1000).

use crate::error::ApiError;
use crate::http::{Caller, Params};
use crate::TransferState;
use std::collections::HashSet;
use tessera_store::transfer::EndpointRecord;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Query {
    pub fulltext: Option<String>,
    pub scope: String,
    pub owner_id: Option<Uuid>,
    pub host_endpoint: Option<Uuid>,
    pub entity_type: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

const SCOPES: [&str; 9] = [
    "all",
    "my-endpoints",
    "my-gcp-endpoints",
    "recently-used",
    "in-use",
    "shared-by-me",
    "shared-with-me",
    "administered-by-me",
    "hide-no-permissions",
];

impl Query {
    pub fn parse(p: &Params) -> Result<Self, ApiError> {
        let scope = p.get("filter_scope").unwrap_or("all").to_owned();
        if !SCOPES.contains(&scope.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Unknown filter_scope '{scope}'"
            )));
        }
        let uuid = |key: &str| -> Result<Option<Uuid>, ApiError> {
            p.get(key)
                .map(|v| {
                    Uuid::parse_str(v)
                        .map_err(|_| ApiError::bad_request(format!("{key} must be a UUID")))
                })
                .transpose()
        };
        let limit = p.int("limit", 25, 100)?.max(1);
        let offset = p.int("offset", 0, 999)?;
        if offset + limit > 1000 {
            return Err(ApiError::bad_request("offset + limit must be at most 1000"));
        }
        Ok(Self {
            fulltext: p.get("filter_fulltext").map(str::to_owned),
            scope,
            owner_id: uuid("filter_owner_id")?,
            host_endpoint: uuid("filter_host_endpoint")?,
            entity_type: p.get("filter_entity_type").map(str::to_owned),
            limit,
            offset,
        })
    }
}

pub struct Page {
    pub hits: Vec<EndpointRecord>,
    pub has_next_page: bool,
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Every word of `query` is a prefix of a word of the endpoint's text, or `query` is its id.
pub fn matches(e: &EndpointRecord, query: &str) -> bool {
    if Uuid::parse_str(query.trim()).is_ok_and(|u| u == e.id) {
        return true;
    }
    let mut text = vec![e.display_name.clone(), e.owner_string.clone()];
    for key in ["description", "keywords", "organization", "department"] {
        if let Some(v) = e.attrs.get(key).and_then(|v| v.as_str()) {
            text.push(v.to_owned());
        }
    }
    let haystack: Vec<String> = text
        .iter()
        .flat_map(|t| words(t).collect::<Vec<_>>())
        .collect();
    let mut any = false;
    for w in words(query) {
        any = true;
        if !haystack.iter().any(|h| h.starts_with(&w)) {
            return false;
        }
    }
    any
}

pub async fn run(state: &TransferState, caller: &Caller, q: &Query) -> Result<Page, ApiError> {
    let all = state.store.all_endpoints().await?;
    let mut principals: Vec<String> = caller.identities.iter().map(Uuid::to_string).collect();
    principals.extend(
        crate::service::endpoints::active_groups(state, &caller.identities)
            .await?
            .iter()
            .map(Uuid::to_string),
    );
    principals.push(String::new());
    let with_rules: HashSet<Uuid> = state
        .store
        .endpoints_with_rules_for(&principals)
        .await?
        .into_iter()
        .collect();
    let mine = |e: &EndpointRecord| caller.is(e.owner_id);
    let public = |e: &EndpointRecord| {
        e.attrs
            .get("public")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let mut hits: Vec<EndpointRecord> = all
        .into_iter()
        .filter(|e| match q.scope.as_str() {
            "my-endpoints" | "administered-by-me" | "recently-used" | "in-use" => mine(e),
            "my-gcp-endpoints" => false,
            "shared-by-me" => mine(e) && e.host_endpoint_id.is_some(),
            "shared-with-me" => !mine(e) && with_rules.contains(&e.id),
            _ => mine(e) || public(e) || with_rules.contains(&e.id),
        })
        .filter(|e| q.fulltext.as_deref().is_none_or(|t| matches(e, t)))
        .filter(|e| q.owner_id.is_none_or(|o| e.owner_id == o))
        .filter(|e| {
            q.host_endpoint
                .is_none_or(|h| e.host_endpoint_id == Some(h))
        })
        .filter(|e| {
            q.entity_type.as_deref().is_none_or(|t| {
                t == if e.host_endpoint_id.is_some() {
                    "GCSv4_share"
                } else {
                    "GCSv4_host"
                }
            })
        })
        .collect();
    let total = i64::try_from(hits.len()).unwrap_or(i64::MAX);
    let start = usize::try_from(q.offset)
        .unwrap_or(usize::MAX)
        .min(hits.len());
    let end = usize::try_from(q.offset + q.limit)
        .unwrap_or(usize::MAX)
        .min(hits.len());
    let has_next_page = q.offset + q.limit < total && q.offset + q.limit < 1000;
    hits = hits.drain(start..end).collect();
    Ok(Page {
        hits,
        has_next_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str) -> EndpointRecord {
        EndpointRecord {
            id: Uuid::from_u128(1),
            display_name: name.into(),
            owner_id: Uuid::from_u128(2),
            owner_string: "alice@example.org".into(),
            root_path: Some("/tmp".into()),
            host_endpoint_id: None,
            host_path: None,
            connector_id: None,
            attrs: serde_json::json!({"description": "Climate data"}),
            created_at: 0,
        }
    }

    #[test]
    fn fulltext_is_case_insensitive_word_prefixes() {
        let e = endpoint("Acceptance source tq12ab");
        assert!(matches(&e, "TQ12AB"));
        assert!(matches(&e, "Acceptance source tq12ab"));
        assert!(matches(&e, "clim"));
        assert!(matches(&e, "alice"));
        assert!(matches(&e, &Uuid::from_u128(1).to_string()));
        assert!(!matches(&e, "zq99"));
        assert!(!matches(&e, "source zq99"));
        assert!(!matches(&e, "  "));
    }
}
