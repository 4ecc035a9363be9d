//! Scopes: owned by a resource-server client, named by a scope string, with dependent scopes.

use crate::client::Client;
use crate::clock::UnixTime;
use uuid::Uuid;

/// The literal prefix of client-owned scope strings, even when self-hosted: the SDK's scope
/// builders hard-code it (spec §1.1).
pub const SCOPE_URL_PREFIX: &str = "https://auth.globus.org/scopes/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependentScope {
    pub scope_id: Uuid,
    pub optional: bool,
    pub requires_refresh_token: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub id: Uuid,
    /// The resource-server client that owns the scope.
    pub client_id: Uuid,
    /// Denormalised from the owner so that token issuance needs no join (spec §1.1 "keep a
    /// scope → resource_server table").
    pub resource_server: String,
    pub scope_string: String,
    pub name: String,
    pub description: String,
    pub advertised: bool,
    pub allows_refresh_token: bool,
    pub required_domains: Vec<String>,
    pub dependent_scopes: Vec<DependentScope>,
    pub created_at: UnixTime,
    /// Only members of these groups get the scope, with these capabilities (a Tessera
    /// extension, `crate::scope_rule`); `None`: anyone who consents.
    pub group_rule: Option<crate::scope_rule::GroupRule>,
}

/// The scope string a client's scope with this suffix gets: the URN form when the client has
/// an FQDN, the URL form with its id otherwise (spec §4).
pub fn scope_string_for(owner: &Client, suffix: &str) -> String {
    match owner.fqdns.first() {
        Some(fqdn) => format!("urn:globus:auth:scope:{fqdn}:{suffix}"),
        None => format!("{SCOPE_URL_PREFIX}{}/{suffix}", owner.id),
    }
}

const URN_PREFIX: &str = "urn:globus:auth:scope:";

/// The suffix of a client-owned scope string (`…:<suffix>` or `…/<suffix>`); `None` for the
/// bare OIDC scopes.
pub fn suffix_of(scope_string: &str) -> Option<&str> {
    if let Some(rest) = scope_string.strip_prefix(URN_PREFIX) {
        rest.rsplit_once(':').map(|(_, s)| s)
    } else if let Some(rest) = scope_string.strip_prefix(SCOPE_URL_PREFIX) {
        rest.rsplit_once('/').map(|(_, s)| s)
    } else {
        None
    }
}

/// The other strings that name `scope` (spec §1.1, as Globus resolves them): a scope whose
/// resource server is a DNS name is also known as `urn:globus:auth:scope:<rs>:<suffix>` and
/// `https://auth.globus.org/scopes/<rs>/<suffix>`, whichever form its own string has. So the
/// scopes a client created before it registered an FQDN keep their URL strings and are also
/// reachable by the FQDN forms; callers let a scope's own string win over another's alias.
pub fn aliases(scope: &Scope) -> Vec<String> {
    let rs = &scope.resource_server;
    let Some(suffix) = suffix_of(&scope.scope_string) else {
        return vec![];
    };
    if crate::fqdn::parse_fqdn(rs).as_deref() != Ok(rs.as_str()) {
        return vec![];
    }
    [
        format!("{URN_PREFIX}{rs}:{suffix}"),
        format!("{SCOPE_URL_PREFIX}{rs}/{suffix}"),
    ]
    .into_iter()
    .filter(|a| *a != scope.scope_string)
    .collect()
}

/// A suffix becomes part of a URL and a URN: letters, digits, `_`, `-`, `.`, 1 to 100 long.
pub fn validate_suffix(suffix: &str) -> Result<(), &'static str> {
    if suffix.is_empty() || suffix.len() > 100 {
        return Err("scope_suffix must be 1 to 100 characters long");
    }
    if !suffix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err("scope_suffix may contain only letters, digits, '_', '-' and '.'");
    }
    Ok(())
}

