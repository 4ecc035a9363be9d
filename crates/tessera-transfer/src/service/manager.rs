//! Who manages what (spec §9): an endpoint's `administrator` (its owner included) and
//! `activity_manager` may read, cancel and pause the tasks touching it; its `activity_monitor`
//! may only read them. A host's managers manage the shares it hosts too. Everyone else is
//! refused, and a caller's own task is never shown here through an endpoint they do not manage.

use crate::error::ApiError;
use crate::http::Caller;
use crate::TransferState;
use std::collections::HashSet;
use tessera_store::transfer::{EndpointRecord, TaskRecord};
use uuid::Uuid;

/// What a role allows on the tasks of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Power {
    /// activity_monitor: read only.
    Monitor,
    /// administrator or activity_manager: read, cancel, pause, pause rules.
    Manage,
}

/// The role names that give `Power` on an endpoint.
pub fn power_of(roles: &[String]) -> Option<Power> {
    if roles
        .iter()
        .any(|r| r == "administrator" || r == "activity_manager")
    {
        Some(Power::Manage)
    } else if roles.iter().any(|r| r == "activity_monitor") {
        Some(Power::Monitor)
    } else {
        None
    }
}

/// The caller's role names on `endpoint` (its owner is its administrator).
pub async fn roles(
    state: &TransferState,
    caller: &Caller,
    endpoint: &EndpointRecord,
) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    if caller.is(endpoint.owner_id) {
        out.push("administrator".to_owned());
    }
    for r in state.store.roles(endpoint.id).await? {
        let mine = r.principal_type == "identity"
            && Uuid::parse_str(&r.principal).is_ok_and(|p| caller.is(p));
        if mine && !out.contains(&r.role) {
            out.push(r.role);
        }
    }
    Ok(out)
}

/// The endpoints a caller monitors or manages, shares of managed hosts included.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Endpoints the caller holds a role on directly, with its power (in endpoint order).
    pub direct: Vec<(EndpointRecord, Power)>,
    pub monitor: HashSet<Uuid>,
    pub manage: HashSet<Uuid>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.monitor.is_empty()
    }

    pub fn power_on(&self, endpoint: Uuid) -> Option<Power> {
        if self.manage.contains(&endpoint) {
            Some(Power::Manage)
        } else if self.monitor.contains(&endpoint) {
            Some(Power::Monitor)
        } else {
            None
        }
    }

    /// The caller's power over a task: the greater of source's and destination's.
    pub fn power_over(&self, task: &TaskRecord) -> Option<Power> {
        let src = self.power_on(task.source_endpoint_id);
        let dst = task.destination_endpoint_id.and_then(|d| self.power_on(d));
        src.max(dst)
    }

    /// Which side(s) of a task the caller manages: `SOURCE`, `DESTINATION` or `BOTH`.
    pub fn side(&self, task: &TaskRecord) -> &'static str {
        let src = self.manage.contains(&task.source_endpoint_id);
        let dst = task
            .destination_endpoint_id
            .is_some_and(|d| self.manage.contains(&d));
        match (src, dst) {
            (true, true) => "BOTH",
            (false, true) => "DESTINATION",
            _ => "SOURCE",
        }
    }

    /// Every endpoint id whose tasks the caller may read.
    pub fn endpoint_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.monitor.iter().copied().collect();
        ids.sort();
        ids
    }
}

/// Reads every endpoint and the caller's roles on each.
pub async fn scope(state: &TransferState, caller: &Caller) -> Result<Scope, ApiError> {
    let all = state.store.all_endpoints().await?;
    let mut s = Scope::default();
    for e in &all {
        if let Some(p) = power_of(&roles(state, caller, e).await?) {
            s.monitor.insert(e.id);
            if p == Power::Manage {
                s.manage.insert(e.id);
            }
            s.direct.push((e.clone(), p));
        }
    }
    for e in &all {
        if let Some(host) = e.host_endpoint_id {
            if s.monitor.contains(&host) {
                s.monitor.insert(e.id);
            }
            if s.manage.contains(&host) {
                s.manage.insert(e.id);
            }
        }
    }
    Ok(s)
}

fn no_role() -> ApiError {
    ApiError::forbidden(
        "PermissionDenied",
        "You have no administrator, activity_manager or activity_monitor role on any endpoint",
    )
}

/// The caller's scope, refused when they monitor nothing.
pub async fn require_scope(state: &TransferState, caller: &Caller) -> Result<Scope, ApiError> {
    let s = scope(state, caller).await?;
    if s.is_empty() {
        return Err(no_role());
    }
    Ok(s)
}

/// An endpoint the caller monitors (directly or through its host), with their power.
pub async fn endpoint(
    state: &TransferState,
    caller: &Caller,
    id: &str,
) -> Result<(EndpointRecord, Power), ApiError> {
    let e = super::endpoints::load(state, id).await?;
    let s = scope(state, caller).await?;
    match s.power_on(e.id) {
        Some(p) => Ok((e, p)),
        None => Err(ApiError::forbidden(
            "PermissionDenied",
            format!("You have no activity_monitor or higher role on endpoint {id}"),
        )),
    }
}

/// A task the caller may read (`need` Monitor) or act on (`need` Manage) as a manager.
pub async fn task(
    state: &TransferState,
    caller: &Caller,
    scope: &Scope,
    id: &str,
    need: Power,
) -> Result<TaskRecord, ApiError> {
    let wanted = Uuid::parse_str(id.trim()).map_err(|_| ApiError::task_not_found(id))?;
    let t = state
        .store
        .task(wanted)
        .await?
        .ok_or_else(|| ApiError::task_not_found(id))?;
    check(caller, scope, &t, need)?;
    Ok(t)
}

/// Refuses unless the caller's power over `t` reaches `need`.
pub fn check(_caller: &Caller, scope: &Scope, t: &TaskRecord, need: Power) -> Result<(), ApiError> {
    match scope.power_over(t) {
        Some(p) if p >= need => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "PermissionDenied",
            format!(
                "Task {} needs an administrator or activity_manager role on its source or destination; activity_monitor may only read",
                t.id
            ),
        )),
        None => Err(ApiError::forbidden(
            "PermissionDenied",
            format!(
                "You have no role on the source or destination endpoint of task {}",
                t.id
            ),
        )),
    }
}
