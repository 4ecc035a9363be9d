//! The seams of Transfer's HTTPS access that need the auth server: each endpoint's `https`
//! scope (`https://auth.globus.org/scopes/<endpoint_id>/https`, owned by Transfer's resource
//! server `transfer.api.globus.org`, so Transfer's guard can introspect tokens for it) and the
//! key of signed links.
//!
//! Why a trait object the binary wires rather than Transfer calling `/v2/api/scopes` over
//! HTTP: that API names a client's scopes `…/scopes/<client_id>/<suffix>` (Globus does too), so
//! it cannot create a scope named after an endpoint, and widening it would let any client claim
//! strings under another id. The binary already links both crates; the scope row is written by
//! `tessera-auth`'s own function, and the serving process applies `ScopesChanged` to its caches
//! at once (PostgreSQL nodes hear it from the database's trigger).

use ring::hmac;
use std::sync::Arc;
use tessera_auth::service::scopes::{put_service_scope, remove_service_scope};
use tessera_auth::AppState;
use tessera_core::clock::UnixTime;
use tessera_core::seed::derived_id;
use tessera_store::{Change, Store, StoreError};
use tessera_transfer::https::link::LinkKey;
use tessera_transfer::https::{scope_string, HttpsScopes};
use tessera_transfer::TRANSFER_RESOURCE_SERVER;
use uuid::Uuid;

/// Writes endpoint `id`'s `https` scope (idempotent).
pub(crate) async fn register(store: &dyn Store, id: Uuid, now: UnixTime) -> Result<(), StoreError> {
    put_service_scope(
        store,
        derived_id("client", TRANSFER_RESOURCE_SERVER),
        TRANSFER_RESOURCE_SERVER,
        &scope_string(id),
        &format!("HTTPS access to collection {id}"),
        "Read and write files of this collection over HTTPS (GET, PUT, DELETE) as you.",
        now,
    )
    .await
    .map(|_| ())
}

/// Removes endpoint `id`'s `https` scope (nothing to do when it has none).
pub(crate) async fn remove(store: &dyn Store, id: Uuid) -> Result<(), StoreError> {
    remove_service_scope(store, &scope_string(id))
        .await
        .map(|_| ())
}

/// The serving process's registry: the store write, then this node's caches.
pub(crate) struct AuthScopes {
    pub(crate) auth: AppState,
}

#[async_trait::async_trait]
impl HttpsScopes for AuthScopes {
    async fn register(&self, endpoint: Uuid) -> Result<(), String> {
        let now = tessera_core::clock::Clock::now(self.auth.clock.as_ref());
        register(self.auth.store.as_ref(), endpoint, now)
            .await
            .map_err(|e| e.to_string())?;
        self.auth
            .publish(vec![Change::ScopesChanged])
            .await
            .map_err(|e| e.to_string())
    }

    async fn remove(&self, endpoint: Uuid) -> Result<(), String> {
        remove(self.auth.store.as_ref(), endpoint)
            .await
            .map_err(|e| e.to_string())?;
        self.auth
            .publish(vec![Change::ScopesChanged])
            .await
            .map_err(|e| e.to_string())
    }
}

/// The signed-link key, derived from the master key under its own label (as the services'
/// credentials are, `service_credential`): the same on every node, changed with the master key.
pub(crate) fn link_key(master_key: &[u8]) -> LinkKey {
    let key = hmac::Key::new(hmac::HMAC_SHA256, master_key);
    let tag = hmac::sign(&key, b"tessera transfer https link key v1");
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(tag.as_ref());
    LinkKey::new(bytes)
}

pub(crate) fn scopes(auth: &AppState) -> Arc<dyn HttpsScopes> {
    Arc::new(AuthScopes { auth: auth.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_transfer::storage::RelPath;

    #[test]
    fn the_link_key_follows_the_master_key() {
        let p = RelPath::parse("/f").unwrap();
        let (e, by) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let a = link_key(b"master").sign(e, &p, 10, by);
        assert_eq!(a, link_key(b"master").sign(e, &p, 10, by));
        assert_ne!(a, link_key(b"other").sign(e, &p, 10, by));
    }
}
