//! A Rust SDK for the Globus Auth, Transfer and Groups APIs as Tessera serves them: what the
//! Python `globus_sdk` gives a program, for Rust.
//!
//! - [`AuthClient`]: confidential clients (client credentials, introspection, scopes) and
//!   native apps (the PKCE login flow, [`NativeFlow`]); refresh and revocation.
//! - [`TransferClient`], [`GroupsClient`]: typed requests and responses (`tessera-proto`'s
//!   wire types and [`transfer::Task`], [`transfer::Endpoint`]), paged lists as
//!   [`transfer::Paginator`]s (items, pages or a `Stream`).
//! - Authorizers ([`authorizer`]): a fixed token, a refresh token renewed before expiry and
//!   after a 401 with an `on_refresh` hook to persist the new tokens, client credentials.
//! - [`storage::TokenStorage`]: where tokens live between runs; a JSON file (0600, replaced
//!   atomically) or memory.
//! - Refusals as [`ClientError::Api`] (status, the API's code and words, request id,
//!   authorization parameters), whichever of the Globus error shapes the server used; 429 and
//!   5xx retried with backoff and `Retry-After`, a bounded number of times ([`RetryPolicy`]).
//!
//! Secrets (tokens, client secrets, PKCE verifiers) never appear in `Debug` output.
//!
//! It speaks only HTTP and the wire types of `tessera-proto`; it must never depend on the
//! server's crates, so that it stays usable by any Rust program talking to any deployment.
//!
//! # A person's program: log in once, then move data
//!
//! ```no_run
//! use std::sync::Arc;
//! use tessera_client::storage::{JsonFileTokenStorage, StoredTokens, TokenStorage};
//! use tessera_client::tokens::{by_resource_server, system_clock};
//! use tessera_client::transfer::{TRANSFER_ALL, TRANSFER_RESOURCE_SERVER};
//! use tessera_client::{AuthClient, RefreshTokenAuthorizer, TransferClient};
//!
//! # async fn run() -> Result<(), tessera_client::ClientError> {
//! let server = "https://tessera.example.org";
//! let auth = AuthClient::native(server, "my-native-app-client-id")?;
//! let storage = Arc::new(JsonFileTokenStorage::new("tokens.json"));
//!
//! // Once: the person opens the URL, signs in, and pastes the code shown.
//! let flow = auth.start_native_flow(&["openid", TRANSFER_ALL], None, true);
//! println!("Open {}", flow.authorize_url());
//! let mut code = String::new();
//! std::io::stdin().read_line(&mut code).map_err(|e| tessera_client::ClientError::Usage(e.to_string()))?;
//! let tokens = flow.exchange(&code).await?;
//! storage.store(server, &StoredTokens {
//!     client_id: Some(auth.client_id().to_owned()),
//!     tokens: by_resource_server(&tokens, system_clock()()),
//! })?;
//!
//! // Every run after: a Transfer client that renews its token and saves the new one.
//! let token = storage.get(server)?.unwrap_or_default().tokens[TRANSFER_RESOURCE_SERVER].clone();
//! let authorizer = RefreshTokenAuthorizer::new(token, auth)?.shared_with(storage, server);
//! let transfer = TransferClient::with_authorizer(server, Arc::new(authorizer))?;
//! let mut tasks = transfer.task_list(100, &[]);
//! while let Some(task) = tasks.next().await? {
//!     println!("{} {} {} files", task.task_id, task.status, task.files);
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! ```
//! use tessera_client::ClientError;
//!
//! fn explain(e: &ClientError) -> String {
//!     match e {
//!         ClientError::Api { status: 404, code: Some(code), .. } if code == "EndpointNotFound" => {
//!             "no such endpoint".into()
//!         }
//!         ClientError::Api { authorization_parameters: Some(p), .. } => {
//!             format!("log in again: {:?}", p.session_message)
//!         }
//!         e if e.is_transient() => format!("try again later: {e}"),
//!         e => e.to_string(),
//!     }
//! }
//! # let _ = explain;
//! ```

pub mod auth;
pub mod authorizer;
mod core;
mod error;
pub mod groups;
pub mod https;
mod pkce;
mod retry;
pub mod storage;
pub mod tokens;
pub mod transfer;

pub use auth::{AuthClient, NativeFlow, UserInfo};
pub use authorizer::{
    AccessTokenAuthorizer, Authorizer, ClientCredentialsAuthorizer, RefreshTokenAuthorizer,
};
pub use error::{AuthorizationParameters, ClientError};
pub use groups::GroupsClient;
pub use retry::{parse_retry_after, RetryPolicy};
pub use transfer::TransferClient;
