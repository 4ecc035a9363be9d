//! What the console's templates show, made from the domain types.

use super::{app_path, policy_path, project_path, scope_path};
use serde::Serialize;
use tessera_core::auth_policy::AuthPolicy;
use tessera_core::client::{Client, ClientCredential, ClientType};
use tessera_core::clock::iso8601;
use tessera_core::identity::Identity;
use tessera_core::project::Project;
use tessera_core::scope::Scope;

#[derive(Serialize)]
pub(super) struct ProjectItem {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) contact_email: String,
    pub(super) url: String,
}

impl ProjectItem {
    pub(super) fn of(p: &Project) -> Self {
        Self {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            contact_email: p.contact_email.clone(),
            url: project_path(p.id),
        }
    }
}

#[derive(Serialize)]
pub(super) struct AdminItem {
    pub(super) id: String,
    pub(super) username: String,
    pub(super) name: Option<String>,
    /// One of the signed-in person's own identities.
    pub(super) you: bool,
}

impl AdminItem {
    pub(super) fn of(i: &Identity, mine: &[uuid::Uuid]) -> Self {
        Self {
            id: i.id.to_string(),
            username: i.username.clone(),
            name: i.name.clone(),
            you: mine.contains(&i.id),
        }
    }
}

/// How the console names a client type.
pub(super) fn kind(t: ClientType) -> &'static str {
    match t {
        ClientType::Confidential => "Confidential (a server that keeps a secret)",
        ClientType::PublicInstalled => "Public (native, command-line or in-browser app)",
        ClientType::ClientIdentity => "Client identity",
        ClientType::ResourceServer => "Resource server",
        ClientType::GlobusConnectServer => "Globus Connect Server",
        ClientType::HybridConfidentialResourceServer => "Confidential client and resource server",
    }
}

#[derive(Serialize)]
pub(super) struct AppItem {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: &'static str,
    pub(super) public: bool,
    pub(super) visibility: &'static str,
    pub(super) url: String,
    pub(super) redirect_uris: Vec<String>,
    pub(super) fqdns: Vec<String>,
    pub(super) privacy_policy: String,
    pub(super) terms_and_conditions: String,
    pub(super) authentication_policy: String,
    pub(super) project_url: Option<String>,
}

impl AppItem {
    pub(super) fn of(c: &Client) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            kind: kind(c.client_type),
            public: c.is_public(),
            visibility: c.visibility.as_str(),
            url: app_path(c.id),
            redirect_uris: c.redirect_uris.clone(),
            fqdns: c.fqdns.clone(),
            privacy_policy: c.links.privacy_policy.clone().unwrap_or_default(),
            terms_and_conditions: c.links.terms_and_conditions.clone().unwrap_or_default(),
            authentication_policy: c
                .authentication_policy
                .map(|p| p.to_string())
                .unwrap_or_default(),
            project_url: c.project.map(project_path),
        }
    }
}

#[derive(Serialize)]
pub(super) struct SecretItem {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) created: String,
}

impl SecretItem {
    pub(super) fn of(c: &ClientCredential) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            created: iso8601(c.created_at),
        }
    }
}

#[derive(Serialize)]
pub(super) struct DependentItem {
    pub(super) id: String,
    pub(super) scope_string: String,
    pub(super) name: String,
    pub(super) optional: bool,
    pub(super) requires_refresh_token: bool,
}

#[derive(Serialize)]
pub(super) struct ScopeItem {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) scope_string: String,
    pub(super) advertised: bool,
    pub(super) allows_refresh_token: bool,
    pub(super) url: String,
    pub(super) dependents: Vec<DependentItem>,
}

impl ScopeItem {
    /// `named`: the scopes a dependent id may name (unknown ones show their id).
    pub(super) fn of(s: &Scope, named: &[Scope]) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name.clone(),
            description: s.description.clone(),
            scope_string: s.scope_string.clone(),
            advertised: s.advertised,
            allows_refresh_token: s.allows_refresh_token,
            url: scope_path(s.id),
            dependents: s
                .dependent_scopes
                .iter()
                .map(|d| {
                    let target = named.iter().find(|n| n.id == d.scope_id);
                    DependentItem {
                        id: d.scope_id.to_string(),
                        scope_string: target
                            .map_or_else(|| d.scope_id.to_string(), |t| t.scope_string.clone()),
                        name: target.map(|t| t.name.clone()).unwrap_or_default(),
                        optional: d.optional,
                        requires_refresh_token: d.requires_refresh_token,
                    }
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct PolicyItem {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) description: String,
    pub(super) high_assurance: bool,
    pub(super) authentication_assurance_timeout: String,
    pub(super) required_mfa: bool,
    /// One domain a line, as the form takes them.
    pub(super) domain_constraints_include: String,
    pub(super) domain_constraints_exclude: String,
    pub(super) url: String,
    pub(super) project_url: String,
}

impl PolicyItem {
    pub(super) fn of(p: &AuthPolicy) -> Self {
        let join = |d: &Option<Vec<String>>| d.as_deref().unwrap_or(&[]).join("\n");
        Self {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            high_assurance: p.high_assurance,
            authentication_assurance_timeout: p
                .authentication_assurance_timeout
                .map(|t| t.to_string())
                .unwrap_or_default(),
            required_mfa: p.required_mfa,
            domain_constraints_include: join(&p.domain_constraints_include),
            domain_constraints_exclude: join(&p.domain_constraints_exclude),
            url: policy_path(p.id),
            project_url: project_path(p.project_id),
        }
    }
}
