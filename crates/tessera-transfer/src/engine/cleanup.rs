//! Leftovers of a dead worker: files it was writing when it died stay under their temporary
//! name (`.tessera-tmp-…`, never under a real name). The node that resumes the task removes
//! them from the directories the task still writes to, before copying and again at the end.
//!
//! Every attempt at a task names its temporary files `.tessera-tmp-TASK-ATTEMPT-RANDOM`
//! ([`Tag`]): the task's id and a random id of the attempt. A resumed task removes every
//! temporary file of its own task that another attempt wrote, whatever its age (a restart
//! within the same second as the kill, which file times cannot tell apart, included), and
//! never its own. Other temporary files (other tasks', or untagged ones from an older
//! version, or an HTTPS upload's) may be live writes, so only those that cannot be are removed:
//! not modified for half a lease and for longer than an HTTPS upload may idle (a live task
//! write touches its file continuously, a dead node's task is taken over only after its lease
//! ran out, and an upload is abandoned after [`crate::https::UPLOAD_IDLE`] without a byte), or,
//! on SQLite, where one process owns the database, modified before this process started.

use crate::storage::posix::TEMP_PREFIX;
use crate::storage::{EntryKind, RelPath, Storage, StorageError};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

/// One attempt's mark in its temporary files' names: `TASK-ATTEMPT` in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// `TASK-` (what every attempt at the task starts with).
    task: String,
    /// `TASK-ATTEMPT`.
    full: String,
}

impl Tag {
    /// A new attempt at `task`.
    pub(crate) fn new(task: uuid::Uuid) -> Self {
        use rand::RngCore;
        let task = format!("{}-", task.simple());
        let full = format!("{task}{:016x}", rand::rngs::OsRng.next_u64());
        Self { task, full }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.full
    }

    /// Whether `temp` (a name without `TEMP_PREFIX`) belongs to another attempt at this task.
    fn dead_attempt(&self, temp: &str) -> bool {
        temp.starts_with(&self.task)
            && !temp
                .strip_prefix(&self.full)
                .is_some_and(|rest| rest.starts_with('-'))
    }
}

/// The longest a live write may leave its temporary file untouched: an HTTPS upload waits this
/// long for its next byte before it is abandoned (and its file removed by its own handler).
pub(crate) const LIVE_IDLE: Duration =
    Duration::from_secs(crate::https::UPLOAD_IDLE.as_secs() + 10);

/// Which temporary files count as dead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stale {
    /// Not modified since then: dead.
    pub(crate) before: SystemTime,
}

impl Stale {
    /// Half a lease (at least [`LIVE_IDLE`]) ago, or this process's start when it alone writes
    /// (SQLite), whichever is later.
    pub(crate) fn new(
        now: SystemTime,
        lease: Duration,
        process_start: SystemTime,
        sole_writer: bool,
    ) -> Self {
        let by_age = now
            .checked_sub((lease / 2).max(LIVE_IDLE))
            .unwrap_or(SystemTime::UNIX_EPOCH);
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

/// Removes the dead temporary files directly in `dirs` (see the module docs; `tag` is the
/// sweeping attempt's); returns how many. Directories that
/// are gone or unreadable are passed over: the copy reports its own errors.
pub(crate) fn sweep(
    storage: &dyn Storage,
    dirs: &BTreeSet<RelPath>,
    stale: Stale,
    tag: &Tag,
) -> usize {
    let mut removed = 0;
    for dir in dirs {
        let Ok(entries) = storage.list(dir) else {
            continue;
        };
        for e in entries {
            let Some(temp) = e.name.strip_prefix(TEMP_PREFIX) else {
                continue;
            };
            let ours = temp.starts_with(&tag.task);
            let dead = match ours {
                true => tag.dead_attempt(temp),
                false => e.modified < stale.before,
            };
            if e.kind != EntryKind::File || !dead {
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
        age(&dead, 600);
        age(&real, 600);
        age(&below, 600);
        // Idle for longer than half a lease but not longer than an upload may wait: live.
        age(&live, 30);
        let storage = PosixStorage::open(root.path()).unwrap();
        let stale = Stale::new(
            SystemTime::now(),
            Duration::from_secs(10),
            SystemTime::now(),
            false,
        );
        let dirs = parents(["/d/x", "/d/y"].into_iter());
        let tag = Tag::new(uuid::Uuid::new_v4());
        assert_eq!(sweep(&storage, &dirs, stale, &tag), 1);
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
        assert_eq!(Stale::new(now, lease, start, false).before, now - LIVE_IDLE);
        let long = Duration::from_secs(600);
        assert_eq!(
            Stale::new(now, long, start, false).before,
            now - Duration::from_secs(300)
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn a_dead_attempts_files_go_at_any_age_and_the_live_attempts_stay() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("d");
        std::fs::create_dir_all(&d).unwrap();
        let task = uuid::Uuid::new_v4();
        let (dead_attempt, live_attempt) = (Tag::new(task), Tag::new(task));
        let other_task = Tag::new(uuid::Uuid::new_v4());
        let name = |t: &Tag, r: &str| d.join(format!("{TEMP_PREFIX}{}-{r}", t.as_str()));
        let dead = name(&dead_attempt, "00000000000000aa");
        let live = name(&live_attempt, "00000000000000bb");
        let others = name(&other_task, "00000000000000cc");
        for p in [&dead, &live, &others] {
            std::fs::write(p, b"x").unwrap(); // all written just now
        }
        let storage = PosixStorage::open(root.path()).unwrap();
        // Everything is younger than the cut-off: only the tag can tell the dead one.
        let now = SystemTime::now() - Duration::from_secs(60);
        let stale = Stale::new(now, Duration::from_secs(10), now, true);
        let dirs = parents(["/d/x"].into_iter());
        assert_eq!(sweep(&storage, &dirs, stale, &live_attempt), 1);
        assert!(!dead.exists(), "the dead attempt's file stayed");
        assert!(live.exists() && others.exists());
        // An attempt whose id extends another's is still another attempt.
        assert!(!live_attempt.dead_attempt(&format!("{}-0011", live_attempt.as_str())));
        assert!(live_attempt.dead_attempt(&format!("{}0-0011", live_attempt.as_str())));
    }
}
