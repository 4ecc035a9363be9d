//! Leftovers of a dead worker: files it was writing when it died stay under their temporary
//! name (`.tessera-tmp-…`, never under a real name). The node that resumes the task removes
//! them from the directories the task still writes to, before copying and again at the end.
//!
//! A temporary file may also be a live write of another task in the same directory, so only
//! files that cannot be live are removed: not modified for half a lease (a live write touches
//! its file continuously, and a dead node's task is taken over only after its lease ran out),
//! or, on SQLite, where one process owns the database, modified before this process started.

use crate::storage::posix::TEMP_PREFIX;
use crate::storage::{EntryKind, RelPath, Storage, StorageError};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// Which temporary files count as dead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stale {
    /// Not modified since then: dead.
    pub(crate) before: SystemTime,
}

impl Stale {
    /// Half a lease ago, or this process's start when it alone writes (SQLite), whichever is
    /// later.
    pub(crate) fn new(
        now: SystemTime,
        lease: Duration,
        process_start: SystemTime,
        sole_writer: bool,
    ) -> Self {
        let by_age = now.checked_sub(lease / 2).unwrap_or(SystemTime::UNIX_EPOCH);
        let before = if sole_writer {
            by_age.max(process_start)
        } else {
            by_age
        };
        Self { before }
    }
}

/// The directories holding the destinations of `paths`.
pub(crate) fn parents<'a>(paths: impl Iterator<Item = &'a str>) -> BTreeSet<RelPath> {
    paths
        .filter_map(|p| RelPath::parse(p).ok())
        .filter_map(|p| p.parent())
        .collect()
}

/// Removes the dead temporary files directly in `dirs`; returns how many. Directories that
/// are gone or unreadable are passed over: the copy reports its own errors.
pub(crate) fn sweep(storage: &dyn Storage, dirs: &BTreeSet<RelPath>, stale: Stale) -> usize {
    let mut removed = 0;
    for dir in dirs {
        let Ok(entries) = storage.list(dir) else {
            continue;
        };
        for e in entries {
            if e.kind != EntryKind::File
                || !e.name.starts_with(TEMP_PREFIX)
                || e.modified >= stale.before
            {
                continue;
            }
            let Ok(path) = dir.join(&e.name) else {
                continue;
            };
            match storage.remove(&path, false) {
                Ok(_) => removed += 1,
                Err(StorageError::NotFound(_)) => {}
                Err(err) => {
                    tracing::warn!(path = %path.to_api(), error = %err, "removing a dead temporary file failed")
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::posix::PosixStorage;

    #[allow(clippy::disallowed_methods)] // file times are the file system's, not the clock's
    fn age(path: &std::path::Path, secs: u64) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn only_old_temporary_files_in_the_named_directories_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        let dead = d.join(format!("{TEMP_PREFIX}00000000000000aa"));
        let live = d.join(format!("{TEMP_PREFIX}00000000000000bb"));
        let real = d.join("real.txt");
        let below = d.join("sub").join(format!("{TEMP_PREFIX}00000000000000cc"));
        for p in [&dead, &live, &real, &below] {
            std::fs::write(p, b"x").unwrap();
        }
        age(&dead, 60);
        age(&real, 60);
        age(&below, 60);
        let storage = PosixStorage::open(root.path()).unwrap();
        let stale = Stale::new(
            SystemTime::now(),
            Duration::from_secs(10),
            SystemTime::now(),
            false,
        );
        let dirs = parents(["/d/x", "/d/y"].into_iter());
        assert_eq!(sweep(&storage, &dirs, stale), 1);
        assert!(!dead.exists());
        assert!(live.exists() && real.exists() && below.exists());
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn a_sole_writer_counts_everything_before_its_start_as_dead() {
        let now = SystemTime::now();
        let start = now - Duration::from_secs(1);
        let lease = Duration::from_secs(10);
        assert_eq!(Stale::new(now, lease, start, true).before, start);
        assert_eq!(
            Stale::new(now, lease, start, false).before,
            now - Duration::from_secs(5)
        );
    }
}
