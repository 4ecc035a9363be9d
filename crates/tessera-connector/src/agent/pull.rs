//! A pull: this connector fetches one file from another connector's public URL and writes it
//! under its destination path.
//!
//! - The bytes go to a partial file with a stable name (`PosixStorage::open_partial`, tagged
//!   by destination, source, size and mtime), so an interrupted pull (this connector or the
//!   source killed, the network gone) resumes from what already arrived, once the source's
//!   checksum of that prefix matches ours.
//! - A large file is fetched in blocks by several ranged GETs at once and written in order
//!   (the reorder window is bounded), so the partial file is always one verified prefix and
//!   our checksum is computed while writing.
//! - With `verify_checksum` (or an external checksum) the source computes its checksum of the
//!   whole file; a mismatch drops the partial file and fails the job.
//! - The commit sets mode and (when asked) mtime, syncs, and renames into place.

use super::jobs::Job;
use super::{storage_of, Agent};
use crate::capability::Claims;
use crate::wire::{self, routes, EntryDoc, ErrorDoc, JobFailure, JobStatus};
use ring::digest;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, UNIX_EPOCH};
use tessera_transfer::data::{ChecksumAlgorithm, Hasher};
use tessera_transfer::storage::{Entry, RelPath, StorageError, WriteFile};
use tokio::runtime::Handle;

/// Files larger than this are fetched in parallel blocks.
const BLOCK: u64 = 16 << 20;
/// Ranged GETs at once for one large file.
const STREAMS: usize = 4;

struct Fail(JobFailure);

fn fail(side: &str, e: &StorageError) -> Fail {
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
            status.checksum = Some(checksum);
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

/// Requests to the source connector.
struct Source<'a> {
    agent: &'a Agent,
    handle: &'a Handle,
    base: String,
    capability: String,
    path: String,
}

impl Source<'_> {
    fn unreachable(&self, e: &reqwest::Error) -> Fail {
        fail(
            "source",
            &StorageError::Io(format!("source connector unreachable: {e}")),
        )
    }

    fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, Fail> {
        let resp = self
            .handle
            .block_on(req.header(wire::CAPABILITY_HEADER, &self.capability).send())
            .map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let err = match self.handle.block_on(resp.json::<ErrorDoc>()) {
            Ok(doc) => doc.into(),
            Err(_) => StorageError::Io(format!("source connector unreachable: answered {status}")),
        };
        Err(fail("source", &err))
    }

    fn stat(&self) -> Result<Entry, Fail> {
        let req = self
            .agent
            .http
            .get(format!("{}{}", self.base, routes::STAT))
            .query(&[("path", &self.path)]);
        let resp = self.send(req)?;
        let doc: EntryDoc = self
            .handle
            .block_on(resp.json())
            .map_err(|e| self.unreachable(&e))?;
        Ok(doc.into())
    }

    fn checksum(&self, alg: ChecksumAlgorithm, length: Option<u64>) -> Result<String, Fail> {
        let mut q = vec![
            ("path", self.path.clone()),
            ("algorithm", alg.name().to_owned()),
        ];
        if let Some(l) = length {
            q.push(("length", l.to_string()));
        }
        let req = self
            .agent
            .http
            .get(format!("{}{}", self.base, routes::CHECKSUM))
            .query(&q);
        let resp = self.send(req)?;
        let doc: serde_json::Value = self
            .handle
            .block_on(resp.json())
            .map_err(|e| self.unreachable(&e))?;
        Ok(doc
            .get("checksum")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned())
    }

    /// Bytes `start..end` (exclusive), as one response.
    fn range(&self, start: u64, end: u64) -> Result<reqwest::Response, Fail> {
        let req = self
            .agent
            .http
            .get(format!("{}{}", self.base, routes::FILE))
            .query(&[("path", &self.path)])
            .header(reqwest::header::RANGE, format!("bytes={start}-{}", end - 1));
        self.send(req)
    }
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

