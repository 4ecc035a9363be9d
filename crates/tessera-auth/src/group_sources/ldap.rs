//! LDAP groups: bind (anonymously or as a service DN), search the group base with a filter in
//! which `{username}` is the local account name (escaped per RFC 4515), and read the group name
//! attribute of each entry. `ldap://` (optionally with StartTLS) or `ldaps://`, verified against
//! the system roots or a CA file.

use ldap3::{ldap_escape, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default filter: RFC 2307 `posixGroup` entries listing the account in `memberUid`.
pub const DEFAULT_FILTER: &str = "(&(objectClass=posixGroup)(memberUid={username}))";

/// A password kept out of `Debug` and logs.
#[derive(Clone)]
pub struct BindPassword(pub String);

impl std::fmt::Debug for BindPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindPassword(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// PEM file of the CA that signed the server's certificate (default: the system roots).
    pub ca_file: Option<PathBuf>,
    /// Bind as this DN (default: anonymous).
    pub bind_dn: Option<String>,
    pub bind_password: Option<BindPassword>,
    /// Where groups are searched (subtree).
    pub base: String,
    /// The search filter; `{username}` is replaced by the escaped account name.
    pub filter: String,
    /// The attribute holding a group's name (`cn`).
    pub name_attribute: String,
    /// Connecting and each operation give up after this long.
    pub timeout: Duration,
}

impl LdapConfig {
    /// A configuration with the defaults for everything but where the directory is.
    pub fn new(url: &str, base: &str) -> Self {
        Self {
            url: url.to_owned(),
            starttls: false,
            ca_file: None,
            bind_dn: None,
            bind_password: None,
            base: base.to_owned(),
            filter: DEFAULT_FILTER.to_owned(),
            name_attribute: "cn".to_owned(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Checks what can be checked before the first lookup (the binary calls it at start).
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("ldap://") || self.url.starts_with("ldaps://")) {
            return Err("group_sources.ldap.url must be an ldap:// or ldaps:// URL".into());
        }
        if self.starttls && self.url.starts_with("ldaps://") {
            return Err("group_sources.ldap.starttls applies to ldap:// URLs only".into());
        }
        if !self.filter.contains("{username}") {
            return Err("group_sources.ldap.filter must contain {username}".into());
        }
        if self.bind_dn.is_some() != self.bind_password.is_some() {
            return Err("group_sources.ldap: give bind_dn and bind_password together".into());
        }
        if let Some(ca) = &self.ca_file {
            tls_config(ca)?;
        }
        Ok(())
    }
}

fn tls_config(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("reading {}: {e}", ca_file.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("reading {}: {e}", ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", ca_file.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The names of the groups the directory lists `local` in.
pub async fn groups_of(cfg: &LdapConfig, local: &str) -> Result<Vec<String>, String> {
    tokio::time::timeout(cfg.timeout, search(cfg, local))
        .await
        .map_err(|_| format!("LDAP lookup timed out after {:?}", cfg.timeout))?
}

async fn search(cfg: &LdapConfig, local: &str) -> Result<Vec<String>, String> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(cfg.timeout)
        .set_starttls(cfg.starttls);
    if let Some(ca) = &cfg.ca_file {
        settings = settings.set_config(tls_config(ca)?);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &cfg.url)
        .await
        .map_err(|e| format!("connecting to {}: {e}", cfg.url))?;
    ldap3::drive!(conn);
    if let (Some(dn), Some(pw)) = (&cfg.bind_dn, &cfg.bind_password) {
        ldap.simple_bind(dn, &pw.0)
            .await
            .and_then(|r| r.success())
            .map_err(|e| format!("binding as {dn}: {e}"))?;
    }
    let filter = cfg.filter.replace("{username}", &ldap_escape(local));
    let (entries, _) = ldap
        .search(
            &cfg.base,
            Scope::Subtree,
            &filter,
            vec![cfg.name_attribute.as_str()],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("searching {}: {e}", cfg.base))?;
    let _ = ldap.unbind().await;
    let mut names: Vec<String> = Vec::new();
    for e in entries {
        let entry = SearchEntry::construct(e);
        for n in entry
            .attrs
            .get(&cfg.name_attribute)
            .into_iter()
            .flatten()
            .take(1)
        {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_before_use() {
        let ok = LdapConfig::new("ldap://127.0.0.1:389", "ou=groups,dc=example,dc=org");
        assert!(ok.validate().is_ok());
        assert!(LdapConfig::new("http://x", "dc=x").validate().is_err());
        let mut bad = ok.clone();
        bad.filter = "(cn=x)".into();
        assert!(bad.validate().is_err());
        let mut half = ok.clone();
        half.bind_dn = Some("cn=admin,dc=example,dc=org".into());
        assert!(half.validate().is_err());
        let mut tls = ok;
        tls.url = "ldaps://x".into();
        tls.starttls = true;
        assert!(tls.validate().is_err());
    }

    #[test]
    fn the_password_stays_out_of_debug() {
        let mut c = LdapConfig::new("ldap://x", "dc=x");
        c.bind_password = Some(BindPassword("hunter2".into()));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
