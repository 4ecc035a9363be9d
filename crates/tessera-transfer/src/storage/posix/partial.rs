//! Resumable writes: a partial file under a stable name, `.tessera-part-` and a tag the caller
//! derives from what it is writing (a storage connector's pull: the destination, the source and
//! its size and time), so an interrupted copy finds what already arrived and continues after
//! it. Opened like a temporary file (through the directory handle, `O_NOFOLLOW`, mode 0600, a
//! regular file only) but without `O_EXCL`, and it stays when dropped uncommitted; `commit`
//! renames it over the final name as for any write.

use std::fs::File;
use std::io::{Seek, SeekFrom};

use rustix::fs::{fstat, openat, AtFlags, Mode, OFlags};

use super::errors::map;
use super::write::PosixWriteFile;
use super::PosixStorage;
use crate::storage::{EntryKind, RelPath, Storage, StorageError, WriteFile};

/// The prefix of partial files.
pub const PARTIAL_PREFIX: &str = ".tessera-part-";

impl PosixStorage {
    /// The partial file of `path` with `tag` (hex digits only), positioned at its end, and how
    /// many bytes it holds; with `fresh`, emptied first.
    pub fn open_partial(
        &self,
        path: &RelPath,
        tag: &str,
        fresh: bool,
    ) -> Result<(Box<dyn WriteFile>, u64), StorageError> {
        if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_hexdigit()) || tag.len() > 64 {
            return Err(StorageError::InvalidPath("a partial file's tag".into()));
        }
        if matches!(self.stat(path), Ok(e) if e.kind == EntryKind::Dir) {
            return Err(StorageError::IsADirectory(path.to_api()));
        }
        let (dir, _) = self.parent(path)?;
        let dir = dir.into_shared().map_err(|e| map(e, path))?;
        let name = format!("{PARTIAL_PREFIX}{tag}");
        let mut flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if fresh {
            flags |= OFlags::TRUNC;
        }
        let fd = openat(&dir, name.as_str(), flags, Mode::from_raw_mode(0o600))
            .map_err(|e| map(e, path))?;
        let st = fstat(&fd).map_err(|e| map(e, path))?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            return Err(StorageError::Io(format!(
                "{}: its partial file is not a regular file",
                path.to_api()
            )));
        }
        let mut file = File::from(fd);
        let have = file
            .seek(SeekFrom::End(0))
            .map_err(|e| super::map_io(&e, path))?;
        Ok((Box::new(PosixWriteFile::kept(file, dir, name, path)?), have))
    }

    /// Removes the partial file of `path` with `tag`, if any.
    pub fn remove_partial(&self, path: &RelPath, tag: &str) -> Result<(), StorageError> {
        let (dir, _) = self.parent(path)?;
        let name = format!("{PARTIAL_PREFIX}{tag}");
        match rustix::fs::unlinkat(&dir, name.as_str(), AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(map(e, path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_partial_file_survives_a_drop_and_resumes_at_its_end() {
        let root = tempfile::tempdir().unwrap();
        let s = PosixStorage::open(root.path()).unwrap();
        let p = RelPath::parse("/f").unwrap();
        let (mut w, have) = s.open_partial(&p, "ab12", false).unwrap();
        assert_eq!(have, 0);
        w.write_all(b"hello ").unwrap();
        drop(w);
        assert!(root.path().join(".tessera-part-ab12").exists());
        let (mut w, have) = s.open_partial(&p, "ab12", false).unwrap();
        assert_eq!(have, 6);
        w.write_all(b"world").unwrap();
        let mut back = String::new();
        w.read_back().unwrap().read_to_string(&mut back).unwrap();
        assert_eq!(back, "hello world");
        // From an offset: the rest only, and what is written later appears too.
        let mut from = w.read_back_from(6).unwrap();
        let mut rest = String::new();
        from.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "world");
        w.write_all(b"!").unwrap();
        rest.clear();
        from.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "!");
        let mut past = String::new();
        w.read_back_from(100)
            .unwrap()
            .read_to_string(&mut past)
            .unwrap();
        assert_eq!(past, "", "past the end is end-of-file");
        w.commit(None, Some(0o640), true).unwrap();
        assert_eq!(
            std::fs::read(root.path().join("f")).unwrap(),
            b"hello world!"
        );
        assert!(!root.path().join(".tessera-part-ab12").exists());
        let (_, have) = s.open_partial(&p, "ab12", true).unwrap();
        assert_eq!(have, 0);
        s.remove_partial(&p, "ab12").unwrap();
        assert!(!root.path().join(".tessera-part-ab12").exists());
        assert!(s.open_partial(&p, "../x", false).is_err());
    }
}
