//! Walk handles of directories kept for a run of operations on one thread ([`keep_dirs`]):
//! copying a tree of small files otherwise walks from the root to the same parent twice per
//! file (source and destination), a path resolution and a close each.
//!
//! A handle is kept only while the [`KeptDirs`] guard of the calling thread lives (the engine
//! holds one for a job of at most 32 small files, a few milliseconds), so what it adds is what
//! a staged file already does: a directory reached safely below the root (no link followed, the
//! walk of `resolve.rs`) is used for a little while after it was reached. Outside a guard every
//! operation walks from the root, as before.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Directories kept per thread (most recent first): a job's files sit in one or two.
const KEEP: usize = 8;

/// One kept directory: which storage (its address and root descriptor), which components.
struct Kept {
    storage: (usize, i32),
    components: Vec<String>,
    fd: Arc<OwnedFd>,
}

thread_local! {
    /// `None` outside a [`KeptDirs`] scope.
    static KEPT: RefCell<Option<Vec<Kept>>> = const { RefCell::new(None) };
}

/// While this lives, the POSIX storages keep the walk handles of the directories this thread
/// used (at most a few); they are closed when it is dropped. Not `Send`: one thread's scope.
pub struct KeptDirs {
    /// This guard opened the scope (a nested one leaves it to the outer guard).
    outer: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Starts keeping directory handles on this thread until the guard is dropped (nested calls
/// share the outer scope).
pub fn keep_dirs() -> KeptDirs {
    let outer = KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let outer = k.is_none();
        if outer {
            *k = Some(Vec::new());
        }
        outer
    });
    KeptDirs {
        outer,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for KeptDirs {
    fn drop(&mut self) {
        if self.outer {
            KEPT.with(|k| k.borrow_mut().take());
        }
    }
}

/// The kept handle of `components` below the storage identified by `storage`, if any.
pub(crate) fn find(storage: (usize, i32), components: &[String]) -> Option<Arc<OwnedFd>> {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let kept = k.as_mut()?;
        let i = kept
            .iter()
            .position(|d| d.storage == storage && d.components == components)?;
        if i > 0 {
            let d = kept.remove(i);
            kept.insert(0, d);
        }
        kept.first().map(|d| d.fd.clone())
    })
}

/// Whether this thread keeps directory handles now.
pub(crate) fn keeping() -> bool {
    KEPT.with(|k| k.borrow().is_some())
}

/// Keeps `fd` as the handle of `components` (when in a scope).
pub(crate) fn keep(storage: (usize, i32), components: &[String], fd: Arc<OwnedFd>) {
    KEPT.with(|k| {
        if let Some(kept) = k.borrow_mut().as_mut() {
            kept.truncate(KEEP - 1);
            kept.insert(
                0,
                Kept {
                    storage,
                    components: components.to_vec(),
                    fd,
                },
            );
        }
    });
}
