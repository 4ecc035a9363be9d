//! Who may manage an endpoint's access rules, and the rules' creation and removal (spec §7).
//! Shared by the API's handlers and the sharing pages.

use crate::acl::{group_principal, normalize_rule_path, Access, PRINCIPAL_TYPES};
use crate::error::ApiError;
use crate::http::Caller;
use crate::timefmt;
use crate::TransferState;
use axum::http::StatusCode;
use tessera_proto::transfer::AccessDoc;
use tessera_store::transfer::{AccessRuleRecord, EndpointRecord};
use tessera_store::StoreError;
use uuid::Uuid;

/// The caller's role names on `endpoint` (the owner is its administrator).
pub async fn roles_of(
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

/// The endpoint roles there are.
pub const ROLES: [&str; 4] = [
    "administrator",
    "access_manager",
    "activity_manager",
    "activity_monitor",
];

/// Refuses unless the caller is an administrator or access manager of `e`.
pub async fn require_manager(
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

pub async fn find(
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

pub fn expiration(doc: &AccessDoc) -> Result<Option<i64>, ApiError> {
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

/// Adds a rule to `e` as the caller (an administrator or access manager of it).
pub async fn create(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
    doc: &AccessDoc,
) -> Result<AccessRuleRecord, ApiError> {
    require_manager(state, caller, e).await?;
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
        "group" => group(state, doc.principal.as_deref()).await?.to_string(),
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
        expiration_date: expiration(doc)?,
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
    Ok(rule)
}

/// Removes the rule `rule_id` of `e` as the caller (an administrator or access manager of it).
pub async fn remove(
    state: &TransferState,
    caller: &Caller,
    e: &EndpointRecord,
    rule_id: &str,
) -> Result<(), ApiError> {
    require_manager(state, caller, e).await?;
    let rule = find(state, e, rule_id).await?;
    state.store.delete_access_rule(e.id, rule.id).await?;
    Ok(())
}
