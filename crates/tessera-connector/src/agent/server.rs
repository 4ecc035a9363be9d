//! The connector's routes: file operations, each under a capability for exactly it. Storage
//! calls are blocking and run on the blocking pool. A capability that demands TLS is refused
//! on a plaintext connection before any handler sees it ([`transport`]).

use super::tls::Peer;
use super::{batch, files, jobs, rel, storage_of, stream, Agent, Failure};
use crate::capability::{self, Op, Refused};
use crate::wire::{self, routes, EntryDoc};
use crate::wire_batch::routes as batch_routes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::Arc;
use tessera_transfer::storage::{RelPath, Storage, StorageError};

pub(super) type Q = Query<HashMap<String, String>>;

pub(super) fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route(routes::HEALTH, get(|| async { "ok" }))
        .route(routes::STAT, get(stat))
        .route(routes::LIST, get(list))
        .route(routes::MKDIR, post(mkdir))
        .route(routes::RENAME, post(rename))
        .route(routes::REMOVE, post(remove))
        .route(routes::SYNC, post(sync))
        .route(routes::FILE, get(files::get_file))
        .route(routes::CHECKSUM, get(files::checksum))
        .route(
            routes::UPLOAD,
            post(files::upload_post)
                .put(files::upload_put)
                .delete(files::upload_delete)
                .get(files::upload_get),
        )
        .route(routes::PULL, post(jobs::start))
        .route(routes::JOB, get(jobs::status).merge(delete(jobs::cancel)))
        .route(batch_routes::BATCH, post(batch::start))
        .route(
            batch_routes::BATCH_JOB,
            get(batch::status).merge(delete(batch::cancel)),
        )
        .route(batch_routes::STREAM, post(stream::serve))
        .route(batch_routes::MKDIRS, post(mkdirs))
        .route(batch_routes::LISTS, post(lists))
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(
            agent.clone(),
            transport,
        ))
        .with_state(agent)
}

/// Refuses, on a plaintext connection, a request whose capability verifies and demands TLS
/// (a connection of unknown kind counts as plaintext). Anything else goes on to its handler,
/// which checks the capability in full.
async fn transport(State(a): State<Arc<Agent>>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0);
    if !peer.is_some_and(|p| p.tls) {
        let demands_tls = a.key().is_some_and(|key| {
            req.headers()
                .get(wire::CAPABILITY_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|t| capability::verify(&key, a.id, t, wire::now_secs()).ok())
                .is_some_and(|c| c.tls)
        });
        if demands_tls {
            let from = peer.map(|p| p.addr.to_string()).unwrap_or_default();
            tracing::info!(%from, "a capability that demands TLS came in plaintext: refused");
            return Failure::Refused(Refused::Plaintext).into_response();
        }
    }
    next.run(req).await
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::Storage(StorageError::Io(e.to_string())))?
        .map_err(Failure::Storage)
}

async fn stat(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<EntryDoc>, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Stat, &[&path])?;
    let e = blocking(move || storage_of(&claims)?.stat(&path)).await?;
    Ok(Json(EntryDoc::from(&e)))
}

async fn list(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<Vec<EntryDoc>>, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::List, &[&path])?;
    let entries = blocking(move || storage_of(&claims)?.list(&path)).await?;
    Ok(Json(entries.iter().map(EntryDoc::from).collect()))
}

async fn mkdir(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let all = q.get("all").is_some_and(|v| v == "true");
    let claims = a.authorize(&h, Op::Mkdir, &[&path])?;
    blocking(move || {
        let s = storage_of(&claims)?;
        if all {
            s.mkdir_all(&path)
        } else {
            s.mkdir(&path)
        }
    })
    .await?;
    Ok(Json(serde_json::json!({})))
}

/// The listing of each path (a level of a task's walk in one request), under a capability for
/// all of them.
async fn lists(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Json(req): Json<crate::wire_batch::Mkdirs>,
) -> Result<Json<Vec<crate::wire_batch::Listing>>, Failure> {
    if req.paths.len() > crate::stream::MAX_FILES {
        return Err(Failure::bad("too many directories for one request"));
    }
    let paths = req
        .paths
        .iter()
        .map(|p| RelPath::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Storage)?;
    let refs: Vec<&RelPath> = paths.iter().collect();
    let claims = a.authorize(&h, Op::List, &refs)?;
    let listed = blocking(move || {
        let s = storage_of(&claims)?;
        Ok(s.list_many(&paths)
            .into_iter()
            .map(|got| match got {
                Ok(entries) => crate::wire_batch::Listing {
                    entries: Some(entries.iter().map(EntryDoc::from).collect()),
                    error: None,
                },
                Err(e) => crate::wire_batch::Listing {
                    entries: None,
                    error: Some(wire::ErrorDoc::from(&e)),
                },
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(listed))
}

/// `mkdir -p` of each path (one request for a task's directories), under a capability for
/// all of them.
async fn mkdirs(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Json(req): Json<crate::wire_batch::Mkdirs>,
) -> Result<Json<crate::wire_batch::MkdirsDone>, Failure> {
    if req.paths.len() > crate::stream::MAX_FILES {
        return Err(Failure::bad("too many directories for one request"));
    }
    let paths = req
        .paths
        .iter()
        .map(|p| RelPath::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Storage)?;
    let refs: Vec<&RelPath> = paths.iter().collect();
    let claims = a.authorize(&h, Op::Mkdir, &refs)?;
    let failed = blocking(move || {
        let s = storage_of(&claims)?;
        Ok(s.mkdir_all_many(&paths)
            .err()
            .map(|(i, e)| (i, wire::ErrorDoc::from(&e))))
    })
    .await?;
    Ok(Json(crate::wire_batch::MkdirsDone { failed }))
}

async fn rename(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let from = rel(q.get("from"))?;
    let to = rel(q.get("to"))?;
    let claims = a.authorize(&h, Op::Rename, &[&from, &to])?;
    blocking(move || storage_of(&claims)?.rename(&from, &to)).await?;
    Ok(Json(serde_json::json!({})))
}

async fn remove(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let recursive = q.get("recursive").is_some_and(|v| v == "true");
    let claims = a.authorize(&h, Op::Remove, &[&path])?;
    let n = blocking(move || storage_of(&claims)?.remove(&path, recursive)).await?;
    Ok(Json(serde_json::json!({"removed": n})))
}

async fn sync(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
) -> Result<Json<serde_json::Value>, Failure> {
    let root = tessera_transfer::storage::RelPath::root();
    let claims = a.authorize(&h, Op::Sync, &[&root])?;
    blocking(move || storage_of(&claims)?.sync_all()).await?;
    Ok(Json(serde_json::json!({})))
}
