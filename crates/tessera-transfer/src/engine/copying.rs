//! Copying a task's pending files: several at once on the blocking pool, small files grouped
//! into one job per thread hand-off, each copy staged under its temporary name; a batch of
//! finished files is made durable, published and recorded together ([`flush`]).

use super::progress::{self, FileProgress};
use super::run::{blocking, code_of, path, pending, Stop};
use super::{cleanup, delegate, recheck, EngineConfig};
use crate::data::{ChecksumAlgorithm, CopyOptions, DataError, FileOutcome, Side, SyncLevel};
use crate::service::submit::{SpecItem, TaskSpec};
use crate::storage::{RelPath, Staged, Storage, StorageError};
use crate::TransferState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_store::transfer::{FileOutcomeRecord, FileState, TaskFileRecord, TaskRecord};
use tokio::task::JoinSet;

/// A job for one blocking thread: files in a row while they add up to at most this many
/// bytes and files (a large file goes alone). A thread hand-off per file of a few KiB costs
/// more than its copy.
const JOB_BYTES: i64 = 1 << 20;
const JOB_FILES: usize = 32;

/// One file of a job.
struct FileJob {
    seq: i64,
    from: RelPath,
    to: RelPath,
    opts: CopyOptions,
    size: i64,
}

struct Copied {
    seq: i64,
    result: Result<FileOutcome, DataError>,
    /// A copied file, complete under its temporary name until the batch is published.
    staged: Option<Box<dyn Staged>>,
    /// Bytes already counted as progress (see `progress`).
    counted: u64,
    algorithm: ChecksumAlgorithm,
}

/// Between two connectors: files up to this size go in batches of up to `BATCH_FILES` files
/// and `BATCH_BYTES` bytes (at least `BATCH_MIN` files while there are that many).
const BATCH_FILE: i64 = 4 << 20;
const BATCH_FILES: usize = 256;
const BATCH_MIN: usize = 8;
const BATCH_BYTES: i64 = 16 << 20;

/// Files larger than this count against `files_per_task` even between connectors.
const LARGE_FILE: i64 = 16 << 20;

/// Transient failures (I/O errors) are retried this many times, with backoff.
const RETRIES: u32 = 3;

