//! Storage for Tessera: repository traits, and their two implementations, SQLite (the embedded
//! default) and PostgreSQL (for clusters), over `sqlx`.
//!
//! Domain code sees only the traits in this file and the types of `tessera-core`; it never sees
//! `sqlx`. Both implementations share one body of SQL (`sql.rs`, written once and expanded for
//! each backend), so they cannot drift apart in behaviour; only DDL and connection setup differ.
//!
//! To add a repository: declare its trait here with `StoreError` results, add it to [`Store`],
//! write its SQL in `sql.rs`, add the table to both `migrations/` folders, and add its cases to
//! the shared store test suite (`tests/store.rs`), which runs against both backends.

mod postgres;
mod sql;
mod sqlite;
mod writer;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use writer::TokenWriter;

use async_trait::async_trait;
use std::sync::Arc;
use tessera_core::client::{AccessTokenFormat, Client, ClientCredential};
use tessera_core::clock::UnixTime;
use tessera_core::consent::Consent;
use tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
use tessera_core::grant::TokenRecord;
use tessera_core::identity::Identity;
use tessera_core::scope::Scope;
use tessera_core::secret::SecretHash;
use tessera_core::session::BrowserSession;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken: the thing exists already.
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// A stored row could not be read back into a domain value (a bug or a manual edit).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("the store's writer has stopped")]
    WriterGone,
}

/// Which database is behind a store: callers choose cache policies by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A signing key as stored. `private_pem` is PKCS#8 PEM, or that PEM sealed with the master
/// key (the auth server decides; the store only keeps text).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    /// `RS512` (an RSA key, for ID tokens), `ES256` or `EdDSA` (access tokens).
    pub algorithm: String,
    pub private_pem: String,
    pub created_at: UnixTime,
    /// When the key starts to sign; until then it is only published (the "next" key).
    pub activates_at: UnixTime,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_pem", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .finish()
    }
}

