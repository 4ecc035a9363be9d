//! copy_file, walk and extras on real directories (PosixStorage on temporary roots).

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use super::*;
use crate::storage::posix::PosixStorage;
use crate::storage::Storage;

pub(super) fn p(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

pub(super) struct Pair {
    _tmp: tempfile::TempDir,
    pub(super) src_root: PathBuf,
    pub(super) dst_root: PathBuf,
    pub(super) src: PosixStorage,
    pub(super) dst: PosixStorage,
}

pub(super) fn pair() -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let src_root = tmp.path().join("src");
    let dst_root = tmp.path().join("dst");
    std::fs::create_dir(&src_root).unwrap();
    std::fs::create_dir(&dst_root).unwrap();
    Pair {
        src: PosixStorage::open(&src_root).unwrap(),
        dst: PosixStorage::open(&dst_root).unwrap(),
        _tmp: tmp,
        src_root,
        dst_root,
    }
}

/// Deterministic bytes that do not compress (xorshift).
pub(super) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub(super) fn copy(pr: &Pair, opts: &CopyOptions) -> Result<FileOutcome, DataError> {
    copy_file(
        &pr.src,
        &p("/f"),
        &pr.dst,
        &p("/f"),
        opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

pub(super) fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

pub(super) fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name();
        assert!(
            !name
                .to_string_lossy()
                .starts_with(crate::storage::posix::TEMP_PREFIX),
            "{name:?} left"
        );
    }
}

#[test]
fn copies_bytes_and_mode_and_reports_progress() {
    let pr = pair();
    let data = noise(100_000, 1);
    std::fs::write(pr.src_root.join("f"), &data).unwrap();
    std::fs::set_permissions(
        pr.src_root.join("f"),
        std::fs::Permissions::from_mode(0o4750),
    )
    .unwrap();
    let mut seen = Vec::new();
    let out = copy_file(
        &pr.src,
        &p("/f"),
        &pr.dst,
        &p("/f"),
        &CopyOptions::default(),
        &mut |n| seen.push(n),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        out,
        FileOutcome::Copied {
            bytes: 100_000,
            checksum: None
        }
    );
    assert_eq!(std::fs::read(pr.dst_root.join("f")).unwrap(), data);
    assert_eq!(seen.last(), Some(&100_000));
    let mode = std::fs::metadata(pr.dst_root.join("f"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o750, "permission bits kept, setuid dropped");
    no_temp_files(&pr.dst_root);
}

#[test]
fn preserve_timestamp_sets_the_source_mtime_and_only_then() {
    let pr = pair();
    std::fs::write(pr.src_root.join("f"), b"x").unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::new(1_500_000_000, 42);
    set_mtime(&pr.src_root.join("f"), old);
    copy(&pr, &CopyOptions::default()).unwrap();
    assert_ne!(
        std::fs::metadata(pr.dst_root.join("f"))
            .unwrap()
            .modified()
            .unwrap(),
        old
    );
    copy(
        &pr,
        &CopyOptions {
            preserve_timestamp: true,
            fsync: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(pr.dst_root.join("f"))
            .unwrap()
            .modified()
            .unwrap(),
        old
    );
}

#[test]
fn verify_checksum_reports_the_source_checksum_for_every_algorithm_small_and_large() {
    for len in [0usize, 10_000, 9 * 1024 * 1024 + 7] {
        let data = noise(len, len as u64 + 3);
        for alg in ChecksumAlgorithm::ALL {
            let pr = pair();
            std::fs::write(pr.src_root.join("f"), &data).unwrap();
            let opts = CopyOptions {
                verify_checksum: true,
                checksum_algorithm: alg,
                ..Default::default()
            };
            let out = copy(&pr, &opts).unwrap();
            assert_eq!(
                out,
                FileOutcome::Copied {
                    bytes: len as u64,
                    checksum: Some(alg.digest(&data))
                },
                "{alg} {len}"
            );
            assert_eq!(std::fs::read(pr.dst_root.join("f")).unwrap(), data);
        }
    }
}

/// A table of (level, destination state, expected outcome).
#[test]
fn every_sync_level_compares_as_documented() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
    let later = t0 + Duration::from_secs(10);
    let earlier = t0 - Duration::from_secs(10);
    // (level, destination content or None, destination mtime, copied?)
    type Case<'a> = (SyncLevel, Option<&'a [u8]>, SystemTime, Option<SkipReason>);
    let cases: &[Case] = &[
        (SyncLevel::Exists, None, t0, None),
        (
            SyncLevel::Exists,
            Some(b"other content, other size"),
            earlier,
            Some(SkipReason::Exists),
        ),
        (SyncLevel::Size, None, t0, None),
        (
            SyncLevel::Size,
            Some(b"SOURCE"),
            earlier,
            Some(SkipReason::SameSize),
        ),
        (SyncLevel::Size, Some(b"longer!"), later, None),
        (SyncLevel::Mtime, Some(b"SOURCE"), earlier, None),
        (
            SyncLevel::Mtime,
            Some(b"SOURCE"),
            t0,
            Some(SkipReason::NotNewer),
        ),
        // Sub-second differences do not count (whole seconds, as GridFTP's MDTM).
        (
            SyncLevel::Mtime,
            Some(b"SOURCE"),
            t0 - Duration::from_millis(300),
            Some(SkipReason::NotNewer),
        ),
        (
            SyncLevel::Mtime,
            Some(b"SOURCE"),
            later,
            Some(SkipReason::NotNewer),
        ),
        (SyncLevel::Mtime, Some(b"longer!"), later, None),
        (
            SyncLevel::Checksum,
            Some(b"source"),
            later,
            Some(SkipReason::SameChecksum),
        ),
        (SyncLevel::Checksum, Some(b"SOURCE"), later, None),
        (SyncLevel::Checksum, Some(b"longer!"), later, None),
        (SyncLevel::Checksum, None, later, None),
    ];
    for (level, dst_content, dst_mtime, expect) in cases {
        let pr = pair();
        std::fs::write(pr.src_root.join("f"), b"source").unwrap();
        set_mtime(&pr.src_root.join("f"), t0);
        if let Some(c) = dst_content {
            std::fs::write(pr.dst_root.join("f"), c).unwrap();
            set_mtime(&pr.dst_root.join("f"), *dst_mtime);
        }
        let out = copy(
            &pr,
            &CopyOptions {
                sync_level: Some(*level),
                ..Default::default()
            },
        )
        .unwrap();
        let ctx = format!("{level:?} {:?}", dst_content.map(String::from_utf8_lossy));
        match expect {
            Some(reason) => {
                assert_eq!(
                    out,
                    FileOutcome::Skipped {
                        reason: reason.clone()
                    },
                    "{ctx}"
                );
                assert_eq!(
                    std::fs::read(pr.dst_root.join("f")).unwrap(),
                    dst_content.unwrap(),
                    "{ctx}"
                );
            }
            None => {
                assert!(
                    matches!(out, FileOutcome::Copied { bytes: 6, .. }),
                    "{ctx}: {out:?}"
                );
                assert_eq!(
                    std::fs::read(pr.dst_root.join("f")).unwrap(),
                    b"source",
                    "{ctx}"
                );
            }
        }
    }
}

