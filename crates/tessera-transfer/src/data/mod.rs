//! Moving bytes between two [`Storage`](crate::storage::Storage)s: one file at a time
//! ([`copy_file`]), a tree expanded into what to create and copy ([`walk`]), and what a mirror
//! must delete ([`extras`]).
//!
//! Everything here is blocking and meant for a bounded pool of data threads; several files may
//! be copied in parallel, each call independent. Bytes are streamed through reused buffers
//! (1 MiB chunks, a process-wide pool), never held whole in memory; bytes that need no hashing
//! are moved by the kernel (`copy_file_range`) where both storages are local files.
//!
//! Sync levels follow Globus (`globus-url-copy -sync-level`, which the Transfer API's
//! `sync_level` inherits): the destination counts as in sync, and the file is skipped, when
//! * 0 `exists`: a regular file exists under the destination name;
//! * 1 `size`: it exists with the source's size;
//! * 2 `mtime`: it exists with the source's size and is not older than the source
//!   (compared in whole seconds, as GridFTP's MDTM does);
//! * 3 `checksum`: it exists with the source's size and the same checksum (established by
//!   comparing the two files' bytes, which is stricter than any checksum and cheaper).
//!
//! Integrity: with `verify_checksum` the source is hashed while it is read, the destination is
//! read back and compared byte for byte with the source before its name appears (as strict as
//! comparing checksums in any algorithm, at memory speed instead of a second hash pass; the
//! destination is hashed only after a difference, to report it), and a mismatch is retried
//! once, then reported. For files larger than one chunk the copy, the source hash and the
//! destination comparison run on three threads at once, so verification costs about one hash
//! pass of wall time.
//!
//! Durability ("fsync policy"): [`copy_file`] with `CopyOptions::fsync` `fdatasync`s the file
//! before its rename. [`copy_file_staged`] leaves the finished file under its temporary name
//! for the caller (the engine), which makes a whole batch durable with one
//! [`Storage::sync_all`](crate::storage::Storage::sync_all) before publishing their names: never
//! an `fsync` per file or per directory.

mod buffers;
mod checksum;
mod copy;
mod pipeline;
mod sync;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_verify;
#[cfg(test)]
mod tests_walk;

use crate::storage::{RelPath, StorageError};

pub use self::checksum::{same_checksum, ChecksumAlgorithm, Hasher, UnknownAlgorithm};
pub use self::copy::{copy_file, copy_file_staged};
pub use self::walk::{extras, walk, Walk};

/// Globus `sync_level` (0–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SyncLevel {
    Exists = 0,
    Size = 1,
    Mtime = 2,
    Checksum = 3,
}

impl SyncLevel {
    /// From the API's integer; `None` for anything but 0–3.
    pub fn from_level(level: i64) -> Option<Self> {
        match level {
            0 => Some(Self::Exists),
            1 => Some(Self::Size),
            2 => Some(Self::Mtime),
            3 => Some(Self::Checksum),
            _ => None,
        }
    }
}

/// How one file is copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// Skip files the destination already has (see the module docs); `None` always copies.
    pub sync_level: Option<SyncLevel>,
    /// Hash the source while reading and the destination before commit; compare.
    pub verify_checksum: bool,
    /// For `verify_checksum` and `external_checksum`; by default
    /// [`ChecksumAlgorithm::DEFAULT`] (SHA-256; the engine uses it when the client names none).
    pub checksum_algorithm: ChecksumAlgorithm,
    /// A checksum the user gave for this item: the source must match it (in
    /// `checksum_algorithm`), or the copy fails without touching the destination name.
    pub external_checksum: Option<String>,
    /// Give the destination the source's mtime (else it keeps the time of the copy).
    pub preserve_timestamp: bool,
    /// `fdatasync` the file before its rename (see the module docs). Default true. Not used by
    /// [`copy_file_staged`], whose caller syncs a whole batch at once.
    pub fsync: bool,
    /// The task's `encrypt_data`: bytes that cross the network go over TLS or not at all. Only
    /// storage connectors act on it (their [`crate::connectors::ConnectorHub`] refuses a copy
    /// it cannot encrypt); [`copy_file`] between two local storages never leaves the host.
    pub encrypt_data: bool,
    /// Put this in the temporary name ([`Storage::create_tagged`](crate::storage::Storage::create_tagged)):
    /// the engine's `TASK-ATTEMPT`, so a resumed task removes exactly its dead attempts' files.
    pub temp_tag: Option<String>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            sync_level: None,
            verify_checksum: false,
            checksum_algorithm: ChecksumAlgorithm::DEFAULT,
            external_checksum: None,
            preserve_timestamp: false,
            fsync: true,
            encrypt_data: false,
            temp_tag: None,
        }
    }
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOutcome {
    /// Copied; `checksum` (hex, in the options' algorithm) when one was computed.
    Copied {
        bytes: u64,
        checksum: Option<String>,
    },
    /// Not copied because the destination is in sync.
    Skipped { reason: SkipReason },
}

/// Why a file or an entry was not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Sync level 0: the destination exists.
    Exists,
    /// Sync level 1: same size.
    SameSize,
    /// Sync level 2: same size and the destination is not older.
    NotNewer,
    /// Sync level 3: same size and checksum.
    SameChecksum,
    /// A symbolic link in a recursive source (links are never followed or copied).
    Symlink,
    /// A FIFO, socket or device in a recursive source.
    NotRegular,
    /// A name that is not UTF-8 cannot be addressed through the API; `walk` reports it here,
    /// with the lossy name in the path. A name holding a backslash (which `RelPath` refuses) is
    /// reported the same way, under its directory's path.
    NonUtf8Name,
}

/// Which end of a copy an error belongs to (the engine treats a missing source and a full
/// destination differently: `skip_source_errors`, `fail_on_quota_errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{side:?}: {error}")]
    Storage { side: Side, error: StorageError },
    /// `Source`: the source does not match `external_checksum`; `Destination`: what was
    /// written does not read back with the source's checksum (after one retry).
    #[error("{side:?} checksum mismatch for {path}: expected {expected}, got {actual}")]
    ChecksumMismatch {
        side: Side,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("canceled")]
    Canceled,
}

impl DataError {
    pub(crate) fn source(error: StorageError) -> Self {
        Self::Storage {
            side: Side::Source,
            error,
        }
    }

    pub(crate) fn destination(error: StorageError) -> Self {
        Self::Storage {
            side: Side::Destination,
            error,
        }
    }
}

/// `path` (which lies below `from`) moved below `to`: `/a/b/c` from `/a` to `/x` is `/x/b/c`.
/// `None` when `path` is not below `from`.
pub fn rebase(path: &RelPath, from: &RelPath, to: &RelPath) -> Option<RelPath> {
    if !path.starts_with(from) {
        return None;
    }
    let mut out = to.clone();
    for name in &path.components()[from.components().len()..] {
        out = out.join(name).ok()?;
    }
    Some(out)
}
