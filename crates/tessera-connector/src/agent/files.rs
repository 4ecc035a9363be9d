//! Bytes in and out of a connector: ranged reads (`GET /connector/v1/file`, streamed, never
//! whole in memory), checksums computed here, and uploads (a temporary file written at the
//! offsets the sender gives, renamed into place on commit).

use super::server::{blocking, Q};
use super::{rel, storage_of, Agent, Failure};
use crate::capability::Op;
use crate::wire::SIZE_HEADER;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tessera_transfer::data::ChecksumAlgorithm;
use tessera_transfer::storage::{RelPath, Storage, StorageError, WriteFile};

const READ_CHUNK: usize = 1 << 20;

/// `bytes=a-b` / `bytes=a-` (one range) as (start, inclusive end) within `size`.
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, Failure> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let bad = || Failure::Status(StatusCode::RANGE_NOT_SATISFIABLE, format!("range {v}"));
    let spec = v.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = match b.trim() {
        "" => size.saturating_sub(1),
        e => e
            .parse::<u64>()
            .map_err(|_| bad())?
            .min(size.saturating_sub(1)),
    };
    if size > 0 && (start >= size || start > end) {
        return Err(bad());
    }
    Ok(Some((start, end)))
}

pub(super) async fn get_file(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Response, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Read, &[&path])?;
    let p = path.clone();
    let reader = blocking(move || storage_of(&claims)?.open_read(&p)).await?;
    let size = reader.entry().size;
    let wanted = range(&h, size)?;
    let (start, len) = match wanted {
        Some((s, e)) if size > 0 => (s, e - s + 1),
        _ => (0, size),
    };
    // One short blocking read per chunk, one chunk ahead: a reader that stalls holds a future,
    // never a blocking thread.
    let stream = tessera_transfer::https::file_stream(reader, start, len);
    let mut resp = Response::new(Body::from_stream(stream));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_LENGTH, len.into());
    headers.insert(SIZE_HEADER, size.into());
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    if wanted.is_some() && size > 0 {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) =
            header::HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
        {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

/// Set when dropped: the handler's future went away (the client closed the connection).
struct Gone(Arc<AtomicBool>);

impl Drop for Gone {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The checksum of a file (of its first `length` bytes when given), read here. A client that
/// goes away (a canceled pull) stops the read: the rest of the file is not hashed for no one.
pub(super) async fn checksum(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let alg: ChecksumAlgorithm = q
        .get("algorithm")
        .map(String::as_str)
        .unwrap_or("SHA256")
        .parse()
        .map_err(|_| Failure::bad("unknown checksum algorithm"))?;
    let length: Option<u64> = match q.get("length") {
        Some(l) => Some(l.parse().map_err(|_| Failure::bad("length"))?),
        None => None,
    };
    let claims = a.authorize(&h, Op::Read, &[&path])?;
    let gone = Gone(Arc::new(AtomicBool::new(false)));
    let left_us = gone.0.clone();
    let (sum, size) = blocking(move || {
        let mut r = storage_of(&claims)?.open_read(&path)?;
        let size = r.entry().size;
        let mut left = length.unwrap_or(u64::MAX);
        let mut hasher = alg.hasher();
        let mut buf = vec![0u8; READ_CHUNK];
        while left > 0 {
            if left_us.load(Ordering::Relaxed) {
                return Err(StorageError::Io("the client went away".into()));
            }
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = r
                .read(&mut buf[..want])
                .map_err(|e| StorageError::from_io(&e, &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        Ok((hasher.finish(), size))
    })
    .await?;
    drop(gone);
    Ok(Json(serde_json::json!({"checksum": sum, "size": size})))
}

/// An upload in progress.
pub(crate) struct Upload {
    root: String,
    path: RelPath,
    file: Shared,
}

type Shared = Arc<Mutex<Option<Box<dyn WriteFile>>>>;

fn upload_of(
    a: &Agent,
    id: Option<&String>,
    root: &str,
    path: &RelPath,
) -> Result<Shared, Failure> {
    let id = id.ok_or_else(|| Failure::bad("an upload id is required"))?;
    let uploads = a.uploads.lock().map_err(|_| Failure::bad("uploads"))?;
    match uploads.get(id) {
        Some(u) if u.root == root && &u.path == path => Ok(u.file.clone()),
        _ => Err(Failure::Storage(StorageError::NotFound(format!(
            "upload {id}"
        )))),
    }
}

/// `action=begin` starts an upload (answers its id); `action=commit` renames it into place.
pub(super) async fn upload_post(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Write, &[&path])?;
    match q.get("action").map(String::as_str) {
        Some("begin") => {
            let root = claims.root.clone();
            let p = path.clone();
            let file = blocking(move || storage_of(&claims)?.create(&p)).await?;
            let id = uuid::Uuid::new_v4().simple().to_string();
            a.uploads
                .lock()
                .map_err(|_| Failure::bad("uploads"))?
                .insert(
                    id.clone(),
                    Upload {
                        root,
                        path,
                        file: Arc::new(Mutex::new(Some(file))),
                    },
                );
            Ok(Json(serde_json::json!({"upload": id})))
        }
        Some("commit") => {
            let file = upload_of(&a, q.get("id"), &claims.root, &path)?;
            let mtime = q
                .get("mtime_ns")
                .and_then(|v| v.parse::<u64>().ok())
                .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns));
            let mode = q.get("mode").and_then(|v| v.parse::<u32>().ok());
            let fsync = q.get("fsync").is_none_or(|v| v == "true");
            blocking(move || {
                let taken = file.lock().ok().and_then(|mut f| f.take());
                match taken {
                    Some(w) => w.commit(mtime, mode, fsync),
                    None => Err(StorageError::NotFound("the upload".into())),
                }
            })
            .await?;
            if let (Some(id), Ok(mut u)) = (q.get("id"), a.uploads.lock()) {
                u.remove(id);
            }
            Ok(Json(serde_json::json!({})))
        }
        _ => Err(Failure::bad("action must be begin or commit")),
    }
}

/// Bytes at `offset` of an upload.
pub(super) async fn upload_put(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Write, &[&path])?;
    let file = upload_of(&a, q.get("id"), &claims.root, &path)?;
    let offset: u64 = q
        .get("offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Failure::bad("offset"))?;
    blocking(move || {
        let mut guard = file
            .lock()
            .map_err(|_| StorageError::Io("the upload".into()))?;
        let w = guard
            .as_mut()
            .ok_or_else(|| StorageError::NotFound("the upload".into()))?;
        w.seek(SeekFrom::Start(offset))
            .and_then(|_| w.write_all(&body))
            .map_err(|e| StorageError::from_io(&e, &path))
    })
    .await?;
    Ok(Json(serde_json::json!({})))
}

/// Abandons an upload (its temporary file goes).
pub(super) async fn upload_delete(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Json<serde_json::Value>, Failure> {
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Write, &[&path])?;
    upload_of(&a, q.get("id"), &claims.root, &path)?;
    let removed = match (q.get("id"), a.uploads.lock()) {
        (Some(id), Ok(mut u)) => u.remove(id),
        _ => None,
    };
    if let Some(u) = removed {
        let _ = tokio::task::spawn_blocking(move || drop(u)).await;
    }
    Ok(Json(serde_json::json!({})))
}

/// What an upload holds so far, from `offset` (at most 64 MiB per answer; none past its end),
/// for the sender's verification.
pub(super) async fn upload_get(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Query(q): Q,
) -> Result<Response, Failure> {
    const MOST: u64 = 64 << 20;
    let path = rel(q.get("path"))?;
    let claims = a.authorize(&h, Op::Write, &[&path])?;
    let file = upload_of(&a, q.get("id"), &claims.root, &path)?;
    let offset: u64 = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let data = blocking(move || {
        let guard = file
            .lock()
            .map_err(|_| StorageError::Io("the upload".into()))?;
        let w = guard
            .as_ref()
            .ok_or_else(|| StorageError::NotFound("the upload".into()))?;
        let io = |e: std::io::Error| StorageError::from_io(&e, &path);
        // A reader of its own from `offset` (a seek, not a re-read of what came before), and
        // the upload's lock let go before the read so its writes do not wait for it.
        let r = w.read_back_from(offset)?;
        drop(guard);
        let mut out = Vec::new();
        r.take(MOST).read_to_end(&mut out).map_err(io)?;
        Ok(out)
    })
    .await?;
    Ok((StatusCode::OK, data).into_response())
}
