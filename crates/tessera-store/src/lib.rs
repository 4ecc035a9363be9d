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

mod audit;
pub mod connector;
pub mod endpoint_manager;
pub mod feed;
pub mod maintenance;
mod postgres;
mod sql;
mod sql_clients;
mod sql_connector;
mod sql_device;
mod sql_endpoint_manager;
mod sql_groups;
mod sql_registration;
mod sql_session_model;
mod sql_transfer;
mod sql_upstream;
mod sqlite;
pub mod transfer;
mod writer;

pub use audit::{AuditEvent, AuditQuery, AuditRecord, AuditWriter, MAX_AUDIT_LIMIT};
pub use connector::ConnectorRepository;
pub use endpoint_manager::EndpointManagerRepository;
pub use feed::{Change, ChangeFeed, ChangeSink};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use transfer::TransferRepository;
pub use writer::TokenWriter;

use async_trait::async_trait;
use std::sync::Arc;
use tessera_core::auth_policy::AuthPolicy;
use tessera_core::client::{AccessTokenFormat, Client, ClientCredential};
use tessera_core::clock::UnixTime;
use tessera_core::consent::Consent;
use tessera_core::grant::authorization_code::{AuthorizationCode, PendingAuthorization};
use tessera_core::grant::device_code::{Approval, DeviceGrant, UserCode};
use tessera_core::grant::TokenRecord;
use tessera_core::group::{Group, Membership};
use tessera_core::identity::Identity;
use tessera_core::project::Project;
use tessera_core::registration::ClientRegistration;
use tessera_core::scope::Scope;
use tessera_core::secret::SecretHash;
use tessera_core::session::{BrowserSession, SessionAuthentication, SessionRequirements};
use tessera_core::upstream::{UpstreamIdp, UpstreamLogin};
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
    /// Replaces every mutable field (all but id, type and creation time); false when unknown.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    /// The clients of a project, oldest first.
    async fn clients_of_project(&self, project: Uuid) -> Result<Vec<Client>, StoreError>;
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
    /// Deletes client `id` and what hangs on it, in one transaction: revokes the unexpired
    /// tokens it holds and those others hold for its scopes, deletes the consents it holds or
    /// that name its scopes (with everything beneath them), its pending requests and codes, then
    /// the client, whose credentials, scopes and FQDNs cascade. `Ok(None)`: no such client;
    /// `Conflict` while it has child clients. Dependent scopes of other clients are the
    /// caller's to check.
    async fn delete_client(
        &self,
        id: Uuid,
        at: UnixTime,
    ) -> Result<Option<DeletedClient>, StoreError>;
}

/// What deleting a client took with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedClient {
    /// The tokens revoked, for the caches.
    pub revoked: Vec<SecretHash>,
    /// How many consents were deleted.
    pub consents: usize,
    /// The identities whose consents were deleted.
    pub consents_of: Vec<Uuid>,
}

/// Verified client FQDNs (spec §1.1, §4). A name belongs to at most one client; a client's first
/// name is its resource-server name, so changing the list renames the resource server of the
/// client's scopes in the same transaction.
#[async_trait]
pub trait FqdnRepository {
    /// Appends `fqdn` to the client's names. `Ok(None)`: no such client; `Conflict`: a client
    /// holds the name already. Returns the client as it is now.
    async fn add_fqdn(
        &self,
        client_id: Uuid,
        fqdn: &str,
        at: UnixTime,
    ) -> Result<Option<Client>, StoreError>;
    /// Removes `fqdn` from the client's names; `Ok(None)` when the client did not hold it.
    async fn remove_fqdn(&self, client_id: Uuid, fqdn: &str) -> Result<Option<Client>, StoreError>;
    /// The client holding `fqdn`, if any.
    async fn client_by_fqdn(&self, fqdn: &str) -> Result<Option<Client>, StoreError>;
}

