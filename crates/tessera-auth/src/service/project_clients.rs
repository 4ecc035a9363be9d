//! Clients of projects (spec §4): created, listed and changed by the project's admins with a
//! `manage_projects` Bearer token; changed also by a confidential client acting on itself or its
//! children (HTTP Basic). Template instances stay in `clients.rs`.

use super::admin::validate_redirect_uri;
use super::credentials::mint;
use super::projects::{administered, Manager};
use super::Failure;
use crate::state::AppState;
use tessera_core::client::{
    validate_client_name, AccessTokenFormat, Client, ClientCredential, ClientType, Links,
    Visibility,
};
use tessera_core::identity::LOCAL_IDP_ID;
use tessera_core::scope::Scope;
use tessera_core::secret::Secret;
use tessera_proto::api::ClientLinks;
use tessera_store::{Change, StoreError};
use uuid::Uuid;

/// The client fields of `POST` and `PUT /v2/api/clients[/{id}]`. `null` clears the optional
/// ids; an absent field is left alone.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFields {
    pub name: Option<String>,
    pub project: Option<String>,
    pub public_client: Option<bool>,
    pub client_type: Option<String>,
    pub visibility: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub links: Option<ClientLinks>,
    #[serde(default, deserialize_with = "present")]
    pub required_idp: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub preselect_idp: Option<Option<String>>,
    /// A Tessera extension: the id of a policy of the client's project that every identity the
    /// client acts for must satisfy.
    #[serde(default, deserialize_with = "present")]
    pub authentication_policy: Option<Option<String>>,
    pub userinfo_from_effective_identity: Option<bool>,
    /// A Tessera extension: `opaque` (default) or `jwt` (RFC 9068) access tokens for the
    /// client's scopes.
    pub access_token_format: Option<String>,
}

fn present<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Identity providers a client may require or preselect: the built-in one and the registered
/// upstream IdPs (`tessera admin idp add`).
async fn identity_provider(state: &AppState, raw: &str, field: &str) -> Result<Uuid, Failure> {
    let unknown =
        || Failure::BadRequest(format!("{field}: {raw:?} is not a known identity provider"));
    let id = Uuid::parse_str(raw).map_err(|_| unknown())?;
    if id == LOCAL_IDP_ID || state.store.upstream_idp(id).await?.is_some() {
        Ok(id)
    } else {
        Err(unknown())
    }
}

fn client_type(f: &ClientFields) -> Result<ClientType, Failure> {
    let from_type = match f.client_type.as_deref() {
        None => None,
        Some(t) => match ClientType::parse(t) {
            Some(ClientType::GlobusConnectServer) | None => {
                return Err(Failure::BadRequest(format!(
                    "client_type {t:?} cannot be created here"
                )))
            }
            Some(t) => Some(t),
        },
    };
    match (from_type, f.public_client) {
        (Some(t), Some(p)) if t.is_public() != p => Err(Failure::BadRequest(
            "public_client contradicts client_type".into(),
        )),
        (Some(t), _) => Ok(t),
        (None, Some(true)) => Ok(ClientType::PublicInstalled),
        (None, Some(false)) => Ok(ClientType::Confidential),
        (None, None) => Err(Failure::BadRequest(
            "public_client or client_type is required".into(),
        )),
    }
}

