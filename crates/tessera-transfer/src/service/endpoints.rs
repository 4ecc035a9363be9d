//! Endpoints as callers see them: lookup, what a caller may do where, the storage behind one,
//! and API paths resolved into confined [`RelPath`]s.

use crate::acl::{self, Access};
use crate::error::ApiError;
use crate::http::Caller;
use crate::storage::{Entry, ReadFile, RelPath, Storage, StorageError, WriteFile};
use crate::TransferState;
use std::sync::Arc;
use tessera_store::transfer::EndpointRecord;
use uuid::Uuid;

/// The endpoint `id` (as the URL gave it), or 404 `EndpointNotFound`.
pub async fn load(state: &TransferState, id: &str) -> Result<EndpointRecord, ApiError> {
    let Ok(uuid) = Uuid::parse_str(id.trim()) else {
        return Err(ApiError::endpoint_not_found(id));
    };
    state
        .store
        .endpoint(uuid)
        .await?
        .ok_or_else(|| ApiError::endpoint_not_found(id))
}

/// The endpoint's own `force_encryption` (set by its administrator).
pub fn force_encryption(endpoint: &EndpointRecord) -> bool {
    endpoint
        .attrs
        .get("force_encryption")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Whether every transfer to or from `endpoint` must run with `encrypt_data`: its own
/// `force_encryption`, or its host's for a share (a share's bytes live on its host).
pub async fn forces_encryption(
    state: &TransferState,
    endpoint: &EndpointRecord,
) -> Result<bool, tessera_store::StoreError> {
    if force_encryption(endpoint) {
        return Ok(true);
    }
    match endpoint.host_endpoint_id {
        Some(host) => Ok(state
            .store
            .endpoint(host)
            .await?
            .is_some_and(|h| force_encryption(&h))),
        None => Ok(false),
    }
}

/// The endpoint's default directory (`default_directory`, else `/`).
pub fn default_directory(endpoint: &EndpointRecord) -> RelPath {
    endpoint
        .attrs
        .get("default_directory")
        .and_then(|v| v.as_str())
        .and_then(|s| RelPath::parse(s).ok())
        .unwrap_or_default()
}

/// An API path in the endpoint's namespace (spec §1.8): absolute, `~`/`/~/` for the default
/// directory, relative to the default directory otherwise. `..` is refused (400).
pub fn resolve(endpoint: &EndpointRecord, path: Option<&str>) -> Result<RelPath, ApiError> {
    let path = path.unwrap_or("~");
    let parsed = |p: &str| {
        RelPath::parse(p).map_err(|e| ApiError::bad_request(format!("Invalid path '{path}': {e}")))
    };
    if path == "~" || path.starts_with("~/") || path == "/~" || path.starts_with("/~/") {
        let rest = path.trim_start_matches('/').trim_start_matches('~');
        let base = default_directory(endpoint);
        let tail = parsed(rest)?;
        return Ok(join(&base, &tail));
    }
    if path.starts_with('/') {
        return parsed(path);
    }
    Ok(join(&default_directory(endpoint), &parsed(path)?))
}

fn join(base: &RelPath, tail: &RelPath) -> RelPath {
    let mut out = base.clone();
    for c in tail.components() {
        // A component of a parsed path is always one valid name.
        if let Ok(next) = out.join(c) {
            out = next;
        }
    }
    out
}

/// What `caller` may do at `path` of `endpoint` (see [`crate::acl`]).
pub async fn access(
    state: &TransferState,
    caller: &Caller,
    endpoint: &EndpointRecord,
    path: &RelPath,
) -> Result<Access, ApiError> {
    access_of(state, &caller.identities, endpoint, path).await
}

/// The same for any identity set (the engine re-checks a task's owner for every item).
pub async fn access_of(
    state: &TransferState,
    identities: &[Uuid],
    endpoint: &EndpointRecord,
    path: &RelPath,
) -> Result<Access, ApiError> {
    let now = state.clock.now();
    let own = if identities.contains(&endpoint.owner_id) {
        Access::ReadWrite
    } else {
        let rules = state.store.access_rules(endpoint.id).await?;
        let groups = groups_for(state, &rules, identities).await?;
        acl::granted(&rules, identities, &groups, path, now)
    };
    // A share never gives more than its owner holds on the host at its host path.
    let (Some(host_id), Some(host_path)) = (endpoint.host_endpoint_id, &endpoint.host_path) else {
        return Ok(own);
    };
    if own == Access::None {
        return Ok(own);
    }
    let Some(host) = state.store.endpoint(host_id).await? else {
        return Ok(Access::None);
    };
    let on_host = join(&RelPath::parse(host_path).unwrap_or_default(), path);
    let cap = if host.owner_id == endpoint.owner_id {
        Access::ReadWrite
    } else {
        let rules = state.store.access_rules(host.id).await?;
        let groups = groups_for(state, &rules, &[endpoint.owner_id]).await?;
        acl::granted(&rules, &[endpoint.owner_id], &groups, &on_host, now)
    };
    Ok(own.min(cap))
}

/// The groups `identities` are active members of, read from the store at decision time (no
/// cache: a removal is seen by every node at its next decision); none read when no rule names
/// a group.
async fn groups_for(
    state: &TransferState,
    rules: &[tessera_store::transfer::AccessRuleRecord],
    identities: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    if !acl::names_groups(rules) {
        return Ok(Vec::new());
    }
    active_groups(state, identities).await
}

/// The groups `identities` are active members of.
pub async fn active_groups(
    state: &TransferState,
    identities: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    let mut out: Vec<Uuid> = state
        .store
        .memberships_of_identities(identities)
        .await?
        .into_iter()
        .filter(|m| m.status == tessera_core::group::Status::Active)
        .map(|m| m.group_id)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Refuses unless `caller` may read (or write) at `path`.
pub async fn require(
    state: &TransferState,
    caller: &Caller,
    endpoint: &EndpointRecord,
    path: &RelPath,
    write: bool,
    code: &'static str,
) -> Result<(), ApiError> {
    let a = access(state, caller, endpoint, path).await?;
    let ok = if write {
        a.allows_write()
    } else {
        a.allows_read()
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            code,
            format!(
                "You do not have {} permission on {} of endpoint {}",
                if write { "write" } else { "read" },
                path.to_api(),
                endpoint.id
            ),
        ))
    }
}

