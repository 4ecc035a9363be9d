//! Reused copy buffers: a thread-local pool, so a data thread touches its pages once and then
//! copies at memcpy speed (first-touch allocation costs ~0.6 GiB/s here, reuse ~9 GiB/s).

use std::cell::RefCell;

/// Bytes per read and write: large enough that syscall overhead vanishes, small enough that a
/// few per copy stay far below the service's memory target.
pub(crate) const CHUNK: usize = 4 << 20;

/// Buffers kept per thread between copies (the pipelined copy uses three at once).
const KEEP: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A zero-length-safe buffer of `CHUNK` bytes, from the pool when there is one.
pub(crate) fn take() -> Vec<u8> {
    POOL.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; CHUNK])
}

/// Gives a buffer back to this thread's pool.
pub(crate) fn give(buf: Vec<u8>) {
    if buf.len() != CHUNK {
        return;
    }
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        if pool.len() < KEEP {
            pool.push(buf);
        }
    });
}