/// Applies the mutable fields to `c`, checking each. `project` must already be set on `c`.
async fn apply(state: &AppState, c: &mut Client, f: ClientFields) -> Result<(), Failure> {
    if let Some(n) = f.name {
        validate_client_name(&n).map_err(|e| Failure::BadRequest(e.into()))?;
        c.name = n.trim().to_owned();
    }
    if let Some(v) = f.visibility {
        c.visibility = Visibility::parse(&v).ok_or_else(|| {
            Failure::BadRequest(format!("visibility {v:?} is not public or private"))
        })?;
    }
    if let Some(uris) = f.redirect_uris {
        for u in &uris {
            validate_redirect_uri(u).map_err(Failure::BadRequest)?;
        }
        c.redirect_uris = uris;
    }
    if let Some(l) = f.links {
        c.links = Links {
            privacy_policy: l.privacy_policy,
            terms_and_conditions: l.terms_and_conditions,
        };
    }
    if let Some(idp) = f.required_idp {
        c.required_idp = match idp {
            Some(i) => Some(identity_provider(state, &i, "required_idp").await?),
            None => None,
        };
    }
    if let Some(idp) = f.preselect_idp {
        c.preselect_idp = match idp {
            Some(i) => Some(identity_provider(state, &i, "preselect_idp").await?),
            None => None,
        };
    }
    if let Some(u) = f.userinfo_from_effective_identity {
        c.userinfo_from_effective_identity = u;
    }
    if let Some(format) = f.access_token_format {
        c.access_token_format = AccessTokenFormat::parse(&format).ok_or_else(|| {
            Failure::BadRequest(
                "access_token_format must be \"opaque\", \"jwt\" or \"scitoken\"".into(),
            )
        })?;
    }
    if let Some(p) = f.authentication_policy {
        c.authentication_policy = match p {
            None => None,
            Some(raw) => {
                let bad = || {
                    Failure::BadRequest(format!(
                        "authentication_policy: {raw:?} is not a policy of the client's project"
                    ))
                };
                let id = Uuid::parse_str(&raw).map_err(|_| bad())?;
                let policy = state.store.policy(id).await?.ok_or_else(bad)?;
                if Some(policy.project_id) != c.project {
                    return Err(bad());
                }
                Some(id)
            }
        };
    }
    Ok(())
}

/// A new client in a project `m` administers; confidential ones come with their first secret.
pub async fn create(
    state: &AppState,
    m: &Manager,
    f: ClientFields,
) -> Result<(Client, Option<(ClientCredential, Secret)>), Failure> {
    let raw_project = f
        .project
        .clone()
        .ok_or_else(|| Failure::BadRequest("project is required".into()))?;
    if Uuid::parse_str(&raw_project).is_err() {
        return Err(Failure::BadRequest(format!(
            "{raw_project:?} is not a project id"
        )));
    }
    let project = administered(state, m, &raw_project).await?;
    if f.name.is_none() {
        return Err(Failure::BadRequest("name is required".into()));
    }
    let now = state.clock.now();
    let mut client = Client {
        id: state.rng.uuid_v4(),
        name: String::new(),
        client_type: client_type(&f)?,
        visibility: Visibility::Private,
        redirect_uris: vec![],
        fqdns: vec![],
        links: Links::default(),
        parent_client: None,
        project: Some(project.id),
        required_idp: None,
        preselect_idp: None,
        allows_templating: false,
        authentication_policy: None,
        userinfo_from_effective_identity: true,
        access_token_format: AccessTokenFormat::Opaque,
        resource_server_name: None,
        created_at: now,
    };
    apply(state, &mut client, f).await?;
    state.store.insert_client(&client).await?;
    let credential = if client.is_public() {
        None
    } else {
        let (cred, secret) = mint(state.rng.as_ref(), client.id, "initial", now);
        state.store.insert_credential(&cred).await?;
        Some((cred, secret))
    };
    tracing::info!(event = "client_created", client = %client.id, project = %project.id, by = %m.identity, "client created");
    Ok((client, credential))
}

/// Every client of every project `m` administers.
pub async fn list(state: &AppState, m: &Manager) -> Result<Vec<Client>, Failure> {
    let mut out = Vec::new();
    for p in super::projects::list(state, m).await? {
        out.extend(state.store.clients_of_project(p.id).await?);
    }
    Ok(out)
}

/// Above this many revoked tokens the caches are flushed rather than told one by one (as the
/// PostgreSQL triggers do past 10000 changes).
const MAX_REVOCATIONS_ANNOUNCED: usize = 10_000;

