//! Endpoints (spec §2): get, update, delete, search, shared endpoints, roles.

use super::params::only_fields;
use super::{docs, params, Caller, Params};
use crate::error::ApiError;
use crate::service::access::{roles_of, ROLES};
use crate::service::endpoints::load;
use crate::service::search;
use crate::service::shares;
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
    let https = crate::https::server_url(&state.https.public_url, e.id);
    Ok(docs::endpoint(e, host.as_ref(), &roles, Some(&https)))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}",
    tag = "transfer_endpoints",
    operation_id = "get_endpoint",
    summary = "An endpoint document",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
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

#[utoipa::path(
    put,
    path = "/v0.10/endpoint/{id}",
    tag = "transfer_endpoints",
    operation_id = "update_endpoint",
    summary = "Update an endpoint's descriptive fields (its administrator)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let update: EndpointUpdate = params::json(&body)?;
    let mut e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    shares::apply(&mut e, &update)?;
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

#[utoipa::path(
    delete,
    path = "/v0.10/endpoint/{id}",
    tag = "transfer_endpoints",
    operation_id = "delete_endpoint",
    summary = "Delete an endpoint with its rules, roles and shares (its administrator)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn remove(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    // The shares go with their host: so do their scopes.
    let mut gone = vec![e.id];
    gone.extend(shares_on(&state, &e).await?.iter().map(|s| s.id));
    state.store.delete_endpoint(e.id).await?;
    for id in gone {
        if let Err(detail) = state.https.scopes.remove(id).await {
            // The endpoint is gone and its scope grants nothing any more; the leftover row is
            // logged for the operator rather than failing a delete that happened.
            tracing::warn!(endpoint = %id, error = %detail, "removing an endpoint's https scope failed");
        }
    }
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Endpoint deleted successfully",
        uri.path(),
    )))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint_search",
    tag = "transfer_endpoints",
    operation_id = "endpoint_search",
    summary = "Search endpoints by text and scope (has_next paging: limit ≤ 100, offset + limit ≤ 1000)",
    params(("filter_fulltext" = Option<String>, Query, description = "Words to find"), ("filter_scope" = Option<String>, Query, description = "all, my-endpoints, shared-by-me, shared-with-me, administered-by-me, …"), ("filter_owner_id" = Option<String>, Query, description = "An owner identity id"), ("filter_host_endpoint" = Option<String>, Query, description = "A host endpoint id"), ("filter_entity_type" = Option<String>, Query, description = "e.g. GCSv4_host"), ("limit" = Option<String>, Query, description = "Page size"), ("offset" = Option<String>, Query, description = "Offset of the page")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn search_endpoints(
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

#[utoipa::path(
    post,
    path = "/v0.10/shared_endpoint",
    tag = "transfer_endpoints",
    operation_id = "create_shared_endpoint",
    summary = "Create a shared endpoint (guest collection) on a directory of a host endpoint",
    responses((status = 201, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn create_share(
    State(state): State<TransferState>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: EndpointUpdate = params::json(&body)?;
    let e = shares::create(&state, &caller, request).await?;
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

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/my_shared_endpoint_list",
    tag = "transfer_endpoints",
    operation_id = "my_shared_endpoint_list",
    summary = "The caller's shares on a host endpoint",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn my_shares(
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

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/shared_endpoint_list",
    tag = "transfer_endpoints",
    operation_id = "get_shared_endpoint_list",
    summary = "Every share on a host endpoint (its administrator; next_token paging: `shared_endpoints`, `next_token`)",
    params(("id" = String, Path, description = "The endpoint id"), ("max_results" = Option<String>, Query, description = "Page size"), ("next_token" = Option<String>, Query, description = "The `next_token` of the page before")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn shares(
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

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/server_list",
    tag = "transfer_endpoints",
    operation_id = "endpoint_server_list",
    summary = "The endpoint's servers (always empty here)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn server_list(
    State(state): State<TransferState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    load(&state, &id).await?;
    Ok(Json(
        json!({"DATA_TYPE": "endpoint_server_list", "DATA": []}),
    ))
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint/{id}/autoactivate",
    tag = "transfer_endpoints",
    operation_id = "endpoint_autoactivate",
    summary = "Activation (legacy): endpoints here never need it",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn autoactivate(
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

/// The pause rules in force now on the endpoint (or its host) for the caller's tasks.
#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/my_effective_pause_rule_list",
    tag = "transfer_endpoints",
    operation_id = "my_effective_pause_rule_list",
    summary = "The pause rules in force on the endpoint (or its host) for the caller's tasks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn pause_rules(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let e = load(&state, &id).await?;
    let mut on = vec![e.id];
    on.extend(e.host_endpoint_id);
    let now = state.clock.now();
    let mut data = Vec::new();
    for r in state.store.pause_rules(&on).await? {
        let mine = r.identity_id.is_none_or(|i| caller.is(i));
        if mine && r.start_time.is_none_or(|s| s <= now) {
            let name = state
                .store
                .endpoint(r.endpoint_id)
                .await?
                .map(|e| e.display_name);
            data.push(crate::service::pause::limited_doc(&r, name.as_deref()));
        }
    }
    Ok(Json(json!({"DATA_TYPE": "pause_rule_list", "DATA": data})))
}

fn role_not_found(id: &str) -> ApiError {
    ApiError::not_found("RoleNotFound", format!("No such role '{id}'"))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/role_list",
    tag = "transfer_roles",
    operation_id = "endpoint_role_list",
    summary = "The endpoint's roles (its administrator)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn role_list(
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

#[utoipa::path(
    post,
    path = "/v0.10/endpoint/{id}/role",
    tag = "transfer_roles",
    operation_id = "add_endpoint_role",
    summary = "Give an identity or group a role: administrator, access_manager, activity_manager, activity_monitor",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 201, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn create_role(
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

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/role/{role_id}",
    tag = "transfer_roles",
    operation_id = "get_endpoint_role",
    summary = "One role",
    params(("id" = String, Path, description = "The endpoint id"), ("role_id" = String, Path, description = "The role id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show_role(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, role_id)): Path<(String, String)>,
) -> Answer {
    let e = load(&state, &id).await?;
    require_admin(&state, &caller, &e).await?;
    Ok(Json(docs::role(&find_role(&state, &e, &role_id).await?)))
}

#[utoipa::path(
    delete,
    path = "/v0.10/endpoint/{id}/role/{role_id}",
    tag = "transfer_roles",
    operation_id = "delete_endpoint_role",
    summary = "Remove a role",
    params(("id" = String, Path, description = "The endpoint id"), ("role_id" = String, Path, description = "The role id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn delete_role(
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
