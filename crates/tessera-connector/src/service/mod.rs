//! The service's side (inside `tessera serve`): the check-in route connectors call, and the
//! [`Hub`] the Transfer service reaches them through.

mod direct;
mod poll;
pub mod remote;
mod upload;

use crate::capability;
use remote::RemoteStorage;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::clock::Clock;
use tessera_store::connector::ConnectorRecord;
use tessera_store::transfer::EndpointRecord;
use tessera_store::Store;
use tessera_transfer::connectors::ConnectorHub;
use tessera_transfer::data::{CopyOptions, DataError, FileOutcome};
use tessera_transfer::storage::{RelPath, Storage, StorageError};
use uuid::Uuid;

pub use poll::router;

/// The Transfer service's way to its connectors.
pub struct Hub {
    /// The root of every connector's capability key (derived from the master key by the
    /// binary); a connector's own key is [`capability::connector_key`] of it.
    root_key: Vec<u8>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// How often a waiting copy tries an unreachable connector again.
    pub retry_every: Duration,
}

impl Hub {
    pub fn new(
        root_key: Vec<u8>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Self {
            root_key,
            store,
            clock,
            http,
            retry_every: Duration::from_secs(1),
        })
    }

    pub(crate) fn key_of(&self, connector: Uuid) -> Vec<u8> {
        capability::connector_key(&self.root_key, connector)
    }
}

impl ConnectorHub for Hub {
    fn open(
        &self,
        connector: &ConnectorRecord,
        endpoint: &EndpointRecord,
    ) -> Result<Arc<dyn Storage>, StorageError> {
        let base = connector.public_url.clone().ok_or_else(|| {
            StorageError::Io(format!(
                "connector {} has not checked in yet",
                connector.name
            ))
        })?;
        let root = endpoint
            .root_path
            .clone()
            .ok_or_else(|| StorageError::NotFound("the endpoint's directory".into()))?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| StorageError::Io("no runtime to reach the connector from".into()))?;
        Ok(Arc::new(RemoteStorage {
            connector: connector.id,
            name: connector.name.clone(),
            base: base.trim_end_matches('/').to_owned(),
            fingerprint: connector.cert_fingerprint.clone(),
            root,
            key: Arc::new(self.key_of(connector.id)),
            http: self.http.clone(),
            handle,
        }))
    }

    fn copy_direct(
        &self,
        task: Uuid,
        src: &dyn Storage,
        from: &RelPath,
        dst: &dyn Storage,
        to: &RelPath,
        opts: &CopyOptions,
        progress: &mut dyn FnMut(u64),
        cancel: &AtomicBool,
    ) -> Option<Result<FileOutcome, DataError>> {
        let src = src.connector()?.downcast_ref::<RemoteStorage>()?;
        let dst = dst.connector()?.downcast_ref::<RemoteStorage>()?;
        Some(direct::copy(
            self, task, src, from, dst, to, opts, progress, cancel,
        ))
    }
}
