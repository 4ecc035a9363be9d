//! Configuration is validated at start, with messages that say what to fix.

use crate::process::run;
use std::io::Write;

fn refused(args: &[&str], env: &[(&str, &str)], expect_in_stderr: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(args, Some(dir.path()), None, env);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should fail; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(expect_in_stderr), "{args:?}: {stderr}");
}

#[test]
fn bad_settings_are_refused_before_serving() {
    refused(&["serve", "--listen", "nowhere"], &[], "listen");
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "auth.example.org",
        ],
        &[],
        "public_url",
    );
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--access-token-lifetime",
            "5",
        ],
        &[],
        "access_token_lifetime",
    );
    refused(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_LOG_FORMAT", "xml")],
        "log_format",
    );
    refused(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_CLEANUP_INTERVAL", "0")],
        "cleanup_interval",
    );
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x",
        ],
        &[],
        "postgres://",
    );
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--access-token-algorithm",
            "HS256",
        ],
        &[],
        "access_token_algorithm",
    );
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--key-rotation-interval",
            "5",
        ],
        &[],
        "key_rotation_interval",
    );
    refused(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_AUDIT_RETENTION", "365")],
        "audit_retention",
    );
    refused(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_REFRESH_TOKEN_REUSE_GRACE", "3600")],
        "refresh_token_reuse_grace",
    );
    refused(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_MASTER_KEY", "too-short")],
        "TESSERA_MASTER_KEY",
    );
    // PostgreSQL nodes share keys: none is made up for them (refused before connecting).
    refused(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://127.0.0.1:1/none",
        ],
        &[],
        "master key",
    );
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"").unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    refused(
        &["serve", "--config", &path],
        &[],
        "not a valid Tessera configuration",
    );
}