/// `DELETE /v2/api/clients/{id}`: the client goes with its secrets, scopes and FQDNs; the tokens
/// it holds and those for its scopes are revoked, and the consents it holds or that name its
/// scopes are deleted, every node's caches told. Refused (409) while another client's scope
/// depends on one of its scopes (naming them), or while it has child clients. Returns the client
/// and its scopes as they were.
pub async fn delete(
    state: &AppState,
    actor: &Actor<'_>,
    raw: &str,
) -> Result<(Client, Vec<Scope>), Failure> {
    let client = managed(state, actor, raw).await?;
    let scopes = state.store.scopes_of_client(client.id).await?;
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let mut dependants: Vec<String> = Vec::new();
    for own in &scopes {
        for parent in catalogue
            .dependents_on(own.id)
            .filter(|p| p.client_id != client.id)
        {
            dependants.push(format!(
                "{} (client {}) depends on {}",
                parent.scope_string, parent.client_id, own.scope_string
            ));
        }
    }
    if !dependants.is_empty() {
        dependants.sort();
        return Err(Failure::Conflict(format!(
            "scopes of other clients depend on this client's scopes: {}; remove those dependencies first",
            dependants.join("; ")
        )));
    }
    let deleted = match state.store.delete_client(client.id, state.clock.now()).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(Failure::NotFound(format!("no client {raw}"))),
        Err(StoreError::Conflict(_)) => {
            return Err(Failure::Conflict(
                "the client has child clients (clients it created, or instances of it); delete them first".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let mut changes = if deleted.revoked.len() > MAX_REVOCATIONS_ANNOUNCED {
        vec![Change::FlushAll]
    } else {
        deleted
            .revoked
            .iter()
            .map(|h| Change::TokenRevoked(*h))
            .collect()
    };
    changes.extend(
        deleted
            .consents_of
            .iter()
            .map(|i| Change::ConsentRescinded(*i)),
    );
    changes.push(Change::ClientChanged(client.id));
    changes.push(Change::ScopesChanged);
    state.publish(changes).await?;
    let by = match actor {
        Actor::Manager(m) => m.identity,
        Actor::Client(c) => c.id,
    };
    crate::audit::client_deleted(state, by, &client, deleted.revoked.len(), deleted.consents);
    tracing::info!(event = "client_deleted", client = %client.id, %by, tokens_revoked = deleted.revoked.len(), consents_deleted = deleted.consents, "client deleted");
    Ok((client, scopes))
}

/// Who acts on an existing client.
pub enum Actor<'a> {
    /// A project admin (Bearer `manage_projects`).
    Manager(&'a Manager),
    /// A confidential client (HTTP Basic): itself or its children.
    Client(&'a Client),
}

/// The client `raw` names, if `actor` may manage it.
pub async fn managed(state: &AppState, actor: &Actor<'_>, raw: &str) -> Result<Client, Failure> {
    match actor {
        Actor::Client(caller) => super::clients::managed_client(state, caller, raw).await,
        Actor::Manager(m) => {
            let not_found = || Failure::NotFound(format!("no client {raw}"));
            let id = Uuid::parse_str(raw).map_err(|_| not_found())?;
            let entry = state
                .clients
                .get(state.store.as_ref(), id)
                .await?
                .ok_or_else(not_found)?;
            let Some(project) = entry.client.project else {
                return Err(Failure::Forbidden(
                    "the client belongs to no project you administer".into(),
                ));
            };
            administered(state, m, &project.to_string())
                .await
                .map_err(|_| {
                    Failure::Forbidden("the client belongs to no project you administer".into())
                })?;
            Ok(entry.client.clone())
        }
    }
}

pub async fn update(
    state: &AppState,
    actor: &Actor<'_>,
    raw: &str,
    mut f: ClientFields,
) -> Result<Client, Failure> {
    let mut client = managed(state, actor, raw).await?;
    if f.client_type.take().is_some() || f.public_client.take().is_some() {
        return Err(Failure::BadRequest(
            "the type of a client cannot change".into(),
        ));
    }
    if let Some(p) = f.project.take() {
        if Some(p.as_str()) != client.project.map(|u| u.to_string()).as_deref() {
            return Err(Failure::BadRequest(
                "a client cannot move to another project".into(),
            ));
        }
    }
    apply(state, &mut client, f).await?;
    if !state.store.update_client(&client).await? {
        return Err(Failure::NotFound(format!("no client {raw}")));
    }
    state
        .publish(vec![Change::ClientChanged(client.id)])
        .await?;
    Ok(client)
}
