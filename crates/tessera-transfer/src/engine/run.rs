//! One task on one node: expand its items into rows (once), then copy (or delete) what is
//! still pending, several files at once on the blocking pool, recording outcomes in batches;
//! a heartbeat renews the lease and stops the work on cancel, deadline or a lost lease.

use super::{cleanup, copying, pause, secs, EngineConfig};
use crate::data::{self, DataError};
use crate::service::endpoints as svc;
use crate::service::listing::glob;
use crate::service::submit::{SpecItem, TaskSpec};
use crate::storage::{EntryKind, RelPath, Storage, StorageError};
use crate::TransferState;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_proto::transfer::FilterRule;
use tessera_store::transfer::{
    EventRecord, FileOutcomeRecord, FileState, TaskFileRecord, TaskRecord,
};

/// Why a task stopped before the end.
pub(super) enum Stop {
    /// The task fails: `fatal_error` `{code, description}`.
    Fatal(&'static str, String),
    /// Canceled, past its deadline, or no longer ours: someone else ended it.
    Stopped,
    /// The database or the runtime failed: leave the task for a later claim.
    Internal(String),
}

impl From<tessera_store::StoreError> for Stop {
    fn from(e: tessera_store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

fn event(state: &TransferState, code: &str, details: String, is_error: bool) -> EventRecord {
    EventRecord {
        time: state.clock.now(),
        code: code.to_owned(),
        description: code.to_lowercase().replace('_', " "),
        details,
        is_error,
    }
}

pub(super) async fn run(state: &TransferState, config: &EngineConfig, task: TaskRecord) {
    if pause::hold(state, config, &task).await {
        return;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat(
        state.clone(),
        config.clone(),
        task.id,
        cancel.clone(),
        paused.clone(),
    ));
    let outcome = execute(state, config, &task, &cancel).await;
    beat.abort();
    if matches!(outcome, Err(Stop::Stopped)) && paused.load(Ordering::Relaxed) {
        pause::park(state, config, &task).await;
        return;
    }
    let now = state.clock.now();
    let finished = match outcome {
        Ok(summary) => {
            let e = event(state, "SUCCEEDED", summary, false);
            state
                .store
                .finish_task(task.id, "SUCCEEDED", None, &e, now)
                .await
        }
        Err(Stop::Fatal(code, description)) => {
            let e = event(state, code, description.clone(), true);
            let fatal = json!({"code": code, "description": description});
            state
                .store
                .finish_task(task.id, "FAILED", Some(&fatal), &e, now)
                .await
        }
        Err(Stop::Stopped) => Ok(false),
        Err(Stop::Internal(detail)) => {
            tracing::error!(task = %task.id, error = %detail, "a transfer task stopped; it will be retried");
            // Not at once: give a failing database a moment.
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok(false)
        }
    };
    if let Err(e) = finished {
        tracing::error!(task = %task.id, error = %e, "recording the end of a task failed");
    }
}

/// Renews the lease; sets `cancel` once the task is no longer ACTIVE or ours, and ends it
/// FAILED when its deadline passes; sets `paused` and `cancel` when a pause holds it.
async fn heartbeat(
    state: TransferState,
    config: EngineConfig,
    id: uuid::Uuid,
    cancel: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(config.heartbeat).await;
        let now = state.clock.now();
        match state.store.task(id).await {
            Ok(Some(t)) if t.status == "ACTIVE" && now > t.deadline => {
                let e = event(
                    &state,
                    "DEADLINE_EXPIRED",
                    "The task's deadline passed".into(),
                    true,
                );
                let fatal = json!({"code": "DEADLINE_EXPIRED", "description": "deadline expired"});
                if let Err(err) = state
                    .store
                    .finish_task(id, "FAILED", Some(&fatal), &e, now)
                    .await
                {
                    tracing::warn!(task = %id, error = %err, "ending a task past its deadline failed");
                }
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            Ok(Some(t)) if t.status == "ACTIVE" => {
                if pause::is_held(&state, &t).await {
                    paused.store(true, Ordering::Relaxed);
                    cancel.store(true, Ordering::Relaxed);
                    return;
                }
            }
            Ok(_) => {
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::warn!(task = %id, error = %e, "reading a task for its heartbeat failed")
            }
        }
        match state
            .store
            .renew_lease(id, &config.node, now + secs(config.lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                cancel.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::warn!(task = %id, error = %e, "renewing a task's lease failed"),
        }
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stop> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Stop::Internal(e.to_string()))
}

/// Whether either endpoint of the task (or its host) forces encryption now.
async fn forced_encryption(state: &TransferState, task: &TaskRecord) -> Result<bool, Stop> {
    for id in [Some(task.source_endpoint_id), task.destination_endpoint_id]
        .into_iter()
        .flatten()
    {
        if let Some(e) = state.store.endpoint(id).await? {
            if svc::forces_encryption(state, &e).await? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

async fn storage_of(
    state: &TransferState,
    id: Option<uuid::Uuid>,
) -> Result<Arc<dyn Storage>, Stop> {
    let missing = || Stop::Fatal("ENDPOINT_NOT_FOUND", "The endpoint no longer exists".into());
    let endpoint = state
        .store
        .endpoint(id.ok_or_else(missing)?)
        .await?
        .ok_or_else(missing)?;
    svc::open(state, &endpoint)
        .await
        .map_err(|e| Stop::Fatal("ENDPOINT_ERROR", e.message))
}

pub(super) fn path(p: &str) -> Result<RelPath, Stop> {
    RelPath::parse(p).map_err(|e| Stop::Fatal("BAD_PATH", format!("{p}: {e}")))
}

/// The Globus code of a storage error on one side of a copy.
pub(super) fn code_of(e: &StorageError) -> &'static str {
    match e {
        StorageError::NotFound(_) => "FILE_NOT_FOUND",
        StorageError::PermissionDenied(_) => "PERMISSION_DENIED",
        StorageError::NoSpace(_) => "QUOTA_EXCEEDED",
        StorageError::IsADirectory(_) | StorageError::NotADirectory(_) => "NOT_A_FILE",
        StorageError::Exists(_) | StorageError::NotEmpty(_) => "FILE_EXISTS",
        StorageError::InvalidPath(_) => "BAD_PATH",
        StorageError::Io(_) => "IO_ERROR",
    }
}

async fn execute(
    state: &TransferState,
    config: &EngineConfig,
    task: &TaskRecord,
    cancel: &Arc<AtomicBool>,
) -> Result<String, Stop> {
    if state.clock.now() > task.deadline {
        return Err(Stop::Fatal(
            "DEADLINE_EXPIRED",
            "The task's deadline passed".into(),
        ));
    }
    let mut spec: TaskSpec = serde_json::from_value(task.spec.clone())
        .map_err(|e| Stop::Fatal("BAD_TASK", format!("The stored task cannot be read: {e}")))?;
    // An endpoint made to force encryption after the task was submitted still gets it.
    if task.kind == "TRANSFER" && !spec.encrypt_data {
        spec.encrypt_data = forced_encryption(state, task).await?;
    }
    let src = storage_of(state, Some(task.source_endpoint_id)).await?;
    let dst = match task.kind.as_str() {
        "TRANSFER" => Some(storage_of(state, task.destination_endpoint_id).await?),
        _ => None,
    };
    let resumed = task.expanded;
    // This attempt's mark on its temporary files: a later attempt removes exactly these.
    let tag = cleanup::Tag::new(task.id);
    if !task.expanded {
        let (rows, files, dirs) = match &dst {
            Some(_) => expand_transfer(src.clone(), spec.clone(), state.clock.now()).await?,
            None => expand_delete(src.clone(), spec.clone()).await?,
        };
        if !state
            .store
            .record_expansion(task.id, &config.node, &rows, files, dirs)
            .await?
        {
            return Err(Stop::Stopped);
        }
        let details = format!("{files} files and {dirs} directories to handle");
        state
            .store
            .insert_event(task.id, &event(state, "STARTED", details, false))
            .await?;
    }
    match dst {
        Some(dst) => {
            // A task that was expanded before this claim was running on a worker that died.
            if resumed && !state.store.restart_progress(task.id, &config.node).await? {
                return Err(Stop::Stopped);
            }
            let dead_writes = match resumed {
                true => Some(sweep_dead_writes(state, config, task, &dst, &tag, None).await?),
                false => None,
            };
            make_dirs(state, task, &dst, cancel).await?;
            let ends = (&src, &dst, &tag);
            let copied = copying::copy_files(state, config, task, &spec, ends, cancel).await;
            if let Some(dirs) = dead_writes {
                sweep_dead_writes(state, config, task, &dst, &tag, Some(dirs)).await?;
            }
            copied?;
            if spec.delete_destination_extra {
                delete_extras(&spec, &src, &dst).await?;
            }
        }
        None => delete_paths(state, (task, &config.node), &spec, &src, cancel).await?,
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Stop::Stopped);
    }
    let t = state.store.task(task.id).await?.ok_or(Stop::Stopped)?;
    Ok(format!(
        "{} files transferred ({} bytes), {} skipped",
        t.files_transferred, t.bytes_transferred, t.files_skipped
    ))
}

/// Globus filter rules: the first rule whose glob matches the name (and type) decides; no
/// match includes.
fn included(rules: &[FilterRule], name: &str, is_dir: bool) -> bool {
    for r in rules {
        let kind_ok = match r.kind.as_deref() {
            Some("file") => !is_dir,
            Some("dir") => is_dir,
            _ => true,
        };
        if kind_ok && glob(&r.name, name) {
            return r.method == "include";
        }
    }
    true
}

fn row(seq: i64, is_dir: bool, src: &RelPath, dst: Option<&RelPath>, size: u64) -> TaskFileRecord {
    TaskFileRecord {
        seq,
        is_dir,
        source_path: src.to_api(),
        destination_path: dst.map(RelPath::to_api),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        state: FileState::Pending,
        checksum: None,
        error_code: None,
        error_details: None,
        error_time: None,
    }
}

fn error_row(
    seq: i64,
    src: &RelPath,
    dst: Option<&RelPath>,
    e: &StorageError,
    at: i64,
) -> TaskFileRecord {
    TaskFileRecord {
        state: FileState::Error,
        error_code: Some(code_of(e).to_owned()),
        error_details: Some(e.to_string()),
        error_time: Some(at),
        ..row(seq, false, src, dst, 0)
    }
}

/// Every directory and file of a transfer's items, in order (directories of an item first).
async fn expand_transfer(
    src: Arc<dyn Storage>,
    spec: TaskSpec,
    now: i64,
) -> Result<(Vec<TaskFileRecord>, i64, i64), Stop> {
    blocking(move || {
        let mut rows = Vec::new();
        let (mut files, mut dirs) = (0i64, 0i64);
        let rules = spec.filter_rules.clone().unwrap_or_default();
        for item in &spec.items {
            let from = path(&item.source_path)?;
            let to = path(item.destination_path.as_deref().unwrap_or("/"))?;
            let seq =
                |rows: &Vec<TaskFileRecord>| i64::try_from(rows.len()).unwrap_or(i64::MAX) + 1;
            let entry = match src.stat(&from) {
                Ok(e) => e,
                Err(e) if spec.skip_source_errors => {
                    rows.push(error_row(seq(&rows), &from, Some(&to), &e, now));
                    continue;
                }
                Err(e) => return Err(Stop::Fatal(code_of(&e), format!("{}: {e}", from.to_api()))),
            };
            match (entry.kind, item.recursive) {
                (EntryKind::Dir, Some(false)) => {
                    return Err(Stop::Fatal(
                        "NOT_A_FILE",
                        format!(
                            "{} is a directory; the item is not recursive",
                            from.to_api()
                        ),
                    ))
                }
                (EntryKind::Dir, _) => {
                    let walk = data::walk(src.as_ref(), &from).map_err(|e| match e {
                        DataError::Storage { error, .. } => {
                            Stop::Fatal(code_of(&error), format!("{}: {error}", from.to_api()))
                        }
                        other => Stop::Fatal("FILE_ERROR", other.to_string()),
                    })?;
                    if let Some((p, e)) = walk.errors.first() {
                        if !spec.skip_source_errors {
                            return Err(Stop::Fatal(code_of(e), format!("{}: {e}", p.to_api())));
                        }
                    }
                    // Filter rules apply below the item's root; an excluded directory takes
                    // everything below it along.
                    let mut excluded: Vec<RelPath> = Vec::new();
                    let keep = |p: &RelPath, is_dir: bool, excluded: &[RelPath]| {
                        p == &from
                            || (!excluded.iter().any(|x| p.starts_with(x))
                                && included(&rules, p.name().unwrap_or(""), is_dir))
                    };
                    for d in &walk.dirs {
                        if !keep(d, true, &excluded) {
                            excluded.push(d.clone());
                            continue;
                        }
                        let target = data::rebase(d, &from, &to)
                            .ok_or(Stop::Fatal("BAD_PATH", d.to_api()))?;
                        rows.push(row(seq(&rows), true, d, Some(&target), 0));
                        dirs += 1;
                    }
                    for (f, size) in &walk.files {
                        if !keep(f, false, &excluded) {
                            continue;
                        }
                        let target = data::rebase(f, &from, &to)
                            .ok_or(Stop::Fatal("BAD_PATH", f.to_api()))?;
                        rows.push(row(seq(&rows), false, f, Some(&target), *size));
                        files += 1;
                    }
                    for (p, e) in &walk.errors {
                        let target = data::rebase(p, &from, &to);
                        rows.push(error_row(seq(&rows), p, target.as_ref(), e, now));
                    }
                }
                (EntryKind::File, Some(true)) => {
                    return Err(Stop::Fatal(
                        "NOT_A_DIRECTORY",
                        format!("{} is a file; the item is recursive", from.to_api()),
                    ))
                }
                (EntryKind::File, _) => {
                    rows.push(row(seq(&rows), false, &from, Some(&to), entry.size));
                    files += 1;
                }
                _ => {
                    return Err(Stop::Fatal(
                        "NOT_A_FILE",
                        format!("{} is not a regular file or directory", from.to_api()),
                    ))
                }
            }
        }
        Ok((rows, files, dirs))
    })
    .await?
}

fn has_glob(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// The paths a delete's items name (globs in the last component expanded).
async fn expand_delete(
    src: Arc<dyn Storage>,
    spec: TaskSpec,
) -> Result<(Vec<TaskFileRecord>, i64, i64), Stop> {
    blocking(move || {
        let mut rows: Vec<TaskFileRecord> = Vec::new();
        let (mut files, mut dirs) = (0i64, 0i64);
        for SpecItem { source_path, .. } in &spec.items {
            let target = path(source_path)?;
            let mut matches = Vec::new();
            match target.name() {
                Some(name) if spec.interpret_globs && has_glob(name) => {
                    let parent = target.parent().unwrap_or_default();
                    match src.list(&parent) {
                        Ok(entries) => {
                            for e in entries.into_iter().filter(|e| glob(name, &e.name)) {
                                if let Ok(p) = parent.join(&e.name) {
                                    matches.push((p, e.kind));
                                }
                            }
                        }
                        Err(StorageError::NotFound(_)) => {}
                        Err(e) => {
                            return Err(Stop::Fatal(
                                code_of(&e),
                                format!("{}: {e}", parent.to_api()),
                            ))
                        }
                    }
                }
                _ => match src.stat(&target) {
                    Ok(e) => matches.push((target.clone(), e.kind)),
                    Err(StorageError::NotFound(_)) => {}
                    Err(e) => {
                        return Err(Stop::Fatal(
                            code_of(&e),
                            format!("{}: {e}", target.to_api()),
                        ))
                    }
                },
            }
            if matches.is_empty() && !spec.ignore_missing {
                return Err(Stop::Fatal(
                    "FILE_NOT_FOUND",
                    format!("{} does not exist", target.to_api()),
                ));
            }
            for (p, kind) in matches {
                let is_dir = kind == EntryKind::Dir;
                if is_dir && !spec.recursive {
                    return Err(Stop::Fatal(
                        "NOT_A_FILE",
                        format!("{} is a directory; the delete is not recursive", p.to_api()),
                    ));
                }
                let seq = i64::try_from(rows.len()).unwrap_or(i64::MAX) + 1;
                rows.push(row(seq, is_dir, &p, None, 0));
                if is_dir {
                    dirs += 1;
                } else {
                    files += 1;
                }
            }
        }
        Ok((rows, files, dirs))
    })
    .await?
}

/// Every pending row of the task, in order.
pub(super) async fn pending(
    state: &TransferState,
    task: &TaskRecord,
) -> Result<Vec<TaskFileRecord>, Stop> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = state
            .store
            .task_files(task.id, FileState::Pending, after, 5000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(page);
    }
    Ok(out)
}

/// Removes what a dead worker left under temporary names in the directories of the task's
/// pending files (computed unless given); returns those directories for a second sweep.
async fn sweep_dead_writes(
    state: &TransferState,
    config: &EngineConfig,
    task: &TaskRecord,
    dst: &Arc<dyn Storage>,
    tag: &cleanup::Tag,
    dirs: Option<std::collections::BTreeSet<RelPath>>,
) -> Result<std::collections::BTreeSet<RelPath>, Stop> {
    let dirs = match dirs {
        Some(d) => d,
        None => {
            let rows = pending(state, task).await?;
            cleanup::parents(
                rows.iter()
                    .filter(|r| !r.is_dir)
                    .filter_map(|r| r.destination_path.as_deref()),
            )
        }
    };
    let stale = cleanup::Stale::new(
        unix(state.clock.now()),
        config.lease,
        unix(config.started),
        state.store.backend() == tessera_store::Backend::Sqlite,
    );
    let (dst, tag) = (dst.clone(), tag.clone());
    let (removed, dirs) =
        blocking(move || (cleanup::sweep(dst.as_ref(), &dirs, stale, &tag), dirs)).await?;
    if removed > 0 {
        tracing::info!(task = %task.id, removed, "removed temporary files of a dead worker");
    }
    Ok(dirs)
}

fn unix(secs: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Creates the destination directories (parents first; existing ones are fine).
async fn make_dirs(
    state: &TransferState,
    task: &TaskRecord,
    dst: &Arc<dyn Storage>,
    cancel: &Arc<AtomicBool>,
) -> Result<(), Stop> {
    let dirs: Vec<TaskFileRecord> = pending(state, task)
        .await?
        .into_iter()
        .filter(|r| r.is_dir)
        .collect();
    let (dst, cancel) = (dst.clone(), cancel.clone());
    // In chunks (a connector's storage makes each chunk in one request), so a cancel is seen.
    blocking(move || {
        let paths = dirs
            .iter()
            .map(|d| path(d.destination_path.as_deref().unwrap_or("/")))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in paths.chunks(256) {
            if cancel.load(Ordering::Relaxed) {
                return Err(Stop::Stopped);
            }
            dst.mkdir_all_many(chunk).map_err(|(i, e)| {
                let p = chunk.get(i).map(RelPath::to_api).unwrap_or_default();
                Stop::Fatal(code_of(&e), format!("{p}: {e}"))
            })?;
        }
        Ok(())
    })
    .await?
}

/// `delete_destination_extra`: what the destination of each recursive item has that the source
/// does not, removed.
async fn delete_extras(
    spec: &TaskSpec,
    src: &Arc<dyn Storage>,
    dst: &Arc<dyn Storage>,
) -> Result<(), Stop> {
    let (spec, src, dst) = (spec.clone(), src.clone(), dst.clone());
    blocking(move || {
        for item in &spec.items {
            let from = path(&item.source_path)?;
            let to = path(item.destination_path.as_deref().unwrap_or("/"))?;
            if !matches!(src.stat(&from), Ok(e) if e.kind == EntryKind::Dir) {
                continue;
            }
            let walk = data::walk(src.as_ref(), &from)
                .map_err(|e| Stop::Fatal("FILE_ERROR", e.to_string()))?;
            let extras = data::extras(&walk, &from, dst.as_ref(), &to)
                .map_err(|e| Stop::Fatal("FILE_ERROR", e.to_string()))?;
            for p in extras {
                match dst.remove(&p, true) {
                    Ok(_) | Err(StorageError::NotFound(_)) => {}
                    Err(e) => return Err(Stop::Fatal(code_of(&e), format!("{}: {e}", p.to_api()))),
                }
            }
        }
        Ok(())
    })
    .await?
}

/// A delete task's pending paths, removed in order.
async fn delete_paths(
    state: &TransferState,
    (task, node): (&TaskRecord, &str),
    spec: &TaskSpec,
    storage: &Arc<dyn Storage>,
    cancel: &Arc<AtomicBool>,
) -> Result<(), Stop> {
    let rows = pending(state, task).await?;
    let (storage, cancel, recursive) = (storage.clone(), cancel.clone(), spec.recursive);
    let at = state.clock.now();
    let outcomes = blocking(move || {
        let mut out = Vec::new();
        for r in rows {
            if cancel.load(Ordering::Relaxed) {
                return Err(Stop::Stopped);
            }
            let p = path(&r.source_path)?;
            match storage.remove(&p, recursive) {
                Ok(_) | Err(StorageError::NotFound(_)) => {}
                Err(e) => return Err(Stop::Fatal(code_of(&e), format!("{}: {e}", p.to_api()))),
            }
            out.push(FileOutcomeRecord {
                seq: r.seq,
                state: FileState::Done,
                bytes: 0,
                checksum: None,
                error_code: None,
                error_details: None,
                at,
            });
        }
        Ok(out)
    })
    .await??;
    if !state
        .store
        .record_outcomes(task.id, node, &outcomes, 0)
        .await?
    {
        return Err(Stop::Stopped);
    }
    Ok(())
}
