//! Access rules on an endpoint (spec §7): list, get, create, update, delete. Managed by the
//! endpoint's owner, administrators and access managers.

use super::{docs, params, Caller};
use crate::acl::Access;
use crate::error::ApiError;
use crate::service::access;
use crate::service::endpoints::load;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_proto::transfer::AccessDoc;

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
    access::require_manager(&state, &caller, &e).await?;
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
    access::require_manager(&state, &caller, &e).await?;
    Ok(Json(docs::access_rule(
        &access::find(&state, &e, &rule_id).await?,
    )))
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
    let rule = access::create(&state, &caller, &e, &doc).await?;
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
    access::require_manager(&state, &caller, &e).await?;
    let mut rule = access::find(&state, &e, &rule_id).await?;
    if let Some(p) = &doc.permissions {
        if Access::parse(p).is_none() || (rule.principal_type == "anonymous" && p != "r") {
            return Err(ApiError::bad_request(
                "permissions must be 'r' or 'rw' ('r' for anonymous)",
            ));
        }
        rule.permissions = p.clone();
    }
    if doc.expiration_date.is_some() {
        rule.expiration_date = access::expiration(&doc)?;
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
    access::remove(&state, &caller, &e, &rule_id).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Access rule deleted successfully",
        uri.path(),
    )))
}
