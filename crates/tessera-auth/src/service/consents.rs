//! Consents as the API and the account page show them, and rescinding them (spec §3.3).
//! Rescinding revokes every token that came from the consent or anything beneath it.

use super::Failure;
use crate::state::AppState;
use serde_json::{json, Value};
use tessera_core::clock::iso8601;
use tessera_core::consent::Consent;
use tessera_store::{Change, StoreError};
use uuid::Uuid;

/// The consent object of spec §3.3: every key present, `last_used` a non-null ISO-8601 string.
pub fn to_object(c: &Consent) -> Value {
    json!({
        "id": c.id,
        "client": c.client_id.to_string(),
        "scope": c.scope_id.to_string(),
        "scope_name": c.scope_string,
        "effective_identity": c.effective_identity.unwrap_or(c.identity_id).to_string(),
        "dependency_path": c.dependency_path,
        "created": iso8601(c.created_at),
        "updated": iso8601(c.updated_at),
        "last_used": iso8601(c.last_used_at),
        "status": "approved",
        "allows_refresh": c.allows_refresh,
        "auto_approved": c.auto_approved,
        "atomically_revocable": c.dependency_path.len() == 1,
    })
}

/// Removes consent `id` of `identity` and everything beneath it, and revokes the tokens that
/// carry any of those scopes for their holders. False when there is no such consent.
pub async fn rescind(state: &AppState, identity: Uuid, id: i64) -> Result<bool, StoreError> {
    let all = state.store.consents_of(identity).await?;
    let Some(target) = all.iter().find(|c| c.id == id) else {
        return Ok(false);
    };
    let doomed: Vec<&Consent> = all
        .iter()
        .filter(|c| c.dependency_path.starts_with(&target.dependency_path))
        .collect();
    let now = state.clock.now();
    let mut changes = vec![Change::ConsentRescinded(identity)];
    for c in &doomed {
        for t in state.store.tokens_for(identity, c.client_id).await? {
            if t.scope.split(' ').any(|s| s == c.scope_string)
                && state.store.revoke_token(&t.hash, now).await?
            {
                changes.push(Change::TokenRevoked(t.hash));
            }
        }
    }
    let ids: Vec<i64> = doomed.iter().map(|c| c.id).collect();
    state.store.delete_consents(&ids).await?;
    let revoked = changes.len() - 1;
    state.publish(changes).await?;
    crate::audit::consent_rescinded(state, identity, target, ids.len(), revoked);
    tracing::info!(event = "consent_rescinded", %identity, consent = id, tokens_revoked = revoked, "consent rescinded");
    Ok(true)
}

/// Rescinds every root consent `identity` gave `client` (the account page's "Revoke").
pub async fn rescind_client(
    state: &AppState,
    identity: Uuid,
    client: Uuid,
) -> Result<(), StoreError> {
    let all = state.store.consents_of(identity).await?;
    for root in all
        .iter()
        .filter(|c| c.client_id == client && c.dependency_path.len() == 1)
    {
        rescind(state, identity, root.id).await?;
    }
    Ok(())
}

/// The consents of `identity`, for the identity itself only.
pub async fn list(state: &AppState, caller: Uuid, identity: &str) -> Result<Vec<Consent>, Failure> {
    let id = Uuid::parse_str(identity)
        .map_err(|_| Failure::NotFound(format!("no identity {identity}")))?;
    if id != caller {
        return Err(Failure::Forbidden(
            "you may see only your own consents".into(),
        ));
    }
    Ok(state.store.consents_of(id).await?)
}
