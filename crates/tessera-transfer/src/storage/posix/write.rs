//! Writing a file under a temporary name in its destination directory, renamed over the final
//! name on commit and removed when dropped without commit.
//!
//! The temporary name is `.tessera-tmp-`, the writer's tag if it gave one (`TASK-ATTEMPT`, see
//! `engine::cleanup`) and `-`, and 16 random hex digits (64 bits from the operating system's
//! generator), created with `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600, through the
//! destination directory's handle: nobody can predict it, plant a link under it, or read the
//! data before the mode is set at commit (Globus Toolkit advisory 2006-02 is the failure mode).
//! The directory handle is held for the file's lifetime, so the commit renames within the same
//! directory even if it was renamed or swapped for a link meanwhile.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::SystemTime;

use rand::RngCore;
use rustix::fs::{fstat, openat, renameat, unlinkat, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::errors::{map, map_io};
use crate::storage::{RelPath, Staged, StorageError, WriteFile};

/// The prefix of every temporary file, so an operator (or a sweep) can recognise leftovers of
/// a crash: hidden, and never a name the API would produce for a finished file.
pub const TEMP_PREFIX: &str = ".tessera-tmp-";

/// Mode of a committed file when the caller does not ask for one: what `cp` gives under the
/// usual umask 022.
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o644;

pub(crate) struct PosixWriteFile {
    file: File,
    /// The name, the directory and the cleanup: dropped unpublished, it removes the file
    /// (unless it is a resumable partial file).
    name: PosixStaged,
}

/// Longest tag a temporary name carries.
const MAX_TAG: usize = 64;

/// Creates the temporary file for `path` in the directory `dir` (already opened below the root),
/// its name carrying `tag` when there is one.
pub(crate) fn create(
    dir: Arc<OwnedFd>,
    path: &RelPath,
    tag: Option<&str>,
) -> Result<PosixWriteFile, StorageError> {
    let final_name = path
        .name()
        .ok_or_else(|| StorageError::IsADirectory(path.to_api()))?
        .to_owned();
    let tag = match tag {
        Some(t)
            if t.len() <= MAX_TAG
                && !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-') =>
        {
            format!("{t}-")
        }
        Some(_) => return Err(StorageError::InvalidPath("a temporary name's tag".into())),
        None => String::new(),
    };
    let mut rng = rand::rngs::OsRng;
    for _ in 0..16 {
        let temp_name = format!("{TEMP_PREFIX}{tag}{:016x}", rng.next_u64());
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match openat(&dir, temp_name.as_str(), flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => {
                return Ok(PosixWriteFile {
                    file: File::from(fd),
                    name: PosixStaged {
                        dir,
                        temp_name,
                        final_name,
                        path: path.clone(),
                        published: false,
                        keep: false,
                    },
                })
            }
            Err(Errno::EXIST) => continue,
            Err(err) => return Err(map(err, path)),
        }
    }
    Err(StorageError::Io(format!(
        "{}: could not find a free temporary name",
        path.to_api()
    )))
}

impl PosixWriteFile {
    /// A file already open under `temp_name` in `dir` that stays when dropped uncommitted (see
    /// `partial.rs`).
    pub(crate) fn kept(
        file: File,
        dir: Arc<OwnedFd>,
        temp_name: String,
        path: &RelPath,
    ) -> Result<Self, StorageError> {
        let final_name = path
            .name()
            .ok_or_else(|| StorageError::IsADirectory(path.to_api()))?
            .to_owned();
        Ok(Self {
            file,
            name: PosixStaged {
                dir,
                temp_name,
                final_name,
                path: path.clone(),
                published: false,
                keep: true,
            },
        })
    }

    /// Mode and mtime, through the open file descriptor, never by name: nothing can redirect it.
    fn set_metadata(
        &mut self,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
    ) -> Result<(), StorageError> {
        let io = |e: std::io::Error| map_io(&e, &self.name.path);
        self.file.flush().map_err(io)?;
        let mode = permissions.unwrap_or(DEFAULT_FILE_MODE) & 0o7777;
        self.file
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
        if let Some(t) = modified {
            self.file.set_modified(t).map_err(io)?;
        }
        Ok(())
    }

    fn finish(
        &mut self,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
        fsync: bool,
    ) -> Result<(), StorageError> {
        self.set_metadata(modified, permissions)?;
        if fsync {
            // Data (and the size) on disk before the name appears: after a crash the final name
            // holds either the old file or the whole new one, never a torn one.
            self.file
                .sync_data()
                .map_err(|e| map_io(&e, &self.name.path))?;
        }
        self.name.rename()
    }
}

impl WriteFile for PosixWriteFile {
    fn read_back(&self) -> Result<Box<dyn std::io::Read + Send>, StorageError> {
        self.read_back_from(0)
    }

    fn read_back_from(&self, offset: u64) -> Result<Box<dyn std::io::Read + Send>, StorageError> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let name = &self.name;
        let fd = openat(&name.dir, name.temp_name.as_str(), flags, Mode::empty())
            .map_err(|e| map(e, &name.path))?;
        // The same inode as the one we write, or someone replaced our temporary file.
        let ours = fstat(&self.file).map_err(|e| map(e, &name.path))?;
        let theirs = fstat(&fd).map_err(|e| map(e, &name.path))?;
        if (ours.st_dev, ours.st_ino) != (theirs.st_dev, theirs.st_ino) {
            return Err(StorageError::Io(format!(
                "{}: temporary file replaced while writing",
                name.path.to_api()
            )));
        }
        let mut file = File::from(fd);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset))
            .map_err(|e| StorageError::from_io(&e, &name.path))?;
        Ok(Box::new(file))
    }

    fn commit(
        mut self: Box<Self>,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
        fsync: bool,
    ) -> Result<(), StorageError> {
        self.finish(modified, permissions, fsync)
    }

    fn stage(
        mut self: Box<Self>,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
    ) -> Result<Box<dyn Staged>, StorageError> {
        self.set_metadata(modified, permissions)?;
        // The open file is closed here (a batch holds many staged files); the temporary name
        // and the directory handle stay with the staged file, which removes it unless published.
        Ok(Box::new(self.name))
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.file.as_fd())
    }
}

