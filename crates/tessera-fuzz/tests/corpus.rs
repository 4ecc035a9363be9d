//! Replays every committed corpus file (`fuzz/corpus/<target>/`) through the function its fuzz
//! target calls, on the stable toolchain and without a fuzzing engine: what the fuzzers found
//! once stays checked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn replay(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        n += 1;
    }
    assert!(n > 0, "{target}: the corpus {} is empty", dir.display());
    println!("{target}: {n} corpus files replayed");
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name), tessera_fuzz::$name);
            }
        )*

        #[test]
        fn every_target_has_a_corpus_test() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in tessera_fuzz::TARGETS {
                assert!(tested.contains(name), "{name} has no corpus test");
            }
        }
    };
}

corpus_tests!(
    scope,
    redirect,
    oauth_form,
    auth_header,
    token,
    jwt,
    settings
);
