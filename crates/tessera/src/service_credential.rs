//! The client credentials of a seeded resource server that runs inside `tessera serve`
//! (`transfer.api.globus.org`, `groups.api.globus.org`): its `tessera-guard` introspects with
//! them over HTTP, as a third-party service would. Every node derives the same secret from the
//! master key (HMAC-SHA256 under a label naming the resource server), so nodes agree without
//! talking, and the credential row is written once (again only when the master key changed).

use ring::hmac;
use tessera_core::client::ClientCredential;
use tessera_core::clock::UnixTime;
use tessera_core::secret::Secret;
use tessera_core::seed::derived_id;
use tessera_store::{Store, StoreError};

/// A service's client id and secret (the secret never printed: `Secret`).
pub(crate) struct Credential {
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("client_id", &self.client_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The secret of `resource_server` derived from `master_key` (any stable secret shared by all
/// nodes).
fn derive_secret(master_key: &[u8], resource_server: &str) -> Secret {
    let key = hmac::Key::new(hmac::HMAC_SHA256, master_key);
    let label = format!("tessera {resource_server} service credential v1");
    let tag = hmac::sign(&key, label.as_bytes());
    Secret::new(
        tag.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

/// Makes sure the seeded client of `resource_server` has the credential derived from
/// `master_key`, and returns it. Seeds the well-known clients first (idempotent). Nodes starting
/// together write the same row; the loser's conflict is success.
pub(crate) async fn credential(
    store: &dyn Store,
    master_key: &[u8],
    resource_server: &str,
    name: &str,
    now: UnixTime,
) -> Result<Credential, StoreError> {
    tessera_store::seed_defaults(store, now).await?;
    let client_id = derived_id("client", resource_server);
    let id = derived_id("credential", resource_server);
    let secret = derive_secret(master_key, resource_server);
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
                name: name.to_owned(),
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
    Ok(Credential {
        client_id: client_id.to_string(),
        secret,
    })
}

/// The address a service's guard calls this very listener on: loopback whatever address it binds.
pub(crate) fn loopback(local: std::net::SocketAddr) -> String {
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_resource_server_gets_its_own_secret_and_the_loopback_is_reachable() {
        let a = derive_secret(b"master", "transfer.api.globus.org");
        let b = derive_secret(b"master", "groups.api.globus.org");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(
            a.expose(),
            derive_secret(b"master", "transfer.api.globus.org").expose()
        );
        assert_ne!(
            a.expose(),
            derive_secret(b"other", "transfer.api.globus.org").expose()
        );
        assert_eq!(
            loopback("0.0.0.0:8421".parse().unwrap()),
            "http://127.0.0.1:8421"
        );
        assert_eq!(loopback("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(loopback("10.0.0.5:9".parse().unwrap()), "http://10.0.0.5:9");
    }
}