pub(super) async fn copy_files(
    state: &TransferState,
    config: &EngineConfig,
    task: &TaskRecord,
    spec: &TaskSpec,
    (src, dst, tag): (&Arc<dyn Storage>, &Arc<dyn Storage>, &cleanup::Tag),
    cancel: &Arc<AtomicBool>,
) -> Result<(), Stop> {
    let files: Vec<TaskFileRecord> = pending(state, task)
        .await?
        .into_iter()
        .filter(|r| !r.is_dir)
        .collect();
    // An item's own algorithm; else, for an external_checksum, MD5 (what Globus assumes, so a
    // client's MD5 sum keeps matching); else the fast default.
    let algorithm_of = |item: Option<&&SpecItem>| -> ChecksumAlgorithm {
        match item {
            Some(i) => match i.checksum_algorithm.as_deref().and_then(|a| a.parse().ok()) {
                Some(alg) => alg,
                None if i.external_checksum.is_some() => ChecksumAlgorithm::Md5,
                None => ChecksumAlgorithm::DEFAULT,
            },
            None => ChecksumAlgorithm::DEFAULT,
        }
    };
    // Per-item options (external checksums) by source path.
    let item_opts: std::collections::HashMap<String, &SpecItem> = spec
        .items
        .iter()
        .map(|i| (i.source_path.clone(), i))
        .collect();
    let mut recheck = recheck::Recheck::new(state, task, &spec.identities).await?;
    let mut set: JoinSet<Vec<Copied>> = JoinSet::new();
    let mut outcomes: Vec<FileOutcomeRecord> = Vec::new();
    let mut batch: Vec<(i64, RelPath, Box<dyn Staged>)> = Vec::new();
    let mut published: Vec<FileOutcomeRecord> = Vec::new();
    let mut faults = 0i64;
    let mut last_flush = Instant::now();
    let mut fatal: Option<Stop> = None;
    let mut sizes = std::collections::HashMap::new();
    // Between two connectors this node only watches (the destination pulls from the source),
    // so more files are kept in flight, one per job, to hide their round trips; large files,
    // which hold the connectors' block buffers, stay at `files_per_task`.
    // Small files go in batches (one job, one stream between the connectors), sized so that
    // `width` batches keep both connectors busy.
    let direct = src.connector().is_some() && dst.connector().is_some();
    let (width, job_files, job_bytes_max) = if direct {
        let width = config.direct_files_per_task.max(1);
        let small = files.iter().filter(|f| f.size <= BATCH_FILE).count();
        let per = (small / width).clamp(BATCH_MIN, BATCH_FILES);
        (width, per, BATCH_BYTES)
    } else {
        (config.files_per_task.max(1), JOB_FILES, JOB_BYTES)
    };
    let mut queue = files.into_iter().peekable();
    let mut large = std::collections::HashSet::new();
    let moved = Arc::new(AtomicU64::new(0));
    let mut since = Instant::now();
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + config.progress_every,
        config.progress_every,
    );
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        while fatal.is_none() && set.len() < width {
            let mut job: Vec<FileJob> = Vec::new();
            let mut job_bytes = 0i64;
            while job.len() < job_files {
                if queue.peek().is_some_and(|f| {
                    f.size > LARGE_FILE && large.len() >= config.files_per_task.max(1)
                }) {
                    break;
                }
                // Between connectors a file too large for a batch goes alone (ranged pulls).
                let alone = |f: &TaskFileRecord| direct && f.size > BATCH_FILE;
                if job.first().is_some_and(|j| direct && j.size > BATCH_FILE) {
                    break;
                }
                let Some(f) = queue.next_if(|f| {
                    job.is_empty() || (job_bytes + f.size <= job_bytes_max && !alone(f))
                }) else {
                    break;
                };
                if f.size > LARGE_FILE {
                    large.insert(f.seq);
                }
                job_bytes += f.size;
                let item = item_opts.get(&f.source_path);
                let opts = CopyOptions {
                    sync_level: spec.sync_level.and_then(SyncLevel::from_level),
                    verify_checksum: spec.verify_checksum,
                    checksum_algorithm: algorithm_of(item),
                    external_checksum: item.and_then(|i| i.external_checksum.clone()),
                    preserve_timestamp: spec.preserve_timestamp,
                    fsync: true,
                    encrypt_data: spec.encrypt_data,
                    temp_tag: Some(tag.as_str().to_owned()),
                };
                let (from, to) = (
                    path(&f.source_path)?,
                    path(f.destination_path.as_deref().unwrap_or("/"))?,
                );
                // Still allowed? (A rule removed mid-task stops further files.)
                if let Err(stop) = recheck.copy(state, &from, &to).await {
                    fatal = Some(stop);
                    break;
                }
                sizes.insert(f.seq, (from.clone(), to.clone()));
                job.push(FileJob {
                    seq: f.seq,
                    from,
                    to,
                    opts,
                    size: f.size,
                });
            }
            if job.is_empty() {
                break;
            }
            let (src, dst, cancel, moved) =
                (src.clone(), dst.clone(), cancel.clone(), moved.clone());
            let (hub, task_id) = (state.connectors.clone(), task.id);
            set.spawn_blocking(move || {
                // A job's files share their directories: walk to each once per job.
                let _dirs = crate::storage::posix::keep_dirs();
                let ends = Ends {
                    hub: hub.as_deref(),
                    task: task_id,
                    src: src.as_ref(),
                    dst: dst.as_ref(),
                };
                if direct && job.len() > 1 {
                    return copy_batch(&ends, job, &moved, &cancel);
                }
                job.into_iter()
                    .map(|f| copy_one(&ends, f, &moved, &cancel))
                    .collect::<Vec<Copied>>()
            });
        }
        let joined = tokio::select! {
            joined = set.join_next() => joined,
            _ = ticks.tick() => {
                progress::report(state, config, task.id, &moved, &mut since).await;
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        for done in joined.map_err(|e| Stop::Internal(e.to_string()))? {
            let now = state.clock.now();
            let (from, to) = sizes.remove(&done.seq).unwrap_or_default();
            large.remove(&done.seq);
            if let Some(staged) = done.staged {
                batch.push((done.seq, to.clone(), staged));
            }
            match done.result {
                Ok(FileOutcome::Copied { bytes, checksum }) => outcomes.push(FileOutcomeRecord {
                    seq: done.seq,
                    state: FileState::Done,
                    bytes: i64::try_from(bytes.saturating_sub(done.counted)).unwrap_or(i64::MAX),
                    // The algorithm travels with the value: successful_transfers reports it.
                    checksum: checksum.map(|c| format!("{}:{c}", done.algorithm)),
                    error_code: None,
                    error_details: None,
                    at: now,
                }),
                Ok(FileOutcome::Skipped { .. }) => outcomes.push(FileOutcomeRecord {
                    seq: done.seq,
                    state: FileState::Skipped,
                    bytes: 0,
                    checksum: None,
                    error_code: None,
                    error_details: None,
                    at: now,
                }),
                Err(DataError::Canceled) => {
                    fatal.get_or_insert(Stop::Stopped);
                }
                Err(DataError::Storage {
                    side: Side::Source,
                    error,
                }) if spec.skip_source_errors
                    && matches!(
                        error,
                        StorageError::NotFound(_) | StorageError::PermissionDenied(_)
                    ) =>
                {
                    faults += 1;
                    outcomes.push(FileOutcomeRecord {
                        seq: done.seq,
                        state: FileState::Error,
                        bytes: 0,
                        checksum: None,
                        error_code: Some(code_of(&error).to_owned()),
                        error_details: Some(error.to_string()),
                        at: now,
                    });
                }
                Err(DataError::Storage { side, error }) => {
                    faults += 1;
                    let p = if side == Side::Source {
                        from.to_api()
                    } else {
                        to.to_api()
                    };
                    cancel.store(true, Ordering::Relaxed);
                    fatal.get_or_insert(Stop::Fatal(code_of(&error), format!("{p}: {error}")));
                }
                Err(e @ DataError::ChecksumMismatch { .. }) => {
                    faults += 1;
                    cancel.store(true, Ordering::Relaxed);
                    fatal.get_or_insert(Stop::Fatal("VERIFY_CHECKSUM", e.to_string()));
                }
            }
        }
        // Nothing left to start or wait for: the last flush below does it (a large file that
        // took more than the interval would otherwise pay a `syncfs` here, which waits for
        // every other writer's data on the filesystem, and a second one at the end, instead
        // of syncing itself alone).
        let all_done = set.is_empty() && (fatal.is_some() || queue.peek().is_none());
        if !all_done
            && (outcomes.len() >= 1024
                || batch.len() >= STAGED
                || last_flush.elapsed() > Duration::from_millis(500))
        {
            let pending = Batch {
                outcomes: &mut outcomes,
                staged: &mut batch,
                published: &mut published,
                faults: &mut faults,
            };
            flush(
                state,
                (task, &config.node),
                dst,
                pending,
                (&mut fatal, false),
            )
            .await?;
            last_flush = Instant::now();
        }
    }
    let pending = Batch {
        outcomes: &mut outcomes,
        staged: &mut batch,
        published: &mut published,
        faults: &mut faults,
    };
    flush(
        state,
        (task, &config.node),
        dst,
        pending,
        (&mut fatal, true),
    )
    .await?;
    progress::report(state, config, task.id, &moved, &mut since).await;
    match fatal {
        Some(stop) => Err(stop),
        None => Ok(()),
    }
}

