//! Progress of the files still being copied: `bytes_transferred` grows while a large file
//! moves, not only when it ends, and a PROGRESS event says so, at most once per
//! [`EngineConfig::progress_every`](super::EngineConfig::progress_every).
//!
//! The copy threads add what they moved to one counter per task ([`FileProgress`]); the task's
//! loop hands the counter to the database ([`report`]) on its ticks and at the end. A file's
//! last chunk is never counted here: its outcome adds the rest (its bytes minus what progress
//! counted), in the same transaction that marks it done, so a finished task's
//! `bytes_transferred` is the sum of its files' sizes. A retried file (checksum mismatch) is
//! counted once. A file cut short by a crash had counted what moved; the resumed attempt
//! starts `bytes_transferred` again from the files recorded done (`restart_progress`), so it is
//! not counted twice.

use super::EngineConfig;
use crate::TransferState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tessera_store::transfer::EventRecord;

/// One file's share of the task's progress counter.
pub(super) struct FileProgress {
    shared: Arc<AtomicU64>,
    size: u64,
    /// What this file has added to the counter.
    pub(super) counted: u64,
}

impl FileProgress {
    pub(super) fn new(shared: Arc<AtomicU64>, size: i64) -> Self {
        Self {
            shared,
            size: u64::try_from(size).unwrap_or(0),
            counted: 0,
        }
    }

    /// `bytes` of this file copied so far (from zero again on a retry: counted once).
    pub(super) fn update(&mut self, bytes: u64) {
        if bytes < self.size && bytes > self.counted {
            self.shared
                .fetch_add(bytes - self.counted, Ordering::Relaxed);
            self.counted = bytes;
        }
    }
}

/// Moves the counter into the task (`bytes_transferred`, a PROGRESS event); nothing when it is
/// zero. A database error puts the bytes back for the next tick.
pub(super) async fn report(
    state: &TransferState,
    config: &EngineConfig,
    task: uuid::Uuid,
    counter: &AtomicU64,
    since: &mut Instant,
) {
    let bytes = counter.swap(0, Ordering::Relaxed);
    if bytes == 0 {
        return;
    }
    let secs = since.elapsed().as_secs_f64().max(0.001);
    *since = Instant::now();
    // Globus reports the rate in megabits per second.
    let mbps = bytes as f64 * 8.0 / 1e6 / secs;
    let event = EventRecord {
        time: state.clock.now(),
        code: "PROGRESS".into(),
        description: "progress".into(),
        details: format!(
            "{{\"bytes_transferred\": {bytes}, \"duration\": {secs:.2}, \"mbps\": {mbps:.2}}}"
        ),
        is_error: false,
    };
    let amount = i64::try_from(bytes).unwrap_or(i64::MAX);
    if let Err(e) = state
        .store
        .record_progress(task, &config.node, amount, &event)
        .await
    {
        counter.fetch_add(bytes, Ordering::Relaxed);
        tracing::warn!(task = %task, error = %e, "recording a task's progress failed");
    }
}
