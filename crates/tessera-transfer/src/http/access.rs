//! Access rules on an endpoint (spec §7): list, get, create, update, delete. Managed by the
//! endpoint's owner, administrators and access managers.

use super::endpoints::roles_of;
use super::{docs, params, Caller};
use crate::acl::{group_principal, normalize_rule_path, Access, PRINCIPAL_TYPES};
use crate::error::ApiError;
use crate::service::endpoints::load;
use crate::timefmt;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_proto::transfer::AccessDoc;
use tessera_store::transfer::{AccessRuleRecord, EndpointRecord};
use tessera_store::StoreError;
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/endpoint/{id}/access_list", get(list)),
        ("/endpoint/{id}/access", post(create)),
        (
            "/endpoint/{id}/access/{rule_id}",
            get(show).put(update).delete(remove),
        ),
    ]
}

async fn require_manager(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
) -> Result<(), ApiError> {
    let roles = roles_of(state, caller, e).await?;
    if roles.contains(&"administrator") || roles.contains(&"access_manager") {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "PermissionDenied",
            format!("You may not manage the access rules of endpoint {}", e.id),
        ))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("AccessRuleNotFound", format!("No such access rule '{id}'"))
}

async fn find(
    state: &TransferState,
    e: &EndpointRecord,
    rule_id: &str,
) -> Result<AccessRuleRecord, ApiError> {
    let wanted = Uuid::parse_str(rule_id).map_err(|_| not_found(rule_id))?;
    state
        .store
        .access_rules(e.id)
        .await?
        .into_iter()
        .find(|r| r.id == wanted)
        .ok_or_else(|| not_found(rule_id))
}

fn expiration(doc: &AccessDoc) -> Result<Option<i64>, ApiError> {
    doc.expiration_date
        .as_deref()
        .map(|d| {
            timefmt::parse(d).ok_or_else(|| ApiError::bad_request("expiration_date is not a date"))
        })
        .transpose()
}

/// A group principal (bare id or `urn:globus:groups:id:<uuid>`), stored bare; the group must
/// exist (400 `InvalidPrincipal` otherwise, as for any principal that names nobody).
async fn group(state: &TransferState, principal: Option<&str>) -> Result<Uuid, ApiError> {
    let id = principal.and_then(group_principal).ok_or_else(|| {
        ApiError::bad_request(
            "principal must be a group id (a UUID, or urn:globus:groups:id:<uuid>)",
        )
    })?;
    match state.store.group(id).await? {
        Some(_) => Ok(id),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPrincipal",
            format!("No such group '{id}'"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/access_list",
    tag = "transfer_access",
    operation_id = "endpoint_acl_list",
    summary = "The endpoint's access rules (its administrator or access_manager)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let e = load(&state, &id).await?;
    require_manager(&state, &caller, &e).await?;
    let data: Vec<Value> = state
        .store
        .access_rules(e.id)
        .await?
        .iter()
        .map(docs::access_rule)
        .collect();
    Ok(Json(
        json!({"DATA_TYPE": "access_list", "endpoint": e.id.to_string(), "length": data.len(), "DATA": data}),
    ))
}

#[utoipa::path(
    get,
    path = "/v0.10/endpoint/{id}/access/{rule_id}",
    tag = "transfer_access",
    operation_id = "get_endpoint_acl_rule",
    summary = "One access rule",
    params(("id" = String, Path, description = "The endpoint id"), ("rule_id" = String, Path, description = "The rule id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
) -> Answer {
    let e = load(&state, &id).await?;
    require_manager(&state, &caller, &e).await?;
    Ok(Json(docs::access_rule(&find(&state, &e, &rule_id).await?)))
}

#[utoipa::path(
    post,
    path = "/v0.10/endpoint/{id}/access",
    tag = "transfer_access",
    operation_id = "add_endpoint_acl_rule",
    summary = "Add an access rule (identity, group, all_authenticated_users, anonymous; r or rw on a directory path)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 201, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let doc: AccessDoc = params::json(&body)?;
    let e = load(&state, &id).await?;
    require_manager(&state, &caller, &e).await?;
    let principal_type = doc.principal_type.clone().unwrap_or_default();
    if !PRINCIPAL_TYPES.contains(&principal_type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "principal_type must be one of {}",
            PRINCIPAL_TYPES.join(", ")
        )));
    }
    let principal = match principal_type.as_str() {
        "identity" => doc
            .principal
            .as_deref()
            .and_then(|p| Uuid::parse_str(p.trim()).ok())
            .ok_or_else(|| ApiError::bad_request("principal must be an identity id (a UUID)"))?
            .to_string(),
        "group" => group(&state, doc.principal.as_deref()).await?.to_string(),
        _ => String::new(),
    };
    let permissions = doc.permissions.clone().unwrap_or_default();
    if Access::parse(&permissions).is_none() {
        return Err(ApiError::bad_request("permissions must be 'r' or 'rw'"));
    }
    if principal_type == "anonymous" && permissions != "r" {
        return Err(ApiError::bad_request("anonymous access may only be 'r'"));
    }
    let path = doc
        .path
        .as_deref()
        .and_then(normalize_rule_path)
        .ok_or_else(|| {
            ApiError::bad_request("path must be an absolute directory path without '..'")
        })?;
    let rule = AccessRuleRecord {
        id: state.rng.uuid_v4(),
        endpoint_id: e.id,
        principal_type,
        principal,
        path,
        permissions,
        create_time: state.clock.now(),
        expiration_date: expiration(&doc)?,
    };
    match state.store.insert_access_rule(&rule).await {
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "Exists",
                "A rule for that principal and path exists already",
            ))
        }
        other => other?,
    }
    let mut body = docs::result(
        "access_create_result",
        "Created",
        "Access rule created successfully.",
        uri.path(),
    );
    body["access_id"] = json!(rule.id.to_string());
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(
    put,
    path = "/v0.10/endpoint/{id}/access/{rule_id}",
    tag = "transfer_access",
    operation_id = "update_endpoint_acl_rule",
    summary = "Change a rule's permissions or expiration",
    params(("id" = String, Path, description = "The endpoint id"), ("rule_id" = String, Path, description = "The rule id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let doc: AccessDoc = params::json(&body)?;
    let e = load(&state, &id).await?;
    require_manager(&state, &caller, &e).await?;
    let mut rule = find(&state, &e, &rule_id).await?;
    if let Some(p) = &doc.permissions {
        if Access::parse(p).is_none() || (rule.principal_type == "anonymous" && p != "r") {
            return Err(ApiError::bad_request(
                "permissions must be 'r' or 'rw' ('r' for anonymous)",
            ));
        }
        rule.permissions = p.clone();
    }
    if doc.expiration_date.is_some() {
        rule.expiration_date = expiration(&doc)?;
    }
    state.store.update_access_rule(&rule).await?;
    Ok(Json(docs::result(
        "result",
        "Updated",
        "Access rule updated successfully",
        uri.path(),
    )))
}

#[utoipa::path(
    delete,
    path = "/v0.10/endpoint/{id}/access/{rule_id}",
    tag = "transfer_access",
    operation_id = "delete_endpoint_acl_rule",
    summary = "Delete an access rule",
    params(("id" = String, Path, description = "The endpoint id"), ("rule_id" = String, Path, description = "The rule id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn remove(
    State(state): State<TransferState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let e = load(&state, &id).await?;
    require_manager(&state, &caller, &e).await?;
    let rule = find(&state, &e, &rule_id).await?;
    state.store.delete_access_rule(e.id, rule.id).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Access rule deleted successfully",
        uri.path(),
    )))
}