/// A last batch of at most this many files is made durable file by file
/// ([`Staged::publish_synced`]) instead of by two `sync_all`.
const FEW: usize = 8;

/// Files staged at most before a batch is published (each holds its directory's handle; the
/// engine raises the process's open-file limit at start).
const STAGED: usize = 512;

/// What a flush publishes and records.
struct Batch<'a> {
    outcomes: &'a mut Vec<FileOutcomeRecord>,
    /// Copied files under their temporary names: sequence number, destination, the file.
    staged: &'a mut Vec<(i64, RelPath, Box<dyn Staged>)>,
    /// Outcomes of files published by the previous flush: durable at this flush's sync.
    published: &'a mut Vec<FileOutcomeRecord>,
    faults: &'a mut i64,
}

/// Publishes and records a batch, with one `sync_all` per flush:
/// 1. `sync_all` makes the staged files' data durable (and the names the previous flush
///    published);
/// 2. the previous flush's files are recorded done, with the outcomes that need no name
///    (skipped files, errors);
/// 3. the staged files are renamed into place; they are recorded at the next flush, after its
///    sync (the `last` flush syncs again and records them at once).
///
/// A last flush of at most [`FEW`] files with nothing published before it syncs each file on
/// its own instead ([`Staged::publish_synced`]: data, rename, directory), which on a shared
/// filesystem is much cheaper than two `syncfs` (a one-file task's latency).
///
/// So a file recorded done survives a crash, and a crash shows the old file or none under a
/// name, never a torn one. A name that cannot be published fails the task (`fatal`) and is not
/// recorded; after a fatal error nothing more is published (the temporary files go).
async fn flush(
    state: &TransferState,
    (task, node): (&TaskRecord, &str),
    dst: &Arc<dyn Storage>,
    batch: Batch<'_>,
    (fatal, last): (&mut Option<Stop>, bool),
) -> Result<(), Stop> {
    let mut staged = std::mem::take(batch.staged);
    if fatal.is_some() {
        // Canceled, lost or failing: what is not published yet is not the task's any more
        // (dropped, the temporary files go; a resumed task copies them again).
        for (seq, _, _) in &staged {
            batch.outcomes.retain(|o| o.seq != *seq);
        }
        staged.clear();
    }
    // Outcomes that wait for their names to be durable.
    let named: std::collections::HashSet<i64> = staged.iter().map(|(seq, _, _)| *seq).collect();
    let (fresh, mut now): (Vec<FileOutcomeRecord>, Vec<FileOutcomeRecord>) = batch
        .outcomes
        .drain(..)
        .partition(|o| named.contains(&o.seq));
    let unsynced_names = !named.is_empty() || !batch.published.is_empty();
    // The end of a task of a few files (a one-file task above all): each file synced on its
    // own, not two `syncfs` that wait for everyone else's writes on the filesystem.
    let each_on_its_own = last && batch.published.is_empty() && staged.len() <= FEW;
    now.append(batch.published);
    if unsynced_names {
        let sync_after = last && !staged.is_empty();
        let d = dst.clone();
        let published = blocking(
            move || -> Result<Vec<(i64, RelPath, StorageError)>, StorageError> {
                let mut failed = Vec::new();
                if each_on_its_own {
                    for (seq, to, file) in staged {
                        if let Err(e) = file.publish_synced() {
                            failed.push((seq, to, e));
                        }
                    }
                    return Ok(failed);
                }
                d.sync_all()?;
                for (seq, to, file) in staged {
                    if let Err(e) = file.publish() {
                        failed.push((seq, to, e));
                    }
                }
                if sync_after {
                    d.sync_all()?;
                }
                Ok(failed)
            },
        )
        .await?;
        let failed = published
            .map_err(|e| Stop::Fatal(code_of(&e), format!("flushing the destination: {e}")))?;
        let mut fresh = fresh;
        for (seq, to, e) in failed {
            fresh.retain(|o| o.seq != seq);
            *batch.faults += 1;
            fatal.get_or_insert(Stop::Fatal(code_of(&e), format!("{}: {e}", to.to_api())));
        }
        match last {
            true => now.append(&mut fresh),
            false => *batch.published = fresh,
        }
    }
    if (now.is_empty() && *batch.faults == 0)
        || state
            .store
            .record_outcomes(task.id, node, &now, *batch.faults)
            .await?
    {
        *batch.faults = 0;
        return Ok(());
    }
    Err(Stop::Stopped) // no longer this node's task
}

