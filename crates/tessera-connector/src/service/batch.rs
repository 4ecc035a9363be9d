//! Many small files copied directly between two connectors in one job: the destination
//! connector is given a batch job (the files, a read capability for exactly their source
//! paths, a write capability for exactly their destination paths) and fetches them all from
//! the source connector in one stream (`crate::stream`); this side watches the one job and
//! turns its per-file outcomes into the task's.
//!
//! Waiting, events and TLS are those of a single file (`direct.rs`): an unreachable connector
//! (either one, or a stream cut short) leaves the batch waiting with one
//! `CONNECTOR_UNREACHABLE` event; it is sent again under the same id, and the destination's
//! ledger answers the files it had already made durable without fetching them again.

use super::direct::{self, Round};
use super::remote::RemoteStorage;
use super::Hub;
use crate::capability::{self, Op};
use crate::wire::{self, JobFailure, JobStatus, SourceRef};
use crate::wire_batch::{routes, BatchFile, BatchJob, BatchStatus};
use ring::digest;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_transfer::data::{CopyOptions, DataError, FileOutcome, Side};
use tessera_transfer::storage::{RelPath, StorageError};
use uuid::Uuid;

type Outcomes = Vec<Result<FileOutcome, DataError>>;

fn all(n: usize, e: impl Fn() -> DataError) -> Outcomes {
    (0..n).map(|_| Err(e())).collect()
}

