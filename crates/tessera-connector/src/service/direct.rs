//! A file copied directly between two connectors: the destination connector is given a pull
//! job (the file, a read capability for the source path, a write capability for the
//! destination path) and pulls from the source connector's public URL; this side only watches.
//!
//! A connector that cannot be reached (killed, restarting, network gone) leaves the copy
//! waiting: one event `CONNECTOR_UNREACHABLE` on the task, then a new attempt every
//! `retry_every` until it answers (the job is sent again under the same id and resumes from
//! what already arrived) or the task is canceled or past its deadline (the engine's heartbeat
//! sets `cancel`).
//!
//! With `encrypt_data` the destination pulls over TLS from the source's TLS URL, pinned to the
//! certificate the source stated at check-in (the job carries its fingerprint), and the read
//! capability demands TLS, so the source serves it on no plaintext connection. A connector
//! that has stated no certificate cannot take part (`plaintext_refused`). A certificate other
//! than the pinned one fails the file with a `TLS_PIN_MISMATCH` event; it is not waited for.

use super::remote::RemoteStorage;
use super::Hub;
use crate::capability::{self, Op};
use crate::wire::{self, routes, JobStatus, PullJob, SourceRef};
use ring::digest;
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_store::transfer::EventRecord;
use tessera_transfer::data::{
    same_checksum, CopyOptions, DataError, FileOutcome, Side, SkipReason, SyncLevel,
};
use tessera_transfer::storage::{EntryKind, RelPath, Storage, StorageError};
use uuid::Uuid;

