//! HTTPS access to collections: `GET`/`HEAD` (with a single `Range`), `PUT` and `DELETE` of
//! single files at `/https/{endpoint_id}/{path}`, as Globus Connect Server v5 serves them.
//!
//! The routes know nothing of who may do what or where the files are: an [`Access`] decides a
//! request (a bearer token for the collection's `https` scope, or a signed link) and hands back
//! the endpoint's [`Storage`]. `tessera serve` mounts them with [`local::LocalAccess`] (the
//! Transfer ACL and role rules over the store, local storage); a storage connector can mount the
//! same routes with its own `Access`.
//!
//! Bytes are streamed both ways, and no thread ever waits on the network: a download is a
//! stream of large chunks, each one short blocking read, one chunk read ahead; an upload is
//! received on the async side (abandoned after an idle timeout without a byte) and each large
//! chunk is one short blocking write to a temporary name beside the target (`Storage::create`),
//! renamed over the target only when the body is complete. A client that stalls holds a future
//! and a buffer, never a thread of the blocking pool.

mod delete;
mod error;
mod get;
pub mod link;
pub mod local;
mod put;
pub mod range;

pub use error::HttpsError;
pub use get::file_stream;
pub use put::UPLOAD_IDLE;

use crate::storage::{RelPath, Storage};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
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

/// What a request presented. `Debug` names the kind only: a token or a link's signature
/// works as a credential and never reaches a log.
#[derive(Clone)]
pub enum Credential {
    /// Nothing: refused with 401 and a Bearer challenge.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A signed link's `sig`, `exp` and `by` (reads only).
    Link(link::Signed),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::Link(link) => f
                .debug_struct("Link")
                .field("exp", &link.exp)
                .field("by", &link.by)
                .finish_non_exhaustive(),
        }
    }
}

/// One request to decide.
#[derive(Debug)]
pub struct AccessRequest<'a> {
    /// The endpoint id as the URL gave it.
    pub endpoint: &'a str,
    /// The path from the endpoint's root.
    pub path: &'a RelPath,
    pub credential: &'a Credential,
    pub operation: Operation,
}

/// What a request does: `PUT`/`DELETE` need write permission, `GET`/`HEAD` read; each can be
/// paused on its own by the endpoint's pause rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET`/`HEAD`.
    Read,
    /// `PUT`.
    Write,
    /// `DELETE`.
    Delete,
}

impl Operation {
    pub fn is_write(self) -> bool {
        self != Operation::Read
    }
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

/// The methods served (and `OPTIONS`, which names them); any other is a 405 naming them
/// (`Allow`), in this surface's shape.
const ALLOW: &str = "GET, HEAD, PUT, DELETE, OPTIONS";

/// The routes, for any [`Access`]. Merge them into a listener's router.
pub fn router(access: Arc<dyn Access>) -> Router {
    router_with_idle(access, UPLOAD_IDLE)
}

/// [`router`], abandoning an upload (`408`, nothing written) after `idle` without a byte.
pub fn router_with_idle(access: Arc<dyn Access>, idle: std::time::Duration) -> Router {
    Router::new()
        // The base URL itself (`https_server`), with or without its slash: the root.
        .route("/https/{endpoint}", any(serve_root))
        .route("/https/{endpoint}/", any(serve_root))
        .route("/https/{endpoint}/{*path}", any(serve))
        .with_state(Served { access, idle })
}

/// The routes' state.
#[derive(Clone)]
struct Served {
    access: Arc<dyn Access>,
    idle: std::time::Duration,
}

/// A path segment that axum could not decode (a percent-encoding that is not UTF-8): a 400 in
/// this surface's shape, not axum's text.
fn undecodable(e: &PathRejection) -> Response {
    HttpsError::bad_request(format!("The URL's path does not decode: {}", e.body_text()))
        .into_response()
}

async fn serve_root(
    state: State<Served>,
    endpoint: Result<Path<String>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Body,
) -> Response {
    let Path(endpoint) = match endpoint {
        Ok(p) => p,
        Err(e) => return undecodable(&e),
    };
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
    state: State<Served>,
    path: Result<Path<(String, String)>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    body: Body,
) -> Response {
    let Path((endpoint, path)) = match path {
        Ok(p) => p,
        Err(e) => return undecodable(&e),
    };
    handle(state.0, endpoint, path, method, headers, query.0, body).await
}

async fn handle(
    served: Served,
    endpoint: String,
    path: String,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Body,
) -> Response {
    match dispatch(
        served,
        &endpoint,
        &path,
        &method,
        &headers,
        query.as_deref(),
        body,
    )
    .await
    {
        Ok(r) => cors(r),
        Err(e) => cors(e.into_response()),
    }
}

/// Request headers a browser application may send (a preflight asks for them).
const CORS_ALLOW_HEADERS: &str =
    "Authorization, Range, If-Range, If-None-Match, If-Modified-Since, Content-Type, \
     Content-MD5, Digest, Repr-Digest";
/// Response headers a browser application may read.
const CORS_EXPOSE_HEADERS: &str =
    "Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified, WWW-Authenticate";

/// CORS (Fetch standard): any origin may call, since nothing here rides on ambient
/// credentials: a request carries its bearer token or signed link itself, and cookies are never
/// read. So a browser application (a portal's page with a signed link or a token) can read
/// files and errors alike.
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        axum::http::HeaderValue::from_static(CORS_EXPOSE_HEADERS),
    );
    r
}

/// `OPTIONS`: the methods (`Allow`), and a CORS preflight's answer.
fn options() -> Response {
    let mut r = axum::http::StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(header::ALLOW, axum::http::HeaderValue::from_static(ALLOW));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        axum::http::HeaderValue::from_static(ALLOW),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        axum::http::HeaderValue::from_static(CORS_ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        axum::http::HeaderValue::from_static("600"),
    );
    r
}

async fn dispatch(
    Served { access, idle }: Served,
    endpoint: &str,
    path: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Result<Response, HttpsError> {
    if *method == Method::OPTIONS {
        return Ok(options());
    }
    if ![Method::GET, Method::HEAD, Method::PUT, Method::DELETE].contains(method) {
        let mut r = HttpsError::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{method} is not served here; the methods are {ALLOW}"),
        )
        .into_response();
        r.headers_mut()
            .insert(header::ALLOW, axum::http::HeaderValue::from_static(ALLOW));
        return Ok(r);
    }
    let path = RelPath::parse(path).map_err(|e| HttpsError::bad_request(e.to_string()))?;
    let credential = credential(headers, query)?;
    let operation = match *method {
        Method::PUT => Operation::Write,
        Method::DELETE => Operation::Delete,
        _ => Operation::Read,
    };
    if operation.is_write() && matches!(credential, Credential::Link(_)) {
        return Err(HttpsError::forbidden("A signed link only reads"));
    }
    let storage = access
        .authorize(AccessRequest {
            endpoint,
            path: &path,
            credential: &credential,
            operation,
        })
        .await?;
    match *method {
        Method::PUT => put::put(storage, path, headers, body, idle).await,
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

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn credentials_debug_without_their_secrets() {
        let bearer = format!("{:?}", Credential::Bearer("tok-SECRET".into()));
        assert!(!bearer.contains("SECRET"), "{bearer}");
        let link = Credential::Link(link::Signed {
            sig: "sig-SECRET".into(),
            exp: 5,
            by: Uuid::nil(),
        });
        let shown = format!("{link:?}");
        assert!(
            !shown.contains("SECRET") && shown.contains("exp: 5"),
            "{shown}"
        );
    }
}
