//! Endpoints served by storage connectors (issue 13). The service never opens their files: a
//! [`ConnectorHub`], implemented by `tessera-connector` and injected by the binary (so the
//! arrows keep pointing down), gives the engine and the handlers a [`Storage`] whose every call
//! is a request to the connector's public URL carrying a capability for exactly that call, and
//! copies a file between two connectors directly, the bytes never passing through this process.

use crate::data::{CopyOptions, DataError, FileOutcome};
use crate::storage::{RelPath, Storage, StorageError};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tessera_store::connector::ConnectorRecord;
use tessera_store::transfer::EndpointRecord;
use uuid::Uuid;

/// What the service needs from the connector side. Blocking where `Storage` is.
pub trait ConnectorHub: Send + Sync + 'static {
    /// The storage of `endpoint` (a host endpoint whose `root_path` is on `connector`'s host).
    /// Opens nothing: calls reach the connector when made.
    fn open(
        &self,
        connector: &ConnectorRecord,
        endpoint: &EndpointRecord,
    ) -> Result<Arc<dyn Storage>, StorageError>;

    /// Copies one file from `src` to `dst` directly between their connectors when both are
    /// connector storages of this hub (`None` otherwise: the caller copies through itself).
    /// Blocking; waits for an unreachable connector (recording that on `task`) until `cancel`.
    #[allow(clippy::too_many_arguments)]
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
    ) -> Option<Result<FileOutcome, DataError>>;

    /// Copies many (small) files from `src` to `dst` directly between their connectors, in one
    /// job and one stream, when both are connector storages of this hub (`None` otherwise: the
    /// caller copies them one by one). One outcome per file, in order; the files done are under
    /// their names and durable when it returns. `progress` gets the bytes moved so far.
    /// Blocking; waits for an unreachable connector like [`ConnectorHub::copy_direct`].
    #[allow(clippy::too_many_arguments)]
    fn copy_direct_batch(
        &self,
        task: Uuid,
        src: &dyn Storage,
        dst: &dyn Storage,
        files: &[(RelPath, RelPath, CopyOptions)],
        progress: &mut dyn FnMut(u64),
        cancel: &AtomicBool,
    ) -> Option<Vec<Result<FileOutcome, DataError>>> {
        let _ = (task, src, dst, files, progress, cancel);
        None
    }
}
