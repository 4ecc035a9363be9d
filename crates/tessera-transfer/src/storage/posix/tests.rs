//! One test per operation, each run with `openat2` and with the per-component fallback.

use std::io::{Read, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use super::*;

pub(super) fn p(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

/// Runs `f` on a fresh root, once per walking strategy.
pub(super) fn both(f: impl Fn(&PosixStorage, &Path)) {
    for allow in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let storage = PosixStorage::open_with(&root, allow).unwrap();
        if !allow {
            assert!(!storage.uses_openat2());
        } else if !storage.uses_openat2() {
            eprintln!("notice: openat2 unavailable here; only the fallback walk is tested");
        }
        f(&storage, &root);
    }
}

pub(super) fn write(storage: &PosixStorage, path: &str, data: &[u8]) {
    let mut w = storage.create(&p(path)).unwrap();
    w.write_all(data).unwrap();
    w.commit(None, None, false).unwrap();
}

pub(super) fn read(storage: &PosixStorage, path: &str) -> Vec<u8> {
    let mut r = storage.open_read(&p(path)).unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn open_refuses_a_missing_root() {
    let err = PosixStorage::open(Path::new("/nonexistent/tessera/root"))
        .err()
        .unwrap();
    assert!(matches!(err, StorageError::NotFound(_)), "{err:?}");
}

#[test]
fn stat_reports_kind_size_mode_owner_mtime_and_link_target() {
    both(|s, root| {
        std::fs::write(root.join("f"), b"hello").unwrap();
        std::fs::set_permissions(root.join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        symlink("f", root.join("l")).unwrap();
        let md = std::fs::metadata(root.join("f")).unwrap();

        let f = s.stat(&p("/f")).unwrap();
        assert_eq!(
            (f.kind, f.size, f.permissions, f.name.as_str()),
            (EntryKind::File, 5, 0o640, "f")
        );
        assert_eq!(f.modified, md.modified().unwrap());
        let expected_user = uzers::get_user_by_uid(md.uid())
            .map(|u| u.name().to_string_lossy().into_owned())
            .unwrap_or_else(|| md.uid().to_string());
        assert_eq!(f.user, expected_user);
        assert!(!f.group.is_empty());
        assert_eq!(f.link_target, None);

        assert_eq!(s.stat(&p("/d")).unwrap().kind, EntryKind::Dir);
        let l = s.stat(&p("/l")).unwrap();
        assert_eq!(
            (l.kind, l.link_target.as_deref()),
            (EntryKind::Link, Some("f"))
        );
        let r = s.stat(&RelPath::root()).unwrap();
        assert_eq!((r.kind, r.name.as_str()), (EntryKind::Dir, "/"));
        assert!(matches!(
            s.stat(&p("/missing")),
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            s.stat(&p("/f/x")),
            Err(StorageError::NotADirectory(_))
        ));
    });
}

#[test]
fn list_includes_hidden_entries_and_names_with_spaces() {
    both(|s, root| {
        std::fs::write(root.join(".hidden"), b"").unwrap();
        std::fs::write(root.join("with space.txt"), b"12").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/inner"), b"").unwrap();
        let mut names: Vec<_> = s
            .list(&RelPath::root())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, [".hidden", "sub", "with space.txt"]);
        let sub = s.list(&p("/sub/")).unwrap();
        assert_eq!(sub.len(), 1);
        assert!(sub[0].name_is_utf8);
        assert!(matches!(
            s.list(&p("/with space.txt")),
            Err(StorageError::NotADirectory(_))
        ));
        assert!(matches!(
            s.list(&p("/nope")),
            Err(StorageError::NotFound(_))
        ));
    });
}

#[test]
fn mkdir_makes_one_directory_and_reports_each_failure() {
    both(|s, root| {
        s.mkdir(&p("/a")).unwrap();
        assert!(root.join("a").is_dir());
        assert!(matches!(s.mkdir(&p("/a")), Err(StorageError::Exists(_))));
        assert!(matches!(
            s.mkdir(&p("/x/y")),
            Err(StorageError::NotFound(_))
        ));
        std::fs::write(root.join("file"), b"").unwrap();
        assert!(matches!(
            s.mkdir(&p("/file/y")),
            Err(StorageError::NotADirectory(_))
        ));
        assert!(matches!(
            s.mkdir(&RelPath::root()),
            Err(StorageError::InvalidPath(_))
        ));
    });
}

#[test]
fn mkdir_all_makes_missing_parents_and_accepts_existing_ones() {
    both(|s, root| {
        s.mkdir_all(&p("/a/b/c")).unwrap();
        s.mkdir_all(&p("/a/b/c")).unwrap();
        s.mkdir_all(&RelPath::root()).unwrap();
        assert!(root.join("a/b/c").is_dir());
        std::fs::write(root.join("a/file"), b"").unwrap();
        assert!(matches!(
            s.mkdir_all(&p("/a/file/c")),
            Err(StorageError::NotADirectory(_))
        ));
    });
}

#[test]
fn rename_moves_files_and_directories_but_never_overwrites() {
    both(|s, root| {
        write(s, "/f", b"1");
        write(s, "/g", b"2");
        s.mkdir_all(&p("/d/e")).unwrap();
        s.rename(&p("/f"), &p("/d/f2")).unwrap();
        assert_eq!(read(s, "/d/f2"), b"1");
        assert!(!root.join("f").exists());
        assert!(matches!(
            s.rename(&p("/g"), &p("/d/f2")),
            Err(StorageError::Exists(_))
        ));
        assert_eq!(read(s, "/d/f2"), b"1");
        s.rename(&p("/d"), &p("/d2")).unwrap();
        assert!(root.join("d2/e").is_dir());
        assert!(matches!(
            s.rename(&p("/missing"), &p("/x")),
            Err(StorageError::NotFound(_))
        ));
        assert!(s.rename(&p("/d2"), &p("/d2/e/inside")).is_err());
        assert!(matches!(
            s.rename(&RelPath::root(), &p("/x")),
            Err(StorageError::InvalidPath(_))
        ));
    });
}

#[test]
fn remove_files_links_and_trees_with_counts() {
    both(|s, root| {
        write(s, "/f", b"1");
        assert_eq!(s.remove(&p("/f"), false).unwrap(), 1);
        assert!(matches!(
            s.remove(&p("/f"), false),
            Err(StorageError::NotFound(_))
        ));
        s.mkdir_all(&p("/t/a/b")).unwrap();
        write(s, "/t/a/b/x", b"x");
        write(s, "/t/y", b"y");
        assert!(matches!(
            s.remove(&p("/t"), false),
            Err(StorageError::IsADirectory(_))
        ));
        // t, a, b, x, y
        assert_eq!(s.remove(&p("/t"), true).unwrap(), 5);
        assert!(!root.join("t").exists());
        s.mkdir(&p("/empty")).unwrap();
        assert_eq!(s.remove(&p("/empty"), true).unwrap(), 1);
        assert!(matches!(
            s.remove(&RelPath::root(), true),
            Err(StorageError::InvalidPath(_))
        ));
    });
}

#[test]
fn open_read_reads_regular_files_only() {
    both(|s, root| {
        write(s, "/f", b"content");
        let r = s.open_read(&p("/f")).unwrap();
        assert_eq!((r.entry().size, r.entry().name.as_str()), (7, "f"));
        assert_eq!(read(s, "/f"), b"content");
        s.mkdir(&p("/d")).unwrap();
        assert!(matches!(
            s.open_read(&p("/d")),
            Err(StorageError::IsADirectory(_))
        ));
        // A FIFO would block an open for reading forever: it must be refused, not opened.
        let status = std::process::Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        assert!(matches!(
            s.open_read(&p("/fifo")),
            Err(StorageError::InvalidPath(_))
        ));
        assert!(matches!(
            s.open_read(&p("/missing")),
            Err(StorageError::NotFound(_))
        ));
    });
}

#[test]
fn create_appears_only_on_commit_with_the_asked_mode_and_mtime() {
    both(|s, root| {
        let mut w = s.create(&p("/new")).unwrap();
        w.write_all(b"partial").unwrap();
        assert!(
            !root.join("new").exists(),
            "nothing under the real name before commit"
        );
        let temps: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(temps.len(), 1);
        let temp = &temps[0];
        assert!(temp.file_name().to_str().unwrap().starts_with(TEMP_PREFIX));
        assert_eq!(temp.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        let when = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
        w.commit(Some(when), Some(0o640), true).unwrap();
        let md = std::fs::metadata(root.join("new")).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o640);
        assert_eq!(md.modified().unwrap(), when);
        assert_eq!(std::fs::read(root.join("new")).unwrap(), b"partial");
        assert_eq!(std::fs::read_dir(root).unwrap().count(), 1);

        // Commit replaces an existing file atomically; default mode 0644.
        write(s, "/new", b"second");
        assert_eq!(read(s, "/new"), b"second");
        let md = std::fs::metadata(root.join("new")).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o644);

        s.mkdir(&p("/dir")).unwrap();
        assert!(matches!(
            s.create(&p("/dir")),
            Err(StorageError::IsADirectory(_))
        ));
        assert!(matches!(
            s.create(&p("/nodir/f")),
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            s.create(&RelPath::root()),
            Err(StorageError::InvalidPath(_))
        ));
        s.sync_all().unwrap();
    });
}

#[test]
fn a_dropped_writer_leaves_no_temporary_file() {
    both(|s, root| {
        write(s, "/keep", b"old");
        {
            let mut w = s.create(&p("/keep")).unwrap();
            w.write_all(b"new data never committed").unwrap();
        }
        let names: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["keep"]);
        assert_eq!(read(s, "/keep"), b"old");
    });
}

