//! Pause rules on operations, not tasks: `pause_ls` (ls and stat), `pause_mkdir`,
//! `pause_rename` on the Transfer API and the file manager, and the task flags applied to the
//! HTTPS access of a collection (`GET`/`HEAD` under `pause_task_transfer_read`, `PUT` under
//! `pause_task_transfer_write`, `DELETE` under `pause_task_delete`).
//!
//! A rule stops an operation on endpoint E when it is on E (or E's host, for a share), names
//! one of the caller's identities or nobody, and its `start_time` has come: the same matching as
//! for tasks (pause.rs), with the caller in the owner's place. The check comes after the access
//! check, so only someone allowed to do the operation learns that it is paused (and why).

use crate::error::ApiError;
use crate::TransferState;
use axum::http::StatusCode;
use tessera_core::clock::UnixTime;
use tessera_store::endpoint_manager::PauseRuleRecord;
use tessera_store::transfer::EndpointRecord;
use tessera_store::StoreError;
use uuid::Uuid;

/// An operation a pause rule can stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    Ls,
    Mkdir,
    Rename,
    /// HTTPS `GET`/`HEAD`.
    Read,
    /// HTTPS `PUT`.
    Write,
    /// HTTPS `DELETE`.
    Delete,
}

impl Paused {
    fn flag(self, r: &PauseRuleRecord) -> bool {
        match self {
            Paused::Ls => r.pause_ls,
            Paused::Mkdir => r.pause_mkdir,
            Paused::Rename => r.pause_rename,
            Paused::Read => r.pause_task_transfer_read,
            Paused::Write => r.pause_task_transfer_write,
            Paused::Delete => r.pause_task_delete,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Paused::Ls => "ls",
            Paused::Mkdir => "mkdir",
            Paused::Rename => "rename",
            Paused::Read => "reading",
            Paused::Write => "writing",
            Paused::Delete => "deleting",
        }
    }
}

/// Does `rule` stop `op` by a caller with `identities` at `now`? (The rule is on the endpoint
/// or its host: the store was asked for those.)
pub fn stops(rule: &PauseRuleRecord, op: Paused, identities: &[Uuid], now: UnixTime) -> bool {
    if rule.start_time.is_some_and(|s| s > now) {
        return false;
    }
    if rule.identity_id.is_some_and(|i| !identities.contains(&i)) {
        return false;
    }
    op.flag(rule)
}

/// The first rule stopping `op` on `e` for these identities now, if any.
pub async fn stopping(
    state: &TransferState,
    e: &EndpointRecord,
    identities: &[Uuid],
    op: Paused,
) -> Result<Option<PauseRuleRecord>, StoreError> {
    let mut on = vec![e.id];
    on.extend(e.host_endpoint_id);
    let now = state.clock.now();
    Ok(state
        .store
        .pause_rules(&on)
        .await?
        .into_iter()
        .find(|r| stops(r, op, identities, now)))
}

/// The code of a refusal by a pause rule.
pub const CODE: &str = "OperationPaused";

/// What the refusal says: the operation, the endpoint and the administrator's message.
pub fn message(op: Paused, e: &EndpointRecord, rule: &PauseRuleRecord) -> String {
    format!(
        "{} on endpoint {} is paused by its administrators: {}",
        op.name(),
        e.id,
        rule.message
    )
}

/// Refuses (409 `OperationPaused`, which the SDK does not retry) when a rule stops `op`.
pub async fn refuse_if_paused(
    state: &TransferState,
    e: &EndpointRecord,
    identities: &[Uuid],
    op: Paused,
) -> Result<(), ApiError> {
    match stopping(state, e, identities, op).await? {
        Some(rule) => Err(ApiError {
            status: StatusCode::CONFLICT,
            code: CODE.into(),
            message: message(op, e, &rule),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> PauseRuleRecord {
        PauseRuleRecord {
            id: Uuid::new_v4(),
            endpoint_id: Uuid::new_v4(),
            identity_id: None,
            message: "maintenance".into(),
            start_time: None,
            pause_ls: true,
            pause_mkdir: false,
            pause_rename: false,
            pause_task_delete: false,
            pause_task_transfer_write: false,
            pause_task_transfer_read: false,
            modified_by_id: Uuid::new_v4(),
            modified_by: "admin".into(),
            created_at: 0,
        }
    }

    #[test]
    fn a_rule_stops_only_its_operations_for_its_identity_once_started() {
        let me = Uuid::new_v4();
        let mut r = rule();
        assert!(stops(&r, Paused::Ls, &[me], 10));
        for other in [
            Paused::Mkdir,
            Paused::Rename,
            Paused::Read,
            Paused::Write,
            Paused::Delete,
        ] {
            assert!(!stops(&r, other, &[me], 10), "{other:?}");
        }
        r.identity_id = Some(Uuid::new_v4());
        assert!(!stops(&r, Paused::Ls, &[me], 10), "someone else's rule");
        r.identity_id = Some(me);
        assert!(
            stops(&r, Paused::Ls, &[Uuid::new_v4(), me], 10),
            "a linked identity"
        );
        r.start_time = Some(11);
        assert!(!stops(&r, Paused::Ls, &[me], 10), "not started yet");
        assert!(stops(&r, Paused::Ls, &[me], 11));
        let mut w = rule();
        w.pause_ls = false;
        w.pause_task_transfer_write = true;
        w.pause_task_delete = true;
        assert!(stops(&w, Paused::Write, &[me], 0));
        assert!(stops(&w, Paused::Delete, &[me], 0));
        assert!(!stops(&w, Paused::Read, &[me], 0));
    }
}
