//! Is the destination already in sync with the source? (`sync_level`, see the module docs.)

use std::io::SeekFrom;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::buffers::{self, CHUNK};
use super::{DataError, SkipReason, SyncLevel};
use crate::storage::{Entry, EntryKind, ReadFile, RelPath, Storage, StorageError};

pub(crate) struct Sides<'a> {
    pub src_path: &'a RelPath,
    pub src_entry: &'a Entry,
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

/// The destination's regular file opened for reading, if there is one (`None` as for
/// [`destination_file`]). An open that fails on what is a regular file is that error.
pub(crate) fn open_destination(
    dst: &dyn Storage,
    dst_path: &RelPath,
) -> Result<Option<Box<dyn ReadFile>>, DataError> {
    match dst.open_read(dst_path) {
        Ok(file) => Ok(Some(file)),
        // Why not: nothing there, a link, a directory (copy), or an error on a real file.
        Err(open_error) => match destination_file(dst, dst_path)? {
            None => Ok(None),
            Some(_) => Err(DataError::destination(open_error)),
        },
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

/// Level 3 with equal sizes: `Some(SameChecksum)` when both files hold the same bytes. Leaves
/// `src` positioned at its start.
///
/// The contents are compared chunk by chunk rather than through two checksums: equal bytes
/// have equal checksums in every algorithm, so this is as strict as any of them (stricter than
/// a 32-bit CRC), costs a memory comparison instead of hashing both sides (rsync -a -c's
/// xxh128 is ~10x faster than MD5; this is faster again), and stops at the first difference.
pub(crate) fn same_contents(
    sides: &Sides<'_>,
    src: &mut dyn ReadFile,
    dst_file: &mut dyn ReadFile,
    cancel: &AtomicBool,
) -> Result<Option<SkipReason>, DataError> {
    let same = compare(sides, src, dst_file, cancel)?;
    src.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::source(StorageError::from_io(&e, sides.src_path)))?;
    Ok(same.then_some(SkipReason::SameChecksum))
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

fn compare(
    sides: &Sides<'_>,
    src: &mut dyn ReadFile,
    dst: &mut dyn ReadFile,
    cancel: &AtomicBool,
) -> Result<bool, DataError> {
    let src_err = |e: std::io::Error| DataError::source(StorageError::from_io(&e, sides.src_path));
    let dst_err =
        |e: std::io::Error| DataError::destination(StorageError::from_io(&e, sides.dst_path));
    // A file of a few KiB needs no 1 MiB buffers.
    let small = usize::try_from(sides.src_entry.size)
        .ok()
        .filter(|n| *n < CHUNK);
    let (mut a, mut b) = match small {
        Some(n) => (vec![0; n + 1], vec![0; n + 1]),
        None => (buffers::take(), buffers::take()),
    };
    let result = (|| loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(DataError::Canceled);
        }
        let n = read_full(src, &mut a).map_err(src_err)?;
        let m = read_full(dst, &mut b).map_err(dst_err)?;
        if n != m || a[..n] != b[..m] {
            return Ok(false);
        }
        if n < a.len() {
            return Ok(true);
        }
    })();
    buffers::give(a);
    buffers::give(b);
    result
}

/// Reads until `buf` is full or the file ends; how much was read.
fn read_full(r: &mut dyn ReadFile, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
