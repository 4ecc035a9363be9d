//! [`PosixStorage`]: a directory of the local filesystem as an endpoint's storage.
//!
//! Every operation starts from one directory handle of the root, opened once, and reaches its
//! target without following any symbolic link anywhere in the walk (`resolve.rs`); the last step
//! is always an `*at` call relative to the parent's handle, with `AT_SYMLINK_NOFOLLOW` or
//! `O_NOFOLLOW`. Links inside the root are listed and can be removed or renamed as entries, but
//! never traversed, opened or written through, whatever they point at. Names are bytes on disk:
//! they are compared and passed as bytes (no Unicode normalisation), and listed lossily when
//! they are not UTF-8.
//!
//! Durability: `WriteFile::commit(.., fsync: true)` `fdatasync`s the file before renaming it;
//! directory entries are made durable in one batch by [`Storage::sync_all`] (`syncfs`), not by
//! an `fsync` per file. Splitting it this way keeps 10,000 small files from costing 10,000
//! journal commits; the caller records a file as done only after `sync_all` when it needs the
//! names to survive a power loss.

mod dirs;
mod entries;
mod errors;
mod partial;
mod remove;
mod resolve;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{
    fstat, mkdirat, openat, renameat, renameat_with, statat, AtFlags, Mode, OFlags, RenameFlags,
};
use rustix::io::Errno;

use self::entries::{entry_from, kind_of, Owners};
use self::errors::map;
use self::resolve::{open_child, Handle, Purpose, Root};
use super::{Entry, EntryKind, ReadFile, RelPath, Storage, StorageError, WriteFile};

pub use self::dirs::{keep_dirs, KeptDirs};
pub(crate) use self::errors::map_io;
pub use self::partial::PARTIAL_PREFIX;
pub use self::write::TEMP_PREFIX;

/// Mode of directories made by `mkdir`/`mkdir_all` (before the process umask).
const DIR_MODE: u32 = 0o755;

/// A local directory tree, confined to its root. Cheap to share (`Arc`) between threads.
pub struct PosixStorage {
    root: Root,
    owners: Owners,
}

impl PosixStorage {
    /// Opens the endpoint rooted at `root` (an absolute path the operator registered; links in
    /// it are followed once, here, and never again).
    pub fn open(root: &Path) -> Result<Self, StorageError> {
        Self::open_with(root, true)
    }

    /// As [`PosixStorage::open`], choosing whether `openat2` may be used (tests run every
    /// hostile case both ways, since older kernels only have the fallback).
    pub fn open_with(root: &Path, allow_openat2: bool) -> Result<Self, StorageError> {
        let root = Root::open(root, allow_openat2).map_err(|e| {
            let err = map(e, &RelPath::root());
            match err {
                StorageError::NotFound(_) => {
                    StorageError::NotFound(format!("endpoint root {}", root.display()))
                }
                other => other,
            }
        })?;
        Ok(Self {
            root,
            owners: Owners::default(),
        })
    }

    /// Whether the kernel's `openat2` does the walks (else one `openat` per component).
    pub fn uses_openat2(&self) -> bool {
        self.root.uses_openat2()
    }

    /// The parent's walk handle and the final name of `path`; the root itself has no parent.
    fn parent<'a>(&'a self, path: &'a RelPath) -> Result<(Handle<'a>, &'a str), StorageError> {
        let (name, parent) = path
            .components()
            .split_last()
            .ok_or_else(|| StorageError::InvalidPath("the endpoint's root itself".into()))?;
        if parent.is_empty() || !dirs::keeping() {
            let dir = self
                .root
                .open_dir(parent, Purpose::Walk)
                .map_err(|e| map(e, &path.parent().unwrap_or_default()))?;
            return Ok((dir, name));
        }
        // In a `keep_dirs` scope: the handle this thread opened for the same directory.
        let me = (self as *const Self as usize, self.root.fd().as_raw_fd());
        if let Some(fd) = dirs::find(me, parent) {
            return Ok((Handle::Shared(fd), name));
        }
        let dir = self
            .root
            .open_dir(parent, Purpose::Walk)
            .and_then(Handle::into_shared)
            .map_err(|e| map(e, &path.parent().unwrap_or_default()))?;
        dirs::keep(me, parent, dir.clone());
        Ok((Handle::Shared(dir), name))
    }
}

impl PosixStorage {
    fn create_with(
        &self,
        path: &RelPath,
        tag: Option<&str>,
    ) -> Result<Box<dyn WriteFile>, StorageError> {
        let (dir, name) = self.parent(path)?;
        match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if kind_of(&st) == EntryKind::Dir => {
                return Err(StorageError::IsADirectory(path.to_api()))
            }
            _ => {}
        }
        let dir = dir.into_shared().map_err(|e| map(e, path))?;
        Ok(Box::new(write::create(dir, path, tag)?))
    }
}

fn c_name(name: &str, path: &RelPath) -> Result<CString, StorageError> {
    CString::new(name).map_err(|_| StorageError::InvalidPath(path.to_api()))
}

