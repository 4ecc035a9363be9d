//! The byte pump of one copy: read a chunk, write it, hash it; and, for `verify_checksum`, hash
//! what reached the destination.
//!
//! Files of one chunk or less go through the calling thread alone (thread start-up would cost
//! more than it saves). Larger files with a checksum run on three threads: this one copies,
//! one hashes the source chunks it is handed (through a ring of three buffers, so copying is
//! never more than three chunks ahead), and one reads the destination's temporary file back
//! as it grows and hashes it. On two cores the wall time is about one hash pass.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::buffers::{self, CHUNK};
use super::{ChecksumAlgorithm, DataError};
use crate::storage::{ReadFile, RelPath, StorageError, WriteFile};

/// Buffers in flight between the copying and the hashing thread.
const RING: usize = 3;

pub(crate) struct Pumped {
    pub bytes: u64,
    pub source_sum: Option<String>,
    pub dest_sum: Option<String>,
}

pub(crate) struct Job<'a> {
    pub src_path: &'a RelPath,
    pub dst_path: &'a RelPath,
    /// Hash the source (and, with `verify`, the destination) with this.
    pub hash: Option<ChecksumAlgorithm>,
    pub verify: bool,
    pub size_hint: u64,
    pub cancel: &'a AtomicBool,
}

impl Job<'_> {
    fn read_err(&self, e: std::io::Error) -> DataError {
        DataError::source(StorageError::from_io(&e, self.src_path))
    }
    fn write_err(&self, e: std::io::Error) -> DataError {
        DataError::destination(StorageError::from_io(&e, self.dst_path))
    }
    fn canceled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

pub(crate) fn pump(
    job: &Job<'_>,
    reader: &mut dyn ReadFile,
    writer: &mut dyn WriteFile,
    progress: &mut dyn FnMut(u64),
) -> Result<Pumped, DataError> {
    match job.hash {
        Some(alg) if job.size_hint > CHUNK as u64 => {
            pump_parallel(job, alg, reader, writer, progress)
        }
        _ => pump_serial(job, reader, writer, progress),
    }
}

fn pump_serial(
    job: &Job<'_>,
    reader: &mut dyn ReadFile,
    writer: &mut dyn WriteFile,
    progress: &mut dyn FnMut(u64),
) -> Result<Pumped, DataError> {
    // Nothing to hash: the kernel moves the bytes, as far as it will.
    let (in_kernel, at_end) = match job.hash {
        None => pump_kernel(job, reader, writer, progress)?,
        Some(_) => (0, false),
    };
    if at_end && in_kernel > 0 && in_kernel >= job.size_hint {
        // The kernel saw the end of the file, where its size said it would be (a file that
        // reports no size, as in /proc, goes through the loop below).
        writer.flush().map_err(|e| job.write_err(e))?;
        return Ok(Pumped {
            bytes: in_kernel,
            source_sum: None,
            dest_sum: None,
        });
    }
    if in_kernel > 0 && in_kernel >= job.size_hint {
        // Done unless the file grew: one read says which (end of file costs a syscall).
        let mut probe = [0u8; 1];
        if read_some(reader, &mut probe).map_err(|e| job.read_err(e))? == 0 {
            writer.flush().map_err(|e| job.write_err(e))?;
            return Ok(Pumped {
                bytes: in_kernel,
                source_sum: None,
                dest_sum: None,
            });
        }
        writer.write_all(&probe).map_err(|e| job.write_err(e))?;
        return pump_buffered(job, reader, writer, progress, in_kernel + 1);
    }
    pump_buffered(job, reader, writer, progress, in_kernel)
}

/// Copies with `copy_file_range` in `CHUNK` steps (progress and cancel between them) while
/// both ends have a descriptor and the kernel agrees: no pass through user memory, half the
/// memory traffic of read + write. Returns the bytes copied (0 when the kernel refused at
/// once: another filesystem pair, an old kernel) and whether it reached the end of the source.
/// Any error stops it without a verdict: the read/write loop then continues from the same
/// offsets and reports the error against the side it belongs to.
fn pump_kernel(
    job: &Job<'_>,
    reader: &mut dyn ReadFile,
    writer: &mut dyn WriteFile,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, bool), DataError> {
    let (Some(from), Some(to)) = (reader.fd(), writer.fd()) else {
        return Ok((0, false));
    };
    let mut bytes = 0u64;
    loop {
        if job.canceled() {
            return Err(DataError::Canceled);
        }
        match rustix::fs::copy_file_range(from, None, to, None, CHUNK) {
            Ok(0) => return Ok((bytes, true)),
            Err(_) => return Ok((bytes, false)),
            Ok(n) => {
                bytes += n as u64;
                progress(bytes);
            }
        }
    }
}

