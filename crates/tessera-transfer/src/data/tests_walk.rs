//! walk, extras and rebase on real trees.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::tests::{p, pair};
use super::*;

fn tree(root: &Path) {
    for d in ["a", "a/b", "a/empty", "c"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    std::fs::write(root.join("top"), b"12345").unwrap();
    std::fs::write(root.join("a/one"), b"1").unwrap();
    std::fs::write(root.join("a/b/two"), b"22").unwrap();
    symlink("/etc", root.join("a/link")).unwrap();
}

#[test]
fn walk_lists_dirs_parents_first_files_with_sizes_and_skips_links() {
    let pr = pair();
    tree(&pr.src_root);
    use std::os::unix::ffi::OsStrExt;
    std::fs::write(
        pr.src_root
            .join("c")
            .join(std::ffi::OsStr::from_bytes(b"x\xff")),
        b"",
    )
    .unwrap();
    let w = walk(&pr.src, &RelPath::root()).unwrap();
    let dirs: Vec<_> = w.dirs.iter().map(RelPath::to_api).collect();
    assert_eq!(dirs, ["/", "/a", "/c", "/a/b", "/a/empty"]);
    let files: Vec<_> = w.files.iter().map(|(p, s)| (p.to_api(), *s)).collect();
    assert_eq!(
        files,
        [
            ("/top".to_string(), 5),
            ("/a/one".into(), 1),
            ("/a/b/two".into(), 2)
        ]
    );
    assert_eq!(w.total_bytes(), 8);
    let skipped: Vec<_> = w
        .skipped
        .iter()
        .map(|(p, r)| (p.to_api(), r.clone()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("/a/link".to_string(), SkipReason::Symlink),
            ("/c/x\u{fffd}".into(), SkipReason::NonUtf8Name)
        ]
    );
    assert!(w.errors.is_empty());
    // A sub-tree walk keeps full paths.
    let w = walk(&pr.src, &p("/a/b")).unwrap();
    assert_eq!(w.dirs, [p("/a/b")]);
    assert!(matches!(
        walk(&pr.src, &p("/nope")),
        Err(DataError::Storage {
            side: Side::Source,
            ..
        })
    ));
    assert!(matches!(
        walk(&pr.src, &p("/a/link")),
        Err(DataError::Storage {
            side: Side::Source,
            ..
        })
    ));
}

#[test]
fn extras_are_the_topmost_destination_entries_without_a_source_counterpart() {
    let pr = pair();
    tree(&pr.src_root);
    std::fs::create_dir_all(pr.dst_root.join("mirror/a/b")).unwrap();
    std::fs::create_dir_all(pr.dst_root.join("mirror/gone/deep")).unwrap();
    std::fs::write(pr.dst_root.join("mirror/gone/deep/x"), b"").unwrap();
    std::fs::write(pr.dst_root.join("mirror/a/one"), b"1").unwrap();
    std::fs::write(pr.dst_root.join("mirror/a/b/extra"), b"").unwrap();
    std::fs::write(
        pr.dst_root.join("mirror/a/link"),
        b"a file where the source has a link",
    )
    .unwrap();
    std::fs::write(
        pr.dst_root.join("mirror/.tessera-tmp-0123456789abcdef"),
        b"",
    )
    .unwrap();
    std::fs::write(pr.dst_root.join("outside-the-mirror"), b"").unwrap();
    symlink("/etc", pr.dst_root.join("mirror/etc")).unwrap();
    let w = walk(&pr.src, &RelPath::root()).unwrap();
    let extra = extras(&w, &RelPath::root(), &pr.dst, &p("/mirror")).unwrap();
    let extra: Vec<_> = extra.iter().map(RelPath::to_api).collect();
    assert_eq!(extra, ["/mirror/etc", "/mirror/gone", "/mirror/a/b/extra"]);
    assert!(extras(&w, &RelPath::root(), &pr.dst, &p("/absent"))
        .unwrap()
        .is_empty());
}

#[test]
fn rebase_moves_paths_between_roots() {
    assert_eq!(rebase(&p("/a/b/c"), &p("/a"), &p("/x")), Some(p("/x/b/c")));
    assert_eq!(
        rebase(&p("/a"), &p("/a"), &RelPath::root()),
        Some(RelPath::root())
    );
    assert_eq!(rebase(&p("/ab/c"), &p("/a"), &p("/x")), None);
}
