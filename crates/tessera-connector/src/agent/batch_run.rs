//! A batch job's run on the destination connector: one request to the source connector for
//! all the files not done yet (`crate::stream`), each written to a temporary name while its
//! checksum is computed, checked against the source's, and staged; every [`GROUP`] files (and
//! at the end) one `syncfs` makes the group durable, the names are published, and the files
//! are added to the task's ledger in the state directory.
//!
//! The ledger (`jobs/task-<id>.done`) is what makes a batch resumable: a batch sent again
//! after this connector was killed (or the source went away, or the service moved the task)
//! answers the files the ledger has, still there with the same size and mtime, as done
//! without fetching them again. A stream cut short fails the batch as `source unreachable`
//! after publishing what was verified; the service waits and sends it again.

use super::batch::Batch;
use super::{storage_of, Agent};
use crate::capability::Claims;
use crate::stream::{self, Have, Reader, StreamRequest, StreamWant};
use crate::wire::{ErrorDoc, JobFailure};
use crate::wire_batch::{routes, BatchFileStatus, BatchStatus};
use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, UNIX_EPOCH};
use tessera_transfer::data::ChecksumAlgorithm;
use tessera_transfer::storage::posix::{PosixStorage, TEMP_PREFIX};
use tessera_transfer::storage::{EntryKind, RelPath, Staged, Storage, StorageError, WriteFile};
use tokio::runtime::Handle;

/// Files staged before one `syncfs` makes them durable and they are published.
const GROUP: usize = 128;
/// ... or this many bytes.
const GROUP_BYTES: u64 = 32 << 20;
/// The largest file a batch carries (the service batches small files only).
const MAX_SIZE: u64 = 1 << 30;

fn failure(side: &str, e: &StorageError) -> JobFailure {
    let doc = ErrorDoc::from(e);
    JobFailure {
        side: side.into(),
        kind: doc.kind,
        message: doc.message,
    }
}

fn failed(path: &str, f: JobFailure) -> BatchFileStatus {
    BatchFileStatus {
        path: path.to_owned(),
        state: "failed".into(),
        bytes: 0,
        checksum: None,
        failure: Some(f),
    }
}

fn ns(t: std::time::SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A file of the task made durable under its name by an earlier batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    root: String,
    path: String,
    size: u64,
    modified_ns: u128,
    checksum: Option<String>,
}

/// The task's ledger of files done (see the module doc).
struct Ledger {
    file: Option<PathBuf>,
    done: HashMap<(String, String), Done>,
}

impl Ledger {
    fn load(agent: &Agent, task: Option<&str>) -> Self {
        let file = task.map(|t| agent.state_dir.join("jobs").join(format!("task-{t}.done")));
        let mut done = HashMap::new();
        if let Some(text) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
            for d in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Done>(l).ok())
            {
                done.insert((d.root.clone(), d.path.clone()), d);
            }
        }
        Self { file, done }
    }

    fn add(&self, entries: &[Done]) {
        let Some(file) = &self.file else { return };
        let mut text = String::new();
        for d in entries {
            text.push_str(&serde_json::to_string(d).unwrap_or_default());
            text.push('\n');
        }
        let ok = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = ok {
            tracing::warn!(error = %e, "adding to a task's ledger failed");
        }
    }
}

/// The source's answer as a blocking reader.
struct Body<'a> {
    resp: reqwest::Response,
    handle: &'a Handle,
    cur: Bytes,
}

impl Read for Body<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.handle.block_on(self.resp.chunk()) {
                Ok(Some(b)) => self.cur = b,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// A verified file under its temporary name.
struct Ready {
    index: usize,
    staged: Box<dyn Staged>,
    bytes: u64,
    checksum: String,
    /// Its mtime once published (for the ledger).
    modified_ns: u128,
}

struct Run<'a> {
    job: &'a Batch,
    /// The temporary names' tag: the engine attempt's, and this batch's.
    tag: String,
    storage: PosixStorage,
    dests: Vec<RelPath>,
    ledger: Ledger,
    results: Vec<Option<BatchFileStatus>>,
    ready: Vec<Ready>,
    ready_bytes: u64,
}

