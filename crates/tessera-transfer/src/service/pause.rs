//! Pause rules and pauses by id: which hold a task, and the rules' documents.
//!
//! A rule on endpoint E holds a task when E is the task's source or destination (or their host)
//! for the kind of work it names (`pause_task_transfer_read` the source side of a transfer,
//! `pause_task_transfer_write` the destination side, `pause_task_delete` a delete), it names the
//! task's owner or nobody, and its `start_time` has come. A paused task stays ACTIVE; the engine
//! stops driving it (engine/pause.rs) until nothing holds it any more.

use crate::TransferState;
use serde_json::{json, Value};
use tessera_core::clock::UnixTime;
use tessera_store::endpoint_manager::{PauseRuleRecord, TaskPauseRecord};
use tessera_store::transfer::TaskRecord;
use tessera_store::StoreError;
use uuid::Uuid;

/// The endpoints of a task's two sides, each with its host when it is a share.
#[derive(Debug, Clone, Default)]
pub struct Sides {
    pub source: Vec<Uuid>,
    pub destination: Vec<Uuid>,
}

/// Does `rule` hold `task` (whose sides are `sides`) at `now`?
pub fn holds(rule: &PauseRuleRecord, task: &TaskRecord, sides: &Sides, now: UnixTime) -> bool {
    if rule.start_time.is_some_and(|s| s > now) {
        return false;
    }
    if rule.identity_id.is_some_and(|i| i != task.owner_id) {
        return false;
    }
    let on_source = sides.source.contains(&rule.endpoint_id);
    let on_destination = sides.destination.contains(&rule.endpoint_id);
    match task.kind.as_str() {
        "DELETE" => on_source && rule.pause_task_delete,
        _ => {
            (on_source && rule.pause_task_transfer_read)
                || (on_destination && rule.pause_task_transfer_write)
        }
    }
}

/// What holds a task now.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub rules: Vec<PauseRuleRecord>,
    pub by_id: Option<TaskPauseRecord>,
    pub sides: Sides,
}

impl Held {
    pub fn is_paused(&self) -> bool {
        self.by_id.is_some() || !self.rules.is_empty()
    }

    /// The message its owner reads: the pause by id's, else the first rule's.
    pub fn message(&self) -> Option<&str> {
        self.by_id
            .as_ref()
            .map(|p| p.message.as_str())
            .or_else(|| self.rules.first().map(|r| r.message.as_str()))
    }
}

async fn with_host(state: &TransferState, id: Option<Uuid>) -> Result<Vec<Uuid>, StoreError> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let mut out = vec![id];
    if let Some(host) = state
        .store
        .endpoint(id)
        .await?
        .and_then(|e| e.host_endpoint_id)
    {
        out.push(host);
    }
    Ok(out)
}

/// The rules and the pause by id holding an ACTIVE task now (nothing for a finished one).
pub async fn held(state: &TransferState, task: &TaskRecord) -> Result<Held, StoreError> {
    if task.status != "ACTIVE" {
        return Ok(Held::default());
    }
    let sides = Sides {
        source: with_host(state, Some(task.source_endpoint_id)).await?,
        destination: with_host(state, task.destination_endpoint_id).await?,
    };
    let mut endpoints = sides.source.clone();
    endpoints.extend(&sides.destination);
    let now = state.clock.now();
    let rules = state
        .store
        .pause_rules(&endpoints)
        .await?
        .into_iter()
        .filter(|r| holds(r, task, &sides, now))
        .collect();
    let by_id = state
        .store
        .task_pauses(&[task.id])
        .await?
        .into_iter()
        .next();
    Ok(Held {
        rules,
        by_id,
        sides,
    })
}

/// The rule document a manager reads (`editable` when they manage its endpoint).
pub fn rule_doc(r: &PauseRuleRecord, endpoint_name: Option<&str>, editable: bool) -> Value {
    json!({
        "DATA_TYPE": "pause_rule",
        "id": r.id.to_string(),
        "message": r.message,
        "start_time": r.start_time.map(crate::timefmt::iso),
        "endpoint_id": r.endpoint_id.to_string(),
        "endpoint_display_name": endpoint_name,
        "identity_id": r.identity_id.map(|u| u.to_string()),
        "modified_by_id": r.modified_by_id.to_string(),
        "modified_by": r.modified_by,
        "created_by_host_manager": false,
        "editable": editable,
        "pause_ls": r.pause_ls,
        "pause_mkdir": r.pause_mkdir,
        "pause_rename": r.pause_rename,
        "pause_task_delete": r.pause_task_delete,
        "pause_task_transfer_write": r.pause_task_transfer_write,
        "pause_task_transfer_read": r.pause_task_transfer_read,
    })
}

