//! Clients: confidential portals, native apps, resource servers, and their credentials.

use crate::clock::UnixTime;
use crate::secret::SecretHash;
use uuid::Uuid;

/// The RFC 8628 grant type, as the token endpoint and client metadata name it.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `client_type` of spec §1.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    PublicInstalled,
    ClientIdentity,
    ResourceServer,
    GlobusConnectServer,
    HybridConfidentialResourceServer,
}

impl ClientType {
    pub const ALL: [ClientType; 6] = [
        Self::Confidential,
        Self::PublicInstalled,
        Self::ClientIdentity,
        Self::ResourceServer,
        Self::GlobusConnectServer,
        Self::HybridConfidentialResourceServer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential_client",
            Self::PublicInstalled => "public_installed_client",
            Self::ClientIdentity => "client_identity",
            Self::ResourceServer => "resource_server",
            Self::GlobusConnectServer => "globus_connect_server",
            Self::HybridConfidentialResourceServer => "hybrid_confidential_client_resource_server",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Public clients cannot keep a secret and never authenticate with one.
    pub fn is_public(self) -> bool {
        matches!(self, Self::PublicInstalled)
    }

    /// The grant types a client of this type may use (spec §1.3).
    pub fn grant_types(self) -> &'static [&'static str] {
        match self {
            Self::PublicInstalled => &["authorization_code", "refresh_token"],
            Self::ClientIdentity | Self::ResourceServer | Self::GlobusConnectServer => &[
                "client_credentials",
                "urn:globus:auth:grant_type:dependent_token",
            ],
            Self::Confidential | Self::HybridConfidentialResourceServer => &[
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:globus:auth:grant_type:dependent_token",
            ],
        }
    }

