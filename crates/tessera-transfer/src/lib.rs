//! The Transfer service: Globus Transfer v0.10 on Tessera's listener.
//!
//! `http/` parses requests and renders the Globus documents (one file per group of endpoints);
//! `service/` holds the rules (who may see and do what, path resolution, submissions); `acl` is
//! the pure access-rule evaluation; `engine/` runs tasks durably (claimed with a lease on the
//! database, several files at once on blocking threads). `storage` is the only code that
//! touches files: a blocking [`storage::Storage`] trait, one implementation per kind of storage
//! (POSIX first), every path confined to an endpoint's root. `data` moves bytes between two
//! storages (one file, a walked tree, a mirror's extras) and never opens a path itself.
//!
//! `https` serves single files of endpoints over plain HTTP(S) (`GET`/`HEAD` with `Range`,
//! `PUT`, `DELETE`, signed links) at `/https/{endpoint_id}/{path}`, behind the
//! [`https::Access`] trait so a storage connector can mount the same routes.
//!
//! Callers are authenticated by `tessera-guard` exactly as a third-party resource server would
//! (over HTTP, by introspection); this crate never links the authorization server.

#![recursion_limit = "256"]

pub mod acl;
pub mod connectors;
pub mod data;
pub mod engine;
pub mod error;
pub mod http;
pub mod https;
pub mod service;
pub mod storage;
pub mod timefmt;
pub mod web;

use std::path::Path;
use std::sync::Arc;
use storage::{Storage, StorageError};
use tessera_core::clock::Clock;
use tessera_core::random::SecureRandom;
use tessera_guard::Guard;
use tessera_store::Store;

/// The scope every Transfer call needs.
pub const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// The resource server whose tokens Transfer accepts.
pub const TRANSFER_RESOURCE_SERVER: &str = "transfer.api.globus.org";

/// The OpenAPI document of the Transfer routes (merged into `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi::openapi()
}

/// Opens the storage rooted at a host endpoint's directory (POSIX: a directory handle).
pub type OpenStorage = Arc<dyn Fn(&Path) -> Result<Arc<dyn Storage>, StorageError> + Send + Sync>;

/// What handlers and the engine share. Cheap to clone.
#[derive(Clone)]
pub struct TransferState {
    pub store: Arc<dyn Store>,
    pub guard: Guard,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn SecureRandom>,
    pub open_storage: OpenStorage,
    /// Wakes the engine when a task is submitted (it also polls).
    pub wake: Arc<tokio::sync::Notify>,
    /// Endpoints on storage connectors (`None`: such endpoints answer 502).
    pub connectors: Option<Arc<dyn connectors::ConnectorHub>>,
    /// The HTTPS access to endpoints (`https/`): where it is published, the key of its signed
    /// links, and the registry of each endpoint's `https` scope.
    pub https: HttpsConfig,
}

/// What the HTTPS access needs beyond the store and the guard.
#[derive(Clone)]
pub struct HttpsConfig {
    /// The server's public base URL (its issuer): endpoint documents name
    /// `<public_url>/https/<endpoint_id>` as their `https_server`.
    pub public_url: String,
    /// Signs and checks signed links; derived from the master key, so every node agrees.
    pub link_key: https::link::LinkKey,
    /// Registers an endpoint's `https` scope when it is made and removes it with the endpoint.
    pub scopes: Arc<dyn https::HttpsScopes>,
}

impl axum::extract::FromRef<TransferState> for Guard {
    fn from_ref(state: &TransferState) -> Guard {
        state.guard.clone()
    }
}
