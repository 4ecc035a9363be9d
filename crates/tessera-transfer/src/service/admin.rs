//! Operator commands on endpoints (`tessera admin endpoint add|update|remove`), straight on the
//! store: a running server reads endpoints from the store on every request, so it sees the
//! change at once.

use std::path::Path;
use tessera_core::clock::Clock;
use tessera_core::identity::{client_id_from_username, client_username, normalize_username};
use tessera_core::random::SecureRandom;
use tessera_store::transfer::EndpointRecord;
use tessera_store::{Store, StoreError};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no identity or client '{0}'")]
    UnknownOwner(String),
    #[error("{0} is not an existing directory")]
    NotADirectory(String),
    #[error("no connector {0}")]
    UnknownConnector(String),
    #[error("no endpoint {0}")]
    UnknownEndpoint(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A username or a client id (or a client's `<id>@clients.auth.globus.org`) as
/// (identity id, username).
pub async fn resolve_owner(store: &dyn Store, owner: &str) -> Result<(Uuid, String), AdminError> {
    let unknown = || AdminError::UnknownOwner(owner.to_owned());
    let owner = owner.trim();
    let as_client = Uuid::parse_str(owner)
        .ok()
        .or_else(|| client_id_from_username(owner));
    if let Some(id) = as_client {
        if store.client(id).await?.is_some() {
            return Ok((id, client_username(id)));
        }
        if let Some(identity) = store.identities_by_ids(&[id]).await?.into_iter().next() {
            return Ok((identity.id, identity.username));
        }
        return Err(unknown());
    }
    let found = store
        .identities_by_usernames(&[normalize_username(owner)])
        .await?;
    found
        .into_iter()
        .next()
        .map(|i| (i.id, i.username))
        .ok_or_else(unknown)
}

fn root(path: &Path) -> Result<String, AdminError> {
    let shown = path.display().to_string();
    let canonical =
        std::fs::canonicalize(path).map_err(|_| AdminError::NotADirectory(shown.clone()))?;
    if !canonical.is_dir() {
        return Err(AdminError::NotADirectory(shown));
    }
    canonical
        .to_str()
        .map(str::to_owned)
        .ok_or(AdminError::Invalid("the directory's path must be UTF-8"))
}

fn name(name: &str) -> Result<String, AdminError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 128 || n.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "--name must be 1 to 128 printable characters",
        ));
    }
    Ok(n.to_owned())
}

/// Registers a host endpoint whose "/" is the existing directory `path`.
pub async fn add_endpoint(
    store: &dyn Store,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    display_name: &str,
    path: &Path,
    owner: &str,
) -> Result<EndpointRecord, AdminError> {
    let (owner_id, owner_string) = resolve_owner(store, owner).await?;
    let e = EndpointRecord {
        id: rng.uuid_v4(),
        display_name: name(display_name)?,
        owner_id,
        owner_string,
        root_path: Some(root(path)?),
        host_endpoint_id: None,
        host_path: None,
        connector_id: None,
        attrs: serde_json::json!({}),
        created_at: clock.now(),
    };
    store.insert_endpoint(&e).await?;
    Ok(e)
}

/// Registers a host endpoint served by storage connector `connector`, whose "/" is `path`, an
/// absolute directory on the connector's host. Nothing here opens it (the service never does):
/// the connector refuses requests once a missing directory is used.
pub async fn add_connector_endpoint(
    store: &dyn Store,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    display_name: &str,
    path: &str,
    owner: &str,
    connector: &str,
) -> Result<EndpointRecord, AdminError> {
    let (owner_id, owner_string) = resolve_owner(store, owner).await?;
    let unknown = || AdminError::UnknownConnector(connector.to_owned());
    let connector_id = Uuid::parse_str(connector.trim()).map_err(|_| unknown())?;
    store.connector(connector_id).await?.ok_or_else(unknown)?;
    let e = EndpointRecord {
        id: rng.uuid_v4(),
        display_name: name(display_name)?,
        owner_id,
        owner_string,
        root_path: Some(remote_root(path)?),
        host_endpoint_id: None,
        host_path: None,
        connector_id: Some(connector_id),
        attrs: serde_json::json!({}),
        created_at: clock.now(),
    };
    store.insert_endpoint(&e).await?;
    Ok(e)
}

/// A directory on a connector's host: absolute, normalised (no `.`, `..` or empty components).
fn remote_root(path: &str) -> Result<String, AdminError> {
    let invalid = AdminError::Invalid(
        "--path must be an absolute directory on the connector's host, without '..'",
    );
    if !path.starts_with('/') {
        return Err(invalid);
    }
    let rel = crate::storage::RelPath::parse(path).map_err(|_| invalid)?;
    Ok(rel.to_api())
}

async fn load(store: &dyn Store, id: &str) -> Result<EndpointRecord, AdminError> {
    let unknown = || AdminError::UnknownEndpoint(id.to_owned());
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| unknown())?;
    store.endpoint(uuid).await?.ok_or_else(unknown)
}

/// Changes the name, directory (host endpoints only), owner or `force_encryption` of an
/// endpoint.
pub async fn update_endpoint(
    store: &dyn Store,
    id: &str,
    display_name: Option<&str>,
    path: Option<&Path>,
    owner: Option<&str>,
    force_encryption: Option<bool>,
) -> Result<EndpointRecord, AdminError> {
    let mut e = load(store, id).await?;
    if let Some(force) = force_encryption {
        if !e.attrs.is_object() {
            e.attrs = serde_json::json!({});
        }
        if let Some(map) = e.attrs.as_object_mut() {
            map.insert("force_encryption".into(), serde_json::Value::Bool(force));
        }
    }
    if let Some(n) = display_name {
        e.display_name = name(n)?;
    }
    if let Some(p) = path {
        if e.root_path.is_none() {
            return Err(AdminError::Invalid(
                "a shared endpoint's directory is its host path; --path applies to host endpoints",
            ));
        }
        e.root_path = Some(match e.connector_id {
            Some(_) => remote_root(&p.to_string_lossy())?,
            None => root(p)?,
        });
    }
    if let Some(o) = owner {
        (e.owner_id, e.owner_string) = resolve_owner(store, o).await?;
    }
    if !store.update_endpoint(&e).await? {
        return Err(AdminError::UnknownEndpoint(id.to_owned()));
    }
    Ok(e)
}

/// Removes an endpoint with its rules, roles and shares. Tasks keep their history.
pub async fn remove_endpoint(store: &dyn Store, id: &str) -> Result<EndpointRecord, AdminError> {
    let e = load(store, id).await?;
    store.delete_endpoint(e.id).await?;
    Ok(e)
}
