//! Walking from the root's directory handle to a directory below it, never following a link.
//!
//! On Linux ≥ 5.6 one `openat2` call does the walk with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS`: the kernel refuses any symbolic link and any step outside the root,
//! atomically. Where `openat2` is missing (older kernels, seccomp filters that answer `ENOSYS` or
//! `EPERM`), the fallback opens one component at a time with `O_NOFOLLOW | O_DIRECTORY` relative
//! to the previous handle, which gives the same guarantee: every step is taken from a handle we
//! already hold, so nothing renamed or swapped for a link between two calls can redirect us.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{openat, openat2, statat, AtFlags, FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;

/// A directory handle: the root itself (borrowed), one opened below it, or one shared with the
/// thread's cache of walk handles (`dirs.rs`).
pub(crate) enum Handle<'a> {
    Root(BorrowedFd<'a>),
    Owned(OwnedFd),
    Shared(Arc<OwnedFd>),
}

impl AsFd for Handle<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Handle::Root(fd) => fd.as_fd(),
            Handle::Owned(fd) => fd.as_fd(),
            Handle::Shared(fd) => fd.as_fd(),
        }
    }
}

impl Handle<'_> {
    /// A handle that outlives the call (a `dup` of the root when needed), shared when it is.
    pub(crate) fn into_shared(self) -> Result<Arc<OwnedFd>, Errno> {
        match self {
            Handle::Root(fd) => rustix::io::fcntl_dupfd_cloexec(fd, 0).map(Arc::new),
            Handle::Owned(fd) => Ok(Arc::new(fd)),
            Handle::Shared(fd) => Ok(fd),
        }
    }
}

/// What a directory handle is for: `Walk` handles (`O_PATH`) serve as the `dirfd` of `*at`
/// calls and need no read permission; `Read` handles can list entries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Walk,
    Read,
}

impl Purpose {
    fn flags(self) -> OFlags {
        match self {
            Purpose::Walk => OFlags::PATH,
            Purpose::Read => OFlags::RDONLY,
        }
    }
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// The root directory of an endpoint and the way we walk below it.
pub(crate) struct Root {
    fd: OwnedFd,
    use_openat2: bool,
}

impl Root {
    /// Opens `path` (the operator's configured root; links in it are followed, it is trusted)
    /// and probes for `openat2`.
    pub(crate) fn open(path: &Path, allow_openat2: bool) -> Result<Self, Errno> {
        let fd = openat(
            CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let use_openat2 = allow_openat2
            && openat2(&fd, ".", OFlags::PATH | DIR_FLAGS, Mode::empty(), RESOLVE).is_ok();
        Ok(Self { fd, use_openat2 })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn uses_openat2(&self) -> bool {
        self.use_openat2
    }

    /// Opens the directory at `components` below the root, refusing every symbolic link on the
    /// way (`ELOOP`) and any step out of the root or onto another mount (`EXDEV`).
    pub(crate) fn open_dir(
        &self,
        components: &[String],
        purpose: Purpose,
    ) -> Result<Handle<'_>, Errno> {
        if components.is_empty() {
            return match purpose {
                Purpose::Walk => Ok(Handle::Root(self.fd.as_fd())),
                Purpose::Read => openat(&self.fd, ".", OFlags::RDONLY | DIR_FLAGS, Mode::empty())
                    .map(Handle::Owned),
            };
        }
        if self.use_openat2 {
            let joined = components.join("/");
            let mut tries = 0;
            loop {
                // EAGAIN: a concurrent rename somewhere on the filesystem made the kernel give
                // up on a safe answer; asking again is what the man page recommends.
                match openat2(
                    &self.fd,
                    &joined,
                    purpose.flags() | DIR_FLAGS,
                    Mode::empty(),
                    RESOLVE,
                ) {
                    Err(Errno::AGAIN) if tries < 8 => tries += 1,
                    // `O_NOFOLLOW | O_DIRECTORY` on a final link says ENOTDIR; the walk below
                    // tells a link (ELOOP) from a file (ENOTDIR), on this error path only.
                    Err(Errno::NOTDIR) => break,
                    other => return other.map(Handle::Owned),
                }
            }
        }
        let mut current = Handle::Root(self.fd.as_fd());
        for (i, name) in components.iter().enumerate() {
            let flags = if i + 1 == components.len() {
                purpose.flags()
            } else {
                OFlags::PATH
            };
            let next = match openat(&current, name.as_str(), flags | DIR_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(err) => return Err(refine(&current, name, err)),
            };
            current = Handle::Owned(next);
        }
        Ok(current)
    }
}

/// `O_NOFOLLOW | O_DIRECTORY` on a link fails with `ENOTDIR` (or `ELOOP`); report a link as
/// `ELOOP` in both modes so the caller hears "symbolic link", not "not a directory".
fn refine(dir: &impl AsFd, name: &str, err: Errno) -> Errno {
    if err != Errno::NOTDIR {
        return err;
    }
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => Errno::LOOP,
        _ => err,
    }
}

/// Opens the child directory `name` of `dir` as a walk handle, refusing a link (`ELOOP`).
pub(crate) fn open_child(dir: &impl AsFd, name: &str) -> Result<OwnedFd, Errno> {
    openat(dir, name, OFlags::PATH | DIR_FLAGS, Mode::empty()).map_err(|e| refine(dir, name, e))
}