/// The storage behind an endpoint: its own root for a host, its host's root below
/// `host_path` for a share (so the host's directory handle confines the share too).
pub fn storage(
    state: &TransferState,
    endpoint: &EndpointRecord,
    host: Option<&EndpointRecord>,
) -> Result<Arc<dyn Storage>, StorageError> {
    // A connector's directory is on its host, never opened here.
    if endpoint.connector_id.is_some() || host.is_some_and(|h| h.connector_id.is_some()) {
        return Err(StorageError::Io(
            "the endpoint is served by a storage connector".into(),
        ));
    }
    match (&endpoint.root_path, host, &endpoint.host_path) {
        (Some(root), _, _) => (state.open_storage)(std::path::Path::new(root)),
        (None, Some(host), Some(host_path)) => {
            let inner = storage(state, host, None)?;
            Ok(Arc::new(Below {
                inner,
                prefix: RelPath::parse(host_path)
                    .map_err(|_| StorageError::InvalidPath("the share's host path".into()))?,
            }))
        }
        _ => Err(StorageError::NotFound(
            "the endpoint's host endpoint".into(),
        )),
    }
}

/// The storage of an endpoint, looking its host up when it is a share.
pub async fn open(
    state: &TransferState,
    endpoint: &EndpointRecord,
) -> Result<Arc<dyn Storage>, ApiError> {
    let host = match endpoint.host_endpoint_id {
        Some(id) => Some(
            state
                .store
                .endpoint(id)
                .await?
                .ok_or_else(|| ApiError::endpoint_not_found(&id.to_string()))?,
        ),
        None => None,
    };
    if let Some(storage) = on_connector(state, endpoint, host.as_ref()).await? {
        return Ok(storage);
    }
    storage(state, endpoint, host.as_ref()).map_err(|e| {
        // A share's user is not told about its host's storage.
        let detail = match &host {
            Some(_) => "its host endpoint's storage is unavailable".to_owned(),
            None => e.to_string(),
        };
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "ExternalError.EndpointError",
            format!("The endpoint's storage cannot be opened: {detail}"),
        )
    })
}

/// The storage of an endpoint whose host (itself, or a share's host) is served by a connector;
/// `None` for local storage.
async fn on_connector(
    state: &TransferState,
    endpoint: &EndpointRecord,
    host: Option<&EndpointRecord>,
) -> Result<Option<Arc<dyn Storage>>, ApiError> {
    let base = host.unwrap_or(endpoint);
    let Some(connector_id) = base.connector_id else {
        return Ok(None);
    };
    let unavailable = |detail: String| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "ExternalError.EndpointError",
            format!("The endpoint's storage cannot be opened: {detail}"),
        )
    };
    let Some(hub) = &state.connectors else {
        return Err(unavailable("storage connectors are not enabled".into()));
    };
    let connector = state
        .store
        .connector(connector_id)
        .await?
        .ok_or_else(|| unavailable("its connector is not registered".into()))?;
    let root = hub
        .open(&connector, base)
        .map_err(|e| unavailable(e.to_string()))?;
    match (host, &endpoint.host_path) {
        (None, _) => Ok(Some(root)),
        (Some(_), Some(host_path)) => Ok(Some(Arc::new(Below {
            inner: root,
            prefix: RelPath::parse(host_path)
                .map_err(|_| unavailable("the share's host path".into()))?,
        }))),
        (Some(_), None) => Err(unavailable("the share has no host path".into())),
    }
}

