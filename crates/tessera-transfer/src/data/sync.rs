//! Is the destination already in sync with the source? (`sync_level`, see the module docs.)

use std::io::{Read, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::buffers::{self, CHUNK};
use super::pipeline::hash_all;
use super::{ChecksumAlgorithm, DataError, SkipReason, SyncLevel};
use crate::storage::{Entry, EntryKind, ReadFile, RelPath, Storage, StorageError};

pub(crate) struct Sides<'a> {
    pub src_path: &'a RelPath,
    pub src_entry: &'a Entry,
    pub dst: &'a dyn Storage,
    pub dst_path: &'a RelPath,
}

/// `Some(reason)` when the file can be skipped. Leaves `src` positioned at its start.
pub(crate) fn in_sync(
    level: SyncLevel,
    sides: &Sides<'_>,
    src: &mut dyn ReadFile,
    alg: ChecksumAlgorithm,
    cancel: &AtomicBool,
) -> Result<Option<SkipReason>, DataError> {
    let dst_entry = match sides.dst.stat(sides.dst_path) {
        Ok(e) => e,
        Err(StorageError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(DataError::destination(e)),
    };
    // A directory, link or device under the name is not the file: copy (replacing a link,
    // failing on a directory).
    if dst_entry.kind != EntryKind::File {
        return Ok(None);
    }
    let same_size = dst_entry.size == sides.src_entry.size;
    Ok(match level {
        SyncLevel::Exists => Some(SkipReason::Exists),
        _ if !same_size => None,
        SyncLevel::Size => Some(SkipReason::SameSize),
        SyncLevel::Mtime => (whole_seconds(dst_entry.modified)
            >= whole_seconds(sides.src_entry.modified))
        .then_some(SkipReason::NotNewer),
        SyncLevel::Checksum => {
            let mut dst_file = sides
                .dst
                .open_read(sides.dst_path)
                .map_err(DataError::destination)?;
            let (a, b) = hash_both(sides, src, &mut *dst_file, alg, cancel)?;
            src.seek(SeekFrom::Start(0))
                .map_err(|e| DataError::source(StorageError::from_io(&e, sides.src_path)))?;
            (a == b).then_some(SkipReason::SameChecksum)
        }
    })
}

fn whole_seconds(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        Err(e) => {
            let d = e.duration();
            -i128::from(d.as_secs()) - i128::from(d.subsec_nanos() > 0)
        }
    }
}

/// Both checksums; in parallel when the files are larger than one chunk.
fn hash_both(
    sides: &Sides<'_>,
    src: &mut dyn ReadFile,
    dst: &mut dyn ReadFile,
    alg: ChecksumAlgorithm,
    cancel: &AtomicBool,
) -> Result<(String, String), DataError> {
    let src_err = |e: std::io::Error| DataError::source(StorageError::from_io(&e, sides.src_path));
    let dst_err =
        |e: std::io::Error| DataError::destination(StorageError::from_io(&e, sides.dst_path));
    let mut buf_a = buffers::take();
    let mut buf_b = buffers::take();
    let result = if sides.src_entry.size > CHUNK as u64 {
        std::thread::scope(|scope| {
            let other = scope.spawn(|| hash_all(reader(dst), alg, &mut buf_b, cancel));
            let a = hash_all(reader(src), alg, &mut buf_a, cancel);
            let b = other
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("hashing thread panicked")));
            (a, b)
        })
    } else {
        (
            hash_all(reader(src), alg, &mut buf_a, cancel),
            hash_all(reader(dst), alg, &mut buf_b, cancel),
        )
    };
    buffers::give(buf_a);
    buffers::give(buf_b);
    if cancel.load(Ordering::Relaxed) {
        return Err(DataError::Canceled);
    }
    Ok((result.0.map_err(src_err)?, result.1.map_err(dst_err)?))
}

fn reader(r: &mut dyn ReadFile) -> &mut dyn Read {
    r
}
