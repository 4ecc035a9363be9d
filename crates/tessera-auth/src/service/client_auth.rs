//! Client authentication (RFC 6749 §2.3): HTTP Basic, `client_secret_post`, or a public
//! client naming itself by `client_id`.

use crate::cache::ClientEntry;
use crate::state::AppState;
use std::sync::Arc;
use tessera_core::secret::Secret;
use tessera_store::StoreError;
use uuid::Uuid;

/// A client secret as presented, read every way it may have been meant.
///
/// RFC 6749 §2.3.1 form-encodes the client id and secret before they go into HTTP Basic, and
/// libraries that follow it (`oauth4webapi`, under node `openid-client`) send `_` as `%5F`. The
/// Globus SDK, like most clients, sends them as they are, and a secret may itself contain `%` or
/// `+`. So a Basic secret is tried both decoded and as sent; when the two are the same (no `%`
/// or `+` in it, the usual case) there is only one reading, hashed once.
#[derive(Debug)]
pub struct PresentedSecret {
    /// The secret as RFC 6749 means it: form-decoded from Basic, or a form's `client_secret`.
    secret: Secret,
    /// The Basic secret as sent, when form-decoding changed it.
    raw: Option<Secret>,
}

impl PresentedSecret {
    /// A secret with a single reading (`client_secret_post`: the form is decoded already).
    pub fn new(secret: Secret) -> Self {
        Self { secret, raw: None }
    }

    /// A Basic secret: `decoded` is its form-decoding, when that is valid UTF-8.
    pub fn basic(raw: &str, decoded: Option<String>) -> Self {
        match decoded {
            Some(d) if d != raw => Self {
                secret: Secret::new(d),
                raw: Some(Secret::new(raw)),
            },
            _ => Self::new(Secret::new(raw)),
        }
    }

    /// The readings, decoded first.
    pub fn readings(&self) -> impl Iterator<Item = &Secret> {
        std::iter::once(&self.secret).chain(self.raw.as_ref())
    }
}

/// How a request identified its client.
#[derive(Debug)]
pub enum ClientClaim {
    /// An id and a secret, from Basic or from the form.
    Secret {
        client_id: String,
        secret: PresentedSecret,
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
            // Every reading against every credential, each in constant time, so the time taken
            // says nothing about which matched.
            let matched = secret
                .readings()
                .map(Secret::hash)
                .fold(false, |found, presented| {
                    entry
                        .credentials
                        .iter()
                        .fold(found, |found, c| (c.secret_hash == presented) | found)
                });
            if matched {
                Ok(entry)
            } else {
                Err(ClientAuthError::Failed)
            }
        }
    }
}
