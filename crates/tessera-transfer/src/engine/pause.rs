//! Pausing (the endpoint-manager API): a task held by a pause rule or paused by id is not
//! driven. Before a claimed task runs and at every heartbeat the engine asks
//! `service::pause::held`; a held task records a PAUSED event (once), stops its files (they stay
//! pending) and is parked: its lease goes to the pseudo-owner `paused` for [`PARK`], so no node
//! claims it meanwhile. When the park runs out, or at once when a manager resumes it or changes
//! a rule, any node claims it again, asks again, and either parks it again or records RESUMED
//! and goes on with what is still pending. A paused task's deadline still ends it.

use super::EngineConfig;
use crate::service::pause;
use crate::TransferState;
use std::time::Duration;
use tessera_store::transfer::{EventRecord, TaskRecord};
use uuid::Uuid;

/// How long a paused task rests before it is looked at again (a resume wakes it at once).
pub(super) const PARK: Duration = Duration::from_secs(5);

/// Is the task held now? (Past its deadline it is not: the deadline ends it.)
pub(super) async fn is_held(state: &TransferState, task: &TaskRecord) -> bool {
    if state.clock.now() > task.deadline {
        return false;
    }
    match pause::held(state, task).await {
        Ok(h) => h.is_paused(),
        Err(e) => {
            tracing::warn!(task = %task.id, error = %e, "reading a task's pause rules failed");
            false
        }
    }
}

async fn newest_event(state: &TransferState, id: Uuid) -> Option<String> {
    match state.store.events(id, None, 1, 0).await {
        Ok((events, _)) => events.into_iter().next().map(|e| e.code),
        Err(_) => None,
    }
}

fn event(state: &TransferState, code: &str, details: String) -> EventRecord {
    EventRecord {
        time: state.clock.now(),
        code: code.to_owned(),
        description: code.to_lowercase(),
        details,
        is_error: false,
    }
}

/// Records PAUSED (unless it is the newest event already) and parks the task.
pub(super) async fn park(state: &TransferState, config: &EngineConfig, task: &TaskRecord) {
    let message = match pause::held(state, task).await {
        Ok(h) => h.message().unwrap_or("paused").to_owned(),
        Err(_) => "paused".to_owned(),
    };
    if newest_event(state, task.id).await.as_deref() != Some("PAUSED") {
        let e = event(
            state,
            "PAUSED",
            format!("Paused by an administrator: {message}"),
        );
        if let Err(err) = state.store.insert_event(task.id, &e).await {
            tracing::warn!(task = %task.id, error = %err, "recording a pause failed");
        }
    }
    let until = state.clock.now() + super::secs(PARK);
    if let Err(err) = state.store.park_task(task.id, &config.node, until).await {
        tracing::warn!(task = %task.id, error = %err, "parking a paused task failed");
    }
}

/// Before a claimed task runs: parks it and returns true when it is held; otherwise records
/// RESUMED if it had been paused.
pub(super) async fn hold(state: &TransferState, config: &EngineConfig, task: &TaskRecord) -> bool {
    if is_held(state, task).await {
        park(state, config, task).await;
        return true;
    }
    if newest_event(state, task.id).await.as_deref() == Some("PAUSED") {
        let e = event(state, "RESUMED", "Nothing holds the task any more".into());
        if let Err(err) = state.store.insert_event(task.id, &e).await {
            tracing::warn!(task = %task.id, error = %err, "recording a resume failed");
        }
    }
    false
}
