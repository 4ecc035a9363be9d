//! The `[group_sources]` table (where the groups of scopes granted by group come from) and
//! `scitoken_lifetime`, validated into `tessera_auth::group_sources::GroupSourcesConfig`.
//!
//! ```toml
//! scitoken_lifetime = 1200            # seconds; SciTokens are checked offline: keep it short
//! [group_sources]
//! local_domain = "example.org"        # alice@example.org is the local account alice
//! posix = true                        # NSS groups (getgrouplist); default true
//! cache_ttl = 30                      # seconds POSIX/LDAP answers are reused
//! [group_sources.ldap]
//! url = "ldaps://ldap.example.org"    # or ldap://…, with starttls = true
//! ca_file = "/etc/ssl/ldap-ca.pem"    # default: the system roots
//! bind_dn = "cn=tessera,dc=example,dc=org"
//! bind_password_file = "/etc/tessera/ldap-password"
//! base = "ou=groups,dc=example,dc=org"
//! filter = "(&(objectClass=posixGroup)(memberUid={username}))"
//! name_attribute = "cn"
//! timeout = 5
//! ```

use crate::settings::FileConfig;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use tessera_auth::group_sources::ldap::{BindPassword, LdapConfig};
use tessera_auth::group_sources::{GroupSourcesConfig, DEFAULT_SCITOKEN_LIFETIME_S};

/// The shortest and longest SciToken lifetimes accepted (seconds).
const MIN_SCITOKEN_LIFETIME_S: i64 = 60;
const MAX_SCITOKEN_LIFETIME_S: i64 = 24 * 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSourcesFile {
    pub local_domain: Option<String>,
    pub posix: Option<bool>,
    pub cache_ttl: Option<u64>,
    pub ldap: Option<LdapFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapFile {
    pub url: String,
    pub base: String,
    pub starttls: Option<bool>,
    pub ca_file: Option<PathBuf>,
    pub bind_dn: Option<String>,
    pub bind_password_file: Option<PathBuf>,
    pub filter: Option<String>,
    pub name_attribute: Option<String>,
    pub timeout: Option<u64>,
}

pub fn group_sources(file: &FileConfig) -> Result<GroupSourcesConfig> {
    let mut c = GroupSourcesConfig::default();
    if let Some(l) = file.scitoken_lifetime {
        if !(MIN_SCITOKEN_LIFETIME_S..=MAX_SCITOKEN_LIFETIME_S).contains(&l) {
            bail!(
                "scitoken_lifetime must be between {MIN_SCITOKEN_LIFETIME_S} and {MAX_SCITOKEN_LIFETIME_S} seconds (default {DEFAULT_SCITOKEN_LIFETIME_S})"
            );
        }
        c.scitoken_lifetime = l;
    }
    let Some(g) = &file.group_sources else {
        return Ok(c);
    };
    if let Some(d) = &g.local_domain {
        let d = d.trim().to_ascii_lowercase();
        if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
            bail!("group_sources.local_domain must be a domain like example.org");
        }
        c.local_domain = Some(d);
    }
    if let Some(p) = g.posix {
        c.posix = p;
    }
    if let Some(ttl) = g.cache_ttl {
        if ttl > 3600 {
            bail!("group_sources.cache_ttl must be at most 3600 seconds");
        }
        c.cache_ttl = Duration::from_secs(ttl);
    }
    if let Some(l) = &g.ldap {
        let mut cfg = LdapConfig::new(l.url.trim(), l.base.trim());
        cfg.starttls = l.starttls.unwrap_or(false);
        cfg.ca_file = l.ca_file.clone();
        cfg.bind_dn = l.bind_dn.clone();
        if let Some(path) = &l.bind_password_file {
            let pw = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            cfg.bind_password = Some(BindPassword(pw.trim_end_matches(['\r', '\n']).to_owned()));
        }
        if let Some(f) = &l.filter {
            cfg.filter = f.clone();
        }
        if let Some(a) = &l.name_attribute {
            cfg.name_attribute = a.clone();
        }
        if let Some(t) = l.timeout {
            if t == 0 || t > 60 {
                bail!("group_sources.ldap.timeout must be 1 to 60 seconds");
            }
            cfg.timeout = Duration::from_secs(t);
        }
        cfg.validate().map_err(anyhow::Error::msg)?;
        c.ldap = Some(cfg);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(s: &str) -> FileConfig {
        FileConfig::parse(s).unwrap()
    }

    #[test]
    fn defaults_and_a_full_table() {
        let c = group_sources(&file("")).unwrap();
        assert_eq!(c.scitoken_lifetime, 1200);
        assert!(c.ldap.is_none() && c.local_domain.is_none() && c.posix);
        let c = group_sources(&file(
            "scitoken_lifetime = 600\n[group_sources]\nlocal_domain = \"Example.org\"\ncache_ttl = 5\n\
             [group_sources.ldap]\nurl = \"ldap://127.0.0.1:3389\"\nbase = \"dc=example,dc=org\"\n",
        ))
        .unwrap();
        assert_eq!(c.scitoken_lifetime, 600);
        assert_eq!(c.local_domain.as_deref(), Some("example.org"));
        assert_eq!(c.cache_ttl, Duration::from_secs(5));
        assert_eq!(c.ldap.map(|l| l.url), Some("ldap://127.0.0.1:3389".into()));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("scitoken_lifetime = 5", "scitoken_lifetime"),
            ("[group_sources]\nlocal_domain = \"a@b\"", "local_domain"),
            (
                "[group_sources.ldap]\nurl = \"http://x\"\nbase = \"dc=x\"",
                "ldap:// or ldaps://",
            ),
            (
                "[group_sources.ldap]\nurl = \"ldap://x\"\nbase = \"dc=x\"\nfilter = \"(cn=x)\"",
                "{username}",
            ),
        ] {
            let e = group_sources(&file(text)).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(FileConfig::parse("[group_sources]\nbogus = 1").is_err());
    }
}
