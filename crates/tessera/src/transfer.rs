//! The Transfer service inside `tessera serve`: its guard credentials, its state, its engine.
//!
//! Transfer authenticates callers through `tessera-guard` over HTTP, as any third-party
//! resource server would, with the credential `service_credential` derives for the seeded
//! resource server `transfer.api.globus.org`.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use tessera_auth::keys::MasterKey;
use tessera_core::clock::Clock;
use tessera_core::random::{OsRandom, SecureRandom};
use tessera_store::Store;
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::Storage;
use tessera_transfer::{engine, TransferState, TRANSFER_RESOURCE_SERVER};

/// Builds the Transfer router and starts its engine; the state is for the pages.
pub(crate) async fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    local: SocketAddr,
    master: &MasterKey,
) -> Result<(axum::Router, TransferState)> {
    let credential = crate::service_credential::credential(
        store.as_ref(),
        master.encode().as_bytes(),
        TRANSFER_RESOURCE_SERVER,
        "tessera serve: the Transfer service's guard",
        clock.now(),
    )
    .await
    .context("provisioning the Transfer service's credentials")?;
    let guard = tessera_guard::Guard::builder(
        &crate::service_credential::loopback(local),
        &credential.client_id,
        credential.secret.expose(),
    )
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
    Ok((tessera_transfer::http::router(state.clone()), state))
}
