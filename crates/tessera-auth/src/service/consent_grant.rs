//! What the authorization-code and device flows share between asking and approving: the
//! requested scope in its normal form, and the consent a person gives to it.

use crate::state::AppState;
use tessera_core::consent::{expand_declared, Consent};
use tessera_core::grant::client_credentials;
use tessera_core::identity::Identity;
use tessera_proto::scope::{distinct_roots, parse_scope_request, ScopeRequest};
use tessera_store::{ConsentParent, NewConsent, StoreError};
use uuid::Uuid;

/// A requested scope expression checked against the catalogue and put in its normal form:
/// canonical names, and the whole tree of declared dependencies (consenting to a scope is
/// consenting to what it depends on). `Ok(Err(why))`: `invalid_scope`.
pub async fn requested_scope(
    state: &AppState,
    scope: &str,
) -> Result<Result<String, String>, StoreError> {
    let requests = match parse_scope_request(scope) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let catalogue = state
        .scopes
        .get_with(
            state.store.as_ref(),
            state.clock.now(),
            &distinct_roots(&requests),
        )
        .await?;
    if let Err(e) = client_credentials::plan(&requests, |s| catalogue.by_string(s)) {
        return Ok(Err(e.to_string()));
    }
    let requests = catalogue.canonical(&requests);
    let requests = expand_declared(&requests, &|s| catalogue.by_string(s), &|id| {
        catalogue.by_id(id)
    });
    Ok(Ok(normal_form(&requests)))
}

fn normal_form(requests: &[ScopeRequest]) -> String {
    requests
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Records what `identity` newly consents to for `client_id` (the normal-form `scope`), given
/// as `effective_identity` when that is a linked identity.
pub async fn record_consent(
    state: &AppState,
    client_id: Uuid,
    scope: &str,
    identity: &Identity,
    effective_identity: Option<Uuid>,
) -> Result<(), StoreError> {
    let requests = parse_scope_request(scope).unwrap_or_default();
    let existing = state.store.consents_of(identity.id).await?;
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let mut nodes: Vec<NewConsent> = Vec::new();
    for root in &requests {
        add_missing(
            &mut nodes,
            &existing,
            &catalogue,
            client_id,
            root,
            ConsentParent::Root,
            &[],
        );
    }
    if !nodes.is_empty() {
        state
            .store
            .insert_consents_as(identity.id, effective_identity, &nodes, state.clock.now())
            .await?;
        crate::audit::consent_granted(state, identity.id, client_id, &nodes);
        tracing::info!(event = "consent_granted", identity = %identity.id, client = %client_id, "consent granted");
    }
    Ok(())
}

/// Adds the consents `request` needs that `existing` lacks, walking its tree.
fn add_missing(
    nodes: &mut Vec<NewConsent>,
    existing: &[Consent],
    catalogue: &crate::cache::Catalogue,
    holder: Uuid,
    request: &ScopeRequest,
    parent: ConsentParent,
    parent_path: &[i64],
) {
    let Some(scope) = catalogue.by_string(&request.scope) else {
        return;
    };
    let found = existing.iter().find(|c| {
        c.scope_string == request.scope
            && c.client_id == holder
            && c.dependency_path.len() == parent_path.len() + 1
            && c.dependency_path.starts_with(parent_path)
    });
    // A child is held by the resource-server client that owns the parent scope (spec §3.3).
    let child_holder = scope.client_id;
    match found {
        Some(c) => {
            for d in &request.dependencies {
                add_missing(
                    nodes,
                    existing,
                    catalogue,
                    child_holder,
                    d,
                    ConsentParent::Existing(c.dependency_path.clone()),
                    &c.dependency_path,
                );
            }
        }
        None => {
            nodes.push(NewConsent {
                client_id: holder,
                scope_id: scope.id,
                scope_string: scope.scope_string.clone(),
                parent,
                allows_refresh: scope.allows_refresh_token,
            });
            let index = nodes.len() - 1;
            for d in &request.dependencies {
                // Beneath a new node nothing exists yet: the empty-path sentinel never matches.
                add_missing(
                    nodes,
                    &[],
                    catalogue,
                    child_holder,
                    d,
                    ConsentParent::New(index),
                    &[],
                );
            }
        }
    }
}
