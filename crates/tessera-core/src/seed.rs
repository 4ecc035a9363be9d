//! What every Tessera knows from its first start: the well-known resource servers and scopes
//! that the Globus SDK and CLI ask for (spec §1.2) and the CLI's template clients (spec §1.5).
//!
//! Ids are fixed or derived by UUIDv5 from names, so every node of a cluster and every restart
//! seeds exactly the same rows and seeding is idempotent.

use crate::client::{Client, ClientType, Links, Visibility};
use crate::clock::UnixTime;
use crate::scope::{DependentScope, Scope, SCOPE_URL_PREFIX};
use uuid::{uuid, Uuid};

/// Namespace of Tessera's derived ids.
pub const NAMESPACE: Uuid = uuid!("0b7c3f4e-8d2a-4f1b-9c6e-5a4d3b2c1e0f");

pub const TIMERS_CLIENT_ID: Uuid = uuid!("524230d7-ea86-4a52-8312-86065a9e0417");
pub const FLOWS_CLIENT_ID: Uuid = uuid!("eec9b274-0c81-4334-bdc2-54e90e689b9a");
pub const FUNCX_CLIENT_ID: Uuid = uuid!("facd7ccc-c5f4-42aa-916b-a0e270e2c2a9");

/// The Globus CLI's template client per `GLOBUS_SDK_ENVIRONMENT` (spec §1.5).
pub const CLI_TEMPLATES: [(&str, Uuid); 6] = [
    ("production", uuid!("95fdeba8-fac2-42bd-a357-e068d82ff78e")),
    ("sandbox", uuid!("33b6a241-bce4-4359-9c6d-09f88b3c9eef")),
    ("integration", uuid!("e0c31fd1-663b-44e1-840f-f4304bb9ee7a")),
    ("test", uuid!("0ebfd058-452f-40c3-babf-5a6b16a7b337")),
    ("staging", uuid!("3029c3cb-c8d9-4f2b-979c-c53330aa7327")),
    ("preview", uuid!("b2867dbb-0846-4579-8486-dc70763d700b")),
];

pub fn derived_id(kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{name}").as_bytes())
}

pub fn scope_id(scope_string: &str) -> Uuid {
    derived_id("scope", scope_string)
}

struct SeedServer {
    client_id: Uuid,
    display_name: &'static str,
    /// `Some` when the resource-server name is not the client id.
    rs_name: Option<&'static str>,
    scopes: Vec<(String, &'static str, &'static str)>,
}

fn urn(rs: &str, suffix: &str) -> String {
    format!("urn:globus:auth:scope:{rs}:{suffix}")
}

fn url(client: Uuid, suffix: &str) -> String {
    format!("{SCOPE_URL_PREFIX}{client}/{suffix}")
}

fn servers() -> Vec<SeedServer> {
    let auth = "auth.globus.org";
    let transfer = "transfer.api.globus.org";
    let groups = "groups.api.globus.org";
    let search = "search.api.globus.org";
    let nexus = "nexus.api.globus.org";
    vec![
        SeedServer {
            client_id: derived_id("client", auth),
            display_name: "Globus Auth",
            rs_name: Some(auth),
            scopes: vec![
                (
                    "openid".into(),
                    "OpenID",
                    "Know who you are: your identity id",
                ),
                (
                    "profile".into(),
                    "Profile",
                    "View your name, username and organization",
                ),
                ("email".into(), "Email", "View your email address"),
                (
                    urn(auth, "view_identities"),
                    "View identities",
                    "View identities in Globus Auth",
                ),
                (
                    urn(auth, "view_identity_set"),
                    "View linked identities",
                    "View all identities linked to your account",
                ),
                (
                    urn(auth, "view_audit"),
                    "View the audit log",
                    "View Tessera's audit log of security events (administrators only)",
                ),
                (
                    urn(auth, "manage_projects"),
                    "Manage projects",
                    "Manage your developer projects and clients",
                ),
                (
                    urn(auth, "view_clients"),
                    "View clients",
                    "View your registered clients",
                ),
                (
                    urn(auth, "view_clients_and_scopes"),
                    "View clients and scopes",
                    "View your clients and their scopes",
                ),
                (
                    urn(auth, "view_consents"),
                    "View consents",
                    "View the consents you have granted",
                ),
                (
                    urn(auth, "view_authentications"),
                    "View authentications",
                    "View your recent authentications",
                ),
            ],
        },
        SeedServer {
            client_id: derived_id("client", transfer),
            display_name: "Globus Transfer",
            rs_name: Some(transfer),
            scopes: vec![
                (
                    urn(transfer, "all"),
                    "Manage data using Globus Transfer",
                    "Transfer files and manage endpoints",
                ),
                (
                    urn(transfer, "gcp_install"),
                    "Install Globus Connect Personal",
                    "Set up a personal endpoint",
                ),
            ],
        },
        SeedServer {
            client_id: derived_id("client", groups),
            display_name: "Globus Groups",
            rs_name: Some(groups),
            scopes: vec![
                (
                    urn(groups, "all"),
                    "Manage your groups",
                    "View and manage your group memberships",
                ),
                (
                    urn(groups, "view_my_groups_and_memberships"),
                    "View your groups",
                    "View your groups and memberships",
                ),
            ],
        },
        SeedServer {
            client_id: derived_id("client", search),
            display_name: "Globus Search",
            rs_name: Some(search),
            scopes: vec![
                (
                    urn(search, "all"),
                    "Use Globus Search",
                    "Search and manage search indices",
                ),
                (urn(search, "search"), "Search", "Query search indices"),
                (
                    urn(search, "ingest"),
                    "Ingest",
                    "Add documents to search indices",
                ),
                (
                    urn(search, "globus_connect_server"),
                    "Globus Connect Server search",
                    "Search for GCS",
                ),
            ],
        },
        SeedServer {
            client_id: TIMERS_CLIENT_ID,
            display_name: "Globus Timers",
            rs_name: None,
            scopes: vec![(
                url(TIMERS_CLIENT_ID, "timer"),
                "Manage timers",
                "Schedule recurring transfers",
            )],
        },
        SeedServer {
            client_id: FLOWS_CLIENT_ID,
            display_name: "Globus Flows",
            rs_name: Some("flows.globus.org"),
            scopes: vec![
                (
                    url(FLOWS_CLIENT_ID, "all"),
                    "Use Globus Flows",
                    "Create, run and manage flows",
                ),
                (
                    url(FLOWS_CLIENT_ID, "manage_flows"),
                    "Manage flows",
                    "Create and edit flows",
                ),
                (
                    url(FLOWS_CLIENT_ID, "view_flows"),
                    "View flows",
                    "View flows",
                ),
                (url(FLOWS_CLIENT_ID, "run"), "Run flows", "Start flow runs"),
                (
                    url(FLOWS_CLIENT_ID, "run_status"),
                    "View runs",
                    "View the status of flow runs",
                ),
                (
                    url(FLOWS_CLIENT_ID, "run_manage"),
                    "Manage runs",
                    "Cancel and manage flow runs",
                ),
            ],
        },
        SeedServer {
            client_id: derived_id("client", nexus),
            display_name: "Globus Nexus",
            rs_name: Some(nexus),
            scopes: vec![(
                urn(nexus, "groups"),
                "Legacy groups",
                "Legacy access to groups",
            )],
        },
        SeedServer {
            client_id: FUNCX_CLIENT_ID,
            display_name: "Globus Compute",
            rs_name: Some("funcx_service"),
            scopes: vec![(
                url(FUNCX_CLIENT_ID, "all"),
                "Use Globus Compute",
                "Run functions on compute endpoints",
            )],
        },
    ]
}

