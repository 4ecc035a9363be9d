//! The connector: `tessera connector run`. It serves the endpoints of its host to requests
//! carrying a capability the service signed (`server.rs`, `files.rs`), pulls files from other
//! connectors when told to (`pull.rs`; many small files in one
//! stream: `batch.rs`, `batch_run.rs`, served by the source's `stream.rs`), and checks in with the service (`control.rs`), which
//! gives it its capability key; the key is kept in the state directory, so a restarted
//! connector serves at once even while the service is away. It serves TLS (its own certificate,
//! made at first start, `tls.rs`) and plaintext on one port; the service pins the certificate.

mod batch;
mod batch_run;
mod control;
mod fetch;
mod files;
mod jobs;
mod pull;
mod server;
mod source;
mod stream;
mod tls;

use crate::capability::{self, Claims, Op, Refused};
use crate::wire::{self, ErrorDoc};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tessera_core::secret::Secret;
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::{RelPath, StorageError};
use uuid::Uuid;

/// How the connector runs.
pub struct Config {
    pub id: Uuid,
    pub secret: Secret,
    /// The service's URL (where `/connector/v1/poll` is).
    pub server: String,
    pub listen: SocketAddr,
    /// The URL the service and other connectors reach this one at.
    pub public_url: String,
    pub state_dir: PathBuf,
}

/// What the handlers share.
pub(crate) struct Agent {
    pub(crate) id: Uuid,
    secret: Secret,
    server: String,
    public_url: String,
    state_dir: PathBuf,
    key: RwLock<Option<Vec<u8>>>,
    /// SHA-256 of the certificate it serves TLS with (stated at each check-in).
    fingerprint: String,
    /// To the service.
    pub(crate) http: reqwest::Client,
    /// To other connectors (pinned to their certificates).
    pub(crate) peers: crate::pin::Clients,
    pub(crate) jobs: jobs::Jobs,
    pub(crate) batches: batch::Batches,
    uploads: Mutex<HashMap<String, files::Upload>>,
}

/// Runs the connector until the process is stopped: the listener on `listen`, the check-in
/// loop. Returns the address bound (for `--listen 127.0.0.1:0`) through `bound`.
pub async fn run(
    config: Config,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<(), std::io::Error> {
    crate::wire::check_public_url(&config.public_url)
        .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    std::fs::create_dir_all(config.state_dir.join("reports"))?;
    std::fs::create_dir_all(config.state_dir.join("jobs"))?;
    let key = control::load_key(&config.state_dir);
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .build()
        .map_err(std::io::Error::other)?;
    // Every connector has its certificate, whatever its public URL: a task with encrypt_data
    // reaches it over TLS at the same port.
    let identity = tls::load_or_make(&config.state_dir)?;
    let agent = Arc::new(Agent {
        id: config.id,
        secret: config.secret,
        server: config.server.trim_end_matches('/').to_owned(),
        public_url: config.public_url,
        state_dir: config.state_dir,
        key: RwLock::new(key),
        fingerprint: identity.fingerprint.clone(),
        http,
        peers: crate::pin::Clients::new().map_err(std::io::Error::other)?,
        jobs: jobs::Jobs::default(),
        batches: batch::Batches::default(),
        uploads: Mutex::new(HashMap::new()),
    });
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, connector = %agent.id, fingerprint = %agent.fingerprint, "connector listening (TLS and plaintext)");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }
    let listener = tls::Listener::new(listener, &identity)?;
    let router = server::router(agent.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<tls::Peer>(),
        )
        .await
    });
    // Something else answering at the public URL (a TLS-terminating proxy) is a configuration
    // the data plane cannot use: refused before the first check-in, with why.
    match crate::pin::reaches(&agent.peers, &agent.public_url, &agent.fingerprint).await {
        Ok(crate::pin::Reached::Itself) => {}
        Ok(crate::pin::Reached::Unreachable(why)) => tracing::warn!(
            public_url = %agent.public_url, error = %why,
            "this connector does not reach itself at its public URL (the service and other connectors may)"
        ),
        Err(why) => {
            server.abort();
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
        }
    }
    tokio::spawn(control::check_in_loop(agent.clone()));
    server.await.map_err(std::io::Error::other)?
}

impl Agent {
    fn key(&self) -> Option<Vec<u8>> {
        self.key.read().ok().and_then(|k| k.clone())
    }

    /// The claims of the request's capability, if it allows `op` on every one of `paths`.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        op: Op,
        paths: &[&RelPath],
    ) -> Result<Claims, Failure> {
        let Some(key) = self.key() else {
            return Err(Failure::not_ready());
        };
        let token = headers
            .get(wire::CAPABILITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(Failure::Refused(Refused::Missing))?;
        let claims =
            capability::verify(&key, self.id, token, wire::now_secs()).map_err(Failure::Refused)?;
        for p in paths {
            claims.allows(op, p).map_err(Failure::Refused)?;
        }
        Ok(claims)
    }
}

/// The storage a capability names (its root directory on this host).
pub(crate) fn storage_of(claims: &Claims) -> Result<PosixStorage, StorageError> {
    if !claims.root.starts_with('/') {
        return Err(StorageError::InvalidPath("the endpoint's root".into()));
    }
    PosixStorage::open(Path::new(&claims.root))
}

/// Why a request to the connector was not done.
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(Refused),
    Storage(StorageError),
    Status(StatusCode, String),
}

impl Failure {
    fn not_ready() -> Self {
        Self::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            "the connector has not checked in with the service yet".into(),
        )
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::Status(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Refused(r) => (
                StatusCode::FORBIDDEN,
                Json(ErrorDoc {
                    kind: "capability".into(),
                    message: r.to_string(),
                }),
            )
                .into_response(),
            Failure::Storage(e) => {
                let status = match &e {
                    StorageError::NotFound(_) => StatusCode::NOT_FOUND,
                    StorageError::Exists(_) | StorageError::NotEmpty(_) => StatusCode::CONFLICT,
                    StorageError::PermissionDenied(_) => StatusCode::FORBIDDEN,
                    StorageError::NoSpace(_) => StatusCode::INSUFFICIENT_STORAGE,
                    StorageError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, Json(ErrorDoc::from(&e))).into_response()
            }
            Failure::Status(status, message) => (
                status,
                Json(ErrorDoc {
                    kind: if status.is_server_error() {
                        "io"
                    } else {
                        "invalid_path"
                    }
                    .into(),
                    message,
                }),
            )
                .into_response(),
        }
    }
}

/// A path from a query parameter.
pub(crate) fn rel(value: Option<&String>) -> Result<RelPath, Failure> {
    let v = value.ok_or_else(|| Failure::bad("a path is required"))?;
    RelPath::parse(v).map_err(Failure::Storage)
}
