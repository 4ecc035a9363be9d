//! Removing a file, a link, or a whole tree, through directory handles only.
//!
//! The shape of CVE-2022-21658 (`std::fs::remove_dir_all`): a remover that checks "is this a
//! directory?" by name and then descends by name can be sent elsewhere by swapping the directory
//! for a link between the two steps. Here every descent is an `openat(O_DIRECTORY | O_NOFOLLOW)`
//! relative to the parent's handle; if the entry was swapped for a link the open fails and the
//! link itself is unlinked, never followed. Each directory's names are read before any of them
//! is removed, and a directory that gains entries meanwhile is re-read a few times.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{openat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Deeper than this is refused rather than risking the stack or the descriptor limit
/// (each level holds one descriptor while its children are removed).
const MAX_DEPTH: usize = 256;

/// Removes the entry `name` of directory `parent`. Returns the number of entries removed.
pub(crate) fn remove_entry(
    parent: &impl AsFd,
    name: &CString,
    recursive: bool,
) -> Result<u64, Errno> {
    let st = statat(parent, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        unlinkat(parent, name.as_c_str(), AtFlags::empty())?;
        return Ok(1);
    }
    if !recursive {
        return Err(Errno::ISDIR);
    }
    remove_tree(parent, name, 0)
}

fn remove_tree(parent: &impl AsFd, name: &CString, depth: usize) -> Result<u64, Errno> {
    if depth > MAX_DEPTH {
        return Err(Errno::NAMETOOLONG);
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir: OwnedFd = match openat(parent, name.as_c_str(), flags, Mode::empty()) {
        Ok(fd) => fd,
        // Swapped for a link or a file since we looked: remove that instead, never follow it.
        Err(Errno::NOTDIR | Errno::LOOP) => {
            unlinkat(parent, name.as_c_str(), AtFlags::empty())?;
            return Ok(1);
        }
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for _round in 0..4 {
        for (child, is_dir) in children(&dir)? {
            removed += if is_dir {
                remove_tree(&dir, &child, depth + 1)?
            } else {
                match unlinkat(&dir, child.as_c_str(), AtFlags::empty()) {
                    Ok(()) => 1,
                    Err(Errno::NOENT) => 0,
                    // A directory appeared under this name since the listing.
                    Err(Errno::ISDIR) => remove_tree(&dir, &child, depth + 1)?,
                    Err(err) => return Err(err),
                }
            };
        }
        match unlinkat(parent, name.as_c_str(), AtFlags::REMOVEDIR) {
            Ok(()) => return Ok(removed + 1),
            Err(Errno::NOTEMPTY) => continue,
            Err(Errno::NOENT) => return Ok(removed),
            Err(err) => return Err(err),
        }
    }
    Err(Errno::NOTEMPTY)
}

/// The names in `dir` with whether each is a directory (from `d_type`, or `statat` when the
/// filesystem does not fill it in).
fn children(dir: &OwnedFd) -> Result<Vec<(CString, bool)>, Errno> {
    let mut out = Vec::new();
    let mut reader = Dir::read_from(dir)?;
    while let Some(item) = reader.read() {
        let item = item?;
        let bytes = item.file_name().to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        let is_dir = match item.file_type() {
            FileType::Directory => true,
            FileType::Unknown => match statat(dir, item.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => FileType::from_raw_mode(st.st_mode) == FileType::Directory,
                Err(_) => false,
            },
            _ => false,
        };
        out.push((item.file_name().to_owned(), is_dir));
    }
    Ok(out)
}
