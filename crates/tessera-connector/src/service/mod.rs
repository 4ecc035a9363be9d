//! The service's side (inside `tessera serve`): the check-in route connectors call, and the
//! [`Hub`] the Transfer service reaches them through.

mod batch;
mod direct;
mod poll;
pub mod remote;
mod upload;

use crate::{capability, pin};
use remote::RemoteStorage;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::clock::Clock;
use tessera_store::connector::ConnectorRecord;
use tessera_store::transfer::EndpointRecord;
use tessera_store::Store;
use tessera_transfer::connectors::ConnectorHub;
use tessera_transfer::data::{CopyOptions, DataError, FileOutcome, Side};
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
    clients: pin::Clients,
    /// How often a waiting copy tries an unreachable connector again.
    pub retry_every: Duration,
}

impl Hub {
    pub fn new(
        root_key: Vec<u8>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            root_key,
            store,
            clock,
            clients: pin::Clients::new()?,
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
        let public = connector
            .public_url
            .as_deref()
            .ok_or_else(|| {
                StorageError::Io(format!(
                    "connector {} has not checked in yet",
                    connector.name
                ))
            })?
            .trim_end_matches('/')
            .to_owned();
        let root = endpoint
            .root_path
            .clone()
            .ok_or_else(|| StorageError::NotFound("the endpoint's directory".into()))?;
        // A stated certificate: TLS, pinned to it (a malformed one is no certificate).
        let fingerprint = connector
            .cert_fingerprint
            .as_deref()
            .filter(|f| pin::is_fingerprint(f))
            .map(str::to_ascii_lowercase);
        let base = match fingerprint {
            Some(_) => pin::tls_url(&public),
            None => public.clone(),
        };
        let http = self
            .clients
            .for_url(&base, fingerprint.as_deref())
            .map_err(|e| StorageError::Io(format!("connector {}: {e}", connector.name)))?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| StorageError::Io("no runtime to reach the connector from".into()))?;
        Ok(Arc::new(RemoteStorage {
            connector: connector.id,
            name: connector.name.clone(),
            tls: base.starts_with("https://"),
            base,
            public,
            fingerprint,
            root,
            key: Arc::new(self.key_of(connector.id)),
            http,
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
        let (s, d) = (remote(src), remote(dst));
        if opts.encrypt_data {
            // Through this service too, a connector's bytes travel only over TLS.
            for (side, r) in [(Side::Source, s), (Side::Destination, d)] {
                if let Some(r) = r.filter(|r| !r.tls) {
                    return Some(Err(DataError::Storage {
                        side,
                        error: direct::plaintext_refused(r),
                    }));
                }
            }
        }
        Some(direct::copy(
            self, task, s?, from, d?, to, opts, progress, cancel,
        ))
    }

    fn copy_direct_batch(
        &self,
        task: Uuid,
        src: &dyn Storage,
        dst: &dyn Storage,
        files: &[(RelPath, RelPath, CopyOptions)],
        progress: &mut dyn FnMut(u64),
        cancel: &AtomicBool,
    ) -> Option<Vec<Result<FileOutcome, DataError>>> {
        let (s, d) = (remote(src)?, remote(dst)?);
        if files.iter().any(|f| f.2.encrypt_data) {
            // Through this service too, a connector's bytes travel only over TLS.
            for (side, r) in [(Side::Source, s), (Side::Destination, d)] {
                if !r.tls {
                    return Some(
                        files
                            .iter()
                            .map(|_| {
                                Err(DataError::Storage {
                                    side,
                                    error: direct::plaintext_refused(r),
                                })
                            })
                            .collect(),
                    );
                }
            }
        }
        Some(batch::copy(self, task, s, d, files, progress, cancel))
    }
}

/// `s` as a connector's storage of this hub.
fn remote(s: &dyn Storage) -> Option<&RemoteStorage> {
    s.connector()?.downcast_ref::<RemoteStorage>()
}
