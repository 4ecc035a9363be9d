//! [`copy_file`]: one regular file from one storage to another.

use std::io::{Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use super::checksum::same_checksum;
use super::pipeline::{pump, Job};
use super::sync::{by_metadata, destination_file, open_destination, same_contents, Sides, Verdict};
use super::{CopyOptions, DataError, FileOutcome, Side, SyncLevel};
use crate::storage::{EntryKind, RelPath, Staged, Storage, StorageError};

/// Attempts when what was written does not read back with the source's checksum: Globus
/// re-transfers a file that fails verification; twice in a row means something is wrong.
const ATTEMPTS: u32 = 2;

/// Copies one regular file; blocking.
///
/// Checks `cancel` between chunks (a canceled copy leaves nothing under either name) and calls
/// `progress(bytes_so_far)` after each chunk (counting from zero again on a retry). Writes
/// through [`Storage::create`], so the destination name shows either its old content or the
/// whole, verified new one. The destination gets the source's permission bits (without
/// setuid/setgid/sticky) and, with `preserve_timestamp`, its mtime.
pub fn copy_file(
    src: &dyn Storage,
    src_path: &RelPath,
    dst: &dyn Storage,
    dst_path: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<FileOutcome, DataError> {
    let sides = (src, src_path, dst, dst_path);
    copy(sides, opts, false, progress, cancel).map(|(outcome, _)| outcome)
}

/// As [`copy_file`], but a copied file is left staged (complete, verified, with its mode and
/// mtime, under its temporary name; not synced): the caller makes a batch of them durable with
/// one [`Storage::sync_all`], then publishes each ([`Staged::publish`]). `opts.fsync` is not
/// used here. A skipped file has nothing staged.
pub fn copy_file_staged(
    src: &dyn Storage,
    src_path: &RelPath,
    dst: &dyn Storage,
    dst_path: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<(FileOutcome, Option<Box<dyn Staged>>), DataError> {
    let sides = (src, src_path, dst, dst_path);
    copy(sides, opts, true, progress, cancel)
}

type Ends<'a> = (&'a dyn Storage, &'a RelPath, &'a dyn Storage, &'a RelPath);

fn copy(
    (src, src_path, dst, dst_path): Ends<'_>,
    opts: &CopyOptions,
    stage: bool,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<(FileOutcome, Option<Box<dyn Staged>>), DataError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(DataError::Canceled);
    }
    let alg = opts.checksum_algorithm;
    // Levels 0-2 decide on metadata: an unchanged file is skipped without being opened (a
    // no-op re-sync costs two stats per file). The copy itself works from the opened file's
    // own metadata, never from this look.
    if let Some(level) = opts.sync_level.filter(|l| *l != SyncLevel::Checksum) {
        let entry = src.stat(src_path).map_err(DataError::source)?;
        if entry.kind == EntryKind::File {
            let dst_entry = destination_file(dst, dst_path)?;
            if let Verdict::Skip(reason) = by_metadata(level, &entry, dst_entry.as_ref()) {
                return Ok((FileOutcome::Skipped { reason }, None));
            }
        }
    }
    let mut reader = src.open_read(src_path).map_err(DataError::source)?;
    let entry = reader.entry().clone();
    if opts.sync_level == Some(SyncLevel::Checksum) {
        // Opened at once (its entry is the metadata to compare): one walk to the destination
        // instead of a stat and then an open.
        if let Some(mut dst_file) = open_destination(dst, dst_path)? {
            if let Verdict::CompareChecksums =
                by_metadata(SyncLevel::Checksum, &entry, Some(dst_file.entry()))
            {
                let sides = Sides {
                    src_path,
                    src_entry: &entry,
                    dst_path,
                };
                if let Some(reason) = same_contents(&sides, &mut *reader, &mut *dst_file, cancel)? {
                    return Ok((FileOutcome::Skipped { reason }, None));
                }
            }
        }
    }
    let job = Job {
        src_path,
        dst_path,
        hash: (opts.verify_checksum || opts.external_checksum.is_some()).then_some(alg),
        verify: opts.verify_checksum,
        size_hint: entry.size,
        cancel,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            reader
                .seek(SeekFrom::Start(0))
                .map_err(|e| DataError::source(StorageError::from_io(&e, src_path)))?;
        }
        let mut writer = match &opts.temp_tag {
            Some(tag) => dst.create_tagged(dst_path, tag),
            None => dst.create(dst_path),
        }
        .map_err(DataError::destination)?;
        let pumped = pump(&job, &mut *reader, &mut *writer, progress)?;
        if let (Some(given), Some(ours)) = (&opts.external_checksum, &pumped.source_sum) {
            if !same_checksum(alg, given, ours) {
                return Err(DataError::ChecksumMismatch {
                    side: Side::Source,
                    path: src_path.to_api(),
                    expected: given.clone(),
                    actual: ours.clone(),
                });
            }
        }
        if opts.verify_checksum && pumped.dest_sum != pumped.source_sum {
            if attempt < ATTEMPTS {
                continue; // the writer is dropped: its temporary file goes with it
            }
            return Err(DataError::ChecksumMismatch {
                side: Side::Destination,
                path: dst_path.to_api(),
                expected: pumped.source_sum.unwrap_or_default(),
                actual: pumped.dest_sum.unwrap_or_default(),
            });
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(DataError::Canceled);
        }
        let (modified, mode) = (
            opts.preserve_timestamp.then_some(entry.modified),
            Some(entry.permissions & 0o777),
        );
        let staged = if stage {
            Some(
                writer
                    .stage(modified, mode)
                    .map_err(DataError::destination)?,
            )
        } else {
            writer
                .commit(modified, mode, opts.fsync)
                .map_err(DataError::destination)?;
            None
        };
        let outcome = FileOutcome::Copied {
            bytes: pumped.bytes,
            checksum: pumped.source_sum,
        };
        return Ok((outcome, staged));
    }
}
