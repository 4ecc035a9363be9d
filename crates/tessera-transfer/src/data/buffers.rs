//! Reused copy buffers: one process-wide pool, so a copy touches its pages once and then copies
//! at memcpy speed (first-touch allocation costs ~0.6 GiB/s here, reuse ~9 GiB/s).
//!
//! The pool is shared by every data thread and capped ([`KEEP`] buffers, 16 MiB): the copies run
//! on tokio's blocking pool, whose threads come and go, and a pool per thread kept up to 16 MiB
//! on each of them (the server's peak RSS reached ~150 MB after a tree copy).

use std::sync::Mutex;

/// Bytes per read and write: large enough that syscall overhead vanishes (a syscall per MiB),
/// small enough that the buffers of several copies at once stay far below the service's memory
/// target (4 MiB chunks put the server's peak at ~100 MB moving one file on tmpfs), and a chunk
/// just copied is still in the cache when the hashing thread reads it.
pub(crate) const CHUNK: usize = 1 << 20;

/// Buffers kept between copies (one pipelined copy with verification holds five at once).
const KEEP: usize = 16;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of `CHUNK` bytes, from the pool when there is one.
pub(crate) fn take() -> Vec<u8> {
    POOL.lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_else(|| vec![0; CHUNK])
}

/// Gives a buffer back to the pool (dropped when the pool is full or it is not a `CHUNK`).
pub(crate) fn give(buf: Vec<u8>) {
    if buf.len() != CHUNK {
        return;
    }
    if let Ok(mut pool) = POOL.lock() {
        if pool.len() < KEEP {
            pool.push(buf);
        }
    }
}