#[test]
fn a_staged_file_is_hidden_until_published_and_goes_when_dropped() {
    both(|s, root| {
        let names = || -> Vec<String> {
            let mut n: Vec<String> = std::fs::read_dir(root)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            n.sort();
            n
        };
        let staged = |path: &str, data: &[u8]| {
            let mut w = s.create_tagged(&p(path), "abc-0123").unwrap();
            w.write_all(data).unwrap();
            w.stage(None, Some(0o640)).unwrap()
        };
        let a = staged("/a", b"one");
        let b = staged("/b", b"two");
        let dropped = staged("/c", b"three");
        let temps = names();
        assert_eq!(temps.len(), 3, "{temps:?}");
        assert!(temps
            .iter()
            .all(|n| n.starts_with(&format!("{TEMP_PREFIX}abc-0123-"))));
        drop(dropped);
        a.publish().unwrap();
        b.publish_synced().unwrap();
        assert_eq!(names(), ["a", "b"]);
        assert_eq!(read(s, "/a"), b"one");
        assert_eq!(read(s, "/b"), b"two");
        let md = std::fs::metadata(root.join("b")).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o640);
        // A tag is hex digits and dashes only: it cannot smuggle a path into the name.
        assert!(s.create_tagged(&p("/d"), "../x").is_err());
    });
}