/// Why one round with the destination connector ended early.
pub(super) enum Round<T = JobStatus> {
    /// The job ended; its status.
    Ended(T),
    /// A connector could not be reached: wait and try again.
    Unreachable(String),
    Canceled,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn copy(
    hub: &Hub,
    task: Uuid,
    src: &RemoteStorage,
    from: &RelPath,
    dst: &RemoteStorage,
    to: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<FileOutcome, DataError> {
    let mut waiting: Option<String> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(DataError::Canceled);
        }
        let attempt = attempt(task, src, from, dst, to, opts, progress, cancel);
        let why = match attempt {
            Ok(Round::Ended(status)) if source_unreachable(&status) => {
                status.failure.map(|f| f.message).unwrap_or_default()
            }
            Ok(Round::Ended(status)) => {
                if waiting.is_some() {
                    event(
                        hub,
                        dst,
                        task,
                        "CONNECTOR_REACHABLE",
                        format!(
                            "the connectors answer again; {} continued from byte {}",
                            to.to_api(),
                            status.resumed_from
                        ),
                        false,
                    );
                }
                let done = outcome(status, from, to, opts);
                refusal_event(hub, dst, task, &done);
                return done;
            }
            Ok(Round::Canceled) => return Err(DataError::Canceled),
            Ok(Round::Unreachable(why)) => why,
            Err(e) => {
                let done = Err(e);
                refusal_event(hub, dst, task, &done);
                return done;
            }
        };
        if waiting.is_none() {
            event(hub, dst, task, "CONNECTOR_UNREACHABLE", why.clone(), true);
            waiting = Some(why);
        }
        let until = std::time::Instant::now() + hub.retry_every;
        while std::time::Instant::now() < until {
            if cancel.load(Ordering::Relaxed) {
                return Err(DataError::Canceled);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// The destination could not reach the source: that waits like any unreachable connector.
pub(super) fn source_unreachable(status: &JobStatus) -> bool {
    status.state == "failed"
        && status.failure.as_ref().is_some_and(|f| {
            f.side == "source" && f.kind == "io" && f.message.contains("unreachable")
        })
}

pub(super) fn event(
    hub: &Hub,
    on: &RemoteStorage,
    task: Uuid,
    code: &str,
    details: String,
    is_error: bool,
) {
    let e = EventRecord {
        time: hub.clock.now(),
        code: code.to_owned(),
        description: format!(
            "connector {}: {}",
            on.name,
            code.to_lowercase().replace('_', " ")
        ),
        details,
        is_error,
    };
    if let Err(err) = on.handle.block_on(hub.store.insert_event(task, &e)) {
        tracing::warn!(task = %task, error = %err, "recording a connector event failed");
    }
}

/// A copy that demands TLS to a connector that has not stated a certificate.
pub(super) fn plaintext_refused(r: &RemoteStorage) -> StorageError {
    StorageError::PermissionDenied(format!(
        "encrypt_data: connector {} has stated no TLS certificate, so it cannot be reached \
         over TLS; plaintext refused",
        r.name
    ))
}

/// An event for a file refused for its transport: a certificate other than the pinned one, or
/// plaintext where the task demands TLS.
pub(super) fn refusal_event(
    hub: &Hub,
    on: &RemoteStorage,
    task: Uuid,
    done: &Result<FileOutcome, DataError>,
) {
    let Err(DataError::Storage {
        error: StorageError::PermissionDenied(m),
        ..
    }) = done
    else {
        return;
    };
    if m.contains(crate::pin::MISMATCH) {
        event(hub, on, task, "TLS_PIN_MISMATCH", m.clone(), true);
    } else if m.contains("plaintext refused") {
        event(hub, on, task, "PLAINTEXT_REFUSED", m.clone(), true);
    }
}

fn unreachable(e: &StorageError) -> Option<String> {
    match e {
        StorageError::Io(m) if m.contains("unreachable") || m.contains("answered 5") => {
            Some(m.clone())
        }
        _ => None,
    }
}

/// The sync level's verdict on metadata (and, for level 3, the connectors' checksums).
fn in_sync(
    level: SyncLevel,
    src: &RemoteStorage,
    from: &RelPath,
    dst: &RemoteStorage,
    to: &RelPath,
    alg: &str,
) -> Result<Option<SkipReason>, StorageError> {
    let s = src.stat(from)?;
    let d = match dst.stat(to) {
        Ok(d) if d.kind == EntryKind::File => d,
        Ok(_) | Err(StorageError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(match level {
        SyncLevel::Exists => Some(SkipReason::Exists),
        SyncLevel::Size if s.size == d.size => Some(SkipReason::SameSize),
        SyncLevel::Mtime if s.size == d.size && d.modified >= s.modified => {
            Some(SkipReason::NotNewer)
        }
        SyncLevel::Checksum if s.size == d.size => (src.checksum(from, alg, None)?
            == dst.checksum(to, alg, None)?)
        .then_some(SkipReason::SameChecksum),
        _ => None,
    })
}

fn job_id(task: Uuid, to: &RelPath) -> String {
    let d = digest::digest(&digest::SHA256, to.to_api().as_bytes());
    let hex: String = d.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{hex}", task.simple())
}

#[allow(clippy::too_many_arguments)]
fn attempt(
    task: Uuid,
    src: &RemoteStorage,
    from: &RelPath,
    dst: &RemoteStorage,
    to: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Round, DataError> {
    let alg = opts.checksum_algorithm.name().to_owned();
    if let Some(level) = opts.sync_level {
        match in_sync(level, src, from, dst, to, &alg) {
            Ok(Some(reason)) => return Ok(Round::Ended(skipped(reason))),
            Ok(None) => {}
            Err(e) => match unreachable(&e) {
                Some(why) => return Ok(Round::Unreachable(why)),
                None => {
                    return Err(DataError::Storage {
                        side: Side::Source,
                        error: e,
                    })
                }
            },
        }
    }
    // Connector to connector: over TLS when the task demands it (or the source only speaks
    // TLS), else in plaintext at the source's public URL (the fastest).
    let url = if opts.encrypt_data {
        if src.fingerprint.is_none() {
            return Err(DataError::Storage {
                side: Side::Source,
                error: plaintext_refused(src),
            });
        }
        crate::pin::tls_url(&src.public)
    } else {
        src.public.clone()
    };
    let tls = url.starts_with("https://");
    let job = PullJob {
        id: job_id(task, to),
        task: Some(task.to_string()),
        path: to.to_api(),
        source: SourceRef {
            capability: src.capability_over(
                vec![Op::Read, Op::Stat],
                vec![from.to_api()],
                capability::JOB_TTL,
                tls,
            ),
            url,
            cert_fingerprint: src.fingerprint.clone(),
            path: from.to_api(),
        },
        checksum_algorithm: alg,
        verify_checksum: opts.verify_checksum,
        external_checksum: opts.external_checksum.clone(),
        preserve_timestamp: opts.preserve_timestamp,
        fsync: opts.fsync,
        encrypt: opts.encrypt_data,
    };
    let cap = dst.capability(vec![Op::Write], vec![to.to_api()], capability::JOB_TTL);
    let url = format!("{}{}", dst.base, routes::JOB.replace("{id}", &job.id));
    run_job(dst, routes::PULL, &url, &cap, &job, progress, cancel)
}

/// What the service reads of a job's status while it watches the job.
pub(super) trait Watched: serde::de::DeserializeOwned {
    fn bytes(&self) -> u64;
    fn running(&self) -> bool;
}

impl Watched for JobStatus {
    fn bytes(&self) -> u64 {
        self.bytes
    }
    fn running(&self) -> bool {
        self.state == "running"
    }
}

/// Starts a job on the destination connector (`POST start` with `job`, under `cap`) and watches
/// it at `url` until it ends; a cancel stops it there (`DELETE`). A connector that cannot be
/// reached, or that restarted and forgot the job, ends the round as `Unreachable`: the caller
/// waits and sends the job again under the same id.
pub(super) fn run_job<S: Watched>(
    dst: &RemoteStorage,
    start: &str,
    url: &str,
    cap: &str,
    job: &impl serde::Serialize,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Round<S>, DataError> {
    let sent = dst
        .http
        .post(format!("{}{}", dst.base, start))
        .header(wire::CAPABILITY_HEADER, cap)
        .json(job)
        .send();
    let mut status: S = match answer(dst, dst.handle.block_on(sent))? {
        Ok(s) => s,
        Err(why) => return Ok(Round::Unreachable(why)),
    };
    loop {
        progress(status.bytes());
        if !status.running() {
            return Ok(Round::Ended(status));
        }
        if cancel.load(Ordering::Relaxed) {
            let stop = dst
                .http
                .delete(url)
                .header(wire::CAPABILITY_HEADER, cap)
                .send();
            let _ = dst.handle.block_on(stop);
            return Ok(Round::Canceled);
        }
        let next = dst
            .http
            .get(url)
            .query(&[("wait", "1")])
            .header(wire::CAPABILITY_HEADER, cap)
            .send();
        status = match answer(dst, dst.handle.block_on(next))? {
            Ok(s) => s,
            // A connector that restarted has forgotten the job: it is sent again.
            Err(why) => return Ok(Round::Unreachable(why)),
        };
    }
}

/// A job's status, `Err(why)` when the connector cannot be reached (or forgot the job), or a
/// refusal.
pub(super) fn answer<T: serde::de::DeserializeOwned>(
    dst: &RemoteStorage,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Result<T, String>, DataError> {
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            return match dst.unreachable(&e) {
                StorageError::Io(why) => Ok(Err(why)),
                error => Err(DataError::Storage {
                    side: Side::Destination,
                    error,
                }),
            }
        }
    };
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(Err(format!(
            "connector {} lost the job (restarted)",
            dst.name
        )));
    }
    if status.is_server_error() {
        return Ok(Err(format!("connector {} answered {status}", dst.name)));
    }
    if !status.is_success() {
        return Err(DataError::Storage {
            side: Side::Destination,
            error: dst.error_of(resp),
        });
    }
    match dst.handle.block_on(resp.json::<T>()) {
        Ok(s) => Ok(Ok(s)),
        Err(e) => Ok(Err(format!("connector {} unreadable: {e}", dst.name))),
    }
}

fn skipped(reason: SkipReason) -> JobStatus {
    JobStatus {
        id: String::new(),
        state: format!("skipped:{reason:?}"),
        bytes: 0,
        resumed_from: 0,
        checksum: None,
        failure: None,
    }
}

pub(super) fn outcome(
    status: JobStatus,
    from: &RelPath,
    to: &RelPath,
    opts: &CopyOptions,
) -> Result<FileOutcome, DataError> {
    if let Some(reason) = status.state.strip_prefix("skipped:") {
        let reason = match reason {
            "Exists" => SkipReason::Exists,
            "SameSize" => SkipReason::SameSize,
            "NotNewer" => SkipReason::NotNewer,
            _ => SkipReason::SameChecksum,
        };
        return Ok(FileOutcome::Skipped { reason });
    }
    if status.state == "done" {
        if let (Some(given), Some(ours)) = (&opts.external_checksum, &status.checksum) {
            if !same_checksum(opts.checksum_algorithm, given, ours) {
                return Err(DataError::ChecksumMismatch {
                    side: Side::Source,
                    path: from.to_api(),
                    expected: given.clone(),
                    actual: ours.clone(),
                });
            }
        }
        return Ok(FileOutcome::Copied {
            bytes: status.bytes,
            checksum: status.checksum,
        });
    }
    let failure = status.failure.unwrap_or(wire::JobFailure {
        side: "destination".into(),
        kind: "io".into(),
        message: format!("the job ended {}", status.state),
    });
    match failure.side.as_str() {
        "checksum" => Err(DataError::ChecksumMismatch {
            side: Side::Destination,
            path: to.to_api(),
            expected: String::new(),
            actual: failure.message,
        }),
        "source_checksum" => Err(DataError::ChecksumMismatch {
            side: Side::Source,
            path: from.to_api(),
            expected: opts.external_checksum.clone().unwrap_or_default(),
            actual: failure.message,
        }),
        side => Err(DataError::Storage {
            side: if side == "source" {
                Side::Source
            } else {
                Side::Destination
            },
            error: wire::ErrorDoc {
                kind: failure.kind,
                message: failure.message,
            }
            .into(),
        }),
    }
}
