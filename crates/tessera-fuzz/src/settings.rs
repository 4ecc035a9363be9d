//! The TOML settings (the `tessera` command): any file is refused with an error or gives
//! settings inside every documented bound.

use tessera::settings::{check_file, Database};

pub fn settings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = check_file(text) else {
        return;
    };
    let day = 24 * 3600;
    assert!((tessera_auth::config::MIN_TOKEN_LIFETIME_S
        ..=tessera_auth::config::MAX_TOKEN_LIFETIME_S)
        .contains(&s.access_token_lifetime));
    assert!((16 * 1024..=16 * 1024 * 1024).contains(&s.max_body_bytes));
    assert!((3600..=5 * 365 * day).contains(&s.refresh_token_idle_lifetime));
    assert!((0..=300).contains(&s.refresh_token_reuse_grace));
    assert!((1..=day as u64).contains(&s.cleanup_interval));
    assert!(s.audit_retention == 0 || (day..=100 * 365 * day).contains(&s.audit_retention));
    let rotation = s.keys.key_rotation_interval;
    assert!(rotation == 0 || (60..=10 * 365 * day).contains(&rotation));
    if let Some(m) = s.metrics_listen {
        assert!(m != s.listen || m.port() == 0);
    }
    if let Database::Postgres { url } = &s.database {
        assert!(url.starts_with("postgres://") || url.starts_with("postgresql://"));
    }
    assert!(s.admin_usernames.iter().all(|u| !u.is_empty()));
    if let Some(url) = &s.public_url {
        assert!(url.starts_with("http://") || url.starts_with("https://"));
        assert!(!url.contains(['?', '#']));
    }
    // Deterministic: the same text gives the same settings.
    let again = check_file(text).map(|t| format!("{t:?}"));
    assert_eq!(again.ok(), Some(format!("{s:?}")));
}