impl Run<'_> {
    fn set(&mut self, index: usize, status: BatchFileStatus) {
        self.results[index] = Some(status);
        self.job.files_done.fetch_add(1, Ordering::Relaxed);
    }

    /// Makes the ready files durable, adds them to the ledger, and publishes them (the ledger
    /// first: a connector killed in between has its ledger name files that are not there, which
    /// the next batch sees and fetches again; never a published file it does not know of).
    fn publish(&mut self) {
        if self.ready.is_empty() {
            return;
        }
        let ready = std::mem::take(&mut self.ready);
        self.ready_bytes = 0;
        let fsync = self.job.spec.fsync;
        if fsync {
            if let Err(e) = self.storage.sync_all() {
                for r in ready {
                    let p = self.job.spec.files[r.index].path.clone();
                    self.set(r.index, failed(&p, failure("destination", &e)));
                }
                return;
            }
        }
        let ledger: Vec<Done> = ready
            .iter()
            .map(|r| Done {
                root: self.job.root.clone(),
                path: self.job.spec.files[r.index].path.clone(),
                size: r.bytes,
                modified_ns: r.modified_ns,
                checksum: Some(r.checksum.clone()),
            })
            .collect();
        self.ledger.add(&ledger);
        let mut published = Vec::new();
        for r in ready {
            let p = self.job.spec.files[r.index].path.clone();
            match r.staged.publish() {
                Ok(()) => published.push((r.index, r.bytes, r.checksum)),
                Err(e) => self.set(r.index, failed(&p, failure("destination", &e))),
            }
        }
        // The names too, before anyone is told the files are done.
        let names = if fsync {
            self.storage.sync_all()
        } else {
            Ok(())
        };
        for (index, bytes, checksum) in published {
            let p = self.job.spec.files[index].path.clone();
            if let Err(e) = &names {
                self.set(index, failed(&p, failure("destination", e)));
                continue;
            }
            self.set(
                index,
                BatchFileStatus {
                    path: p,
                    state: "done".into(),
                    bytes,
                    checksum: Some(checksum),
                    failure: None,
                },
            );
        }
    }
}

/// The mtime a written file will have: the source's when preserved, else its own.
fn mtime_of(w: &dyn WriteFile, preserved: Option<u128>) -> u128 {
    if let Some(ns) = preserved {
        return ns;
    }
    w.fd()
        .and_then(|fd| fd.try_clone_to_owned().ok())
        .and_then(|fd| std::fs::File::from(fd).metadata().ok())
        .and_then(|m| m.modified().ok())
        .map(ns)
        .unwrap_or(0)
}

pub(super) fn run(agent: &Agent, job: &Batch) -> BatchStatus {
    let mut status = BatchStatus {
        id: job.spec.id.clone(),
        state: "done".into(),
        bytes: 0,
        files_done: 0,
        files: Vec::new(),
        failure: None,
    };
    let claims = Claims {
        c: agent.id,
        root: job.root.clone(),
        ops: Vec::new(),
        paths: Vec::new(),
        exp: 0,
        tls: false,
    };
    let opened = storage_of(&claims).and_then(|s| {
        let dests = job
            .spec
            .files
            .iter()
            .map(|f| RelPath::parse(&f.path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((s, dests))
    });
    let (storage, dests) = match opened {
        Ok(x) => x,
        Err(e) => {
            status.state = "failed".into();
            status.failure = Some(failure("destination", &e));
            return status;
        }
    };
    let n = job.spec.files.len();
    let hash = ring::digest::digest(&ring::digest::SHA256, job.spec.id.as_bytes());
    let hash: String = hash.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tag = match &job.spec.temp_tag {
        Some(t) => format!("{t}-{hash}"),
        None => hash,
    };
    let mut run = Run {
        job,
        tag,
        storage,
        dests,
        ledger: Ledger::load(agent, job.spec.task.as_deref()),
        results: vec![None; n],
        ready: Vec::new(),
        ready_bytes: 0,
    };
    sweep(&run);
    let outcome = fetch(agent, &mut run);
    // What was verified is kept (published, in the ledger) even when the stream broke.
    if job.cancel.load(Ordering::Relaxed) {
        run.ready.clear();
        status.state = "canceled".into();
    } else {
        run.publish();
    }
    if let Err(f) = outcome {
        if status.state == "done" {
            status.state = "failed".into();
        }
        status.failure = Some(f);
    }
    status.files = run.results.into_iter().flatten().collect();
    status.files_done = status.files.len() as u64;
    status.bytes = job.bytes.load(Ordering::Relaxed);
    status
}

/// Removes what an earlier run of this batch left under temporary names (a connector killed
/// mid-batch): its own tag only, in the batch's directories.
fn sweep(run: &Run<'_>) {
    let prefix = format!("{TEMP_PREFIX}{}-", run.tag);
    let dirs: std::collections::BTreeSet<RelPath> =
        run.dests.iter().filter_map(RelPath::parent).collect();
    for dir in dirs {
        let Ok(entries) = run.storage.list(&dir) else {
            continue;
        };
        for e in entries.iter().filter(|e| e.name.starts_with(&prefix)) {
            if let Ok(p) = dir.join(&e.name) {
                let _ = run.storage.remove(&p, false);
            }
        }
    }
}

/// What the destination has at `to`, for the sync level.
fn have(storage: &PosixStorage, to: &RelPath, level: u8, alg: ChecksumAlgorithm) -> Option<Have> {
    let e = storage
        .stat(to)
        .ok()
        .filter(|e| e.kind == EntryKind::File)?;
    let checksum = (level == 3).then(|| {
        let mut h = alg.hasher();
        let mut f = storage.open_read(to).ok()?;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(_) => return None,
            }
        }
        Some(h.finish())
    });
    Some(Have {
        size: e.size,
        modified_ns: ns(e.modified),
        checksum: checksum.flatten(),
    })
}

