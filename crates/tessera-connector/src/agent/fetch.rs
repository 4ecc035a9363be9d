//! The bytes of a pull: ranged GETs from the source, appended in order to the partial file
//! (so it is always one prefix of the source, which a resume verifies), and hashed on a thread
//! of its own while the next bytes are written and received.
//!
//! - A large file is fetched in blocks by several ranged GETs at once; each block stays the
//!   chunks its response arrived in (`Bytes`, no copy into one buffer), and blocks are written
//!   in order with a bounded reorder window.
//! - The writer hands each written chunk to the hashing thread (the same `Bytes`, no copy):
//!   receiving, writing and SHA-256 run on different cores instead of one after the other.
//! - Cancel is looked at between chunks: a stopped pull returns within one chunk's time.

use super::jobs::Job;
use super::pull::{fail, Fail};
use super::source::{unreachable, Remote};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use tessera_transfer::data::Hasher;
use tessera_transfer::storage::{StorageError, WriteFile};
use tokio::runtime::Handle;

/// Files larger than this are fetched in parallel blocks.
const BLOCK: u64 = 16 << 20;
/// Ranged GETs at once for one large file.
const STREAMS: usize = 4;
/// Chunks written but not yet hashed (each at most a read of the connection, ~100-400 KiB).
const HASH_QUEUE: usize = 256;

/// Where received bytes go: the partial file, then the hashing thread.
struct Sink<'a> {
    job: &'a Job,
    writer: &'a mut dyn WriteFile,
    /// None when the pull is not hashed.
    hashing: Option<mpsc::SyncSender<Bytes>>,
}

impl Sink<'_> {
    fn write(&mut self, data: Bytes) -> Result<(), Fail> {
        self.writer
            .write_all(&data)
            .map_err(|e| fail("destination", &StorageError::Io(e.to_string())))?;
        self.job
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        match &self.hashing {
            Some(h) => h
                .send(data)
                .map_err(|_| fail("destination", &StorageError::Io("hashing stopped".into()))),
            None => Ok(()),
        }
    }
}

/// Bytes `from..size` of the source, appended to `writer` in order and added to `hasher`
/// (when there is one).
/// Returns early (Ok) when the job is canceled.
pub(super) fn fetch(
    remote: &Remote,
    handle: &Handle,
    job: &Job,
    from: u64,
    size: u64,
    writer: &mut dyn WriteFile,
    hasher: Option<&mut Hasher>,
) -> Result<(), Fail> {
    if from >= size {
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (tx, hashing) = match hasher {
            Some(hasher) => {
                let (tx, rx) = mpsc::sync_channel::<Bytes>(HASH_QUEUE);
                let t = scope.spawn(move || {
                    for data in rx {
                        hasher.update(&data);
                    }
                });
                (Some(tx), Some(t))
            }
            None => (None, None),
        };
        let mut sink = Sink {
            job,
            writer,
            hashing: tx,
        };
        let got = if size - from <= BLOCK {
            one_stream(remote, handle, from, size, &mut sink)
        } else {
            blocks(remote, handle, from, size, &mut sink)
        };
        drop(sink);
        if hashing.is_some_and(|t| t.join().is_err()) {
            return Err(fail(
                "destination",
                &StorageError::Io("hashing failed".into()),
            ));
        }
        got
    })?;
    if job.cancel.load(Ordering::Relaxed) {
        return Ok(());
    }
    check_length(job, size)
}

/// One ranged GET, written as it arrives.
fn one_stream(
    remote: &Remote,
    handle: &Handle,
    from: u64,
    size: u64,
    sink: &mut Sink<'_>,
) -> Result<(), Fail> {
    let job = sink.job;
    let mut resp = handle.block_on(remote.range(from, size))?;
    while let Some(chunk) = handle.block_on(resp.chunk()).map_err(|e| unreachable(&e))? {
        if job.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        sink.write(chunk)?;
    }
    Ok(())
}

/// Several ranged GETs at once; blocks are written in order.
fn blocks(
    remote: &Remote,
    handle: &Handle,
    from: u64,
    size: u64,
    sink: &mut Sink<'_>,
) -> Result<(), Fail> {
    let job = sink.job;
    let blocks = (size - from).div_ceil(BLOCK);
    let next = AtomicUsize::new(0);
    let written = AtomicU64::new(0);
    // Set when a block failed: the other streams stop.
    let abort = AtomicBool::new(false);
    let stopped = || job.cancel.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed);
    let (tx, rx) = mpsc::sync_channel::<(u64, Result<Vec<Bytes>, Fail>)>(STREAMS * 2);
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
                let got = handle.block_on(async {
                    let mut resp = remote.range(start, end).await?;
                    let mut parts = Vec::new();
                    while let Some(c) = resp.chunk().await.map_err(|e| unreachable(&e))? {
                        if stopped() {
                            return Ok(None);
                        }
                        parts.push(c);
                    }
                    Ok(Some(parts))
                });
                let got = match got {
                    // Stopped mid-block: nothing of it is written.
                    Ok(None) => return,
                    Ok(Some(parts)) => Ok(parts),
                    Err(e) => Err(e),
                };
                let stop = got.is_err();
                if tx.send((i, got)).is_err() || stop {
                    return;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut expect = 0u64;
        let mut failed = None;
        for (i, got) in rx {
            match got {
                Ok(parts) => {
                    pending.insert(i, parts);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    abort.store(true, Ordering::Relaxed);
                    continue;
                }
            }
            while let Some(parts) = pending.remove(&expect) {
                if failed.is_none() && !stopped() {
                    for data in parts {
                        if let Err(e) = sink.write(data) {
                            failed = Some(e);
                            abort.store(true, Ordering::Relaxed);
                            break;
                        }
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
    })
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
