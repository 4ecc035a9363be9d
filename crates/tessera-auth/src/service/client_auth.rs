//! Client authentication (RFC 6749 §2.3): HTTP Basic, `client_secret_post`, or a public
//! client naming itself by `client_id`.

use crate::cache::ClientEntry;
use crate::state::AppState;
use std::sync::Arc;
use tessera_core::secret::Secret;
use tessera_store::StoreError;
use uuid::Uuid;

/// How a request identified its client.
#[derive(Debug)]
pub enum ClientClaim {
    /// An id and a secret, from Basic or from the form.
    Secret {
        client_id: String,
        secret: Secret,
    },
    /// A bare `client_id` (public clients, RFC 6749 §2.3 does not apply to them).
    PublicId(String),
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong secret, or a confidential client without a secret. One variant,
    /// so that no answer tells which.
    #[error("client authentication failed")]
    Failed,
    #[error("no client authentication was given")]
    Missing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Authenticates the claim. A public client may present only its id; a confidential client
/// must present a secret that matches one of its credentials.
pub async fn authenticate(
    state: &AppState,
    claim: ClientClaim,
) -> Result<Arc<ClientEntry>, ClientAuthError> {
    let (raw_id, secret) = match claim {
        ClientClaim::None => return Err(ClientAuthError::Missing),
        ClientClaim::PublicId(id) => (id, None),
        ClientClaim::Secret { client_id, secret } => (client_id, Some(secret)),
    };
    let id = Uuid::parse_str(&raw_id).map_err(|_| ClientAuthError::Failed)?;
    let entry = state
        .clients
        .get(state.store.as_ref(), id)
        .await?
        .ok_or(ClientAuthError::Failed)?;
    match secret {
        None if entry.client.is_public() => Ok(entry),
        None => Err(ClientAuthError::Failed),
        // A public client has no secret to check; presenting one is a mistake, not a login.
        Some(_) if entry.client.is_public() => Err(ClientAuthError::Failed),
        Some(secret) => {
            let presented = secret.hash();
            // Compare against every credential so the time taken says nothing about which matched.
            let matched = entry
                .credentials
                .iter()
                .fold(false, |found, c| (c.secret_hash == presented) | found);
            if matched {
                Ok(entry)
            } else {
                Err(ClientAuthError::Failed)
            }
        }
    }
}
