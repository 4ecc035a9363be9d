//! The byte pump of one copy: read a chunk, write it, hash it; and, for `verify_checksum`, check
//! what reached the destination.
//!
//! The destination is verified by reading its temporary file back and comparing it with the
//! source's bytes, chunk by chunk: equal bytes have equal checksums in every algorithm, so this
//! is as strict as hashing the destination (stricter than a 32-bit CRC), and it costs a memory
//! comparison instead of a second hash pass (SHA-256 runs at ~1.6 GiB/s per core here, a
//! comparison at memory speed). The destination's checksum is then the source's; only after a
//! difference is the destination hashed, to report what it holds.
//!
//! Files of one chunk or less go through the calling thread alone (thread start-up would cost
//! more than it saves). Larger files with a checksum run on three threads: this one copies,
//! one hashes the source chunks it is handed (through a ring of buffers, so copying is never
//! more than a few chunks ahead), and, with verification, one reads the destination back and
//! compares each chunk after it was hashed. On two cores the wall time is about one hash pass.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

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
        let mut reads = 0u32;
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
            reads += 1;
            progress(bytes);
        }
        writer.flush().map_err(|e| job.write_err(e))?;
        let source_sum = hasher.map(super::Hasher::finish);
        let dest_sum = match (job.verify, job.hash, &source_sum) {
            (true, Some(alg), Some(sum)) => {
                // The whole file still in `buf` (one read from its start): compare with what
                // the destination reads back; else (a file that grew) hash it.
                let whole = (already == 0 && reads <= 1).then_some(bytes as usize);
                let same = match whole {
                    Some(n) => {
                        let mut back = writer.read_back().map_err(DataError::destination)?;
                        let mut theirs = vec![0u8; n + 1];
                        let m = read_full(&mut *back, &mut theirs).map_err(|e| job.write_err(e))?;
                        m == n && theirs[..n] == buf[..n]
                    }
                    None => false,
                };
                Some(match same {
                    true => sum.clone(),
                    false => {
                        let mut back = writer.read_back().map_err(DataError::destination)?;
                        hash_all(&mut *back, alg, &mut buf, job.cancel)
                            .map_err(|e| job.write_err(e))?
                    }
                })
            }
            _ => None,
        };
        Ok(Pumped {
            bytes,
            source_sum,
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
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(RING);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let (hashed_tx, hashed_rx) = mpsc::channel::<(Vec<u8>, usize)>();
    for _ in 0..RING + 1 {
        let _ = free_tx.send(buffers::take());
    }
    let verify_buf = back.as_ref().map(|_| buffers::take());
    let verifying = back.is_some();

    let (bytes, source_sum, differs) = std::thread::scope(|scope| {
        // Source chunks: hashed here, then handed to the verifier (or straight back).
        let to_verifier = verifying.then_some(hashed_tx);
        let free = free_tx.clone();
        let source_hasher = scope.spawn(move || {
            let mut h = alg.hasher();
            for (buf, n) in full_rx {
                h.update(&buf[..n]);
                match &to_verifier {
                    Some(v) => {
                        let _ = v.send((buf, n));
                    }
                    None => {
                        let _ = free.send(buf);
                    }
                }
            }
            h.finish()
        });
        // The destination read back chunk by chunk (each written before it is handed on) and
        // compared with the source's bytes of the same offset.
        let verifier = back.zip(verify_buf).map(|(mut back, mut mine)| {
            let free = free_tx.clone();
            scope.spawn(move || {
                let same = compare_back(&mut *back, &mut mine, hashed_rx, &free);
                (same, mine)
            })
        });
        drop(free_tx);

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
        let source_sum = source_hasher.join();
        let verdict = verifier.map(|t| t.join());
        // Every buffer back into the pool.
        while let Ok(buf) = free_rx.try_recv() {
            buffers::give(buf);
        }
        let bytes = copied?;
        let source_sum = source_sum
            .map_err(|_| DataError::source(StorageError::Io("hashing thread panicked".into())))?;
        let differs = match verdict {
            None => false,
            Some(Ok((same, mine))) => {
                buffers::give(mine);
                !same.map_err(|e| job.write_err(e))?
            }
            Some(Err(_)) => {
                return Err(DataError::destination(StorageError::Io(
                    "verifying thread panicked".into(),
                )))
            }
        };
        Ok((bytes, source_sum, differs))
    })?;
    let dest_sum = match (job.verify, differs) {
        (false, _) => None,
        (true, false) => Some(source_sum.clone()),
        // Rare: what the destination holds instead, for the report.
        (true, true) => Some(destination_sum(job, alg, writer)?),
    };
    Ok(Pumped {
        bytes,
        source_sum: Some(source_sum),
        dest_sum,
    })
}

/// Reads the destination back in step with the source chunks it is handed (each already
/// written) and compares; `Ok(false)` at the first difference, or when the destination is
/// longer. Every chunk goes back to `free`, even after a difference.
fn compare_back(
    back: &mut dyn Read,
    mine: &mut [u8],
    chunks: mpsc::Receiver<(Vec<u8>, usize)>,
    free: &mpsc::Sender<Vec<u8>>,
) -> std::io::Result<bool> {
    let mut same = true;
    let mut failed = None;
    for (buf, n) in chunks {
        if same && failed.is_none() {
            match read_full(back, &mut mine[..n]) {
                Ok(m) => same = m == n && mine[..n] == buf[..n],
                Err(e) => failed = Some(e),
            }
        }
        let _ = free.send(buf);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(same && read_some(back, &mut mine[..1])? == 0)
}

/// The checksum of what the destination's temporary file holds (after a verify mismatch).
fn destination_sum(
    job: &Job<'_>,
    alg: ChecksumAlgorithm,
    writer: &mut dyn WriteFile,
) -> Result<String, DataError> {
    let mut back = writer.read_back().map_err(DataError::destination)?;
    let mut buf = buffers::take();
    let sum = hash_all(&mut *back, alg, &mut buf, job.cancel).map_err(|e| job.write_err(e));
    buffers::give(buf);
    sum
}

/// Reads until `buf` is full or the file ends; how much was read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(r, &mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
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
