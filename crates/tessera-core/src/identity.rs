//! Identities: people (from the built-in IdP, later from upstream IdPs) and the identities of
//! clients acting for themselves.

use crate::client::Client;
use crate::clock::UnixTime;
use uuid::{uuid, Uuid};

/// The built-in username/password identity provider.
pub const LOCAL_IDP_ID: Uuid = uuid!("6b0f1b3a-5d1e-5c59-9a8e-7a6f0d4d3c21");
pub const LOCAL_IDP_NAME: &str = "Tessera";
/// The pseudo-IdP of client identities (`<client id>@clients.auth.globus.org`).
pub const CLIENTS_IDP_ID: Uuid = uuid!("4e8b0a8c-2f7d-5b7e-8f4c-9f9a2e1c0d11");
pub const CLIENTS_IDP_NAME: &str = "Globus Auth clients";
pub const CLIENT_USERNAME_DOMAIN: &str = "clients.auth.globus.org";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityStatus {
    Used,
    Unused,
    Private,
    Closed,
}

impl IdentityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::Unused => "unused",
            Self::Private => "private",
            Self::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Used, Self::Unused, Self::Private, Self::Closed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whether an identity is a person's or a client's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    Login,
    Client,
}

impl IdentityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Client => "client",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Uuid,
    /// As given at creation; matching is on [`normalize_username`].
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
    pub identity_provider: Uuid,
    pub identity_type: IdentityType,
    pub status: IdentityStatus,
    pub created_at: UnixTime,
}

impl Identity {
    pub fn provider_display_name(&self) -> &'static str {
        if self.identity_provider == CLIENTS_IDP_ID {
            CLIENTS_IDP_NAME
        } else {
            LOCAL_IDP_NAME
        }
    }

    /// The display name of this identity's IdP: an upstream IdP's from `upstream` (the
    /// registry's names by id), else the built-in ones.
    pub fn provider_name<'a>(
        &'a self,
        upstream: &'a std::collections::HashMap<Uuid, String>,
    ) -> &'a str {
        upstream
            .get(&self.identity_provider)
            .map_or_else(|| self.provider_display_name(), String::as_str)
    }
}

/// The identity a client has when it acts for itself (client credentials): its id is the
/// client id, its username `<id>@clients.auth.globus.org` (spec §1.4).
pub fn client_identity(client: &Client) -> Identity {
    Identity {
        id: client.id,
        username: client_username(client.id),
        name: Some(client.name.clone()),
        email: None,
        organization: None,
        identity_provider: CLIENTS_IDP_ID,
        identity_type: IdentityType::Client,
        status: IdentityStatus::Used,
        created_at: client.created_at,
    }
}

pub fn client_username(id: Uuid) -> String {
    format!("{id}@{CLIENT_USERNAME_DOMAIN}")
}

/// If `username` names a client identity, its client id.
pub fn client_id_from_username(username: &str) -> Option<Uuid> {
    let (local, domain) = username.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(CLIENT_USERNAME_DOMAIN) {
        return None;
    }
    Uuid::parse_str(local).ok()
}

/// Usernames match case-insensitively (spec §1.4): this is the form that is compared and
/// kept unique.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

/// A username of the built-in IdP: `local@domain`, printable, at most 256 characters, and
/// never in the domain reserved for client identities.
pub fn validate_username(username: &str) -> Result<(), &'static str> {
    if username.len() > 256 {
        return Err("a username must be at most 256 characters");
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("a username must not contain spaces or control characters");
    }
    let Some((local, domain)) = username.rsplit_once('@') else {
        return Err("a username has the form name@domain");
    };
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return Err("a username has the form name@domain");
    }
    if domain.eq_ignore_ascii_case(CLIENT_USERNAME_DOMAIN) {
        return Err("that domain is reserved for client identities");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_usernames_round_trip() {
        let id = Uuid::from_u128(77);
        assert_eq!(client_id_from_username(&client_username(id)), Some(id));
        assert_eq!(
            client_id_from_username(&client_username(id).to_uppercase()),
            Some(id)
        );
        assert_eq!(client_id_from_username("alice@example.org"), None);
    }

    #[test]
    fn usernames_are_validated() {
        assert!(validate_username("alice@example.org").is_ok());
        for bad in [
            "alice",
            "@example.org",
            "alice@",
            "alice@localhost",
            "a b@x.org",
            "x@clients.auth.globus.org",
        ] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            normalize_username(" Alice@Example.ORG "),
            "alice@example.org"
        );
    }
}