pub(super) fn copy(
    hub: &Hub,
    task: Uuid,
    src: &RemoteStorage,
    dst: &RemoteStorage,
    files: &[(RelPath, RelPath, CopyOptions)],
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Outcomes {
    let n = files.len();
    let mut waiting: Option<String> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return all(n, || DataError::Canceled);
        }
        let why = match attempt(task, src, dst, files, progress, cancel) {
            Ok(Round::Ended(status)) => {
                let whole = as_job(&status);
                if direct::source_unreachable(&whole) {
                    whole.failure.map(|f| f.message).unwrap_or_default()
                } else {
                    if waiting.is_some() {
                        direct::event(
                            hub,
                            dst,
                            task,
                            "CONNECTOR_REACHABLE",
                            format!(
                                "the connectors answer again; a batch of {n} files continued \
                                 ({} already done)",
                                status.files_done
                            ),
                            false,
                        );
                    }
                    return outcomes(hub, task, dst, status, files);
                }
            }
            Ok(Round::Canceled) => return all(n, || DataError::Canceled),
            Ok(Round::Unreachable(why)) => why,
            Err(e) => {
                let first = Err(e);
                direct::refusal_event(hub, dst, task, &first);
                let rest: Outcomes = (1..n).map(|_| Err(copy_error(&first))).collect();
                let mut out = vec![first];
                out.extend(rest);
                return out;
            }
        };
        if waiting.is_none() {
            direct::event(hub, dst, task, "CONNECTOR_UNREACHABLE", why.clone(), true);
            waiting = Some(why);
        }
        let until = std::time::Instant::now() + hub.retry_every;
        while std::time::Instant::now() < until {
            if cancel.load(Ordering::Relaxed) {
                return all(n, || DataError::Canceled);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// The same failure for another file of the batch.
fn copy_error(e: &Result<FileOutcome, DataError>) -> DataError {
    match e {
        Err(DataError::Storage { side, error }) => DataError::Storage {
            side: *side,
            error: wire::ErrorDoc::from(error).into(),
        },
        Err(DataError::Canceled) => DataError::Canceled,
        _ => DataError::Storage {
            side: Side::Destination,
            error: StorageError::Io("the batch failed".into()),
        },
    }
}

/// The batch's own state as a single job's (for `direct::source_unreachable`).
fn as_job(status: &BatchStatus) -> JobStatus {
    JobStatus {
        id: status.id.clone(),
        state: status.state.clone(),
        bytes: status.bytes,
        resumed_from: 0,
        checksum: None,
        failure: status.failure.clone(),
    }
}

/// Each file's outcome; a file the batch did not finish takes the batch's failure.
fn outcomes(
    hub: &Hub,
    task: Uuid,
    dst: &RemoteStorage,
    status: BatchStatus,
    files: &[(RelPath, RelPath, CopyOptions)],
) -> Outcomes {
    let mut by_path: HashMap<String, _> = status
        .files
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    let batch_failure = status.failure.unwrap_or(JobFailure {
        side: "destination".into(),
        kind: "io".into(),
        message: format!("the batch ended {} without this file", status.state),
    });
    let mut evented = false;
    files
        .iter()
        .map(|(from, to, opts)| {
            let job = match by_path.remove(&to.to_api()) {
                Some(f) => JobStatus {
                    id: String::new(),
                    state: f.state,
                    bytes: f.bytes,
                    resumed_from: 0,
                    checksum: f.checksum,
                    failure: f.failure,
                },
                None => JobStatus {
                    id: String::new(),
                    state: "failed".into(),
                    bytes: 0,
                    resumed_from: 0,
                    checksum: None,
                    failure: Some(batch_failure.clone()),
                },
            };
            let done = direct::outcome(job, from, to, opts);
            if !evented && done.is_err() {
                // One refusal event per batch (a pin mismatch fails every file).
                direct::refusal_event(hub, dst, task, &done);
                evented = true;
            }
            done
        })
        .collect()
}

fn job_id(task: Uuid, files: &[(RelPath, RelPath, CopyOptions)]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for (_, to, _) in files {
        ctx.update(to.to_api().as_bytes());
        ctx.update(b"\n");
    }
    let hex: String = ctx.finish().as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-b{hex}", task.simple())
}

fn attempt(
    task: Uuid,
    src: &RemoteStorage,
    dst: &RemoteStorage,
    files: &[(RelPath, RelPath, CopyOptions)],
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Round<BatchStatus>, DataError> {
    let Some((_, _, opts)) = files.first() else {
        return Ok(Round::Ended(BatchStatus {
            id: String::new(),
            state: "done".into(),
            bytes: 0,
            files_done: 0,
            files: Vec::new(),
            failure: None,
        }));
    };
    let url = if opts.encrypt_data {
        if src.fingerprint.is_none() {
            return Err(DataError::Storage {
                side: Side::Source,
                error: direct::plaintext_refused(src),
            });
        }
        crate::pin::tls_url(&src.public)
    } else {
        src.public.clone()
    };
    let tls = url.starts_with("https://");
    let job = BatchJob {
        id: job_id(task, files),
        task: Some(task.to_string()),
        source: SourceRef {
            capability: src.capability_over(
                vec![Op::Read, Op::Stat],
                files.iter().map(|(from, _, _)| from.to_api()).collect(),
                capability::JOB_TTL,
                tls,
            ),
            url,
            cert_fingerprint: src.fingerprint.clone(),
            path: String::new(),
        },
        files: files
            .iter()
            .map(|(from, to, o)| BatchFile {
                path: to.to_api(),
                source_path: from.to_api(),
                checksum_algorithm: o.checksum_algorithm.name().to_owned(),
            })
            .collect(),
        verify_checksum: opts.verify_checksum
            || files.iter().any(|f| f.2.external_checksum.is_some()),
        preserve_timestamp: opts.preserve_timestamp,
        sync_level: opts.sync_level.map(|l| l as u8),
        fsync: opts.fsync,
        encrypt: opts.encrypt_data,
        temp_tag: opts.temp_tag.clone(),
    };
    let cap = dst.capability(
        vec![Op::Write],
        files.iter().map(|(_, to, _)| to.to_api()).collect(),
        capability::JOB_TTL,
    );
    let url = format!("{}{}", dst.base, routes::BATCH_JOB.replace("{id}", &job.id));
    direct::run_job(dst, routes::BATCH, &url, &cap, &job, progress, cancel)
}

impl direct::Watched for BatchStatus {
    fn bytes(&self) -> u64 {
        self.bytes
    }
    fn running(&self) -> bool {
        self.state == "running"
    }
}
