//! Endpoints (spec §2): get, update, delete, search, shared endpoints, roles.

use super::params::only_fields;
use super::{docs, params, Caller, Params};
use crate::error::ApiError;
use crate::service::endpoints::{self as svc, load};
use crate::service::search;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_proto::transfer::{EndpointUpdate, RoleDoc};
use tessera_store::transfer::{EndpointRecord, RoleRecord};
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint_search", get(search_endpoints)),
        ("/endpoint/{id}", get(show).put(update).delete(remove)),
        ("/shared_endpoint", post(create_share)),
        ("/endpoint/{id}/my_shared_endpoint_list", get(my_shares)),
        ("/endpoint/{id}/shared_endpoint_list", get(shares)),
        ("/endpoint/{id}/server_list", get(server_list)),
        ("/endpoint/{id}/autoactivate", post(autoactivate)),
        (
            "/endpoint/{id}/my_effective_pause_rule_list",
            get(pause_rules),
        ),
        ("/endpoint/{id}/role_list", get(role_list)),
        ("/endpoint/{id}/role", post(create_role)),
        (
            "/endpoint/{id}/role/{role_id}",
            get(show_role).delete(delete_role),
        ),
    ]
}

/// The caller's role names on `endpoint` (the owner is its administrator).
pub(crate) async fn roles_of(
    state: &TransferState,
    caller: &Caller,
    endpoint: &EndpointRecord,
) -> Result<Vec<&'static str>, ApiError> {
    let mut out = Vec::new();
    if caller.is(endpoint.owner_id) {
        out.push("administrator");
    }
    for r in state.store.roles(endpoint.id).await? {
        let mine = r.principal_type == "identity"
            && Uuid::parse_str(&r.principal).is_ok_and(|p| caller.is(p));
        if mine {
            for name in ROLES {
                if r.role == name && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    Ok(out)
}

const ROLES: [&str; 4] = [
    "administrator",
    "access_manager",
    "activity_manager",
    "activity_monitor",
];

/// Refuses unless the caller owns the endpoint or is its administrator.
async fn require_admin(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
) -> Result<(), ApiError> {
    if roles_of(state, caller, e).await?.contains(&"administrator") {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "PermissionDenied",
            format!("You are not an administrator of endpoint {}", e.id),
        ))
    }
}

pub(crate) async fn render(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
) -> Result<Value, ApiError> {
    let host = match e.host_endpoint_id {
        Some(h) => state.store.endpoint(h).await?,
        None => None,
    };
    let roles = roles_of(state, caller, e).await?;
    Ok(docs::endpoint(e, host.as_ref(), &roles))
}

async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Answer {
    let e = load(&state, &id).await?;
    let fields = params.fields();
    Ok(Json(only_fields(
        render(&state, &caller, &e).await?,
        fields.as_deref(),
    )))
}

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

fn apply(e: &mut EndpointRecord, update: &EndpointUpdate) -> Result<(), ApiError> {
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
            if let Some(map) = e.attrs.as_object_mut() {
                map.insert(key.to_owned(), v.clone());
            }
        }
    }
    Ok(())
}

async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let update: EndpointUpdate = params::json(&body)?;
    let mut e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    apply(&mut e, &update)?;
    if !state.store.update_endpoint(&e).await? {
        return Err(ApiError::endpoint_not_found(&id));
    }
    Ok(Json(docs::result(
        "result",
        "Updated",
        "Endpoint updated successfully",
        uri.path(),
    )))
}

async fn remove(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    state.store.delete_endpoint(e.id).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Endpoint deleted successfully",
        uri.path(),
    )))
}

async fn search_endpoints(
    State(state): State<TransferState>,
    caller: Caller,
    params: Params,
) -> Answer {
    let query = search::Query::parse(&params)?;
    let page = search::run(&state, &caller, &query).await?;
    let fields = params.fields();
    let mut data = Vec::with_capacity(page.hits.len());
    for e in &page.hits {
        data.push(only_fields(
            render(&state, &caller, e).await?,
            fields.as_deref(),
        ));
    }
    Ok(Json(json!({
        "DATA_TYPE": "endpoint_list",
        "DATA": data,
        "limit": query.limit,
        "offset": query.offset,
        "has_next_page": page.has_next_page,
    })))
}