#[async_trait]
pub trait IdentityRepository {
    /// Fails with `Conflict` when the normalised username is taken.
    async fn insert_identity(
        &self,
        identity: &Identity,
        password_hash: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn identities_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Identity>, StoreError>;
    /// `normalized` are usernames as `tessera_core::identity::normalize_username` gives them.
    async fn identities_by_usernames(
        &self,
        normalized: &[String],
    ) -> Result<Vec<Identity>, StoreError>;
    /// Every identity linked with `identity`, itself included (oldest link first).
    async fn identity_set(&self, identity: Uuid) -> Result<Vec<Identity>, StoreError>;
    /// Moves `other` (alone, or with the set it is in) into the set of `identity`.
    async fn link_identities(
        &self,
        identity: Uuid,
        other: Uuid,
        at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Takes `identity` out of its set; it stands alone again.
    async fn unlink_identity(&self, identity: Uuid) -> Result<(), StoreError>;
    /// The identity and its password hash, for sign-in.
    async fn login_identity(
        &self,
        normalized: &str,
    ) -> Result<Option<(Identity, Option<String>)>, StoreError>;
}

#[async_trait]
pub trait ClientRepository {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Inserts unless a client with this id exists; for seeding, which every node repeats.
    async fn seed_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, id: Uuid) -> Result<Option<Client>, StoreError>;
    async fn insert_credential(&self, credential: &ClientCredential) -> Result<(), StoreError>;
    async fn credentials(&self, client_id: Uuid) -> Result<Vec<ClientCredential>, StoreError>;
    /// False when the client does not exist.
    async fn set_access_token_format(
        &self,
        id: Uuid,
        format: AccessTokenFormat,
    ) -> Result<bool, StoreError>;
    async fn delete_credential(
        &self,
        client_id: Uuid,
        id: Uuid,
    ) -> Result<Option<ClientCredential>, StoreError>;
}

#[async_trait]
pub trait ScopeRepository {
    /// Fails with `Conflict` when the scope string exists.
    async fn insert_scope(&self, scope: &Scope) -> Result<(), StoreError>;
    /// Inserts unless a scope with this id exists.
    async fn seed_scope(&self, scope: &Scope) -> Result<(), StoreError>;
    async fn scopes_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Scope>, StoreError>;
    async fn scopes_by_strings(&self, strings: &[String]) -> Result<Vec<Scope>, StoreError>;
    async fn scopes_of_client(&self, client_id: Uuid) -> Result<Vec<Scope>, StoreError>;
    /// Every scope: the catalogue is small (hundreds), and callers cache it.
    async fn all_scopes(&self) -> Result<Vec<Scope>, StoreError>;
    /// Replaces the mutable fields; false when the scope does not exist.
    async fn update_scope(&self, scope: &Scope) -> Result<bool, StoreError>;
    async fn delete_scope(&self, id: Uuid) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait TokenRepository {
    /// Stores all records in one transaction: all or none.
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError>;
    async fn token(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks the token revoked at `at`; false when unknown or revoked already.
    async fn revoke_token(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError>;
    /// Revokes every live token of a family; returns their hashes.
    async fn revoke_family(
        &self,
        family: Uuid,
        at: UnixTime,
    ) -> Result<Vec<SecretHash>, StoreError>;
    /// Revokes every live token issued from `parent`; returns their hashes.
    async fn revoke_children(
        &self,
        parent: &SecretHash,
        at: UnixTime,
    ) -> Result<Vec<SecretHash>, StoreError>;
    /// Marks a refresh token rotated; false when it was rotated already (a concurrent use).
    async fn mark_rotated(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError>;
    /// Moves a token's expiry (a kept refresh token's idle lifetime starts again).
    async fn extend_token(&self, hash: &SecretHash, expires_at: UnixTime)
        -> Result<(), StoreError>;
    /// The live tokens a client holds for a person (client-credentials tokens are not included).
    async fn tokens_for(
        &self,
        subject: Uuid,
        client_id: Uuid,
    ) -> Result<Vec<TokenRecord>, StoreError>;
}

#[async_trait]
pub trait SessionRepository {
    async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError>;
    async fn session(&self, hash: &SecretHash) -> Result<Option<BrowserSession>, StoreError>;
    async fn revoke_session(&self, hash: &SecretHash, at: UnixTime) -> Result<(), StoreError>;
}

#[async_trait]
pub trait AuthorizationRepository {
    async fn insert_pending(&self, pending: &PendingAuthorization) -> Result<(), StoreError>;
    async fn pending(&self, id: Uuid) -> Result<Option<PendingAuthorization>, StoreError>;
    async fn delete_pending(&self, id: Uuid) -> Result<(), StoreError>;
    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    async fn code(&self, hash: &SecretHash) -> Result<Option<AuthorizationCode>, StoreError>;
    /// Claims the code for its one exchange; false when it was claimed before.
    async fn claim_code(&self, hash: &SecretHash, at: UnixTime) -> Result<bool, StoreError>;
}

/// Where a new consent hangs in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentParent {
    /// A root consent.
    Root,
    /// An earlier node of the same call, by index.
    New(usize),
    /// A consent recorded before, by its dependency path.
    Existing(Vec<i64>),
}

/// One consent to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub client_id: Uuid,
    pub scope_id: Uuid,
    pub scope_string: String,
    pub parent: ConsentParent,
    pub allows_refresh: bool,
}

#[async_trait]
pub trait ConsentRepository {
    /// Records a consent tree in one transaction, ids assigned in order.
    async fn insert_consents(
        &self,
        identity: Uuid,
        nodes: &[NewConsent],
        now: UnixTime,
    ) -> Result<Vec<Consent>, StoreError>;
    async fn consents_of(&self, identity: Uuid) -> Result<Vec<Consent>, StoreError>;
    async fn delete_consents(&self, ids: &[i64]) -> Result<(), StoreError>;
}

#[async_trait]
pub trait KeyRepository {
    /// Oldest first.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// Inserts `key` unless a key of the same algorithm was created after
    /// `unless_created_after` or is still waiting to activate at `now`; false when it did not.
    /// Atomic across nodes (an advisory lock on PostgreSQL): concurrent rotations add one key.
    async fn add_signing_key(
        &self,
        key: &StoredKey,
        unless_created_after: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Replaces a key's stored material if it is still `from` (sealing a legacy clear key).
    async fn replace_key_material(
        &self,
        kid: &str,
        from: &str,
        to: &str,
    ) -> Result<bool, StoreError>;
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait Store:
    IdentityRepository
    + ClientRepository
    + ScopeRepository
    + TokenRepository
    + KeyRepository
    + SessionRepository
    + AuthorizationRepository
    + ConsentRepository
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    /// A round trip to the database, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the store a URL names (`sqlite://path`, `postgres://…`) and brings its schema up to
/// date.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            "database URL must start with sqlite:// or postgres://".into(),
        )))
    }
}

/// Registers the well-known resource servers, scopes and CLI templates if they are missing.
/// Idempotent and safe to run from several processes at once.
pub async fn seed_defaults(store: &dyn Store, now: UnixTime) -> Result<(), StoreError> {
    for client in tessera_core::seed::clients(now) {
        store.seed_client(&client).await?;
    }
    for scope in tessera_core::seed::scopes(now) {
        store.seed_scope(&scope).await?;
    }
    Ok(())
}