#[test]
fn sync_level_checksum_on_large_files_compares_both_sides() {
    let pr = pair();
    let data = noise(6 * 1024 * 1024, 9);
    std::fs::write(pr.src_root.join("f"), &data).unwrap();
    std::fs::write(pr.dst_root.join("f"), &data).unwrap();
    let opts = CopyOptions {
        sync_level: Some(SyncLevel::Checksum),
        ..Default::default()
    };
    assert_eq!(
        copy(&pr, &opts).unwrap(),
        FileOutcome::Skipped {
            reason: SkipReason::SameChecksum
        }
    );
    let mut changed = data.clone();
    changed[5_000_000] ^= 1;
    std::fs::write(pr.dst_root.join("f"), &changed).unwrap();
    assert!(matches!(
        copy(&pr, &opts).unwrap(),
        FileOutcome::Copied { .. }
    ));
    assert_eq!(std::fs::read(pr.dst_root.join("f")).unwrap(), data);
}

#[test]
fn sync_levels_never_skip_when_a_directory_or_link_holds_the_name() {
    let pr = pair();
    std::fs::write(pr.src_root.join("f"), b"source").unwrap();
    std::fs::create_dir(pr.dst_root.join("f")).unwrap();
    let err = copy(
        &pr,
        &CopyOptions {
            sync_level: Some(SyncLevel::Exists),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Storage {
                side: Side::Destination,
                error: StorageError::IsADirectory(_)
            }
        ),
        "{err:?}"
    );
    std::fs::remove_dir(pr.dst_root.join("f")).unwrap();
    // A link to a file outside the destination root: replaced, never written through.
    let outside = pr.dst_root.parent().unwrap().join("outside");
    std::fs::write(&outside, b"untouched").unwrap();
    symlink(&outside, pr.dst_root.join("f")).unwrap();
    assert!(matches!(
        copy(
            &pr,
            &CopyOptions {
                sync_level: Some(SyncLevel::Exists),
                ..Default::default()
            }
        )
        .unwrap(),
        FileOutcome::Copied { .. }
    ));
    assert!(std::fs::symlink_metadata(pr.dst_root.join("f"))
        .unwrap()
        .is_file());
    assert_eq!(std::fs::read(&outside).unwrap(), b"untouched");
}