/// A share's view of its host's storage: every path below `prefix`.
struct Below {
    inner: Arc<dyn Storage>,
    prefix: RelPath,
}

impl Below {
    fn map(&self, path: &RelPath) -> RelPath {
        join(&self.prefix, path)
    }

    /// The error with the host's paths rewritten into the share's namespace: a share's user
    /// never learns where on the host the share lives.
    fn unmap(&self, e: StorageError) -> StorageError {
        let prefix = self.prefix.to_api();
        let fix = |m: String| -> String {
            if self.prefix.is_root() {
                return m;
            }
            m.replace(&format!("{prefix}/"), "/").replace(&prefix, "/")
        };
        match e {
            StorageError::NotFound(m) => StorageError::NotFound(fix(m)),
            StorageError::Exists(m) => StorageError::Exists(fix(m)),
            StorageError::NotADirectory(m) => StorageError::NotADirectory(fix(m)),
            StorageError::IsADirectory(m) => StorageError::IsADirectory(fix(m)),
            StorageError::PermissionDenied(m) => StorageError::PermissionDenied(fix(m)),
            StorageError::InvalidPath(m) => StorageError::InvalidPath(fix(m)),
            StorageError::NotEmpty(m) => StorageError::NotEmpty(fix(m)),
            StorageError::NoSpace(m) => StorageError::NoSpace(fix(m)),
            StorageError::Io(m) => StorageError::Io(fix(m)),
        }
    }
}

impl Storage for Below {
    fn stat(&self, path: &RelPath) -> Result<Entry, StorageError> {
        self.inner.stat(&self.map(path)).map_err(|e| self.unmap(e))
    }
    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>, StorageError> {
        self.inner.list(&self.map(dir)).map_err(|e| self.unmap(e))
    }
    fn mkdir(&self, path: &RelPath) -> Result<(), StorageError> {
        self.inner.mkdir(&self.map(path)).map_err(|e| self.unmap(e))
    }
    fn mkdir_all(&self, path: &RelPath) -> Result<(), StorageError> {
        self.inner
            .mkdir_all(&self.map(path))
            .map_err(|e| self.unmap(e))
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<(), StorageError> {
        self.inner
            .rename(&self.map(from), &self.map(to))
            .map_err(|e| self.unmap(e))
    }
    fn remove(&self, path: &RelPath, recursive: bool) -> Result<u64, StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied("the share's root".into()));
        }
        self.inner
            .remove(&self.map(path), recursive)
            .map_err(|e| self.unmap(e))
    }
    fn open_read(&self, path: &RelPath) -> Result<Box<dyn ReadFile>, StorageError> {
        self.inner
            .open_read(&self.map(path))
            .map_err(|e| self.unmap(e))
    }
    fn create(&self, path: &RelPath) -> Result<Box<dyn WriteFile>, StorageError> {
        self.inner
            .create(&self.map(path))
            .map_err(|e| self.unmap(e))
    }
    fn create_tagged(&self, path: &RelPath, tag: &str) -> Result<Box<dyn WriteFile>, StorageError> {
        self.inner
            .create_tagged(&self.map(path), tag)
            .map_err(|e| self.unmap(e))
    }
    fn sync_all(&self) -> Result<(), StorageError> {
        self.inner.sync_all().map_err(|e| self.unmap(e))
    }
}

#[cfg(test)]
mod share_tests {
    use super::*;
    use crate::storage::posix::PosixStorage;

    #[test]
    fn a_shares_errors_name_share_paths_only() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("projects/alice/share/sub")).unwrap();
        std::fs::write(root.path().join("projects/alice/share/f"), b"x").unwrap();
        let below = Below {
            inner: Arc::new(PosixStorage::open(root.path()).unwrap()),
            prefix: RelPath::parse("/projects/alice/share").unwrap(),
        };
        let p = |s: &str| RelPath::parse(s).unwrap();
        let errors = [
            below.stat(&p("/missing")).unwrap_err(),
            below.list(&p("/f")).unwrap_err(),
            below.mkdir(&p("/sub")).unwrap_err(),
            below.remove(&p("/sub/nothing"), false).unwrap_err(),
            below.open_read(&p("/nope/x")).err().unwrap(),
            below.create(&p("/nope/x")).err().unwrap(),
        ];
        for e in errors {
            let m = e.to_string();
            assert!(!m.contains("projects") && !m.contains("alice"), "{m}");
        }
        assert!(below
            .stat(&p("/missing"))
            .unwrap_err()
            .to_string()
            .contains("/missing"));
    }
}