impl Storage for PosixStorage {
    fn stat(&self, path: &RelPath) -> Result<Entry, StorageError> {
        let err = |e| map(e, path);
        if path.is_root() {
            let st = statat(self.root.fd(), ".", AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
            return Ok(entry_from(
                &self.owners,
                &st,
                ("/".into(), true),
                &self.root.fd(),
                c".",
            ));
        }
        let (dir, name) = self.parent(path)?;
        let cname = c_name(name, path)?;
        let st = statat(&dir, cname.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
        Ok(entry_from(
            &self.owners,
            &st,
            (name.to_owned(), true),
            &dir,
            &cname,
        ))
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>, StorageError> {
        let handle = self
            .root
            .open_dir(dir.components(), Purpose::Read)
            .map_err(|e| map(e, dir))?;
        entries::list(&self.owners, &handle).map_err(|e| map(e, dir))
    }

    fn mkdir(&self, path: &RelPath) -> Result<(), StorageError> {
        let (dir, name) = self.parent(path)?;
        mkdirat(&dir, name, Mode::from_raw_mode(DIR_MODE)).map_err(|e| map(e, path))
    }

    fn mkdir_all(&self, path: &RelPath) -> Result<(), StorageError> {
        let mut current = Handle::Root(self.root.fd());
        let mut so_far = RelPath::root();
        for name in path.components() {
            so_far = so_far.join(name)?;
            let next = match open_child(&current, name) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match mkdirat(&current, name.as_str(), Mode::from_raw_mode(DIR_MODE)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(map(e, &so_far)),
                    }
                    open_child(&current, name).map_err(|e| map(e, &so_far))?
                }
                Err(e) => return Err(map(e, &so_far)),
            };
            current = Handle::Owned(next);
        }
        Ok(())
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<(), StorageError> {
        let (from_dir, from_name) = self.parent(from)?;
        let (to_dir, to_name) = self.parent(to)?;
        match renameat_with(
            &from_dir,
            from_name,
            &to_dir,
            to_name,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            Err(Errno::INVAL) => {
                // Either a directory moved into itself, or a filesystem without
                // RENAME_NOREPLACE: check the destination, then a plain rename.
                match statat(&to_dir, to_name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(_) => Err(StorageError::Exists(to.to_api())),
                    Err(_) => {
                        renameat(&from_dir, from_name, &to_dir, to_name).map_err(|e| map(e, to))
                    }
                }
            }
            Err(Errno::NOENT) => Err(map(Errno::NOENT, from)),
            Err(e) => Err(map(e, to)),
        }
    }

    fn remove(&self, path: &RelPath, recursive: bool) -> Result<u64, StorageError> {
        let (dir, name) = self.parent(path)?;
        let cname = c_name(name, path)?;
        remove::remove_entry(&dir, &cname, recursive).map_err(|e| map(e, path))
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn ReadFile>, StorageError> {
        let err = |e| map(e, path);
        let (dir, name) = self.parent(path)?;
        let cname = c_name(name, path)?;
        // Look before opening, so a FIFO or a device (a tape that rewinds on open) is never
        // opened; then check that what we opened is what we looked at.
        let before = statat(&dir, cname.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
        check_regular(kind_of(&before), path)?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = openat(&dir, cname.as_c_str(), flags, Mode::empty()).map_err(err)?;
        let st = fstat(&fd).map_err(err)?;
        check_regular(kind_of(&st), path)?;
        if st.st_ino != before.st_ino || st.st_dev != before.st_dev {
            return Err(StorageError::Io(format!(
                "{}: changed while being opened",
                path.to_api()
            )));
        }
        rustix::fs::fcntl_setfl(&fd, OFlags::empty()).map_err(err)?;
        if st.st_size > 1 << 20 {
            // Files are read front to back: a larger readahead window for cold reads. Advice
            // only; a filesystem that ignores it changes nothing.
            let _ = rustix::fs::fadvise(&fd, 0, None, rustix::fs::Advice::Sequential);
        }
        let entry = entry_from(&self.owners, &st, (name.to_owned(), true), &dir, &cname);
        Ok(Box::new(PosixReadFile {
            file: File::from(fd),
            entry,
        }))
    }

    fn create(&self, path: &RelPath) -> Result<Box<dyn WriteFile>, StorageError> {
        self.create_with(path, None)
    }

    fn create_tagged(&self, path: &RelPath, tag: &str) -> Result<Box<dyn WriteFile>, StorageError> {
        self.create_with(path, Some(tag))
    }

    fn sync_all(&self) -> Result<(), StorageError> {
        rustix::fs::syncfs(self.root.fd()).map_err(|e| map(e, &RelPath::root()))
    }
}

fn check_regular(kind: EntryKind, path: &RelPath) -> Result<(), StorageError> {
    match kind {
        EntryKind::File => Ok(()),
        EntryKind::Dir => Err(StorageError::IsADirectory(path.to_api())),
        EntryKind::Link => Err(map(Errno::LOOP, path)),
        EntryKind::Other => Err(StorageError::InvalidPath(format!(
            "{}: not a regular file",
            path.to_api()
        ))),
    }
}

struct PosixReadFile {
    file: File,
    entry: Entry,
}

impl ReadFile for PosixReadFile {
    fn entry(&self) -> &Entry {
        &self.entry
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.file.as_fd())
    }
}

impl Read for PosixReadFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for PosixReadFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}