/// The rule as a task's owner (or any user of the endpoint) reads it: no editor's identity.
pub fn limited_doc(r: &PauseRuleRecord, endpoint_name: Option<&str>) -> Value {
    json!({
        "DATA_TYPE": "pause_rule_limited",
        "id": r.id.to_string(),
        "message": r.message,
        "start_time": r.start_time.map(crate::timefmt::iso),
        "endpoint_id": r.endpoint_id.to_string(),
        "endpoint_display_name": endpoint_name,
        "identity_id": r.identity_id.map(|u| u.to_string()),
        "created_by_host_manager": false,
        "pause_ls": r.pause_ls,
        "pause_mkdir": r.pause_mkdir,
        "pause_rename": r.pause_rename,
        "pause_task_delete": r.pause_task_delete,
        "pause_task_transfer_write": r.pause_task_transfer_write,
        "pause_task_transfer_read": r.pause_task_transfer_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(endpoint: Uuid) -> PauseRuleRecord {
        PauseRuleRecord {
            id: Uuid::new_v4(),
            endpoint_id: endpoint,
            identity_id: None,
            message: "maintenance".into(),
            start_time: None,
            pause_ls: false,
            pause_mkdir: false,
            pause_rename: false,
            pause_task_delete: false,
            pause_task_transfer_write: true,
            pause_task_transfer_read: false,
            modified_by_id: Uuid::new_v4(),
            modified_by: "admin".into(),
            created_at: 0,
        }
    }

    fn task(kind: &str, src: Uuid, dst: Option<Uuid>) -> TaskRecord {
        TaskRecord {
            id: Uuid::new_v4(),
            owner_id: Uuid::new_v4(),
            owner_string: "o".into(),
            submission_id: "s".into(),
            kind: kind.into(),
            status: "ACTIVE".into(),
            label: None,
            source_endpoint_id: src,
            destination_endpoint_id: dst,
            request_time: 0,
            completion_time: None,
            deadline: 100,
            spec: json!({}),
            fatal_error: None,
            expanded: false,
            files: 0,
            directories: 0,
            files_transferred: 0,
            files_skipped: 0,
            bytes_transferred: 0,
            faults: 0,
        }
    }

    #[test]
    fn a_write_rule_holds_transfers_into_its_endpoint_only() {
        let (a, b, host) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let r = rule(b);
        let into_b = task("TRANSFER", a, Some(b));
        let sides = Sides {
            source: vec![a],
            destination: vec![b],
        };
        assert!(holds(&r, &into_b, &sides, 10));
        let out_of_b = task("TRANSFER", b, Some(a));
        let back = Sides {
            source: vec![b],
            destination: vec![a],
        };
        assert!(!holds(&r, &out_of_b, &back, 10), "read side is not paused");
        // A share below a paused host is held too.
        let share = Uuid::new_v4();
        let mut on_host = rule(host);
        on_host.pause_task_transfer_read = true;
        let from_share = task("TRANSFER", share, Some(a));
        let via_host = Sides {
            source: vec![share, host],
            destination: vec![a],
        };
        assert!(holds(&on_host, &from_share, &via_host, 10));
    }

    #[test]
    fn identity_start_time_and_kind_narrow_a_rule() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let t = task("TRANSFER", a, Some(b));
        let sides = Sides {
            source: vec![a],
            destination: vec![b],
        };
        let mut r = rule(b);
        r.identity_id = Some(Uuid::new_v4());
        assert!(!holds(&r, &t, &sides, 10), "someone else's rule");
        r.identity_id = Some(t.owner_id);
        assert!(holds(&r, &t, &sides, 10));
        r.start_time = Some(11);
        assert!(!holds(&r, &t, &sides, 10), "not started yet");
        assert!(holds(&r, &t, &sides, 11));
        let d = task("DELETE", b, None);
        let dsides = Sides {
            source: vec![b],
            destination: vec![],
        };
        let mut rd = rule(b);
        assert!(
            !holds(&rd, &d, &dsides, 10),
            "write rule does not hold deletes"
        );
        rd.pause_task_delete = true;
        assert!(holds(&rd, &d, &dsides, 10));
    }
}
