//! HTTPS access to collections: `GET`/`HEAD` (with a single `Range`), `PUT` and `DELETE` of
//! single files at `/https/{endpoint_id}/{path}`, as Globus Connect Server v5 serves them.
//!
//! The routes know nothing of who may do what or where the files are: an [`Access`] decides a
//! request (a bearer token for the collection's `https` scope, or a signed link) and hands back
//! the endpoint's [`Storage`]. `tessera serve` mounts them with [`local::LocalAccess`] (the
//! Transfer ACL and role rules over the store, local storage); a storage connector can mount the
//! same routes with its own `Access`.
//!
//! Bytes are streamed both ways: a download reads the file in large chunks on a blocking thread
//! into a bounded channel; an upload writes each chunk as it arrives to a temporary name beside
//! the target (`Storage::create`), renamed over the target only when the body is complete.

mod delete;
mod error;
mod get;
pub mod link;
pub mod local;
mod put;
pub mod range;

pub use error::HttpsError;

use crate::storage::{RelPath, Storage};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get as route_get;
use axum::Router;
use std::sync::Arc;
use uuid::Uuid;

/// The scope a token needs to use an endpoint's HTTPS access.
pub fn scope_string(endpoint: Uuid) -> String {
    format!("https://auth.globus.org/scopes/{endpoint}/https")
}

/// The base URL of an endpoint's HTTPS access under a server's public URL (`https_server` of
/// the endpoint document); a file's URL is this, `/`, and its path without the leading `/`.
pub fn server_url(public_url: &str, endpoint: Uuid) -> String {
    format!("{}/https/{endpoint}", public_url.trim_end_matches('/'))
}

/// What a request presented.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Nothing: refused with 401 and a Bearer challenge.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A signed link's `sig`, `exp` and `by` (reads only).
    Link(link::Signed),
}

/// One request to decide.
#[derive(Debug)]
pub struct AccessRequest<'a> {
    /// The endpoint id as the URL gave it.
    pub endpoint: &'a str,
    /// The path from the endpoint's root.
    pub path: &'a RelPath,
    pub credential: &'a Credential,
    /// `PUT`/`DELETE` need write permission; `GET`/`HEAD` read.
    pub write: bool,
}

/// Decides a request and opens the storage it may touch.
#[async_trait::async_trait]
pub trait Access: Send + Sync + 'static {
    /// The endpoint's storage (rooted at the endpoint's root) when the credential may read (or
    /// write) `path`; otherwise the refusal (401, 403, 404 for an unknown endpoint).
    async fn authorize(&self, request: AccessRequest<'_>) -> Result<Arc<dyn Storage>, HttpsError>;
}

/// Registers and removes the `https` scope of an endpoint in the authorization server, owned
/// by Transfer's resource server. Implemented by the binary over the auth server's scope
/// service: this crate never calls the auth server's code.
#[async_trait::async_trait]
pub trait HttpsScopes: Send + Sync + 'static {
    async fn register(&self, endpoint: Uuid) -> Result<(), String>;
    async fn remove(&self, endpoint: Uuid) -> Result<(), String>;
}

/// The routes, for any [`Access`]. Merge them into a listener's router.
pub fn router(access: Arc<dyn Access>) -> Router {
    let any = || route_get(serve).head(serve).put(serve).delete(serve);
    Router::new()
        .route("/https/{endpoint}/", any_root())
        .route("/https/{endpoint}/{*path}", any())
        .with_state(access)
}

fn any_root() -> axum::routing::MethodRouter<Arc<dyn Access>> {
    route_get(serve_root)
        .head(serve_root)
        .put(serve_root)
        .delete(serve_root)
}

async fn serve_root(
    state: State<Arc<dyn Access>>,
    Path(endpoint): Path<String>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Body,
) -> Response {
    handle(
        state.0,
        endpoint,
        String::new(),
        method,
        headers,
        query.0,
        body,
    )
    .await
}

async fn serve(
    state: State<Arc<dyn Access>>,
    Path((endpoint, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Body,
) -> Response {
    handle(state.0, endpoint, path, method, headers, query.0, body).await
}

async fn handle(
    access: Arc<dyn Access>,
    endpoint: String,
    path: String,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Body,
) -> Response {
    match dispatch(
        access,
        &endpoint,
        &path,
        &method,
        &headers,
        query.as_deref(),
        body,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(
    access: Arc<dyn Access>,
    endpoint: &str,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Result<Response, HttpsError> {
    let path = RelPath::parse(path).map_err(|e| HttpsError::bad_request(e.to_string()))?;
    let credential = credential(headers, query)?;
    let write = *method == Method::PUT || *method == Method::DELETE;
    if write && matches!(credential, Credential::Link(_)) {
        return Err(HttpsError::forbidden("A signed link only reads"));
    }
    let storage = access
        .authorize(AccessRequest {
            endpoint,
            path: &path,
            credential: &credential,
            write,
        })
        .await?;
    match *method {
        Method::PUT => put::put(storage, path, headers, body).await,
        Method::DELETE => delete::delete(storage, path).await,
        _ => get::get(storage, path, headers, *method == Method::HEAD).await,
    }
}

/// The request's credential: a bearer token wins over a link's parameters.
fn credential(headers: &HeaderMap, query: Option<&str>) -> Result<Credential, HttpsError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| HttpsError::invalid_token("The Authorization header is not text"))?;
        let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 4096 {
            return Err(HttpsError::invalid_token(
                "The Authorization header must be 'Bearer <token>'",
            ));
        }
        return Ok(Credential::Bearer(token.to_owned()));
    }
    match link::Signed::from_query(query) {
        Ok(Some(signed)) => Ok(Credential::Link(signed)),
        Ok(None) => Ok(Credential::None),
        Err(m) => Err(HttpsError::forbidden(format!("Invalid signed link: {m}"))),
    }
}

/// Runs a blocking storage call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::storage::StorageError> + Send + 'static,
) -> Result<T, HttpsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(HttpsError::internal)?
        .map_err(HttpsError::from_storage)
}
