//! Pull jobs: started by `POST /connector/v1/pull` (idempotent by job id: a retry attaches to
//! the running job, or gets the recorded result of a finished one), watched with
//! `GET /connector/v1/jobs/{id}?wait=1` (answers when it ends, or after a second), stopped with
//! `DELETE`. A finished job's status is kept in the state directory (`jobs/`), and a report of
//! it (`reports/`) until the service acknowledges it at a check-in.

use super::{pull, Agent, Failure};
use crate::capability::Op;
use crate::wire::{JobReport, JobStatus, PullJob};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_transfer::storage::RelPath;

/// One job in this process.
pub(crate) struct Job {
    pub(crate) spec: PullJob,
    pub(crate) root: String,
    pub(crate) bytes: AtomicU64,
    pub(crate) resumed_from: AtomicU64,
    pub(crate) cancel: AtomicBool,
    pub(crate) end: Mutex<Option<JobStatus>>,
    done: tokio::sync::Notify,
}

impl Job {
    fn status(&self) -> JobStatus {
        if let Some(s) = self.end.lock().ok().and_then(|e| e.clone()) {
            return s;
        }
        JobStatus {
            id: self.spec.id.clone(),
            state: "running".into(),
            bytes: self.bytes.load(Ordering::Relaxed),
            resumed_from: self.resumed_from.load(Ordering::Relaxed),
            checksum: None,
            failure: None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Jobs(Mutex<HashMap<String, Arc<Job>>>);

/// A job or task id: 1 to 100 letters, digits and '-' (it names files in the state directory).
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// What was kept in the state directory as `dir/name` (a finished job's end), if anything.
pub(crate) fn read_state<T: serde::de::DeserializeOwned>(
    a: &Agent,
    dir: &str,
    name: &str,
) -> Option<T> {
    let data = std::fs::read(a.state_dir.join(dir).join(name)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// Keeps `value` in the state directory as `dir/name`, whole or not at all (a temporary file
/// renamed into place); a failure is logged, not fatal.
pub(crate) fn write_state(a: &Agent, dir: &str, name: &str, value: &impl serde::Serialize) {
    let path = a.state_dir.join(dir).join(name);
    let tmp = path.with_extension("tmp");
    let ok = serde_json::to_vec(value)
        .map_err(std::io::Error::other)
        .and_then(|data| std::fs::write(&tmp, data))
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = ok {
        tracing::warn!(error = %e, "recording a job's end in the state directory failed");
    }
}

/// The recorded end of a job finished earlier (this run or a previous one).
fn recorded(a: &Agent, id: &str) -> Option<JobStatus> {
    read_state(a, "jobs", &format!("{id}.json"))
}

fn record(a: &Agent, job: &Job, status: &JobStatus) {
    let name = format!("{}.json", job.spec.id);
    if status.state == "done" {
        write_state(a, "jobs", &name, status);
    }
    let report = JobReport {
        job: job.spec.id.clone(),
        task: job.spec.task.clone(),
        path: job.spec.path.clone(),
        ok: status.state == "done",
        bytes: status.bytes,
        detail: status
            .failure
            .as_ref()
            .map(|f| format!("{}: {}", f.side, f.message))
            .unwrap_or_else(|| format!("resumed from byte {}", status.resumed_from)),
    };
    write_state(a, "reports", &name, &report);
}

async fn wait(job: &Job, for_: Duration) -> JobStatus {
    let ended = job.done.notified();
    let s = job.status();
    if s.state != "running" {
        return s;
    }
    let _ = tokio::time::timeout(for_, ended).await;
    job.status()
}

pub(super) async fn start(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Json(spec): Json<PullJob>,
) -> Result<Json<JobStatus>, Failure> {
    if !valid_id(&spec.id) {
        return Err(Failure::bad("a job id is 1 to 100 letters, digits and '-'"));
    }
    let path = RelPath::parse(&spec.path).map_err(Failure::Storage)?;
    let claims = a.authorize(&h, Op::Write, &[&path])?;
    if let Some(done) = recorded(&a, &spec.id) {
        return Ok(Json(done));
    }
    let (job, fresh) = {
        let mut jobs = a.jobs.0.lock().map_err(|_| Failure::bad("jobs"))?;
        match jobs.get(&spec.id) {
            // A finished job that failed is started again (the caller retries it).
            Some(j) if j.status().state == "running" => (j.clone(), false),
            _ => {
                let j = Arc::new(Job {
                    spec: spec.clone(),
                    root: claims.root.clone(),
                    bytes: AtomicU64::new(0),
                    resumed_from: AtomicU64::new(0),
                    cancel: AtomicBool::new(false),
                    end: Mutex::new(None),
                    done: tokio::sync::Notify::new(),
                });
                jobs.insert(spec.id.clone(), j.clone());
                (j, true)
            }
        }
    };
    if job.root != claims.root || job.spec.path != spec.path {
        return Err(Failure::bad("this job id is another file's"));
    }
    if fresh {
        let (agent, job2) = (a.clone(), job.clone());
        tokio::task::spawn_blocking(move || {
            let status = pull::run(&agent, &job2);
            record(&agent, &job2, &status);
            if let Ok(mut end) = job2.end.lock() {
                *end = Some(status);
            }
            job2.done.notify_waiters();
        });
    }
    Ok(Json(wait(&job, Duration::from_millis(500)).await))
}

/// The job `id` for a capability that may manage it. The capability is checked before the
/// job is looked up, so a request without a valid write capability learns nothing of which job
/// ids exist.
fn find(a: &Agent, h: &HeaderMap, id: &str) -> Result<Arc<Job>, Failure> {
    let claims = a.authorize(h, Op::Write, &[])?;
    if !claims.ops.contains(&Op::Write) {
        return Err(Failure::Refused(crate::capability::Refused::Operation(
            Op::Write,
        )));
    }
    let job = a
        .jobs
        .0
        .lock()
        .map_err(|_| Failure::bad("jobs"))?
        .get(id)
        .cloned()
        .ok_or_else(|| Failure::Status(StatusCode::NOT_FOUND, format!("no job {id}")))?;
    let path = RelPath::parse(&job.spec.path).map_err(Failure::Storage)?;
    claims.allows(Op::Write, &path).map_err(Failure::Refused)?;
    if claims.root != job.root {
        return Err(Failure::Status(
            StatusCode::NOT_FOUND,
            format!("no job {id}"),
        ));
    }
    Ok(job)
}

pub(super) async fn status(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): super::server::Q,
) -> Result<Json<JobStatus>, Failure> {
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
) -> Result<Json<JobStatus>, Failure> {
    let job = find(&a, &h, &id)?;
    job.cancel.store(true, Ordering::Relaxed);
    Ok(Json(wait(&job, Duration::from_secs(2)).await))
}
