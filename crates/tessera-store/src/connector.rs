//! Storage connectors (migration 0028): agents on storage hosts that serve endpoints whose
//! files the service never opens. A connector authenticates with its id and a secret of which
//! only the SHA-256 is stored; it registers the URL its peers and the service reach it at and
//! the fingerprint of its TLS certificate each time it checks in. The SQL is in
//! `sql_connector.rs`, one body for both backends.

use async_trait::async_trait;
use tessera_core::clock::UnixTime;
use tessera_core::secret::SecretHash;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorRecord {
    pub id: Uuid,
    /// Unique.
    pub name: String,
    /// SHA-256 of the connector's secret (a 256-bit random value).
    pub secret_hash: SecretHash,
    /// Where the service and the other connectors reach it (as it last said).
    pub public_url: Option<String>,
    /// SHA-256 (hex) of the DER of its TLS certificate (as it last said).
    pub cert_fingerprint: Option<String>,
    pub last_seen: Option<UnixTime>,
    pub created_at: UnixTime,
}

#[async_trait]
pub trait ConnectorRepository {
    /// `Conflict` when the name is taken.
    async fn insert_connector(&self, connector: &ConnectorRecord) -> Result<(), StoreError>;
    async fn connector(&self, id: Uuid) -> Result<Option<ConnectorRecord>, StoreError>;
    /// Every connector, oldest first.
    async fn connectors(&self) -> Result<Vec<ConnectorRecord>, StoreError>;
    /// Records a check-in; false when unknown.
    async fn connector_seen(
        &self,
        id: Uuid,
        public_url: &str,
        cert_fingerprint: Option<&str>,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Removes it unless an endpoint still names it (`Conflict`); false when unknown.
    async fn delete_connector(&self, id: Uuid) -> Result<bool, StoreError>;
}
