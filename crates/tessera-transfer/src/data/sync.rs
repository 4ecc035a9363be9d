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

/// What the metadata alone says.
pub(crate) enum Verdict {
    Skip(SkipReason),
    Copy,
    /// Same size at level 3: the contents must be compared.
    CompareChecksums,
}

/// The destination's regular file, if there is one (a directory, link or device under the
/// name is not the file: copy, which replaces a link and fails on a directory).
pub(crate) fn destination_file(
    dst: &dyn Storage,
    dst_path: &RelPath,
) -> Result<Option<Entry>, DataError> {
    match dst.stat(dst_path) {
        Ok(e) if e.kind == EntryKind::File => Ok(Some(e)),
        Ok(_) | Err(StorageError::NotFound(_)) => Ok(None),
        Err(e) => Err(DataError::destination(e)),
    }
}

pub(crate) fn by_metadata(level: SyncLevel, src: &Entry, dst: Option<&Entry>) -> Verdict {
    let Some(dst) = dst else { return Verdict::Copy };
    let same_size = dst.size == src.size;
    match level {
        SyncLevel::Exists => Verdict::Skip(SkipReason::Exists),
        _ if !same_size => Verdict::Copy,
        SyncLevel::Size => Verdict::Skip(SkipReason::SameSize),
        SyncLevel::Mtime if whole_seconds(dst.modified) >= whole_seconds(src.modified) => {
            Verdict::Skip(SkipReason::NotNewer)
        }
        SyncLevel::Mtime => Verdict::Copy,
        SyncLevel::Checksum => Verdict::CompareChecksums,
    }
}

/// Level 3 with equal sizes: `Some(SameChecksum)` when both files hash alike. Leaves `src`
/// positioned at its start.
pub(crate) fn same_contents(
    sides: &Sides<'_>,
    src: &mut dyn ReadFile,
    alg: ChecksumAlgorithm,
    cancel: &AtomicBool,
) -> Result<Option<SkipReason>, DataError> {
    let mut dst_file = sides
        .dst
        .open_read(sides.dst_path)
        .map_err(DataError::destination)?;
    let (a, b) = hash_both(sides, src, &mut *dst_file, alg, cancel)?;
    src.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::source(StorageError::from_io(&e, sides.src_path)))?;
    Ok((a == b).then_some(SkipReason::SameChecksum))
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