#[async_trait]
pub trait ProjectRepository {
    async fn insert_project(&self, project: &Project) -> Result<(), StoreError>;
    async fn project(&self, id: Uuid) -> Result<Option<Project>, StoreError>;
    /// The projects any of `identities` administers, oldest first.
    async fn projects_of_admins(&self, identities: &[Uuid]) -> Result<Vec<Project>, StoreError>;
    /// The projects whose `admin_group_ids` name any of `groups`, oldest first.
    async fn projects_of_admin_groups(&self, groups: &[Uuid]) -> Result<Vec<Project>, StoreError>;
    /// Replaces the mutable fields and the admins; false when unknown.
    async fn update_project(&self, project: &Project) -> Result<bool, StoreError>;
    /// False when unknown; `Conflict` while clients or policies belong to it.
    async fn delete_project(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn insert_policy(&self, policy: &AuthPolicy) -> Result<(), StoreError>;
    async fn policy(&self, id: Uuid) -> Result<Option<AuthPolicy>, StoreError>;
    /// The policies of these projects, oldest first.
    async fn policies_of_projects(&self, projects: &[Uuid]) -> Result<Vec<AuthPolicy>, StoreError>;
    /// Replaces the mutable fields; false when unknown.
    async fn update_policy(&self, policy: &AuthPolicy) -> Result<bool, StoreError>;
    /// False when unknown; `Conflict` while a client uses it.
    async fn delete_policy(&self, id: Uuid) -> Result<bool, StoreError>;
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

/// A TOTP second factor as stored (`sql_session_model.rs`).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub identity_id: Uuid,
    /// `sealed:v1:…` with the master key, or `clear:` + base32 without one.
    pub secret: String,
    /// The time step of the last accepted code.
    pub last_step: i64,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for TotpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCredential")
            .field("identity_id", &self.identity_id)
            .field("secret", &"[redacted]")
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// The Globus session model and second factors (`sql_session_model.rs`): the authentications
/// of each browser session, what a pending authorize request asks of the session, and TOTP
/// credentials with their recovery codes.
#[async_trait]
pub trait SessionModelRepository {
    /// Records an authentication of `session_id`, replacing the one of the same identity.
    async fn record_authentication(
        &self,
        session_id: Uuid,
        authentication: &SessionAuthentication,
    ) -> Result<(), StoreError>;
    /// The authentications of a session, oldest first.
    async fn session_authentications(
        &self,
        session_id: Uuid,
    ) -> Result<Vec<SessionAuthentication>, StoreError>;
    async fn insert_session_requirements(
        &self,
        request_id: Uuid,
        requirements: &SessionRequirements,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    async fn session_requirements(
        &self,
        request_id: Uuid,
    ) -> Result<Option<SessionRequirements>, StoreError>;
    async fn totp_credential(
        &self,
        identity_id: Uuid,
    ) -> Result<Option<TotpCredential>, StoreError>;
    /// Enrols (or re-enrols) a TOTP credential and replaces the identity's recovery codes, in
    /// one transaction.
    async fn enrol_totp(
        &self,
        credential: &TotpCredential,
        recovery_codes: &[SecretHash],
    ) -> Result<(), StoreError>;
    /// Records `step` as used if it is later than the last used one; false when it is not (a
    /// replay, or a race another node won).
    async fn use_totp_step(&self, identity_id: Uuid, step: i64) -> Result<bool, StoreError>;
    /// Uses a recovery code once; false when unknown, another identity's, or used.
    async fn use_recovery_code(
        &self,
        identity_id: Uuid,
        hash: &SecretHash,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Recovery codes not used yet.
    async fn recovery_codes_left(&self, identity_id: Uuid) -> Result<i64, StoreError>;
    /// Removes the TOTP credential and recovery codes; false when there was none.
    async fn remove_totp(&self, identity_id: Uuid) -> Result<bool, StoreError>;
    /// A sign-in waiting for its second factor (the cookie secret's hash).
    async fn insert_mfa_challenge(
        &self,
        hash: &SecretHash,
        identity_id: Uuid,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// The identity of a live challenge.
    async fn mfa_challenge(
        &self,
        hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<Uuid>, StoreError>;
    /// Ends a challenge; false when it was ended before (a second tab, another node).
    async fn delete_mfa_challenge(&self, hash: &SecretHash) -> Result<bool, StoreError>;
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

/// RFC 8628 device grants (`sql_device.rs`). Every state change is one conditional UPDATE, so
/// nodes racing on one grant cannot both move it.
#[async_trait]
pub trait DeviceRepository {
    /// `Conflict` when the user code is taken (the caller draws another).
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> Result<(), StoreError>;
    async fn device_grant(&self, hash: &SecretHash) -> Result<Option<DeviceGrant>, StoreError>;
    async fn device_grant_by_user_code(
        &self,
        code: &UserCode,
    ) -> Result<Option<DeviceGrant>, StoreError>;
    /// Records a poll at `at`, and the interval after it (it grows on `slow_down`).
    async fn record_device_poll(
        &self,
        hash: &SecretHash,
        at: UnixTime,
        interval: i64,
    ) -> Result<(), StoreError>;
    /// Pending → approved (`Some`) or denied (`None`), if the grant is still pending and
    /// unexpired at `at`; false otherwise (decided already, or expired).
    async fn decide_device_grant(
        &self,
        code: &UserCode,
        approval: Option<&Approval>,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Approved → redeemed, if approved and unexpired at `at`, in one
    /// `UPDATE … WHERE state = 'approved' … RETURNING`: the grant as approved, or `None` when
    /// it is not (another poll won, on this node or another).
    async fn redeem_device_grant(
        &self,
        hash: &SecretHash,
        at: UnixTime,
    ) -> Result<Option<DeviceGrant>, StoreError>;
}

/// RFC 7591/7592 dynamic registration (`sql_registration.rs`).
#[async_trait]
pub trait RegistrationRepository {
    /// The client, its secret (confidential clients) and its registration, in one transaction.
    async fn insert_registered_client(
        &self,
        client: &Client,
        credential: Option<&ClientCredential>,
        registration: &ClientRegistration,
    ) -> Result<(), StoreError>;
    /// The registration whose access token has this hash.
    async fn registration_by_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<ClientRegistration>, StoreError>;
    /// Replaces the client's mutable fields and its registered metadata in one transaction;
    /// false when the registration is gone.
    async fn update_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> Result<bool, StoreError>;
    async fn insert_initial_access_token(
        &self,
        hash: &SecretHash,
        uses: i64,
        created_at: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Spends one use of an initial access token live at `at`; false when there is none left
    /// (or no such token).
    async fn use_initial_access_token(
        &self,
        hash: &SecretHash,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// Upstream OpenID Connect identity providers (`sql_upstream.rs`).
#[async_trait]
pub trait UpstreamRepository {
    /// `Conflict` when an IdP with this issuer exists.
    async fn insert_upstream_idp(&self, idp: &UpstreamIdp) -> Result<(), StoreError>;
    /// Oldest first.
    async fn upstream_idps(&self) -> Result<Vec<UpstreamIdp>, StoreError>;
    async fn upstream_idp(&self, id: Uuid) -> Result<Option<UpstreamIdp>, StoreError>;
    /// Deletes the IdP and its sign-ins in flight; its people's identities (and their
    /// `(issuer, sub)` keys) stay. False when unknown.
    async fn delete_upstream_idp(&self, id: Uuid) -> Result<bool, StoreError>;
    /// The identity an upstream `(issuer, sub)` is, if it signed in before.
    async fn upstream_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError>;
    /// A new identity (no password) and its `(issuer, sub)` key, in one transaction;
    /// `Conflict` when the username is taken or the key exists.
    async fn insert_upstream_identity(
        &self,
        identity: &Identity,
        issuer: &str,
        subject: &str,
    ) -> Result<(), StoreError>;
    async fn insert_upstream_login(&self, login: &UpstreamLogin) -> Result<(), StoreError>;
    /// Deletes and returns the sign-in with this state hash if it is unexpired at `at`:
    /// a callback uses it once, however many times it is replayed.
    async fn claim_upstream_login(
        &self,
        state_hash: &SecretHash,
        at: UnixTime,
    ) -> Result<Option<UpstreamLogin>, StoreError>;
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
    ) -> Result<Vec<Consent>, StoreError> {
        self.insert_consents_as(identity, None, nodes, now).await
    }
    /// The same, given as `effective` (a linked identity that satisfied the client's policy)
    /// when that is not `identity`.
    async fn insert_consents_as(
        &self,
        identity: Uuid,
        effective: Option<Uuid>,
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
    /// An emergency rotation: deletes every key whose algorithm is one of `replacing` and
    /// inserts `key`, in one transaction (behind the lock of `add_signing_key` on PostgreSQL),
    /// so no reader sees the family without a key. Returns the deleted kids.
    async fn replace_signing_keys(
        &self,
        replacing: &[&str],
        key: &StoredKey,
    ) -> Result<Vec<String>, StoreError>;
}

/// Rows the background cleanup deletes once they are past their end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    Tokens,
    AuthorizationCodes,
    PendingAuthorizations,
    Sessions,
    DeviceGrants,
    InitialAccessTokens,
    /// Audit events, by the time they happened (`at`): past the retention, not an expiry.
    AuditEvents,
}

#[async_trait]
pub trait MaintenanceRepository {
    /// Deletes at most `limit` rows of `what` whose `expires_at` (an audit event's `at`) is
    /// before `before`; returns how many it deleted.
    async fn purge_batch(
        &self,
        what: Expired,
        before: UnixTime,
        limit: i64,
    ) -> Result<u64, StoreError>;
}

/// The right to run a cluster-wide job, held until dropped. On PostgreSQL it is a session
/// advisory lock on a connection of its own (closed on drop, which releases the lock even if
/// the holder panics); on SQLite an in-process lock (one server owns the data).
pub struct Lease(#[allow(dead_code)] Box<dyn Send>);

impl Lease {
    pub(crate) fn new(holder: impl Send + 'static) -> Self {
        Self(Box::new(holder))
    }
}

/// A cluster-wide job that at most one node runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Cleanup,
}

impl Job {
    /// The PostgreSQL advisory-lock key ("tessera" and a job number).
    pub(crate) fn lock_key(self) -> i64 {
        const BASE: i64 = 0x7465_7373_6572_6100;
        match self {
            Self::Cleanup => BASE + 1,
        }
    }
}

/// Groups and their memberships (the Groups API v2).
#[async_trait]
pub trait GroupRepository {
    /// The group and its creator's membership, in one transaction.
    async fn insert_group(&self, group: &Group, creator: &Membership) -> Result<(), StoreError>;
    async fn group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn groups_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Group>, StoreError>;
    /// The subgroups' ids, oldest first.
    async fn child_group_ids(&self, id: Uuid) -> Result<Vec<Uuid>, StoreError>;
    /// Replaces name, description, terms, policies, verified subscription and `updated_at`;
    /// false when unknown.
    async fn update_group(&self, group: &Group) -> Result<bool, StoreError>;
    /// Deletes the group with its memberships. `Ok(None)`: unknown; `Conflict` while it has
    /// subgroups.
    async fn delete_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;
    async fn memberships_of_group(&self, id: Uuid) -> Result<Vec<Membership>, StoreError>;
    /// Every membership of these identities, in any group and status.
    async fn memberships_of_identities(&self, ids: &[Uuid]) -> Result<Vec<Membership>, StoreError>;
    /// Writes `(before, after)` pairs in one transaction, behind the group's row lock, only if
    /// every `before` is still what is stored (`None`: no row) and the group keeps an active
    /// admin; otherwise writes nothing and fails with `Conflict`.
    async fn write_memberships(
        &self,
        group: Uuid,
        writes: &[(Option<Membership>, Membership)],
        at: UnixTime,
    ) -> Result<(), StoreError>;
    /// `allow_add` preferences of those identities that set one.
    async fn group_preferences(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Option<bool>)>, StoreError>;
    async fn set_group_preference(
        &self,
        id: Uuid,
        allow_add: Option<bool>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait AuditRepository {
    /// Appends the events in one transaction, in order.
    async fn insert_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    /// The events `query` selects, newest first.
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

#[async_trait]
pub trait Store:
    IdentityRepository
    + ClientRepository
    + ProjectRepository
    + FqdnRepository
    + ScopeRepository
    + TokenRepository
    + KeyRepository
    + SessionRepository
    + SessionModelRepository
    + AuthorizationRepository
    + DeviceRepository
    + RegistrationRepository
    + UpstreamRepository
    + ConsentRepository
    + MaintenanceRepository
    + AuditRepository
    + TransferRepository
    + ConnectorRepository
    + EndpointManagerRepository
    + GroupRepository
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    /// A round trip to the database, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;
    /// How this store's nodes tell each other about changes (see [`feed`]).
    fn feed(&self) -> Arc<dyn ChangeFeed>;
    /// The lease on `job` if no other node (or task) holds it; `None` otherwise. Does not wait.
    async fn try_lead(&self, job: Job) -> Result<Option<Lease>, StoreError>;
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
