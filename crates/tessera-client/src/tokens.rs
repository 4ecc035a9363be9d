//! Tokens as a program keeps them: one [`TokenData`] per resource server, with the absolute
//! expiry time the Globus SDK stores (`expires_at_seconds`), and the clock that judges it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_proto::oauth::{TokenInfo, TokenResponse};

/// The time now, in Unix seconds. Injected so tests can move it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock: the one place this crate reads it; everything else takes a [`Clock`].
#[allow(clippy::disallowed_methods)]
pub(crate) fn system_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        system_now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// One resource server's tokens. `Debug` never shows the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenData {
    pub resource_server: String,
    /// Root scope strings, space-separated.
    pub scope: String,
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix seconds).
    pub expires_at_seconds: i64,
    #[serde(default = "bearer")]
    pub token_type: String,
}

fn bearer() -> String {
    "Bearer".into()
}

impl std::fmt::Debug for TokenData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenData")
            .field("resource_server", &self.resource_server)
            .field("scope", &self.scope)
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at_seconds", &self.expires_at_seconds)
            .finish()
    }
}

impl TokenData {
    /// One token of a response received at `now`.
    pub fn from_info(info: &TokenInfo, now: i64) -> Self {
        Self {
            resource_server: info.resource_server.clone(),
            scope: info.scope.clone(),
            access_token: info.access_token.clone(),
            refresh_token: info.refresh_token.clone(),
            expires_at_seconds: now.saturating_add(info.expires_in),
            token_type: info.token_type.clone(),
        }
    }

    /// Whether the access token expires within `margin` seconds of `now`.
    pub fn expires_within(&self, now: i64, margin: i64) -> bool {
        now.saturating_add(margin) >= self.expires_at_seconds
    }
}

/// A token response's tokens by resource server (the top token and `other_tokens`), as the
/// Globus SDK's `by_resource_server`.
pub fn by_resource_server(response: &TokenResponse, now: i64) -> BTreeMap<String, TokenData> {
    std::iter::once(&response.top)
        .chain(&response.other_tokens)
        .map(|t| (t.resource_server.clone(), TokenData::from_info(t, now)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(rs: &str) -> TokenInfo {
        TokenInfo {
            access_token: format!("at-{rs}"),
            scope: format!("scope-{rs}"),
            resource_server: rs.into(),
            expires_in: 3600,
            token_type: "Bearer".into(),
            refresh_token: Some(format!("rt-{rs}")),
        }
    }

    #[test]
    fn responses_split_by_resource_server_with_absolute_expiry() {
        let r = TokenResponse {
            top: info("auth.globus.org"),
            id_token: None,
            state: None,
            other_tokens: vec![info("transfer.api.globus.org")],
        };
        let m = by_resource_server(&r, 1000);
        assert_eq!(m.len(), 2);
        let t = &m["transfer.api.globus.org"];
        assert_eq!(t.expires_at_seconds, 4600);
        assert_eq!(
            t.refresh_token.as_deref(),
            Some("rt-transfer.api.globus.org")
        );
        assert!(!t.expires_within(4539, 60));
        assert!(t.expires_within(4540, 60));
    }

    #[test]
    fn debug_shows_no_token() {
        let t = TokenData::from_info(&info("auth.globus.org"), 0);
        let d = format!("{t:?}");
        assert!(!d.contains("at-auth") && !d.contains("rt-auth"), "{d}");
    }
}