async fn create_share(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: EndpointUpdate = params::json(&body)?;
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
    let host = load(&state, host_id).await?;
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
    svc::require(&state, &caller, &host, &path, true, "PermissionDenied").await?;
    let storage = svc::open(&state, &host).await?;
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
    let mut body = docs::result(
        "endpoint_create_result",
        "Created",
        "Shared endpoint created successfully",
        uri.path(),
    );
    body["id"] = json!(e.id.to_string());
    body["globus_connect_setup_key"] = Value::Null;
    Ok((StatusCode::CREATED, Json(body)))
}

async fn shares_on(
    state: &TransferState,
    host: &EndpointRecord,
) -> Result<Vec<EndpointRecord>, ApiError> {
    Ok(state
        .store
        .all_endpoints()
        .await?
        .into_iter()
        .filter(|e| e.host_endpoint_id == Some(host.id))
        .collect())
}

async fn my_shares(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let host = load(&state, &id).await?;
    let mut data = Vec::new();
    for e in shares_on(&state, &host).await? {
        if caller.is(e.owner_id) {
            data.push(render(&state, &caller, &e).await?);
        }
    }
    Ok(Json(json!({"DATA_TYPE": "endpoint_list", "DATA": data})))
}

async fn shares(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let host = load(&state, &id).await?;
    require_admin(&state, &caller, &host).await?;
    let mut data = Vec::new();
    for e in shares_on(&state, &host).await? {
        data.push(render(&state, &caller, &e).await?);
    }
    Ok(Json(json!({"shared_endpoints": data, "next_token": null})))
}

async fn server_list(
    State(state): State<TransferState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    load(&state, &id).await?;
    Ok(Json(
        json!({"DATA_TYPE": "endpoint_server_list", "DATA": []}),
    ))
}

async fn autoactivate(
    State(state): State<TransferState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    load(&state, &id).await?;
    Ok(Json(json!({
        "DATA_TYPE": "activation_result",
        "code": "AlreadyActivated",
        "message": "Endpoint does not require activation",
        "expires_in": -1,
    })))
}

async fn pause_rules(
    State(state): State<TransferState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    load(&state, &id).await?;
    Ok(Json(json!({"DATA_TYPE": "pause_rule_list", "DATA": []})))
}

fn role_not_found(id: &str) -> ApiError {
    ApiError::not_found("RoleNotFound", format!("No such role '{id}'"))
}

async fn role_list(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    let data: Vec<Value> = state
        .store
        .roles(e.id)
        .await?
        .iter()
        .map(docs::role)
        .collect();
    Ok(Json(json!({"DATA_TYPE": "role_list", "DATA": data})))
}

async fn create_role(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: RoleDoc = params::json(&body)?;
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    let role = request.role.unwrap_or_default();
    if !ROLES.contains(&role.as_str()) {
        return Err(ApiError::bad_request(format!(
            "role must be one of {}",
            ROLES.join(", ")
        )));
    }
    let principal_type = request.principal_type.unwrap_or_default();
    if !matches!(principal_type.as_str(), "identity" | "group") {
        return Err(ApiError::bad_request(
            "principal_type must be identity or group",
        ));
    }
    let principal = request
        .principal
        .as_deref()
        .and_then(|p| Uuid::parse_str(p).ok())
        .ok_or_else(|| ApiError::bad_request("principal must be a UUID"))?;
    let record = RoleRecord {
        id: state.rng.uuid_v4(),
        endpoint_id: e.id,
        principal_type,
        principal: principal.to_string(),
        role,
        created_at: state.clock.now(),
    };
    match state.store.insert_role(&record).await {
        Err(tessera_store::StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "Exists",
                "That principal already has that role",
            ))
        }
        other => other?,
    }
    Ok((StatusCode::CREATED, Json(docs::role(&record))))
}

async fn find_role(
    state: &TransferState,
    e: &EndpointRecord,
    role_id: &str,
) -> Result<RoleRecord, ApiError> {
    let wanted = Uuid::parse_str(role_id).map_err(|_| role_not_found(role_id))?;
    state
        .store
        .roles(e.id)
        .await?
        .into_iter()
        .find(|r| r.id == wanted)
        .ok_or_else(|| role_not_found(role_id))
}

async fn show_role(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    Ok(Json(docs::role(&find_role(&state, &e, &role_id).await?)))
}

async fn delete_role(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    let role = find_role(&state, &e, &role_id).await?;
    state.store.delete_role(e.id, role.id).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Role deleted successfully",
        uri.path(),
    )))
}
