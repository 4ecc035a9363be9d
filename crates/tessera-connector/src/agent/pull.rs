//! A pull: this connector fetches one file from another connector's public URL and writes it
//! under its destination path.
//!
//! - An `https://` source is reached over TLS and must present the certificate whose SHA-256
//!   the job names (`crate::pin`); another certificate fails the job (`permission_denied`),
//!   it is not waited for like an unreachable connector. A job with `encrypt` refuses a
//!   plaintext source.
//! - The bytes go to a partial file with a stable name (`PosixStorage::open_partial`, tagged
//!   by destination, source, size and mtime), so an interrupted pull (this connector or the
//!   source killed, the network gone) resumes from what already arrived, once the source's
//!   checksum of that prefix matches ours.
//! - A large file is fetched in blocks by several ranged GETs at once and written in order
//!   (the reorder window is bounded), so the partial file is always one verified prefix
//!   (`fetch.rs`); with `verify_checksum` our checksum is computed while writing, on a thread
//!   of its own. Without it (and no external checksum) nothing is hashed.
//! - With `verify_checksum` (or an external checksum) the source computes its checksum of the
//!   whole file, while the bytes come; a mismatch drops the partial file and fails the job.
//! - Cancel is prompt: the source's checksum is a task of its own, dropped on cancel (the
//!   source then stops hashing), never waited for.
//! - The commit sets mode and (when asked) mtime, syncs, and renames into place.

use super::fetch;
use super::jobs::Job;
use super::source::Remote;
use super::{storage_of, Agent};
use crate::capability::Claims;
use crate::wire::{ErrorDoc, JobFailure, JobStatus};
use ring::digest;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, UNIX_EPOCH};
use tessera_transfer::data::{ChecksumAlgorithm, Hasher};
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::{Entry, RelPath, StorageError, WriteFile};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// How often a wait for the source's checksum looks at cancel.
const CANCEL_POLL: Duration = Duration::from_millis(50);

pub(super) struct Fail(pub(super) JobFailure);

pub(super) fn fail(side: &str, e: &StorageError) -> Fail {
    let doc = ErrorDoc::from(e);
    Fail(JobFailure {
        side: side.into(),
        kind: doc.kind,
        message: doc.message,
    })
}

pub(super) fn run(agent: &Agent, job: &Job) -> JobStatus {
    let handle = Handle::current();
    let mut status = JobStatus {
        id: job.spec.id.clone(),
        state: "done".into(),
        bytes: 0,
        resumed_from: 0,
        checksum: None,
        failure: None,
    };
    match pull(agent, job, &handle) {
        Ok((bytes, checksum)) => {
            status.bytes = bytes;
            status.checksum = checksum;
        }
        Err(Fail(f)) => {
            status.state = if job.cancel.load(Ordering::Relaxed) {
                "canceled".into()
            } else {
                "failed".into()
            };
            status.bytes = job.bytes.load(Ordering::Relaxed);
            status.failure = Some(f);
        }
    }
    status.resumed_from = job.resumed_from.load(Ordering::Relaxed);
    status
}

