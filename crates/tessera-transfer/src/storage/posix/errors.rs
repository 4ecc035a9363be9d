//! errno → [`StorageError`], in one place, so every operation reports the same thing for the same
//! failure and the API can map it to a Globus code.

use rustix::io::Errno;

use crate::storage::{RelPath, StorageError};

/// Maps a failed system call on `path` to the error the API reports.
///
/// `ELOOP` and `EXDEV` come from the confinement itself (a symbolic link somewhere in the walk,
/// or a resolution that would leave the root): the caller asked for something we refuse to
/// reach, which is a permission matter, not a broken disk.
pub(crate) fn map(err: Errno, path: &RelPath) -> StorageError {
    let p = path.to_api();
    match err {
        Errno::NOENT => StorageError::NotFound(p),
        Errno::EXIST => StorageError::Exists(p),
        Errno::NOTDIR => StorageError::NotADirectory(p),
        Errno::ISDIR => StorageError::IsADirectory(p),
        Errno::ACCESS | Errno::PERM | Errno::ROFS => StorageError::PermissionDenied(p),
        Errno::LOOP | Errno::XDEV => {
            StorageError::PermissionDenied(format!("{p}: the path goes through a symbolic link"))
        }
        Errno::NOSPC | Errno::DQUOT => StorageError::NoSpace(p),
        Errno::NOTEMPTY => StorageError::NotEmpty(p),
        Errno::NAMETOOLONG | Errno::INVAL | Errno::ILSEQ => {
            StorageError::InvalidPath(format!("{p}: {err}"))
        }
        other => StorageError::Io(format!("{p}: {other}")),
    }
}

/// The same for an error that surfaced through `std::io` (reads and writes on an open file).
pub(crate) fn map_io(err: &std::io::Error, path: &RelPath) -> StorageError {
    match Errno::from_io_error(err) {
        Some(errno) => map(errno, path),
        None => StorageError::Io(format!("{}: {err}", path.to_api())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_errno_maps_to_its_error() {
        let p = RelPath::parse("/a").unwrap();
        type Check = fn(&StorageError) -> bool;
        let cases: &[(Errno, Check)] = &[
            (Errno::NOENT, |e| matches!(e, StorageError::NotFound(_))),
            (Errno::EXIST, |e| matches!(e, StorageError::Exists(_))),
            (Errno::NOTDIR, |e| {
                matches!(e, StorageError::NotADirectory(_))
            }),
            (Errno::ISDIR, |e| matches!(e, StorageError::IsADirectory(_))),
            (Errno::ACCESS, |e| {
                matches!(e, StorageError::PermissionDenied(_))
            }),
            (Errno::PERM, |e| {
                matches!(e, StorageError::PermissionDenied(_))
            }),
            (Errno::LOOP, |e| {
                matches!(e, StorageError::PermissionDenied(_))
            }),
            (Errno::XDEV, |e| {
                matches!(e, StorageError::PermissionDenied(_))
            }),
            (Errno::NOSPC, |e| matches!(e, StorageError::NoSpace(_))),
            (Errno::DQUOT, |e| matches!(e, StorageError::NoSpace(_))),
            (Errno::NOTEMPTY, |e| matches!(e, StorageError::NotEmpty(_))),
            (Errno::NAMETOOLONG, |e| {
                matches!(e, StorageError::InvalidPath(_))
            }),
            (Errno::IO, |e| matches!(e, StorageError::Io(_))),
        ];
        for (errno, check) in cases {
            let got = map(*errno, &p);
            assert!(check(&got), "{errno:?} gave {got:?}");
        }
        let io = std::io::Error::from_raw_os_error(28);
        assert!(matches!(map_io(&io, &p), StorageError::NoSpace(_)));
    }
}
