//! Where a person's groups come from when a scope is granted by group
//! (`tessera_core::scope_rule`): Tessera's own groups (read by the service from the store), the
//! host's POSIX groups through NSS ([`posix`]), and an LDAP directory ([`ldap`]). POSIX and LDAP
//! answers are cached per local account name for a short TTL.
//!
//! A Tessera username `local@domain` names a local account only when `domain` is the configured
//! `local_domain`: without it POSIX and LDAP groups never match, so a stranger's `alice@elsewhere`
//! can never pick up the local `alice`'s groups.

pub mod ldap;
pub mod posix;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default lifetime of SciToken access tokens: they are verified offline, so revocation
/// cannot reach them; a short life is the only limit.
pub const DEFAULT_SCITOKEN_LIFETIME_S: i64 = 20 * 60;
/// How long a POSIX or LDAP answer is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Entries kept per cache before it is emptied (a bound, not an expected size).
const MAX_CACHED: usize = 10_000;

/// The group-source settings (the `[group_sources]` table).
#[derive(Debug, Clone)]
pub struct GroupSourcesConfig {
    /// Usernames `local@<local_domain>` are the local account `local` for POSIX and LDAP.
    pub local_domain: Option<String>,
    /// Look POSIX groups up through NSS (`getgrouplist`).
    pub posix: bool,
    pub ldap: Option<ldap::LdapConfig>,
    pub cache_ttl: Duration,
    /// Lifetime (seconds) of `scitoken` access tokens.
    pub scitoken_lifetime: i64,
}

impl Default for GroupSourcesConfig {
    fn default() -> Self {
        Self {
            local_domain: None,
            posix: true,
            ldap: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            scitoken_lifetime: DEFAULT_SCITOKEN_LIFETIME_S,
        }
    }
}

impl GroupSourcesConfig {
    /// The local account a (normalised) Tessera username stands for, if any.
    pub fn local_name<'a>(&self, username: &'a str) -> Option<&'a str> {
        let domain = self.local_domain.as_deref()?;
        let (local, d) = username.rsplit_once('@')?;
        (d.eq_ignore_ascii_case(domain) && !local.is_empty()).then_some(local)
    }
}

/// What NSS says of a local account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosixAccount {
    pub uid: Option<u32>,
    pub groups: Vec<String>,
}

/// A TTL cache of answers per local account name.
struct TtlCache<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T: Clone> TtlCache<T> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, name: &str) -> Option<T> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(name)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, name: &str, value: T) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
            entries.insert(name.to_owned(), (Instant::now(), value));
        }
    }
}

/// The POSIX and LDAP sources with their caches.
pub struct GroupSources {
    pub config: GroupSourcesConfig,
    posix: TtlCache<PosixAccount>,
    ldap: TtlCache<Vec<String>>,
}

impl std::fmt::Debug for GroupSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSources")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GroupSources {
    pub fn new(config: GroupSourcesConfig) -> Self {
        Self {
            posix: TtlCache::new(config.cache_ttl),
            ldap: TtlCache::new(config.cache_ttl),
            config,
        }
    }

    /// The local account's uid and POSIX groups (empty when POSIX lookups are off or NSS does
    /// not know the name).
    pub async fn posix(&self, local: &str) -> PosixAccount {
        if !self.config.posix {
            return PosixAccount::default();
        }
        if let Some(hit) = self.posix.get(local) {
            return hit;
        }
        let name = local.to_owned();
        // NSS may read files or ask a directory: off the async threads.
        let account = tokio::task::spawn_blocking(move || posix::account(&name))
            .await
            .unwrap_or_default();
        self.posix.put(local, account.clone());
        account
    }

    /// The local account's LDAP groups. A directory that cannot be asked gives no groups (the
    /// scope is refused, not granted) and is not cached, so the next request asks again.
    pub async fn ldap(&self, local: &str) -> Vec<String> {
        let Some(cfg) = &self.config.ldap else {
            return Vec::new();
        };
        if let Some(hit) = self.ldap.get(local) {
            return hit;
        }
        match ldap::groups_of(cfg, local).await {
            Ok(groups) => {
                self.ldap.put(local, groups.clone());
                groups
            }
            Err(e) => {
                tracing::error!(event = "ldap_lookup_failed", error = %e, "LDAP group lookup failed; group-granted scopes are refused meanwhile");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_local_domain_names_local_accounts() {
        let c = GroupSourcesConfig {
            local_domain: Some("example.org".into()),
            ..GroupSourcesConfig::default()
        };
        assert_eq!(c.local_name("alice@example.org"), Some("alice"));
        assert_eq!(c.local_name("alice@EXAMPLE.org"), Some("alice"));
        assert_eq!(c.local_name("alice@evil.org"), None);
        assert_eq!(c.local_name("@example.org"), None);
        assert_eq!(
            GroupSourcesConfig::default().local_name("alice@example.org"),
            None
        );
    }

    #[test]
    fn cached_answers_expire() {
        let c: TtlCache<u32> = TtlCache::new(Duration::from_millis(0));
        c.put("a", 1);
        assert_eq!(c.get("a"), None);
        let c: TtlCache<u32> = TtlCache::new(Duration::from_secs(60));
        c.put("a", 1);
        assert_eq!(c.get("a"), Some(1));
    }
}