fn pull(agent: &Agent, job: &Job, handle: &Handle) -> Result<(u64, String), Fail> {
    let claims = Claims {
        c: agent.id,
        root: job.root.clone(),
        ops: Vec::new(),
        paths: Vec::new(),
        exp: 0,
    };
    let dest = |e: StorageError| fail("destination", &e);
    let storage = storage_of(&claims).map_err(dest)?;
    let to = RelPath::parse(&job.spec.path).map_err(dest)?;
    let alg: ChecksumAlgorithm = job
        .spec
        .checksum_algorithm
        .parse()
        .map_err(|_| dest(StorageError::InvalidPath("checksum algorithm".into())))?;
    let src = Source {
        agent,
        handle,
        base: job.spec.source.url.trim_end_matches('/').to_owned(),
        capability: job.spec.source.capability.clone(),
        path: job.spec.source.path.clone(),
    };
    let entry = src.stat()?;
    if entry.kind != tessera_transfer::storage::EntryKind::File {
        return Err(fail(
            "source",
            &StorageError::IsADirectory(job.spec.source.path.clone()),
        ));
    }
    let size = entry.size;
    let tag = tag(job, &entry);
    let (mut writer, mut have) = storage.open_partial(&to, &tag, false).map_err(dest)?;
    let mut hasher = alg.hasher();
    if have > size {
        (writer, have) = storage.open_partial(&to, &tag, true).map_err(dest)?;
    }
    if have > 0 {
        // What arrived before must be the source's first bytes.
        let mut check = alg.hasher();
        read_prefix(writer.as_ref(), have, &mut [&mut hasher, &mut check]).map_err(dest)?;
        if src.checksum(alg, Some(have))? != check.finish() {
            tracing::info!(job = %job.spec.id, have, "the partial file differs from the source; starting over");
            (writer, have) = storage.open_partial(&to, &tag, true).map_err(dest)?;
            hasher = alg.hasher();
        } else {
            tracing::info!(job = %job.spec.id, have, "resuming a partial file");
        }
    }
    job.resumed_from.store(have, Ordering::Relaxed);
    job.bytes.store(have, Ordering::Relaxed);
    fetch(&src, job, have, size, writer.as_mut(), &mut hasher)?;
    if job.cancel.load(Ordering::Relaxed) {
        drop(writer);
        let _ = storage.remove_partial(&to, &tag);
        return Err(fail("destination", &StorageError::Io("canceled".into())));
    }
    let ours = hasher.finish();
    let checksum = if job.spec.verify_checksum || job.spec.external_checksum.is_some() {
        let theirs = src.checksum(alg, None)?;
        if job.spec.verify_checksum && theirs != ours {
            drop(writer);
            let _ = storage.remove_partial(&to, &tag);
            return Err(Fail(JobFailure {
                side: "checksum".into(),
                kind: "io".into(),
                message: format!("source {theirs}, destination {ours}"),
            }));
        }
        theirs
    } else {
        ours
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

fn write_chunk(
    job: &Job,
    writer: &mut dyn WriteFile,
    hasher: &mut Hasher,
    data: &[u8],
) -> Result<(), Fail> {
    writer
        .write_all(data)
        .map_err(|e| fail("destination", &StorageError::Io(e.to_string())))?;
    hasher.update(data);
    job.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// Bytes `from..size` of the source, appended in order.
fn fetch(
    src: &Source<'_>,
    job: &Job,
    from: u64,
    size: u64,
    writer: &mut dyn WriteFile,
    hasher: &mut Hasher,
) -> Result<(), Fail> {
    if from >= size {
        return Ok(());
    }
    if size - from <= BLOCK {
        // One stream, written as it arrives.
        let mut resp = src.range(from, size)?;
        while let Some(chunk) = src
            .handle
            .block_on(resp.chunk())
            .map_err(|e| src.unreachable(&e))?
        {
            if job.cancel.load(Ordering::Relaxed) {
                return Ok(());
            }
            write_chunk(job, writer, hasher, &chunk)?;
        }
        return check_length(job, size);
    }
    // Several ranged GETs at once; blocks are written in order.
    let blocks = (size - from).div_ceil(BLOCK);
    let next = AtomicUsize::new(0);
    let written = AtomicU64::new(0);
    // Set when a block failed: the other streams stop.
    let abort = std::sync::atomic::AtomicBool::new(false);
    let stopped = || job.cancel.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<(u64, Result<Vec<u8>, Fail>)>(STREAMS * 2);
    let window = (STREAMS * 2) as u64;
    std::thread::scope(|scope| -> Result<(), Fail> {
        for _ in 0..STREAMS {
            let tx = tx.clone();
            let (next, written, stopped) = (&next, &written, &stopped);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                if i >= blocks || stopped() {
                    return;
                }
                // Stay within the reorder window of the writer.
                while i >= written.load(Ordering::Acquire) + window {
                    if stopped() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                let start = from + i * BLOCK;
                let end = (start + BLOCK).min(size);
                let got = src.range(start, end).and_then(|resp| {
                    src.handle
                        .block_on(resp.bytes())
                        .map(|b| b.to_vec())
                        .map_err(|e| src.unreachable(&e))
                });
                let stop = got.is_err();
                if tx.send((i, got)).is_err() || stop {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut expect = 0u64;
        let mut failed = None;
        for (i, got) in rx {
            match got {
                Ok(data) => {
                    pending.insert(i, data);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    abort.store(true, Ordering::Relaxed);
                    continue;
                }
            }
            while let Some(data) = pending.remove(&expect) {
                if failed.is_none() {
                    if let Err(e) = write_chunk(job, writer, hasher, &data) {
                        failed = Some(e);
                        abort.store(true, Ordering::Relaxed);
                    }
                }
                expect += 1;
                written.store(expect, Ordering::Release);
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })?;
    if job.cancel.load(Ordering::Relaxed) {
        return Ok(());
    }
    check_length(job, size)
}

fn check_length(job: &Job, size: u64) -> Result<(), Fail> {
    let got = job.bytes.load(Ordering::Relaxed);
    if got != size {
        return Err(fail(
            "source",
            &StorageError::Io(format!(
                "source connector unreachable: the file ended at {got} of {size} bytes"
            )),
        ));
    }
    Ok(())
}
