//! The Transfer service inside `tessera serve`: its guard credentials, its state, its engine.
//!
//! Transfer authenticates callers through `tessera-guard` over HTTP, as any third-party
//! resource server would. Its confidential client is the seeded resource server
//! `transfer.api.globus.org`; the secret is derived from the master key (so every node of a
//! cluster and every restart derive the same one, and nothing new is stored when it exists)
//! and registered as a credential of that client if it is missing.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tessera_auth::keys::MasterKey;
use tessera_core::clock::Clock;
use tessera_core::random::{OsRandom, SecureRandom};
use tessera_core::seed::derived_id;
use tessera_store::Store;
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::Storage;
use tessera_transfer::{engine, TransferState, TRANSFER_RESOURCE_SERVER};

/// SHA-256 in counter mode over a seed: deterministic bytes for the derived secret.
struct Derived {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SecureRandom for Derived {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let block = Sha256::new()
                .chain_update(self.seed)
                .chain_update(n.to_be_bytes())
                .finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

const CREDENTIAL_NAME: &str = "tessera serve: the Transfer service's guard";

/// The guard's client id and secret, registered if missing.
async fn guard_credentials(
    store: &dyn Store,
    clock: &dyn Clock,
    master: &MasterKey,
) -> Result<(String, String)> {
    let client = derived_id("client", TRANSFER_RESOURCE_SERVER);
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"tessera transfer guard secret v1\0")
        .chain_update(master.encode().as_bytes())
        .finalize()
        .into();
    let derived = Derived {
        seed,
        counter: AtomicU64::new(0),
    };
    let (credential, secret) =
        tessera_auth::service::credentials::mint(&derived, client, CREDENTIAL_NAME, clock.now());
    let known = store.credentials(client).await?;
    if !known
        .iter()
        .any(|c| c.secret_hash == credential.secret_hash)
    {
        store.insert_credential(&credential).await?;
    }
    Ok((client.to_string(), secret.expose().to_owned()))
}

/// Builds the Transfer router and starts its engine.
pub(crate) async fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    local: SocketAddr,
    master: &MasterKey,
) -> Result<axum::Router> {
    let (client_id, secret) = guard_credentials(store.as_ref(), clock.as_ref(), master)
        .await
        .context("registering the Transfer service's client credentials")?;
    // The guard talks HTTP to this very listener, on loopback whatever address it binds.
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let guard = tessera_guard::Guard::builder(&format!("http://{addr}"), &client_id, &secret)
        .audience(TRANSFER_RESOURCE_SERVER)
        // No positive caching: a revoked token is refused by Transfer at once, as by Auth (the
        // guard cannot see this process's change feed). Concurrent calls with one token still
        // share one introspection; junk tokens are remembered for the default 2 s.
        .ttl(std::time::Duration::ZERO)
        .build()
        .map_err(|e| anyhow::anyhow!("building the Transfer guard: {e}"))?;
    let state = TransferState {
        store,
        guard,
        clock,
        rng: Arc::new(OsRandom),
        open_storage: Arc::new(|root| Ok(Arc::new(PosixStorage::open(root)?) as Arc<dyn Storage>)),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let node = format!("{}-{}", std::process::id(), OsRandom.uuid_v4().simple());
    engine::spawn(state.clone(), engine::EngineConfig::new(node));
    Ok(tessera_transfer::http::router(state))
}
