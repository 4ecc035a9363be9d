//! `tessera admin connector add|list|remove`, straight on the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use tessera_core::clock::{iso8601, Clock};
use tessera_core::random::SecureRandom;
use tessera_core::secret::Secret;
use tessera_store::connector::ConnectorRecord;
use tessera_store::{Store, StoreError};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("--name must be 1 to 128 printable characters")]
    BadName,
    #[error("no connector {0}")]
    Unknown(String),
    #[error("a connector with this name exists already")]
    NameTaken,
    #[error("endpoints are still served by this connector; remove them first")]
    InUse,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The prefix of connector secrets (recognisable in a leaked config, like the tokens').
pub const SECRET_PREFIX: &str = "tcs_";

/// Registers a connector; returns it and its secret, which is shown once and stored only as
/// its SHA-256.
pub async fn add(
    store: &dyn Store,
    clock: &dyn Clock,
    rng: &dyn SecureRandom,
    name: &str,
) -> Result<(ConnectorRecord, Secret), AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(AdminError::BadName);
    }
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    let secret = Secret::new(format!("{SECRET_PREFIX}{}", B64.encode(bytes)));
    let record = ConnectorRecord {
        id: rng.uuid_v4(),
        name: name.to_owned(),
        secret_hash: secret.hash(),
        public_url: None,
        cert_fingerprint: None,
        last_seen: None,
        created_at: clock.now(),
    };
    match store.insert_connector(&record).await {
        Ok(()) => Ok((record, secret)),
        Err(StoreError::Conflict(_)) => Err(AdminError::NameTaken),
        Err(e) => Err(e.into()),
    }
}

/// A connector as `list` prints it (never its secret or hash).
pub fn document(c: &ConnectorRecord) -> Value {
    json!({
        "id": c.id.to_string(),
        "name": c.name,
        "public_url": c.public_url,
        "cert_fingerprint": c.cert_fingerprint,
        "last_seen": c.last_seen.map(iso8601),
        "created_at": iso8601(c.created_at),
    })
}

/// The one JSON object `add` prints: the document, the secret (this once) and the environment
/// `tessera connector run` reads it from.
pub fn added_document(c: &ConnectorRecord, secret: &Secret) -> Value {
    let mut doc = document(c);
    doc["secret"] = json!(secret.expose());
    doc["environment"] = json!({
        "TESSERA_CONNECTOR_ID": c.id.to_string(),
        "TESSERA_CONNECTOR_SECRET": secret.expose(),
    });
    doc
}

async fn find(store: &dyn Store, id: &str) -> Result<ConnectorRecord, AdminError> {
    let unknown = || AdminError::Unknown(id.to_owned());
    if let Ok(uuid) = Uuid::parse_str(id.trim()) {
        return store.connector(uuid).await?.ok_or_else(unknown);
    }
    // By name.
    store
        .connectors()
        .await?
        .into_iter()
        .find(|c| c.name == id.trim())
        .ok_or_else(unknown)
}

/// Removes a connector (by id or name) that serves no endpoint.
pub async fn remove(store: &dyn Store, id: &str) -> Result<ConnectorRecord, AdminError> {
    let c = find(store, id).await?;
    match store.delete_connector(c.id).await {
        Ok(true) => Ok(c),
        Ok(false) => Err(AdminError::Unknown(id.to_owned())),
        Err(StoreError::Conflict(_)) => Err(AdminError::InUse),
        Err(e) => Err(e.into()),
    }
}
