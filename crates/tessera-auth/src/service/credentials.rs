//! Client secrets (spec §4, `/v2/api/clients/{id}/credentials`). A secret is shown in clear
//! exactly once, in the answer that creates it.

use super::Failure;
use crate::state::AppState;
use tessera_core::client::{Client, ClientCredential};
use tessera_core::clock::iso8601;
use tessera_core::secret::Secret;
use tessera_core::token::TokenKind;
use tessera_proto::api::CredentialObject;
use tessera_store::Change;
use uuid::Uuid;

pub fn to_object(c: &ClientCredential, secret: Option<&Secret>) -> CredentialObject {
    CredentialObject {
        id: c.id.to_string(),
        name: c.name.clone(),
        client: c.client_id.to_string(),
        created: iso8601(c.created_at),
        secret: secret.map(|s| s.expose().to_owned()),
    }
}

/// A fresh credential for `client`, stored as a hash; the secret is returned once.
pub fn mint(
    state_rng: &dyn tessera_core::random::SecureRandom,
    client: Uuid,
    name: &str,
    now: i64,
) -> (ClientCredential, Secret) {
    let (secret, secret_hash) = TokenKind::ClientSecret.generate(state_rng);
    let cred = ClientCredential {
        id: state_rng.uuid_v4(),
        client_id: client,
        name: name.to_owned(),
        secret_hash,
        created_at: now,
    };
    (cred, secret)
}

pub async fn create(
    state: &AppState,
    client: &Client,
    name: &str,
) -> Result<(ClientCredential, Secret), Failure> {
    if client.is_public() {
        return Err(Failure::BadRequest("a public client has no secrets".into()));
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Failure::BadRequest(
            "a credential name is at most 100 printable characters".into(),
        ));
    }
    let (cred, secret) = mint(state.rng.as_ref(), client.id, name, state.clock.now());
    state.store.insert_credential(&cred).await?;
    state
        .publish(vec![Change::ClientChanged(client.id)])
        .await?;
    tracing::info!(client = %client.id, credential = %cred.id, "client secret created");
    Ok((cred, secret))
}

pub async fn delete(
    state: &AppState,
    client: &Client,
    credential: &str,
) -> Result<ClientCredential, Failure> {
    let not_found = || Failure::NotFound(format!("no credential {credential}"));
    let id = Uuid::parse_str(credential).map_err(|_| not_found())?;
    let deleted = state
        .store
        .delete_credential(client.id, id)
        .await?
        .ok_or_else(not_found)?;
    state
        .publish(vec![Change::ClientChanged(client.id)])
        .await?;
    tracing::info!(client = %client.id, credential = %id, "client secret deleted");
    Ok(deleted)
}