#[test]
fn kept_directories_belong_to_one_storage_and_end_with_their_scope() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for root in [a.path(), b.path()] {
        std::fs::create_dir(root.join("d")).unwrap();
    }
    let (sa, sb) = (
        PosixStorage::open(a.path()).unwrap(),
        PosixStorage::open(b.path()).unwrap(),
    );
    {
        let _kept = keep_dirs();
        let _nested = keep_dirs(); // shares the scope; its drop does not end it
        write(&sa, "/d/x", b"a");
        write(&sb, "/d/y", b"b");
        drop(_nested);
        // The same components below another root are another directory.
        assert!(a.path().join("d/x").exists() && b.path().join("d/y").exists());
        assert!(!a.path().join("d/y").exists() && !b.path().join("d/x").exists());
        // Within the scope the directory reached first is used again: moved (inside the
        // root), it still receives the job's files.
        std::fs::rename(a.path().join("d"), a.path().join("e")).unwrap();
        write(&sa, "/d/z", b"c");
        assert_eq!(std::fs::read(a.path().join("e/z")).unwrap(), b"c");
    }
    // After the scope every call walks from the root again: /d is gone.
    assert!(matches!(
        sa.create(&p("/d/w")).err().unwrap(),
        StorageError::NotFound(_)
    ));
}
