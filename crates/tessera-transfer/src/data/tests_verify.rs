//! verify_checksum against a destination that corrupts what it is given.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::SystemTime;

use super::tests::{no_temp_files, noise, p, pair};
use super::*;
use crate::storage::posix::PosixStorage;
use crate::storage::{Entry, ReadFile, Storage, WriteFile};

/// Real storage whose first `corrupt` writers flip one bit of what they write: the fault a
/// verify pass exists to catch.
struct Corrupting {
    inner: PosixStorage,
    corrupt: AtomicU32,
}

struct CorruptWriter {
    inner: Box<dyn WriteFile>,
    flip: bool,
}

impl Write for CorruptWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.flip && !buf.is_empty() {
            self.flip = false;
            let mut copy = buf.to_vec();
            copy[buf.len() / 2] ^= 0x20;
            self.inner.write_all(&copy)?;
            return Ok(buf.len());
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl std::io::Seek for CorruptWriter {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl WriteFile for CorruptWriter {
    fn commit(
        self: Box<Self>,
        m: Option<SystemTime>,
        perm: Option<u32>,
        fsync: bool,
    ) -> Result<(), StorageError> {
        self.inner.commit(m, perm, fsync)
    }
    fn read_back(&self) -> Result<Box<dyn std::io::Read + Send>, StorageError> {
        self.inner.read_back()
    }
}

impl Storage for Corrupting {
    fn stat(&self, path: &RelPath) -> Result<Entry, StorageError> {
        self.inner.stat(path)
    }
    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>, StorageError> {
        self.inner.list(dir)
    }
    fn mkdir(&self, path: &RelPath) -> Result<(), StorageError> {
        self.inner.mkdir(path)
    }
    fn mkdir_all(&self, path: &RelPath) -> Result<(), StorageError> {
        self.inner.mkdir_all(path)
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<(), StorageError> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &RelPath, recursive: bool) -> Result<u64, StorageError> {
        self.inner.remove(path, recursive)
    }
    fn open_read(&self, path: &RelPath) -> Result<Box<dyn ReadFile>, StorageError> {
        self.inner.open_read(path)
    }
    fn create(&self, path: &RelPath) -> Result<Box<dyn WriteFile>, StorageError> {
        let flip = self
            .corrupt
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Ok(Box::new(CorruptWriter {
            inner: self.inner.create(path)?,
            flip,
        }))
    }
}

#[test]
fn a_verify_mismatch_is_retried_once_then_reported_and_never_committed() {
    for len in [1000usize, 10 * 1024 * 1024] {
        let pr = pair();
        let data = noise(len, 5);
        std::fs::write(pr.src_root.join("f"), &data).unwrap();
        let opts = CopyOptions {
            verify_checksum: true,
            ..Default::default()
        };
        let run = |corrupt: u32| {
            let dst = Corrupting {
                inner: PosixStorage::open(&pr.dst_root).unwrap(),
                corrupt: AtomicU32::new(corrupt),
            };
            copy_file(
                &pr.src,
                &p("/f"),
                &dst,
                &p("/f"),
                &opts,
                &mut |_| {},
                &AtomicBool::new(false),
            )
        };
        // Twice corrupted: reported, and nothing under the name.
        match run(2).unwrap_err() {
            DataError::ChecksumMismatch {
                side: Side::Destination,
                expected,
                actual,
                ..
            } => {
                assert_eq!(expected, opts.checksum_algorithm.digest(&data));
                assert_ne!(expected, actual);
            }
            other => panic!("{other:?}"),
        }
        assert!(!pr.dst_root.join("f").exists());
        no_temp_files(&pr.dst_root);
        // Once corrupted: the retry succeeds.
        assert!(matches!(run(1).unwrap(), FileOutcome::Copied { .. }));
        assert_eq!(std::fs::read(pr.dst_root.join("f")).unwrap(), data);
        no_temp_files(&pr.dst_root);
        // Without verify the corruption goes through: the test above can fail.
        let dst = Corrupting {
            inner: PosixStorage::open(&pr.dst_root).unwrap(),
            corrupt: AtomicU32::new(1),
        };
        copy_file(
            &pr.src,
            &p("/f"),
            &dst,
            &p("/f"),
            &CopyOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_ne!(std::fs::read(pr.dst_root.join("f")).unwrap(), data);
    }
}