/// Names and descriptions are shown on consent pages: non-empty, printable, bounded.
pub fn validate_text(field: &'static str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} must be at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

/// `required_domains` entries are DNS names.
pub fn validate_domain(domain: &str) -> Result<(), String> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{domain:?} is not a domain name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientType, Links, Visibility};

    fn owner(fqdns: Vec<String>) -> Client {
        Client {
            id: Uuid::from_u128(9),
            name: "rs".into(),
            client_type: ClientType::Confidential,
            visibility: Visibility::Private,
            redirect_uris: vec![],
            fqdns,
            links: Links::default(),
            parent_client: None,
            project: None,
            required_idp: None,
            preselect_idp: None,
            allows_templating: false,
            authentication_policy: None,
            userinfo_from_effective_identity: true,
            resource_server_name: None,
            access_token_format: Default::default(),
            created_at: 0,
        }
    }

    #[test]
    fn scope_strings_use_the_literal_globus_prefix_or_the_fqdn_urn() {
        let c = owner(vec![]);
        assert_eq!(
            scope_string_for(&c, "data_access"),
            format!("https://auth.globus.org/scopes/{}/data_access", c.id)
        );
        let c = owner(vec!["api.example.org".into()]);
        assert_eq!(
            scope_string_for(&c, "all"),
            "urn:globus:auth:scope:api.example.org:all"
        );
    }

    fn scope(scope_string: &str, resource_server: &str) -> Scope {
        Scope {
            id: Uuid::from_u128(1),
            client_id: Uuid::from_u128(9),
            resource_server: resource_server.into(),
            scope_string: scope_string.into(),
            name: "n".into(),
            description: "d".into(),
            advertised: false,
            allows_refresh_token: true,
            required_domains: vec![],
            dependent_scopes: vec![],
            created_at: 0,
            group_rule: None,
        }
    }

    #[test]
    fn scopes_of_fqdn_resource_servers_have_both_fqdn_forms() {
        let urn = scope(
            "urn:globus:auth:scope:api.example.org:all",
            "api.example.org",
        );
        assert_eq!(
            aliases(&urn),
            ["https://auth.globus.org/scopes/api.example.org/all"]
        );
        // Created before the FQDN: the id URL stays, the FQDN forms are added.
        let id = Uuid::from_u128(9);
        let old = scope(
            &format!("https://auth.globus.org/scopes/{id}/data"),
            "api.example.org",
        );
        assert_eq!(
            aliases(&old),
            [
                "urn:globus:auth:scope:api.example.org:data",
                "https://auth.globus.org/scopes/api.example.org/data"
            ]
        );
        // No FQDN, a legacy label, or a bare OIDC scope: nothing else.
        assert!(aliases(&scope(
            &format!("https://auth.globus.org/scopes/{id}/x"),
            &id.to_string()
        ))
        .is_empty());
        assert!(aliases(&scope(
            "https://auth.globus.org/scopes/f/all",
            "funcx_service"
        ))
        .is_empty());
        assert!(aliases(&scope("openid", "auth.globus.org")).is_empty());
        assert_eq!(suffix_of("urn:globus:auth:scope:a.b:c"), Some("c"));
        assert_eq!(suffix_of("email"), None);
    }

    #[test]
    fn bad_suffixes_are_refused() {
        for bad in ["", "a b", "a/b", "a:b", "ü", &"x".repeat(101)] {
            assert!(validate_suffix(bad).is_err(), "{bad:?}");
        }
        for good in ["all", "data_access", "v1.read-only"] {
            assert!(validate_suffix(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn domains_and_texts_are_checked() {
        assert!(validate_domain("example.org").is_ok());
        for bad in ["", "-a.org", "a..org", "a b.org", "é.org"] {
            assert!(validate_domain(bad).is_err(), "{bad:?}");
        }
        assert!(validate_text("name", "Research data", 100).is_ok());
        assert!(validate_text("name", " ", 100).is_err());
        assert!(validate_text("name", "a\u{7}", 100).is_err());
    }
}