#[test]
fn external_checksum_must_match_the_source() {
    let pr = pair();
    std::fs::write(pr.src_root.join("f"), b"abc").unwrap();
    let bad = CopyOptions {
        external_checksum: Some("00".into()),
        checksum_algorithm: ChecksumAlgorithm::Md5,
        ..Default::default()
    };
    match copy(&pr, &bad).unwrap_err() {
        DataError::ChecksumMismatch {
            side: Side::Source,
            expected,
            actual,
            ..
        } => {
            assert_eq!(
                (expected.as_str(), actual.as_str()),
                ("00", "900150983cd24fb0d6963f7d28e17f72")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!pr.dst_root.join("f").exists());
    no_temp_files(&pr.dst_root);
    let good = CopyOptions {
        external_checksum: Some("A9993E364706816ABA3E25717850C26C9CD0D89D".into()),
        checksum_algorithm: ChecksumAlgorithm::Sha1,
        ..Default::default()
    };
    assert!(matches!(
        copy(&pr, &good).unwrap(),
        FileOutcome::Copied { .. }
    ));
}

#[test]
fn cancel_stops_between_chunks_and_leaves_nothing() {
    for verify in [false, true] {
        let pr = pair();
        std::fs::write(pr.src_root.join("f"), noise(20 * 1024 * 1024, 7)).unwrap();
        let cancel = AtomicBool::new(false);
        let opts = CopyOptions {
            verify_checksum: verify,
            ..Default::default()
        };
        let mut calls = 0;
        let err = copy_file(
            &pr.src,
            &p("/f"),
            &pr.dst,
            &p("/f"),
            &opts,
            &mut |_| {
                calls += 1;
                cancel.store(true, Ordering::Relaxed);
            },
            &cancel,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Canceled), "{err:?}");
        assert_eq!(calls, 1, "stopped after the first chunk");
        assert!(!pr.dst_root.join("f").exists());
        no_temp_files(&pr.dst_root);
        // Canceled before starting.
        assert!(copy(&pr, &opts).is_ok());
        let err = copy_file(
            &pr.src,
            &p("/f"),
            &pr.dst,
            &p("/g"),
            &opts,
            &mut |_| {},
            &AtomicBool::new(true),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Canceled));
    }
}

#[test]
fn errors_say_which_side_failed() {
    let pr = pair();
    let err = copy(&pr, &CopyOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Storage {
                side: Side::Source,
                error: StorageError::NotFound(_)
            }
        ),
        "{err:?}"
    );
    std::fs::write(pr.src_root.join("f"), b"x").unwrap();
    let err = copy_file(
        &pr.src,
        &p("/f"),
        &pr.dst,
        &p("/no/f"),
        &CopyOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Storage {
                side: Side::Destination,
                error: StorageError::NotFound(_)
            }
        ),
        "{err:?}"
    );
    symlink("/etc/hostname", pr.src_root.join("l")).unwrap();
    let err = copy_file(
        &pr.src,
        &p("/l"),
        &pr.dst,
        &p("/l"),
        &CopyOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Storage {
                side: Side::Source,
                error: StorageError::PermissionDenied(_)
            }
        ),
        "{err:?}"
    );
}

#[test]
fn parallel_copies_on_several_threads_each_arrive_whole() {
    let pr = pair();
    let sizes = [
        0usize,
        1,
        4096,
        4 << 20,
        (4 << 20) + 1,
        9 << 20,
        77,
        123_456,
    ];
    for (i, len) in sizes.iter().enumerate() {
        std::fs::write(
            pr.src_root.join(format!("f{i}")),
            noise(*len, i as u64 + 11),
        )
        .unwrap();
    }
    let opts = CopyOptions {
        verify_checksum: true,
        fsync: false,
        ..Default::default()
    };
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (pr, opts) = (&pr, &opts);
            scope.spawn(move || {
                for i in (t..sizes.len()).step_by(4) {
                    let path = p(&format!("/f{i}"));
                    let out = copy_file(
                        &pr.src,
                        &path,
                        &pr.dst,
                        &path,
                        opts,
                        &mut |_| {},
                        &AtomicBool::new(false),
                    )
                    .unwrap();
                    assert!(matches!(out, FileOutcome::Copied { .. }));
                }
            });
        }
    });
    pr.dst.sync_all().unwrap();
    for (i, len) in sizes.iter().enumerate() {
        let got = std::fs::read(pr.dst_root.join(format!("f{i}"))).unwrap();
        assert_eq!(got, noise(*len, i as u64 + 11), "f{i}");
    }
    no_temp_files(&pr.dst_root);
}