fn fetch(agent: &Agent, run: &mut Run<'_>) -> Result<(), JobFailure> {
    let spec = &run.job.spec;
    let mut algs = Vec::new();
    for f in &spec.files {
        algs.push(
            f.checksum_algorithm
                .parse::<ChecksumAlgorithm>()
                .map_err(|_| {
                    failure(
                        "destination",
                        &StorageError::InvalidPath("checksum algorithm".into()),
                    )
                })?,
        );
    }
    // Done by an earlier batch of this task: not fetched again.
    let mut asked: Vec<StreamWant> = Vec::new();
    let mut index_of: Vec<usize> = Vec::new();
    for (i, f) in spec.files.iter().enumerate() {
        let key = (run.job.root.clone(), f.path.clone());
        if let Some(d) = run.ledger.done.get(&key).cloned() {
            let still = run.storage.stat(&run.dests[i]).ok().is_some_and(|e| {
                e.kind == EntryKind::File && e.size == d.size && ns(e.modified) == d.modified_ns
            });
            if still {
                run.set(
                    i,
                    BatchFileStatus {
                        path: f.path.clone(),
                        state: "done".into(),
                        bytes: d.size,
                        checksum: d.checksum,
                        failure: None,
                    },
                );
                continue;
            }
        }
        let have = spec
            .sync_level
            .and_then(|l| have(&run.storage, &run.dests[i], l, algs[i]));
        asked.push(StreamWant {
            path: f.source_path.clone(),
            algorithm: f.checksum_algorithm.clone(),
            have,
        });
        index_of.push(i);
    }
    if asked.is_empty() {
        return Ok(());
    }
    let handle = Handle::current();
    let base = spec.source.url.trim_end_matches('/').to_owned();
    if spec.encrypt && !base.starts_with("https://") {
        return Err(failure(
            "source",
            &StorageError::PermissionDenied(format!(
                "encrypt_data: the source {base} is not a TLS URL; plaintext refused"
            )),
        ));
    }
    tracing::info!(job = %spec.id, source = %base, tls = base.starts_with("https://"), files = asked.len(), "pulling a batch");
    let http = agent
        .peers
        .for_url(&base, spec.source.cert_fingerprint.as_deref())
        .map_err(|e| failure("source", &StorageError::PermissionDenied(e)))?;
    let req = StreamRequest {
        checksum: spec.verify_checksum,
        sync_level: spec.sync_level,
        files: asked,
    };
    let unreachable = |e: &reqwest::Error| {
        if let Some(why) = crate::pin::mismatch(e) {
            return failure(
                "source",
                &StorageError::PermissionDenied(format!("the source connector's {why}")),
            );
        }
        failure(
            "source",
            &StorageError::Io(format!("source connector unreachable: {e}")),
        )
    };
    let sent = http
        .post(format!("{base}{}", routes::STREAM))
        .header(crate::wire::CAPABILITY_HEADER, &spec.source.capability)
        .timeout(Duration::from_secs(3600))
        .json(&req)
        .send();
    let resp = handle.block_on(sent).map_err(|e| unreachable(&e))?;
    if !resp.status().is_success() {
        let code = resp.status();
        let err = match handle.block_on(resp.json::<ErrorDoc>()) {
            Ok(doc) if !code.is_server_error() => doc.into(),
            _ => StorageError::Io(format!("source connector unreachable: answered {code}")),
        };
        return Err(failure("source", &err));
    }
    let body = Body {
        resp,
        handle: &handle,
        cur: Bytes::new(),
    };
    let mut reader = Reader::new(body, &req.files, MAX_SIZE);
    let mut buf = vec![0u8; 256 << 10];
    let mut k = 0usize;
    let cut = |e: stream::StreamError| {
        failure(
            "source",
            &StorageError::Io(format!("source connector unreachable: {e}")),
        )
    };
    while let Some(rec) = reader.next_file().map_err(cut)? {
        if run.job.cancel.load(Ordering::Relaxed) {
            return Err(failure("destination", &StorageError::Io("canceled".into())));
        }
        let i = index_of[k];
        k += 1;
        let path = spec.files[i].path.clone();
        if let Some(e) = rec.head.error.clone() {
            run.set(i, failed(&path, failure("source", &e.into())));
            continue;
        }
        if let Some(reason) = rec.head.skip.clone() {
            run.set(
                i,
                BatchFileStatus {
                    path,
                    state: format!("skipped:{reason}"),
                    bytes: 0,
                    checksum: None,
                    failure: None,
                },
            );
            continue;
        }
        let mut writer = match run.storage.create_tagged(&run.dests[i], &run.tag) {
            Ok(w) => Some(w),
            Err(e) => {
                run.set(i, failed(&path, failure("destination", &e)));
                None
            }
        };
        let mut hasher = algs[i].hasher();
        let mut write_error = None;
        let bytes = &run.job.bytes;
        let tail = reader
            .data(&rec, &mut buf, &mut |data| {
                hasher.update(data);
                bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                if let Some(w) = writer.as_mut() {
                    if let Err(e) = w.write_all(data) {
                        write_error.get_or_insert(StorageError::from_io(&e, &run.dests[i]));
                        writer = None;
                    }
                }
            })
            .map_err(cut)?;
        let Some(w) = writer else {
            if let Some(e) = write_error {
                run.set(i, failed(&path, failure("destination", &e)));
            }
            continue;
        };
        if let Some(e) = tail.error {
            run.set(i, failed(&path, failure("source", &e.into())));
            continue;
        }
        let ours = hasher.finish();
        let checksum = match tail.checksum {
            Some(theirs) if spec.verify_checksum && theirs != ours => {
                run.set(
                    i,
                    failed(
                        &path,
                        JobFailure {
                            side: "checksum".into(),
                            kind: "io".into(),
                            message: format!("source {theirs}, destination {ours}"),
                        },
                    ),
                );
                continue;
            }
            Some(theirs) => theirs,
            None => ours,
        };
        let mtime = UNIX_EPOCH
            + Duration::from_nanos(u64::try_from(rec.head.modified_ns).unwrap_or(u64::MAX));
        let modified_ns = mtime_of(w.as_ref(), spec.preserve_timestamp.then_some(ns(mtime)));
        match w.stage(
            spec.preserve_timestamp.then_some(mtime),
            Some(rec.head.permissions & 0o777),
        ) {
            Ok(staged) => {
                run.ready_bytes += rec.head.size;
                run.ready.push(Ready {
                    index: i,
                    staged,
                    bytes: rec.head.size,
                    checksum,
                    modified_ns,
                });
            }
            Err(e) => run.set(i, failed(&path, failure("destination", &e))),
        }
        if run.ready.len() >= GROUP || run.ready_bytes >= GROUP_BYTES {
            run.publish();
        }
    }
    Ok(())
}
