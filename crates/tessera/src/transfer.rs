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
    auth: &tessera_auth::AppState,
    public_url: &str,
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
    // Endpoints made before their https scope existed get it now (idempotent: a scope that is
    // there already is left as it is).
    for e in store.all_endpoints().await.context("listing endpoints")? {
        crate::https_access::register(store.as_ref(), e.id, clock.now())
            .await
            .context("registering the endpoints' https scopes")?;
    }
    auth.publish(vec![tessera_store::Change::ScopesChanged])
        .await
        .context("announcing the endpoints' https scopes")?;
    // Every node derives the same capability root from the master key, so any node can sign
    // for any connector, and a connector's key survives restarts.
    let hub = Arc::new(
        tessera_connector::service::Hub::new(
            connector_root_key(master.encode().as_bytes()),
            store.clone(),
            clock.clone(),
        )
        .map_err(|e| anyhow::anyhow!("building the connector client: {e}"))?,
    );
    let state = TransferState {
        store,
        guard,
        clock,
        rng: Arc::new(OsRandom),
        open_storage: Arc::new(|root| Ok(Arc::new(PosixStorage::open(root)?) as Arc<dyn Storage>)),
        wake: Arc::new(tokio::sync::Notify::new()),
        connectors: Some(hub.clone()),
        https: tessera_transfer::HttpsConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            link_key: crate::https_access::link_key(master.encode().as_bytes()),
            scopes: crate::https_access::scopes(auth),
        },
    };
    let node = format!("{}-{}", std::process::id(), OsRandom.uuid_v4().simple());
    engine::spawn(state.clone(), engine::EngineConfig::new(node));
    Ok((
        tessera_transfer::http::router(state.clone())
            .merge(tessera_connector::service::router(hub)),
        state,
    ))
}

/// The root of the connectors' capability keys: HMAC-SHA256 of the master key under a label.
fn connector_root_key(master_key: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master_key);
    ring::hmac::sign(&key, b"tessera connector capability root v1")
        .as_ref()
        .to_vec()
}
