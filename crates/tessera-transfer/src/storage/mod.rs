//! Storage behind a trait. Everything here is blocking (call it from `spawn_blocking` or a data
//! thread); an implementation opens every path relative to a directory handle of the endpoint's
//! root, so nothing it does can leave that root, whatever the path or the links on disk.

use std::os::fd::BorrowedFd;
use std::time::SystemTime;

pub mod posix;

/// A path inside an endpoint, relative to its root: zero or more components, none empty, `.`,
/// `..`, or holding `/` or NUL. The empty path is the root itself. Built only through
/// [`RelPath::parse`], so holding one means it is confined lexically; the implementation confines
/// it on disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RelPath {
    components: Vec<String>,
}

impl RelPath {
    /// The root of the endpoint.
    pub fn root() -> Self {
        Self::default()
    }

    /// Parses an API path (`/a/b/`, `a//b`, `/~/a`): `.` and empty components are dropped, `/~/`
    /// at the start means the root, and `..` is refused rather than resolved (a client that
    /// sends `..` is either confused or probing). NUL and backslash are refused.
    pub fn parse(path: &str) -> Result<Self, StorageError> {
        let path = path.strip_prefix("/~").map_or(path, |rest| {
            if rest.is_empty() || rest.starts_with('/') {
                rest
            } else {
                path
            }
        });
        let mut components = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(StorageError::InvalidPath("'..' is not allowed".into())),
                p if p.contains('\0') || p.contains('\\') => {
                    return Err(StorageError::InvalidPath(
                        "NUL and '\\' are not allowed".into(),
                    ))
                }
                p => components.push(p.to_owned()),
            }
        }
        Ok(Self { components })
    }

    pub fn components(&self) -> &[String] {
        &self.components
    }

    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The last component (`None` for the root).
    pub fn name(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The parent (`None` for the root).
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.components.split_last()?;
        Some(Self {
            components: rest.to_vec(),
        })
    }

    /// This path with one more component; the name must be a single valid component.
    pub fn join(&self, name: &str) -> Result<Self, StorageError> {
        let child = Self::parse(name)?;
        if child.components.len() != 1 {
            return Err(StorageError::InvalidPath(format!(
                "'{name}' is not one name"
            )));
        }
        let mut components = self.components.clone();
        components.extend(child.components);
        Ok(Self { components })
    }

    /// `self` equals `other` or lies below it, compared by whole components
    /// (`/data` does not contain `/database`).
    pub fn starts_with(&self, other: &RelPath) -> bool {
        self.components.starts_with(&other.components)
    }

    /// The API form: `/` for the root, `/a/b` otherwise (directories get their trailing `/`
    /// from the caller).
    pub fn to_api(&self) -> String {
        let mut s = String::from("/");
        s.push_str(&self.components.join("/"));
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symbolic link (reported, never followed out of the root).
    Link,
    /// Sockets, FIFOs, devices: listed, never copied.
    Other,
}

/// One directory entry or `stat` answer, as `ls` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name as UTF-8; a name that is not valid UTF-8 is listed lossily with
    /// `name_is_utf8: false` so the caller can report it instead of failing the whole listing.
    pub name: String,
    pub name_is_utf8: bool,
    pub kind: EntryKind,
    pub size: u64,
    pub modified: SystemTime,
    /// Mode bits (`0o7777` part).
    pub permissions: u32,
    pub user: String,
    pub group: String,
    /// For links: the link's target as stored (not resolved).
    pub link_target: Option<String>,
}

/// What went wrong, in terms the API maps to Globus error codes.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    Exists(String),
    #[error("not a directory: {0}")]
    NotADirectory(String),
    #[error("is a directory: {0}")]
    IsADirectory(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error("directory not empty: {0}")]
    NotEmpty(String),
    #[error("no space left: {0}")]
    NoSpace(String),
    #[error("storage error: {0}")]
    Io(String),
}

impl StorageError {
    /// Maps an error from reading or writing an open file of `path` (errno-based, as every
    /// operation of the POSIX storage does).
    pub fn from_io(err: &std::io::Error, path: &RelPath) -> Self {
        posix::map_io(err, path)
    }
}

/// An open file to read from.
pub trait ReadFile: std::io::Read + std::io::Seek + Send {
    fn entry(&self) -> &Entry;

    /// The open file's descriptor, when the storage has one: a copy between two such files
    /// can let the kernel move the pages (`copy_file_range`) instead of reading and writing
    /// them through user memory. Default: none.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// A file being written under a temporary name in its destination directory (`O_EXCL`, mode
/// 0600); [`WriteFile::commit`] syncs it as asked, sets its mtime and mode, and renames it over the
/// final name. Dropped without commit, the temporary file is removed.
pub trait WriteFile: std::io::Write + std::io::Seek + Send {
    fn commit(
        self: Box<Self>,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
        fsync: bool,
    ) -> Result<(), StorageError>;

    /// Finishes the file as [`WriteFile::commit`] does (mtime, mode) but neither syncs it nor
    /// renames it: the name appears when the returned [`Staged`] is published. A batch of
    /// files is made durable with one [`Storage::sync_all`] between staging and publishing,
    /// instead of an `fdatasync` per file, and no crash shows a torn file under a real name.
    /// Default: commit with `fsync` at once (a storage without temporary names).
    fn stage(
        self: Box<Self>,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
    ) -> Result<Box<dyn Staged>, StorageError> {
        self.commit(modified, permissions, true)?;
        Ok(Box::new(Published))
    }