/// A written file waiting under its temporary name for [`Staged::publish`].
struct PosixStaged {
    dir: Arc<OwnedFd>,
    temp_name: String,
    final_name: String,
    path: RelPath,
    published: bool,
    /// A resumable partial file (`partial.rs`) stays when dropped without commit.
    keep: bool,
}

impl PosixStaged {
    fn rename(&mut self) -> Result<(), StorageError> {
        renameat(
            &self.dir,
            self.temp_name.as_str(),
            &self.dir,
            self.final_name.as_str(),
        )
        .map_err(|e| map(e, &self.path))?;
        self.published = true;
        Ok(())
    }
}

impl Staged for PosixStaged {
    fn publish(mut self: Box<Self>) -> Result<(), StorageError> {
        self.rename()
    }

    fn publish_synced(mut self: Box<Self>) -> Result<(), StorageError> {
        // The data through a second open of our temporary name (the staged file was closed to
        // keep a batch's open files down); fdatasync needs no write access.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(&self.dir, self.temp_name.as_str(), flags, Mode::empty())
            .map_err(|e| map(e, &self.path))?;
        rustix::fs::fdatasync(&fd).map_err(|e| map(e, &self.path))?;
        drop(fd);
        self.rename()?;
        // The directory handle is an O_PATH one, which fsync refuses: the directory itself.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = openat(&self.dir, ".", flags, Mode::empty()).map_err(|e| map(e, &self.path))?;
        rustix::fs::fsync(&dir).map_err(|e| map(e, &self.path))
    }
}

impl Drop for PosixStaged {
    fn drop(&mut self) {
        if !self.published && !self.keep {
            // Best effort: the name is ours (O_EXCL), so removing it cannot hit anyone else's file.
            let _ = unlinkat(self.dir.as_fd(), self.temp_name.as_str(), AtFlags::empty());
        }
    }
}

impl Write for PosixWriteFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for PosixWriteFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}