/// Where a job's files go: between two connectors through the hub, else through this node.
struct Ends<'a> {
    hub: Option<&'a dyn crate::connectors::ConnectorHub>,
    task: uuid::Uuid,
    src: &'a dyn Storage,
    dst: &'a dyn Storage,
}

/// Copies one file of a job, retrying transient failures; blocking.
fn copy_one(ends: &Ends<'_>, f: FileJob, moved: &Arc<AtomicU64>, cancel: &AtomicBool) -> Copied {
    let mut counter = FileProgress::new(moved.clone(), f.size);
    let algorithm = f.opts.checksum_algorithm;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (result, staged) = match delegate::copy_file_staged(
            ends.hub,
            ends.task,
            ends.src,
            &f.from,
            ends.dst,
            &f.to,
            &f.opts,
            &mut |bytes| counter.update(bytes),
            cancel,
        ) {
            Ok((outcome, staged)) => (Ok(outcome), staged),
            Err(e) => (Err(e), None),
        };
        let transient = matches!(
            &result,
            Err(DataError::Storage {
                error: StorageError::Io(_),
                ..
            })
        );
        if transient && attempt <= RETRIES && !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100 << attempt));
            continue;
        }
        return Copied {
            seq: f.seq,
            result,
            staged,
            counted: counter.counted,
            algorithm,
        };
    }
}

/// A batch of small files between two connectors: one job through the hub; files that failed
/// on a transient error (and all of them, if the hub cannot batch) are copied one by one.
fn copy_batch(
    ends: &Ends<'_>,
    job: Vec<FileJob>,
    moved: &Arc<AtomicU64>,
    cancel: &AtomicBool,
) -> Vec<Copied> {
    let files: Vec<(RelPath, RelPath, CopyOptions)> = job
        .iter()
        .map(|f| (f.from.clone(), f.to.clone(), f.opts.clone()))
        .collect();
    let done = ends.hub.and_then(|hub| {
        hub.copy_direct_batch(ends.task, ends.src, ends.dst, &files, &mut |_| {}, cancel)
    });
    let Some(done) = done.filter(|d| d.len() == job.len()) else {
        return job
            .into_iter()
            .map(|f| copy_one(ends, f, moved, cancel))
            .collect();
    };
    job.into_iter()
        .zip(done)
        .map(|(f, result)| {
            let transient = matches!(
                &result,
                Err(DataError::Storage {
                    error: StorageError::Io(_),
                    ..
                })
            );
            if transient && !cancel.load(Ordering::Relaxed) {
                return copy_one(ends, f, moved, cancel);
            }
            Copied {
                seq: f.seq,
                result,
                staged: None,
                counted: 0,
                algorithm: f.opts.checksum_algorithm,
            }
        })
        .collect()
}
