//! The client credentials of the seeded resource server `groups.api.globus.org`, which the
//! guard introspects with. Every node derives the same secret from the master key (HMAC-SHA256
//! under a fixed label), so nodes agree without talking, and the credential row is written once
//! (again only when the master key changed).

use ring::hmac;
use tessera_core::client::ClientCredential;
use tessera_core::clock::UnixTime;
use tessera_core::secret::Secret;
use tessera_core::seed::derived_id;
use tessera_store::{Store, StoreError};
use uuid::Uuid;

use crate::caller::RESOURCE_SERVER;

/// The Groups service's client id and secret (the secret never printed: `Secret`).
pub struct Credential {
    pub client_id: Uuid,
    pub secret: Secret,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The secret derived from `master_key` (any stable secret shared by all nodes).
pub fn derive_secret(master_key: &[u8]) -> Secret {
    let key = hmac::Key::new(hmac::HMAC_SHA256, master_key);
    let tag = hmac::sign(&key, b"tessera groups.api.globus.org service credential v1");
    Secret::new(
        tag.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

/// Makes sure the seeded `groups.api.globus.org` client has the credential derived from
/// `master_key`, and returns it. Seeds the well-known clients first (idempotent).
pub async fn credential(
    store: &dyn Store,
    master_key: &[u8],
    now: UnixTime,
) -> Result<Credential, StoreError> {
    tessera_store::seed_defaults(store, now).await?;
    let client_id = derived_id("client", RESOURCE_SERVER);
    let id = derived_id("credential", RESOURCE_SERVER);
    let secret = derive_secret(master_key);
    let hash = secret.hash();
    let stored = store.credentials(client_id).await?;
    match stored.iter().find(|c| c.id == id) {
        Some(c) if c.secret_hash == hash => {}
        found => {
            if found.is_some() {
                store.delete_credential(client_id, id).await?;
            }
            let row = ClientCredential {
                id,
                client_id,
                name: "Tessera Groups service".to_owned(),
                secret_hash: hash,
                created_at: now,
            };
            match store.insert_credential(&row).await {
                // Another node wrote the same row at the same time.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Credential { client_id, secret })
}
