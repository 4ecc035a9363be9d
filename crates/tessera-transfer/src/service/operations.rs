//! File operations as the caller (spec §3): list a directory, make one, rename. Shared by the
//! API's handlers and the file manager's pages; storage calls run on the blocking pool. A pause
//! rule with `pause_ls`/`pause_mkdir`/`pause_rename` refuses them (pause_ops.rs).

use crate::error::{ApiError, Op};
use crate::http::Caller;
use crate::service::endpoints::{self as svc};
use crate::service::pause_ops::{refuse_if_paused, Paused};
use crate::storage::{Entry, EntryKind, RelPath, StorageError};
use crate::TransferState;
use tessera_store::transfer::EndpointRecord;

/// Runs a blocking storage call off the async threads.
pub async fn blocking<T: Send + 'static>(
    op: Op,
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::from_storage(op, e))
}

/// Every entry of the directory `path` of `e`, if the caller may read there. A path that names
/// a file is refused as such (the listing of a file is not a directory listing).
pub async fn list(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
    path: &RelPath,
) -> Result<Vec<Entry>, ApiError> {
    svc::require(state, caller, e, path, false, "EndpointPermissionDenied").await?;
    refuse_if_paused(state, e, &caller.identities, Paused::Ls).await?;
    let storage = svc::open(state, e).await?;
    let dir = path.clone();
    blocking(Op::Ls, move || {
        let entry = storage.stat(&dir)?;
        if entry.kind != EntryKind::Dir {
            return Err(StorageError::NotADirectory(dir.to_api()));
        }
        storage.list(&dir)
    })
    .await
}

/// Makes the directory `raw` (an API path) of `e`.
pub async fn mkdir(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
    raw: &str,
) -> Result<(), ApiError> {
    let path = svc::resolve(e, Some(raw))?;
    if path.is_root() {
        return Err(ApiError::from_storage(
            Op::Mkdir,
            StorageError::Exists("/".into()),
        ));
    }
    svc::require(
        state,
        caller,
        e,
        &path,
        true,
        "ExternalError.MkdirFailed.PermissionDenied",
    )
    .await?;
    refuse_if_paused(state, e, &caller.identities, Paused::Mkdir).await?;
    let storage = svc::open(state, e).await?;
    blocking(Op::Mkdir, move || storage.mkdir(&path)).await
}

/// Renames `old` to `new` (API paths) on `e`; both need write access.
pub async fn rename(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
    old: &str,
    new: &str,
) -> Result<(), ApiError> {
    let (from, to) = (svc::resolve(e, Some(old))?, svc::resolve(e, Some(new))?);
    if from.is_root() || to.is_root() {
        return Err(ApiError::bad_request(
            "The endpoint's root cannot be renamed",
        ));
    }
    svc::require(state, caller, e, &from, true, "EndpointPermissionDenied").await?;
    svc::require(state, caller, e, &to, true, "EndpointPermissionDenied").await?;
    refuse_if_paused(state, e, &caller.identities, Paused::Rename).await?;
    let storage = svc::open(state, e).await?;
    blocking(Op::Rename, move || storage.rename(&from, &to)).await
}