fn tag(job: &Job, entry: &Entry) -> String {
    let mtime = entry
        .modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = format!(
        "{}\n{}\n{}\n{}\n{mtime}",
        job.spec.path, job.spec.source.url, job.spec.source.path, entry.size
    );
    let d = digest::digest(&digest::SHA256, key.as_bytes());
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pull(agent: &Agent, job: &Job, handle: &Handle) -> Result<(u64, Option<String>), Fail> {
    let claims = Claims {
        c: agent.id,
        root: job.root.clone(),
        ops: Vec::new(),
        paths: Vec::new(),
        exp: 0,
        tls: false,
    };
    let dest = |e: StorageError| fail("destination", &e);
    let storage = storage_of(&claims).map_err(dest)?;
    let to = RelPath::parse(&job.spec.path).map_err(dest)?;
    let alg: ChecksumAlgorithm = job
        .spec
        .checksum_algorithm
        .parse()
        .map_err(|_| dest(StorageError::InvalidPath("checksum algorithm".into())))?;
    let base = job.spec.source.url.trim_end_matches('/').to_owned();
    if job.spec.encrypt && !base.starts_with("https://") {
        return Err(fail(
            "source",
            &StorageError::PermissionDenied(format!(
                "encrypt_data: the source {base} is not a TLS URL; plaintext refused"
            )),
        ));
    }
    tracing::info!(job = %job.spec.id, source = %base, tls = base.starts_with("https://"), "pulling");
    let http = agent
        .peers
        .for_url(&base, job.spec.source.cert_fingerprint.as_deref())
        .map_err(|e| fail("source", &StorageError::PermissionDenied(e)))?;
    let src = Remote {
        http,
        base,
        capability: job.spec.source.capability.clone(),
        path: job.spec.source.path.clone(),
    };
    let entry = handle.block_on(src.stat())?;
    if entry.kind != tessera_transfer::storage::EntryKind::File {
        return Err(fail(
            "source",
            &StorageError::IsADirectory(job.spec.source.path.clone()),
        ));
    }
    let size = entry.size;
    let tag = tag(job, &entry);
    let (mut writer, mut have) = storage.open_partial(&to, &tag, false).map_err(dest)?;
    // Checksums are computed where they are used (as in the local engine): ours only for
    // `verify_checksum`, the source's also for an external checksum; without either the
    // bytes are not hashed at all.
    let want_theirs = job.spec.verify_checksum || job.spec.external_checksum.is_some();
    let mut hasher = job.spec.verify_checksum.then(|| alg.hasher());
    if have > size {
        (writer, have) = storage.open_partial(&to, &tag, true).map_err(dest)?;
    }
    let canceled = || {
        drop_partial(&storage, &to, &tag);
        fail("destination", &StorageError::Io("canceled".into()))
    };
    if have > 0 {
        // What arrived before must be the source's first bytes.
        let mut check = alg.hasher();
        let mut hashers = vec![&mut check];
        hashers.extend(hasher.as_mut());
        read_prefix(writer.as_ref(), have, &mut hashers).map_err(dest)?;
        let r = src.clone();
        let theirs = handle.spawn(async move { r.checksum(alg, Some(have)).await });
        let Some(theirs) = until_done(handle, job, theirs) else {
            drop(writer);
            return Err(canceled());
        };
        if theirs? != check.finish() {
            tracing::info!(job = %job.spec.id, have, "the partial file differs from the source; starting over");
            (writer, have) = storage.open_partial(&to, &tag, true).map_err(dest)?;
            hasher = job.spec.verify_checksum.then(|| alg.hasher());
        } else {
            tracing::info!(job = %job.spec.id, have, "resuming a partial file");
        }
    }
    job.resumed_from.store(have, Ordering::Relaxed);
    job.bytes.store(have, Ordering::Relaxed);
    // The source's checksum of the whole file is computed while the bytes come (its own read
    // of the file, on its side), not after them: the verify costs no extra wall time. It is a
    // task of its own: a canceled or failed pull drops it (and the source stops hashing)
    // instead of waiting for it.
    let theirs = want_theirs.then(|| {
        let r = src.clone();
        handle.spawn(async move { r.checksum(alg, None).await })
    });
    let fetched = fetch::fetch(
        &src,
        handle,
        job,
        have,
        size,
        writer.as_mut(),
        hasher.as_mut(),
    );
    if fetched.is_err() || job.cancel.load(Ordering::Relaxed) {
        if let Some(t) = &theirs {
            t.abort();
        }
    }
    fetched?;
    let theirs = match theirs {
        Some(t) if !job.cancel.load(Ordering::Relaxed) => until_done(handle, job, t),
        _ => None,
    };
    if job.cancel.load(Ordering::Relaxed) {
        drop(writer);
        return Err(canceled());
    }
    let ours = hasher.map(Hasher::finish).unwrap_or_default();
    let checksum = if let Some(theirs) = theirs {
        let theirs = theirs?;
        if job.spec.verify_checksum && theirs != ours {
            drop(writer);
            drop_partial(&storage, &to, &tag);
            return Err(Fail(JobFailure {
                side: "checksum".into(),
                kind: "io".into(),
                message: format!("source {theirs}, destination {ours}"),
            }));
        }
        Some(theirs)
    } else {
        None
    };
    writer
        .commit(
            job.spec.preserve_timestamp.then_some(entry.modified),
            Some(entry.permissions & 0o777),
            job.spec.fsync,
        )
        .map_err(dest)?;
    Ok((size, checksum))
}

fn read_prefix(
    writer: &dyn WriteFile,
    mut left: u64,
    hashers: &mut [&mut Hasher],
) -> Result<(), StorageError> {
    let mut r = writer.read_back()?;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = r
            .read(&mut buf[..want])
            .map_err(|e| StorageError::Io(e.to_string()))?;
        if n == 0 {
            return Err(StorageError::Io(
                "the partial file is shorter than it was".into(),
            ));
        }
        for h in hashers.iter_mut() {
            h.update(&buf[..n]);
        }
        left -= n as u64;
    }
    Ok(())
}

fn drop_partial(storage: &PosixStorage, to: &RelPath, tag: &str) {
    let _ = storage.remove_partial(to, tag);
}

/// The end of `task`, or None (the task dropped) once the job is canceled.
fn until_done<T: Send + 'static>(
    handle: &Handle,
    job: &Job,
    mut task: JoinHandle<Result<T, Fail>>,
) -> Option<Result<T, Fail>> {
    handle.block_on(async {
        loop {
            tokio::select! {
                r = &mut task => {
                    return Some(r.unwrap_or_else(|_| Err(fail(
                        "source",
                        &StorageError::Io("the source checksum failed".into()),
                    ))));
                }
                () = tokio::time::sleep(CANCEL_POLL) => {
                    if job.cancel.load(Ordering::Relaxed) {
                        task.abort();
                        return None;
                    }
                }
            }
        }
    })
}