fn base_client(id: Uuid, name: &str, client_type: ClientType, now: UnixTime) -> Client {
    Client {
        id,
        name: name.to_owned(),
        client_type,
        visibility: Visibility::Public,
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
        created_at: now,
    }
}

/// The seeded clients: one resource server per well-known service, and the CLI templates.
pub fn clients(now: UnixTime) -> Vec<Client> {
    let mut out: Vec<Client> = servers()
        .into_iter()
        .map(|s| {
            let mut c = base_client(s.client_id, s.display_name, ClientType::ResourceServer, now);
            c.resource_server_name = s.rs_name.map(str::to_owned);
            c
        })
        .collect();
    for (env, id) in CLI_TEMPLATES {
        let name = if env == "production" {
            "Globus CLI".to_owned()
        } else {
            format!("Globus CLI ({env})")
        };
        let mut c = base_client(id, &name, ClientType::PublicInstalled, now);
        c.allows_templating = true;
        out.push(c);
    }
    out
}

/// The seeded scopes, with the Timers scope depending on Transfer as the CLI requests it.
pub fn scopes(now: UnixTime) -> Vec<Scope> {
    let transfer_all = urn("transfer.api.globus.org", "all");
    let mut out = Vec::new();
    for server in servers() {
        let rs = server
            .rs_name
            .map_or_else(|| server.client_id.to_string(), str::to_owned);
        for (scope_string, name, description) in server.scopes {
            let dependent_scopes = if server.client_id == TIMERS_CLIENT_ID {
                vec![DependentScope {
                    scope_id: scope_id(&transfer_all),
                    optional: false,
                    requires_refresh_token: true,
                }]
            } else {
                vec![]
            };
            out.push(Scope {
                id: scope_id(&scope_string),
                client_id: server.client_id,
                resource_server: rs.clone(),
                scope_string,
                name: name.to_owned(),
                description: description.to_owned(),
                advertised: true,
                allows_refresh_token: true,
                required_domains: vec![],
                dependent_scopes,
                created_at: now,
                group_rule: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_default_login_scopes_are_all_seeded_with_their_resource_servers() {
        let scopes = scopes(0);
        let rs_of = |s: &str| {
            scopes
                .iter()
                .find(|x| x.scope_string == s)
                .map(|x| x.resource_server.clone())
        };
        assert_eq!(rs_of("openid").as_deref(), Some("auth.globus.org"));
        assert_eq!(
            rs_of("urn:globus:auth:scope:transfer.api.globus.org:all").as_deref(),
            Some("transfer.api.globus.org")
        );
        assert_eq!(
            rs_of("https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer")
                .as_deref(),
            Some("524230d7-ea86-4a52-8312-86065a9e0417")
        );
        assert_eq!(
            rs_of("https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all")
                .as_deref(),
            Some("flows.globus.org")
        );
    }

    #[test]
    fn ids_are_stable_and_unique() {
        let a = scopes(0);
        let b = scopes(99);
        assert_eq!(
            a.iter().map(|s| s.id).collect::<Vec<_>>(),
            b.iter().map(|s| s.id).collect::<Vec<_>>()
        );
        let mut ids: Vec<_> = a.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), a.len());
        let templates: Vec<_> = clients(0)
            .into_iter()
            .filter(|c| c.allows_templating)
            .collect();
        assert_eq!(templates.len(), 6);
        assert!(templates
            .iter()
            .all(|c| c.client_type == ClientType::PublicInstalled));
    }
}
