//! Shared endpoints (guest collections): one made on a directory of a host endpoint, and the
//! descriptive fields a caller may set on any endpoint. Shared by the API and the pages.

use crate::error::ApiError;
use crate::http::Caller;
use crate::service::endpoints::{self as svc, load};
use crate::TransferState;
use serde_json::{json, Value};
use tessera_proto::transfer::EndpointUpdate;
use tessera_store::transfer::EndpointRecord;
use uuid::Uuid;

/// Descriptive fields a client may set; everything else in a PUT body is ignored.
const ATTRS: [&str; 12] = [
    "description",
    "keywords",
    "info_link",
    "contact_email",
    "contact_info",
    "organization",
    "department",
    "public",
    "default_directory",
    "subscription_id",
    "force_encryption",
    "network_use",
];

pub fn apply(e: &mut EndpointRecord, update: &EndpointUpdate) -> Result<(), ApiError> {
    if let Some(name) = &update.display_name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(ApiError::bad_request(
                "display_name must be 1 to 128 characters",
            ));
        }
        e.display_name = name.to_owned();
    }
    if !e.attrs.is_object() {
        e.attrs = json!({});
    }
    for key in ATTRS {
        if let Some(v) = update.other.get(key) {
            if key == "default_directory" {
                if let Some(s) = v.as_str() {
                    crate::storage::RelPath::parse(s).map_err(|_| {
                        ApiError::bad_request("default_directory is not a valid path")
                    })?;
                }
            }
            if key == "force_encryption" && !v.is_boolean() {
                return Err(ApiError::bad_request(
                    "force_encryption must be true or false",
                ));
            }
            if let Some(map) = e.attrs.as_object_mut() {
                map.insert(key.to_owned(), v.clone());
            }
        }
    }
    Ok(())
}

/// Makes a shared endpoint owned by the caller on `host_endpoint`'s directory `host_path`
/// (sharing needs write access there).
pub async fn create(
    state: &TransferState,
    caller: &Caller,
    request: EndpointUpdate,
) -> Result<EndpointRecord, ApiError> {
    let host_id = request
        .host_endpoint
        .as_deref()
        .or_else(|| {
            request
                .other
                .get("host_endpoint_id")
                .and_then(Value::as_str)
        })
        .ok_or_else(|| ApiError::bad_request("host_endpoint is required"))?;
    let host = load(state, host_id).await?;
    if host.host_endpoint_id.is_some() {
        return Err(ApiError::bad_request(
            "A shared endpoint cannot be hosted on another shared endpoint",
        ));
    }
    let host_path = request
        .host_path
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("host_path is required"))?;
    if !host_path.starts_with('/') {
        return Err(ApiError::bad_request("host_path must be absolute"));
    }
    let path = svc::resolve(&host, Some(host_path))?;
    // Sharing needs write access to the path on the host (Globus: the host's owner, or a rule).
    svc::require(state, caller, &host, &path, true, "PermissionDenied").await?;
    let storage = svc::open(state, &host).await?;
    let probe = path.clone();
    let entry = tokio::task::spawn_blocking(move || storage.stat(&probe))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::from_storage(crate::error::Op::Rename, e))?;
    if entry.kind != crate::storage::EntryKind::Dir {
        return Err(ApiError::bad_request("host_path must be a directory"));
    }
    let mut host_path = path.to_api();
    if !host_path.ends_with('/') {
        host_path.push('/');
    }
    let display_name = request.display_name.clone().unwrap_or_default();
    let mut e = EndpointRecord {
        id: state.rng.uuid_v4(),
        display_name: String::new(),
        owner_id: caller.id,
        owner_string: caller.username.clone(),
        root_path: None,
        host_endpoint_id: Some(host.id),
        host_path: Some(host_path),
        // A share lives on its host's storage (and so on its host's connector, if any).
        connector_id: None,
        attrs: json!({}),
        created_at: state.clock.now(),
    };
    apply(
        &mut e,
        &EndpointUpdate {
            display_name: Some(display_name),
            ..request
        },
    )?;
    state.store.insert_endpoint(&e).await?;
    register_https_scope(state, e.id).await?;
    Ok(e)
}

/// Registers the new endpoint's `https` scope; on failure the endpoint is removed again, so
/// no endpoint exists whose HTTPS access nobody could get a token for.
pub(crate) async fn register_https_scope(state: &TransferState, id: Uuid) -> Result<(), ApiError> {
    if let Err(detail) = state.https.scopes.register(id).await {
        let _ = state.store.delete_endpoint(id).await;
        return Err(ApiError::internal(format!(
            "registering the https scope of endpoint {id}: {detail}"
        )));
    }
    Ok(())
}