    /// Whether a client of this type may use `grant`: its Globus grant types, and the device
    /// grant (RFC 8628, a Tessera extension) for every client that a person can authorize (it is
    /// not listed in `grant_types`, which is the Globus API's view of a client).
    pub fn allows_grant(self, grant: &str) -> bool {
        self.grant_types().contains(&grant)
            || (grant == DEVICE_CODE_GRANT && self.grant_types().contains(&"authorization_code"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

/// How access tokens for a resource server's scopes are issued (a Tessera extension): opaque
/// strings checked by introspection (the default, as Globus), or RFC 9068 JWTs that a
/// resource server can check offline against the JWKS, or SciToken/WLCG-profile JWTs whose
/// `scope` holds path capabilities (`read:/data`) for storage systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessTokenFormat {
    #[default]
    Opaque,
    Jwt,
    SciToken,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
            Self::SciToken => "scitoken",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            "scitoken" => Some(Self::SciToken),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links {
    pub privacy_policy: Option<String>,
    pub terms_and_conditions: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: Uuid,
    pub name: String,
    pub client_type: ClientType,
    pub visibility: Visibility,
    pub redirect_uris: Vec<String>,
    /// Verified DNS names; the first one names the client's resource server (spec §1.1).
    pub fqdns: Vec<String>,
    pub links: Links,
    pub parent_client: Option<Uuid>,
    pub project: Option<Uuid>,
    pub required_idp: Option<Uuid>,
    pub preselect_idp: Option<Uuid>,
    /// A template client (the Globus CLI's, spec §1.5): anyone may create an instance of it
    /// without authenticating.
    pub allows_templating: bool,
    /// A Tessera extension: the authentication policy (of the client's project) a person's
    /// identity must satisfy for this client; the identity that does is the effective identity.
    pub authentication_policy: Option<Uuid>,
    /// Whether introspection, ID tokens and userinfo describe the effective identity (the
    /// Globus default) rather than the identity signed in with.
    pub userinfo_from_effective_identity: bool,
    /// An explicit resource-server name for the well-known services whose name is neither an
    /// FQDN of theirs nor their id (`auth.globus.org`, `flows.globus.org`, `funcx_service`).
    pub resource_server_name: Option<String>,
    /// The format of access tokens issued for this client's scopes.
    pub access_token_format: AccessTokenFormat,
    pub created_at: UnixTime,
}

impl Client {
    /// The name that appears as `resource_server` in tokens for this client's scopes and as
    /// `aud` in introspection: the explicit name, else the first FQDN, else the client id.
    pub fn resource_server(&self) -> String {
        self.resource_server_name
            .clone()
            .or_else(|| self.fqdns.first().cloned())
            .unwrap_or_else(|| self.id.to_string())
    }

    /// Whether a token whose `resource_server` is `name` is meant for this client: its
    /// resource-server name, or its id, which named it before it registered an FQDN (tokens
    /// issued then stay introspectable and exchangeable by it).
    pub fn is_audience(&self, name: &str) -> bool {
        name == self.resource_server() || name == self.id.to_string()
    }

    pub fn is_public(&self) -> bool {
        self.client_type.is_public()
    }

    /// The client may act on `target` through the API: itself or a child it created.
    pub fn manages(&self, target: &Client) -> bool {
        target.id == self.id || target.parent_client == Some(self.id)
    }
}

/// One secret of a confidential client. A client may hold several, so a secret can be rotated
/// without downtime: create the new one, deploy it, delete the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredential {
    pub id: Uuid,
    pub client_id: Uuid,
    pub name: String,
    pub secret_hash: SecretHash,
    pub created_at: UnixTime,
}

/// Client names are shown to people on consent pages: printable, bounded.
pub fn validate_client_name(name: &str) -> Result<(), &'static str> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("a client name must not be empty");
    }
    if trimmed.chars().count() > 100 {
        return Err("a client name must be at most 100 characters");
    }
    if trimmed.chars().any(char::is_control) {
        return Err("a client name must not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: Uuid) -> Client {
        Client {
            id,
            name: "c".into(),
            client_type: ClientType::Confidential,
            visibility: Visibility::Private,
            redirect_uris: vec![],
            fqdns: vec![],
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
    fn resource_server_name_prefers_explicit_then_fqdn_then_id() {
        let id = Uuid::from_u128(42);
        let mut c = client(id);
        assert_eq!(c.resource_server(), id.to_string());
        c.fqdns = vec!["api.example.org".into()];
        assert_eq!(c.resource_server(), "api.example.org");
        c.resource_server_name = Some("flows.globus.org".into());
        assert_eq!(c.resource_server(), "flows.globus.org");
    }

    #[test]
    fn a_client_is_the_audience_of_its_name_and_its_id() {
        let id = Uuid::from_u128(42);
        let mut c = client(id);
        c.fqdns = vec!["api.example.org".into(), "b.example.org".into()];
        assert!(c.is_audience("api.example.org"));
        assert!(c.is_audience(&id.to_string()));
        assert!(!c.is_audience("b.example.org"));
        assert!(!c.is_audience(&Uuid::from_u128(43).to_string()));
    }

    #[test]
    fn client_types_round_trip_and_native_is_public() {
        for t in ClientType::ALL {
            assert_eq!(ClientType::parse(t.as_str()), Some(t));
        }
        assert!(ClientType::PublicInstalled.is_public());
        assert!(!ClientType::PublicInstalled.allows_grant("client_credentials"));
        assert!(ClientType::Confidential.allows_grant("client_credentials"));
    }

    #[test]
    fn the_device_grant_is_for_clients_a_person_authorizes_and_not_in_the_globus_view() {
        for t in ClientType::ALL {
            assert_eq!(
                t.allows_grant(DEVICE_CODE_GRANT),
                t.allows_grant("authorization_code"),
                "{t:?}"
            );
            assert!(!t.grant_types().contains(&DEVICE_CODE_GRANT));
        }
        assert!(ClientType::PublicInstalled.allows_grant(DEVICE_CODE_GRANT));
        assert!(!ClientType::ResourceServer.allows_grant(DEVICE_CODE_GRANT));
    }

    #[test]
    fn a_client_manages_itself_and_its_children_only() {
        let parent = client(Uuid::from_u128(1));
        let mut child = client(Uuid::from_u128(2));
        child.parent_client = Some(parent.id);
        let other = client(Uuid::from_u128(3));
        assert!(parent.manages(&parent));
        assert!(parent.manages(&child));
        assert!(!parent.manages(&other));
        assert!(!child.manages(&parent));
    }

    #[test]
    fn client_names_are_checked() {
        assert!(validate_client_name("portal").is_ok());
        assert!(validate_client_name("  ").is_err());
        assert!(validate_client_name("a\nb").is_err());
        assert!(validate_client_name(&"x".repeat(101)).is_err());
    }
}
