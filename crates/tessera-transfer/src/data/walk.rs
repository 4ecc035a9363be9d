//! Expanding a recursive item ([`walk`]) and finding what a mirror must delete ([`extras`]).
//! Neither follows a link: links are entries, reported and never descended into.

use std::collections::HashSet;

use super::{rebase, DataError, SkipReason};
use crate::storage::posix::TEMP_PREFIX;
use crate::storage::{Entry, EntryKind, RelPath, Storage, StorageError};

/// A source tree, ready to copy.
#[derive(Debug, Default)]
pub struct Walk {
    /// Directories to create, parents before children, the walked root first; empty ones too.
    pub dirs: Vec<RelPath>,
    /// Regular files and their sizes, in the same order as their directories.
    pub files: Vec<(RelPath, u64)>,
    /// Entries not copied (links, devices, non-UTF-8 names), with why.
    pub skipped: Vec<(RelPath, SkipReason)>,
    /// Directories below the root that could not be listed; the caller decides whether that
    /// fails the task or becomes a skipped error (`skip_source_errors`).
    pub errors: Vec<(RelPath, StorageError)>,
}

impl Walk {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|(_, size)| size).sum()
    }
}

/// Lists `dir`, sorted by name so walks are deterministic.
fn sorted(storage: &dyn Storage, dir: &RelPath) -> Result<Vec<Entry>, StorageError> {
    let mut entries = storage.list(dir)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Walks the directory `root` of `src`, breadth-first, one level at a time (a level's
/// directories are listed together, [`Storage::list_many`]: one request per level for a
/// connector's storage). An error on `root` itself is returned; errors below it are collected
/// in [`Walk::errors`].
pub fn walk(src: &dyn Storage, root: &RelPath) -> Result<Walk, DataError> {
    let mut out = Walk::default();
    let first = sorted(src, root).map_err(DataError::source)?;
    out.dirs.push(root.clone());
    let mut level = vec![(root.clone(), first)];
    while !level.is_empty() {
        let mut below = Vec::new();
        for (dir, entries) in level {
            for entry in entries {
                let Ok(path) = dir.join(&entry.name) else {
                    // A name RelPath cannot hold ('\\' in it): reported, not copied.
                    out.skipped.push((dir.clone(), SkipReason::NonUtf8Name));
                    continue;
                };
                if !entry.name_is_utf8 {
                    out.skipped.push((path, SkipReason::NonUtf8Name));
                    continue;
                }
                match entry.kind {
                    EntryKind::File => out.files.push((path, entry.size)),
                    EntryKind::Link => out.skipped.push((path, SkipReason::Symlink)),
                    EntryKind::Other => out.skipped.push((path, SkipReason::NotRegular)),
                    EntryKind::Dir => below.push(path),
                }
            }
        }
        let listed = src.list_many(&below);
        level = Vec::with_capacity(below.len());
        for (path, got) in below.into_iter().zip(listed) {
            match got {
                Ok(mut children) => {
                    children.sort_by(|a, b| a.name.cmp(&b.name));
                    out.dirs.push(path.clone());
                    level.push((path, children));
                }
                Err(e) => out.errors.push((path, e)),
            }
        }
    }
    Ok(out)
}

/// Entries below `dst_root` with no counterpart in the source walk (`delete_destination_extra`):
/// the topmost ones only (an extra directory stands for everything in it), never descending
/// into links. Temporary files of writes in progress (`.tessera-tmp-…`) are left alone. Call it
/// after the copies of the walk have finished.
pub fn extras(
    src_walk: &Walk,
    src_root: &RelPath,
    dst: &dyn Storage,
    dst_root: &RelPath,
) -> Result<Vec<RelPath>, DataError> {
    let present: HashSet<RelPath> = src_walk
        .dirs
        .iter()
        .chain(src_walk.files.iter().map(|(p, _)| p))
        .chain(src_walk.skipped.iter().map(|(p, _)| p))
        .filter_map(|p| rebase(p, src_root, dst_root))
        .collect();
    let source_dirs: HashSet<RelPath> = src_walk
        .dirs
        .iter()
        .filter_map(|p| rebase(p, src_root, dst_root))
        .collect();
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([dst_root.clone()]);
    while let Some(dir) = queue.pop_front() {
        let entries = match sorted(dst, &dir) {
            Ok(e) => e,
            Err(StorageError::NotFound(_)) if dir == *dst_root => return Ok(out),
            Err(e) => return Err(DataError::destination(e)),
        };
        for entry in entries {
            if entry.name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let Ok(path) = dir.join(&entry.name) else {
                continue;
            };
            if !entry.name_is_utf8 || !present.contains(&path) {
                // A non-UTF-8 name has no counterpart the API could have copied; it cannot be
                // addressed for deletion either, so it is left in place.
                if entry.name_is_utf8 {
                    out.push(path);
                }
            } else if entry.kind == EntryKind::Dir && source_dirs.contains(&path) {
                queue.push_back(path);
            }
        }
    }
    Ok(out)
}