    /// See [`ReadFile::fd`].
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// A reader of what has been written so far, from the start, through a second open of the
    /// temporary file (for `verify_checksum`, before the name appears). Reading past the bytes
    /// written so far gives end-of-file; more bytes appear as writing goes on. Default: not
    /// supported.
    fn read_back(&self) -> Result<Box<dyn std::io::Read + Send>, StorageError> {
        Err(StorageError::Io(
            "this storage cannot read a file back before commit".into(),
        ))
    }

    /// As [`WriteFile::read_back`], from byte `offset` on. Default: read back and skip
    /// `offset` bytes; storages that can seek do that instead (a reader that follows a growing
    /// file from further and further in must not re-read what it already had).
    fn read_back_from(&self, offset: u64) -> Result<Box<dyn std::io::Read + Send>, StorageError> {
        let mut r = self.read_back()?;
        let mut skipped = std::io::Read::take(&mut r, offset);
        std::io::copy(&mut skipped, &mut std::io::sink())
            .map_err(|e| StorageError::Io(e.to_string()))?;
        Ok(r)
    }
}

/// A finished, not yet visible file (see [`WriteFile::stage`]). Dropped without
/// [`Staged::publish`], its temporary file is removed.
pub trait Staged: Send {
    /// Renames the file over its final name.
    fn publish(self: Box<Self>) -> Result<(), StorageError>;

    /// Durable on its own, without a [`Storage::sync_all`]: the file's data is synced
    /// (`fdatasync`), it is renamed over its final name, and the directory is synced. For a
    /// batch of a few files: it flushes only this file, where `sync_all` (`syncfs`) would wait
    /// for every other writer's dirty data on the filesystem. Default: [`Staged::publish`]
    /// (a storage whose staged files are durable already).
    fn publish_synced(self: Box<Self>) -> Result<(), StorageError> {
        self.publish()
    }
}

/// A file that was visible from the start (the default [`WriteFile::stage`]).
struct Published;

impl Staged for Published {
    fn publish(self: Box<Self>) -> Result<(), StorageError> {
        Ok(())
    }
}

/// One endpoint's storage, rooted at the directory it was opened on. Every method is blocking.
pub trait Storage: Send + Sync + 'static {
    /// Stat without following a final symlink.
    fn stat(&self, path: &RelPath) -> Result<Entry, StorageError>;
    /// All entries of a directory (hidden ones included), in no particular order.
    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>, StorageError>;
    /// [`Storage::list`] of each of `dirs`, one answer each, in order. A storage behind a
    /// network lists them in few requests. Default: one call each.
    fn list_many(&self, dirs: &[RelPath]) -> Vec<Result<Vec<Entry>, StorageError>> {
        dirs.iter().map(|d| self.list(d)).collect()
    }
    /// Make one directory; its parent must exist.
    fn mkdir(&self, path: &RelPath) -> Result<(), StorageError>;
    /// Make a directory and any missing parents; an existing directory is fine.
    fn mkdir_all(&self, path: &RelPath) -> Result<(), StorageError>;
    /// [`Storage::mkdir_all`] of each of `dirs`, in order; on failure, which one and why. A
    /// storage behind a network makes them in few requests. Default: one call each.
    fn mkdir_all_many(&self, dirs: &[RelPath]) -> Result<(), (usize, StorageError)> {
        for (i, d) in dirs.iter().enumerate() {
            self.mkdir_all(d).map_err(|e| (i, e))?;
        }
        Ok(())
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<(), StorageError>;
    /// Remove a file or link; a directory only with `recursive` (never following links,
    /// no TOCTOU: removal walks directory handles). Returns the number of entries removed.
    fn remove(&self, path: &RelPath, recursive: bool) -> Result<u64, StorageError>;
    fn open_read(&self, path: &RelPath) -> Result<Box<dyn ReadFile>, StorageError>;
    /// Start writing `path` (its parent must exist): see [`WriteFile`].
    fn create(&self, path: &RelPath) -> Result<Box<dyn WriteFile>, StorageError>;
    /// As [`Storage::create`], with `tag` (lower-case hex digits and `-`, at most 64) in the
    /// temporary name, so whoever resumes a dead writer's work can tell its leftovers from
    /// anyone else's by name (`engine::cleanup`). Default: the tag is not used.
    fn create_tagged(&self, path: &RelPath, tag: &str) -> Result<Box<dyn WriteFile>, StorageError> {
        let _ = tag;
        self.create(path)
    }
    /// Make every completed write and rename below the root durable (one `syncfs` for the
    /// POSIX storage). Call it once per batch (before recording files done when the names must
    /// survive a power loss), instead of an `fsync` of the directory per file. Default: nothing
    /// to do (storage without a page cache).
    fn sync_all(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// A storage served by a connector returns itself, for its hub to recognise (see
    /// [`crate::connectors::ConnectorHub::copy_direct`]). Default: not a connector's.
    fn connector(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_drops_dots_and_refuses_parent_components() {
        assert_eq!(RelPath::parse("/~/a//./b/").unwrap().to_api(), "/a/b");
        assert!(RelPath::parse("/~/").unwrap().is_root());
        assert_eq!(RelPath::parse("/~x").unwrap().to_api(), "/~x");
        assert!(RelPath::parse("/a/../b").is_err());
        assert!(RelPath::parse("a\0b").is_err());
    }

    #[test]
    fn starts_with_compares_whole_components() {
        let data = RelPath::parse("/data").unwrap();
        assert!(RelPath::parse("/data/x").unwrap().starts_with(&data));
        assert!(!RelPath::parse("/database").unwrap().starts_with(&data));
        assert!(data.starts_with(&RelPath::root()));
    }
}
