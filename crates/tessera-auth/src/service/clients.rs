//! Clients through the API: who may act on which client, and template instances (spec §4),
//! created as `globus login` does, without authenticating.

use super::credentials::mint;
use super::Failure;
use crate::state::AppState;
use tessera_core::client::{
    validate_client_name, Client, ClientCredential, ClientType, Links, Visibility,
};
use tessera_core::secret::Secret;
use uuid::Uuid;

/// A confidential instance of a template client, with its first secret.
pub async fn instantiate(
    state: &AppState,
    template_id: &str,
    name: Option<&str>,
) -> Result<(Client, ClientCredential, Secret), Failure> {
    let bad = || {
        Failure::BadRequest(format!(
            "{template_id:?} is not a client that allows templating"
        ))
    };
    let id = Uuid::parse_str(template_id).map_err(|_| bad())?;
    let template = state
        .clients
        .get(state.store.as_ref(), id)
        .await?
        .ok_or_else(bad)?;
    if !template.client.allows_templating {
        return Err(bad());
    }
    let name = name.unwrap_or(&template.client.name);
    validate_client_name(name).map_err(|e| Failure::BadRequest(e.into()))?;
    let now = state.clock.now();
    let client = Client {
        id: state.rng.uuid_v4(),
        name: name.trim().to_owned(),
        client_type: ClientType::Confidential,
        visibility: Visibility::Private,
        redirect_uris: vec![],
        fqdns: vec![],
        links: Links::default(),
        parent_client: Some(template.client.id),
        project: None,
        required_idp: None,
        preselect_idp: None,
        allows_templating: false,
        authentication_policy: None,
        userinfo_from_effective_identity: true,
        resource_server_name: None,
        access_token_format: Default::default(),
        created_at: now,
    };
    state.store.insert_client(&client).await?;
    let (cred, secret) = mint(state.rng.as_ref(), client.id, "instance", now);
    state.store.insert_credential(&cred).await?;
    tracing::info!(event = "client_instantiated", client = %client.id, template = %template.client.id, "template instance created");
    Ok((client, cred, secret))
}

/// Loads the client the path names and checks the caller manages it.
pub async fn managed_client(
    state: &AppState,
    caller: &Client,
    target: &str,
) -> Result<Client, Failure> {
    let id =
        Uuid::parse_str(target).map_err(|_| Failure::NotFound(format!("no client {target}")))?;
    let entry = state
        .clients
        .get(state.store.as_ref(), id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("no client {target}")))?;
    if !caller.manages(&entry.client) {
        return Err(Failure::Forbidden(
            "a client may manage only itself and the clients it created".into(),
        ));
    }
    Ok(entry.client.clone())
}