fn pump_buffered(
    job: &Job<'_>,
    reader: &mut dyn ReadFile,
    writer: &mut dyn WriteFile,
    progress: &mut dyn FnMut(u64),
    already: u64,
) -> Result<Pumped, DataError> {
    let mut buf = buffers::take();
    let result = (|| {
        let mut hasher = job.hash.map(ChecksumAlgorithm::hasher);
        let mut bytes = already;
        loop {
            if job.canceled() {
                return Err(DataError::Canceled);
            }
            let n = read_some(reader, &mut buf).map_err(|e| job.read_err(e))?;
            if n == 0 {
                break;
            }
            writer.write_all(&buf[..n]).map_err(|e| job.write_err(e))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            bytes += n as u64;
            progress(bytes);
        }
        writer.flush().map_err(|e| job.write_err(e))?;
        let dest_sum = match (job.verify, job.hash) {
            (true, Some(alg)) => {
                let mut back = writer.read_back().map_err(DataError::destination)?;
                Some(
                    hash_all(&mut *back, alg, &mut buf, job.cancel)
                        .map_err(|e| job.write_err(e))?,
                )
            }
            _ => None,
        };
        Ok(Pumped {
            bytes,
            source_sum: hasher.map(super::Hasher::finish),
            dest_sum,
        })
    })();
    buffers::give(buf);
    if job.canceled() {
        return Err(DataError::Canceled);
    }
    result
}

fn pump_parallel(
    job: &Job<'_>,
    alg: ChecksumAlgorithm,
    reader: &mut dyn ReadFile,
    writer: &mut dyn WriteFile,
    progress: &mut dyn FnMut(u64),
) -> Result<Pumped, DataError> {
    let back = if job.verify {
        Some(writer.read_back().map_err(DataError::destination)?)
    } else {
        None
    };
    let written = AtomicBool::new(false);
    let abort = AtomicBool::new(false);
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(RING);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..RING {
        let _ = free_tx.send(buffers::take());
    }
    let verify_buf = back.as_ref().map(|_| buffers::take());

    std::thread::scope(|scope| {
        let source_hasher = scope.spawn(move || {
            let mut h = alg.hasher();
            for (buf, n) in full_rx {
                h.update(&buf[..n]);
                let _ = free_tx.send(buf);
            }
            h.finish()
        });
        let dest_hasher = back.zip(verify_buf).map(|(mut back, mut buf)| {
            let (written, abort) = (&written, &abort);
            scope.spawn(move || {
                let sum = follow_and_hash(&mut *back, alg, &mut buf, written, abort);
                (sum, buf)
            })
        });

        let copied = (|| {
            let mut bytes = 0u64;
            loop {
                if job.canceled() {
                    return Err(DataError::Canceled);
                }
                let Ok(mut buf) = free_rx.recv() else {
                    return Err(DataError::source(StorageError::Io(
                        "hashing thread stopped".into(),
                    )));
                };
                let n = read_some(reader, &mut buf).map_err(|e| job.read_err(e))?;
                if n == 0 {
                    buffers::give(buf);
                    break;
                }
                writer.write_all(&buf[..n]).map_err(|e| job.write_err(e))?;
                bytes += n as u64;
                if full_tx.send((buf, n)).is_err() {
                    return Err(DataError::source(StorageError::Io(
                        "hashing thread stopped".into(),
                    )));
                }
                progress(bytes);
            }
            writer.flush().map_err(|e| job.write_err(e))?;
            Ok(bytes)
        })();
        drop(full_tx);
        match copied {
            Ok(_) => written.store(true, Ordering::Release),
            Err(_) => abort.store(true, Ordering::Release),
        }
        // The follower may be backing off: it looks again now.
        if let Some(t) = &dest_hasher {
            t.thread().unpark();
        }
        let source_sum = source_hasher.join();
        let dest_sum = dest_hasher.map(|t| t.join());
        // Every buffer back into this thread's pool.
        while let Ok(buf) = free_rx.try_recv() {
            buffers::give(buf);
        }
        let bytes = copied?;
        let source_sum = source_sum
            .map_err(|_| DataError::source(StorageError::Io("hashing thread panicked".into())))?;
        let dest_sum = match dest_sum {
            None => None,
            Some(Ok((sum, buf))) => {
                buffers::give(buf);
                Some(sum.map_err(|e| job.write_err(e))?)
            }
            Some(Err(_)) => {
                return Err(DataError::destination(StorageError::Io(
                    "verifying thread panicked".into(),
                )))
            }
        };
        Ok(Pumped {
            bytes,
            source_sum: Some(source_sum),
            dest_sum,
        })
    })
}

