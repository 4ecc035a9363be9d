//! Batch jobs: many small files pulled from one source connector in one stream
//! (`batch_run.rs`). Started by `POST /connector/v1/batch` (idempotent by job id, like a pull
//! job: a retry attaches to the running job or gets the recorded end of a finished one),
//! watched with `GET /connector/v1/batches/{id}?wait=1`, stopped with `DELETE`. The write
//! capability must cover every destination path of the batch.

use super::jobs::{read_state, valid_id, write_state};
use super::{batch_run, Agent, Failure};
use crate::capability::Op;
use crate::wire::JobReport;
use crate::wire_batch::{BatchJob, BatchStatus, MAX_FILES};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_transfer::storage::RelPath;

/// One batch job in this process.
pub(crate) struct Batch {
    pub(crate) spec: BatchJob,
    pub(crate) root: String,
    pub(crate) bytes: AtomicU64,
    pub(crate) files_done: AtomicU64,
    pub(crate) cancel: AtomicBool,
    end: Mutex<Option<BatchStatus>>,
    done: tokio::sync::Notify,
}

impl Batch {
    fn status(&self) -> BatchStatus {
        if let Some(s) = self.end.lock().ok().and_then(|e| e.clone()) {
            return s;
        }
        BatchStatus {
            id: self.spec.id.clone(),
            state: "running".into(),
            bytes: self.bytes.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            files: Vec::new(),
            failure: None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Batches(Mutex<HashMap<String, Arc<Batch>>>);

fn recorded(a: &Agent, id: &str) -> Option<BatchStatus> {
    read_state(a, "jobs", &format!("{id}.batch.json"))
}

fn record(a: &Agent, job: &Batch, status: &BatchStatus) {
    let id = &job.spec.id;
    let failed = status.files.iter().filter(|f| f.state == "failed").count();
    // Only a batch whose every file is done or skipped is answered from the record: a file
    // that failed is tried again when the batch is sent again.
    if status.state == "done" && failed == 0 {
        write_state(a, "jobs", &format!("{id}.batch.json"), status);
    }
    let report = JobReport {
        job: id.clone(),
        task: job.spec.task.clone(),
        path: format!("{} files", job.spec.files.len()),
        ok: status.state == "done" && failed == 0,
        bytes: status.bytes,
        detail: match &status.failure {
            Some(f) => format!("{}: {}", f.side, f.message),
            None => format!("{} files done, {failed} failed", status.files_done),
        },
    };
    write_state(a, "reports", &format!("{id}.json"), &report);
}

async fn wait(job: &Batch, for_: Duration) -> BatchStatus {
    let ended = job.done.notified();
    let s = job.status();
    if s.state != "running" {
        return s;
    }
    let _ = tokio::time::timeout(for_, ended).await;
    job.status()
}

fn dest_paths(spec: &BatchJob) -> Result<Vec<RelPath>, Failure> {
    spec.files
        .iter()
        .map(|f| RelPath::parse(&f.path).map_err(Failure::Storage))
        .collect()
}

pub(super) async fn start(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Json(spec): Json<BatchJob>,
) -> Result<Json<BatchStatus>, Failure> {
    if !valid_id(&spec.id) || spec.task.as_deref().is_some_and(|t| !valid_id(t)) {
        return Err(Failure::bad(
            "a job or task id is 1 to 100 letters, digits and '-'",
        ));
    }
    if spec.temp_tag.as_deref().is_some_and(|t| {
        t.is_empty() || t.len() > 50 || !t.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f' | '-'))
    }) {
        return Err(Failure::bad(
            "a temporary tag is 1 to 50 of 0-9, a-f and '-'",
        ));
    }
    if spec.files.is_empty() || spec.files.len() > MAX_FILES {
        return Err(Failure::bad(format!("a batch has 1 to {MAX_FILES} files")));
    }
    let paths = dest_paths(&spec)?;
    let refs: Vec<&RelPath> = paths.iter().collect();
    let claims = a.authorize(&h, Op::Write, &refs)?;
    if let Some(done) = recorded(&a, &spec.id) {
        return Ok(Json(done));
    }
    let (job, fresh) = {
        let mut jobs = a.batches.0.lock().map_err(|_| Failure::bad("jobs"))?;
        match jobs.get(&spec.id) {
            Some(j) if j.status().state == "running" => (j.clone(), false),
            _ => {
                let j = Arc::new(Batch {
                    spec: spec.clone(),
                    root: claims.root.clone(),
                    bytes: AtomicU64::new(0),
                    files_done: AtomicU64::new(0),
                    cancel: AtomicBool::new(false),
                    end: Mutex::new(None),
                    done: tokio::sync::Notify::new(),
                });
                jobs.insert(spec.id.clone(), j.clone());
                (j, true)
            }
        }
    };
    if job.root != claims.root || job.spec.files != spec.files {
        return Err(Failure::bad("this job id is another batch's"));
    }
    if fresh {
        let (agent, job2) = (a.clone(), job.clone());
        tokio::task::spawn_blocking(move || {
            let status = batch_run::run(&agent, &job2);
            record(&agent, &job2, &status);
            if let Ok(mut end) = job2.end.lock() {
                *end = Some(status);
            }
            job2.done.notify_waiters();
        });
    }
    Ok(Json(wait(&job, Duration::from_millis(500)).await))
}

/// The batch `id` for a capability that covers all its files (checked before the lookup, so a
/// request without a valid write capability learns nothing of which ids exist).
fn find(a: &Agent, h: &HeaderMap, id: &str) -> Result<Arc<Batch>, Failure> {
    let claims = a.authorize(h, Op::Write, &[])?;
    if !claims.ops.contains(&Op::Write) {
        return Err(Failure::Refused(crate::capability::Refused::Operation(
            Op::Write,
        )));
    }
    let missing = || Failure::Status(StatusCode::NOT_FOUND, format!("no batch {id}"));
    let job = a
        .batches
        .0
        .lock()
        .map_err(|_| Failure::bad("jobs"))?
        .get(id)
        .cloned()
        .ok_or_else(missing)?;
    for p in dest_paths(&job.spec)? {
        claims.allows(Op::Write, &p).map_err(Failure::Refused)?;
    }
    if claims.root != job.root {
        return Err(missing());
    }
    Ok(job)
}

pub(super) async fn status(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): super::server::Q,
) -> Result<Json<BatchStatus>, Failure> {
    let job = find(&a, &h, &id)?;
    let for_ = if q.contains_key("wait") {
        Duration::from_secs(1)
    } else {
        Duration::ZERO
    };
    Ok(Json(wait(&job, for_).await))
}

pub(super) async fn cancel(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<BatchStatus>, Failure> {
    let job = find(&a, &h, &id)?;
    job.cancel.store(true, Ordering::Relaxed);
    Ok(Json(wait(&job, Duration::from_secs(2)).await))
}
