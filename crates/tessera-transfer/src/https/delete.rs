//! `DELETE` of one file (or link entry); directories are refused, the endpoint's root above all.

use super::{blocking, HttpsError};
use crate::storage::{EntryKind, RelPath, Storage, StorageError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(super) async fn delete(
    storage: Arc<dyn Storage>,
    path: RelPath,
) -> Result<Response, HttpsError> {
    if path.is_root() {
        return Err(HttpsError::conflict("The endpoint's root is not a file"));
    }
    blocking(move || {
        if storage.stat(&path)?.kind == EntryKind::Dir {
            return Err(StorageError::IsADirectory(format!(
                "{} (only files are deleted here)",
                path.to_api()
            )));
        }
        // Not recursive: a directory swapped in since the stat is refused by the storage.
        storage.remove(&path, false)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