/// How long a follower waits at end-of-file before reading again: first, and at most. After
/// [`FOLLOW_QUICK_LOOKS`] looks in a row that find nothing it doubles, so a follower waiting on
/// a slow writer (or reading a connector's upload back over HTTP, one request per look) does
/// not spin a core, while one that keeps up with a fast local writer still looks every 200 µs;
/// the writer unparks it when it is done, so the tail is not late by the wait.
const FOLLOW_FIRST_WAIT: Duration = Duration::from_micros(200);
const FOLLOW_MAX_WAIT: Duration = Duration::from_millis(5);
const FOLLOW_QUICK_LOOKS: u32 = 10;

/// Hashes a file that is still being written: reading at end-of-file waits for more until the
/// writer says it is done (and unparks this thread), then one last read picks up the tail.
fn follow_and_hash(
    back: &mut dyn Read,
    alg: ChecksumAlgorithm,
    buf: &mut [u8],
    written: &AtomicBool,
    abort: &AtomicBool,
) -> std::io::Result<String> {
    let mut h = alg.hasher();
    let mut finishing = false;
    let (mut wait, mut empty) = (FOLLOW_FIRST_WAIT, 0u32);
    loop {
        let n = read_some(back, buf)?;
        if n > 0 {
            h.update(&buf[..n]);
            (wait, empty) = (FOLLOW_FIRST_WAIT, 0);
            continue;
        }
        if abort.load(Ordering::Acquire) {
            return Err(std::io::Error::other("copy aborted"));
        }
        if finishing {
            return Ok(h.finish());
        }
        if written.load(Ordering::Acquire) {
            finishing = true;
        } else {
            std::thread::park_timeout(wait);
            empty += 1;
            if empty >= FOLLOW_QUICK_LOOKS {
                wait = (wait * 2).min(FOLLOW_MAX_WAIT);
            }
        }
    }
}

/// Hashes everything `r` yields.
pub(crate) fn hash_all(
    r: &mut dyn Read,
    alg: ChecksumAlgorithm,
    buf: &mut [u8],
    cancel: &AtomicBool,
) -> std::io::Result<String> {
    let mut h = alg.hasher();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "canceled",
            ));
        }
        let n = read_some(r, buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

/// One `read`, retried on EINTR.
fn read_some(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod follow_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// A file nobody writes to yet: every read is end-of-file, and counted.
    struct Idle<'a>(&'a AtomicUsize);

    impl Read for Idle<'_> {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(0)
        }
    }

    #[test]
    fn a_waiting_follower_backs_off_and_wakes_when_the_writer_is_done() {
        let (reads, written, abort) = (
            AtomicUsize::new(0),
            AtomicBool::new(false),
            AtomicBool::new(false),
        );
        let wait = Duration::from_millis(300);
        let (sum, late) = std::thread::scope(|scope| {
            let follower = scope.spawn(|| {
                let mut buf = vec![0u8; 64];
                let sum = follow_and_hash(
                    &mut Idle(&reads),
                    ChecksumAlgorithm::Md5,
                    &mut buf,
                    &written,
                    &abort,
                );
                (sum, Instant::now())
            });
            std::thread::sleep(wait);
            written.store(true, Ordering::Release);
            let done = Instant::now();
            follower.thread().unpark();
            let (sum, finished) = follower.join().unwrap();
            (sum, finished.saturating_duration_since(done))
        });
        assert_eq!(sum.unwrap(), ChecksumAlgorithm::Md5.hasher().finish());
        // At a fixed 200 µs it would look 1,500 times in 300 ms; backing off to 5 ms, ~75.
        let n = reads.load(Ordering::Relaxed);
        assert!(n < 200, "{n} reads while waiting 300 ms");
        // Unparked, it does not sleep out its 5 ms wait (generous bound: a noisy machine).
        assert!(
            late < Duration::from_millis(150),
            "finished {late:?} after the writer"
        );
    }
}
