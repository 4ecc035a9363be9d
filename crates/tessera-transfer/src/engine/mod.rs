//! The task engine: every node runs one loop that claims ACTIVE tasks whose lease is free or
//! expired (`TransferRepository::claim_task`, `FOR UPDATE SKIP LOCKED` on PostgreSQL), runs
//! each on its own tokio task while renewing the lease, and gives the lease up when it stops.
//!
//! Durability: a task's expansion (every file and directory, in order) and each file's outcome
//! are rows; a task taken over after a crash skips what is recorded done and copies the rest.
//! A file is written under a temporary name and renamed into place only when complete (and
//! verified), so a crash leaves no half-written file under a real name.
//!
//! Architecture invariant: every state change of a task is one statement guarded by
//! `status = 'ACTIVE'`; a canceled (FAILED) task stops its worker at its next heartbeat and
//! nothing the worker writes afterwards can revive it.

mod cleanup;
mod copying;
mod delegate;
mod pause;
mod progress;
mod recheck;
mod run;

use crate::TransferState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This node's name in leases (unique per process).
    pub node: String,
    /// How long a claim lasts without renewal; another node takes the task over after it.
    /// 10 s with a 1 s heartbeat: nine renewals may be missed (a slow database) before the
    /// task moves, and a dead node's task is taken over 10–12 s after its last renewal (the
    /// claim loop polls every second; leases are whole seconds).
    pub lease: Duration,
    /// How often a worker renews its lease and looks for cancel and deadline.
    pub heartbeat: Duration,
    /// Tasks run at once on this node.
    pub max_tasks: usize,
    /// Files copied at once per task (on the blocking pool).
    pub files_per_task: usize,
    /// Files at once per task when both endpoints are on connectors (the node only watches
    /// each pull); files over 16 MiB still count against `files_per_task`.
    pub direct_files_per_task: usize,
    /// At most this often, a task's `bytes_transferred` takes in the files still in flight
    /// and a PROGRESS event is recorded (only when bytes moved).
    pub progress_every: Duration,
    /// When this node's engine started (Unix seconds; set by [`spawn`]): on SQLite (one
    /// process) a temporary file older than this is a dead worker's.
    pub started: tessera_core::clock::UnixTime,
}

impl EngineConfig {
    pub fn new(node: String) -> Self {
        Self {
            node,
            lease: Duration::from_secs(10),
            heartbeat: Duration::from_secs(1),
            max_tasks: 4,
            files_per_task: 4,
            direct_files_per_task: 16,
            progress_every: Duration::from_secs(1),
            started: 0,
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

/// Starts the claim loop; it runs until the runtime shuts down.
pub fn spawn(state: TransferState, mut config: EngineConfig) -> tokio::task::JoinHandle<()> {
    config.started = state.clock.now();
    raise_open_file_limit();
    tokio::spawn(claim_loop(state, Arc::new(config)))
}

/// Copies hold a directory handle per staged file (up to 512 per task, see `copying`): the
/// soft limit on open files goes up to the hard one (often 1024 against 524288), as Go's
/// runtime does for every program.
fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(current) = limit.current {
        let wanted = limit.maximum.unwrap_or(u64::MAX).min(1 << 16);
        if current < wanted {
            limit.current = Some(wanted);
            if let Err(e) = setrlimit(Resource::Nofile, limit) {
                tracing::warn!(error = %e, "raising the open-file limit failed");
            }
        }
    }
}

async fn claim_loop(state: TransferState, config: Arc<EngineConfig>) {
    // On SQLite this process owns the database (tessera.lock): a lease still held is a dead
    // process's, and its tasks resume now rather than when the lease runs out.
    if state.store.backend() == tessera_store::Backend::Sqlite {
        match state.store.release_all_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "resuming transfer tasks of a previous run"),
            Err(e) => tracing::warn!(error = %e, "freeing the leases of a previous run failed"),
        }
    }
    let slots = Arc::new(Semaphore::new(config.max_tasks.max(1)));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let now = state.clock.now();
        match state
            .store
            .claim_task(&config.node, now, now + secs(config.lease))
            .await
        {
            Ok(Some(task)) => {
                let (state, config) = (state.clone(), config.clone());
                tokio::spawn(async move {
                    let id = task.id;
                    run::run(&state, &config, task).await;
                    if let Err(e) = state.store.release_lease(id, &config.node).await {
                        tracing::warn!(task = %id, error = %e, "releasing a task's lease failed");
                    }
                    drop(permit);
                });
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claiming a transfer task failed"),
        }
        drop(permit);
        // New submissions wake the loop; expired leases of other nodes are found by polling.
        let _ = tokio::time::timeout(Duration::from_secs(1), state.wake.notified()).await;
    }
}
