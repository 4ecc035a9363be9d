//! `PUT` of one file: the body streamed to a temporary name beside the target
//! ([`Storage::create`]) and renamed over it only once the body is complete (and its digest, when
//! the client sent one, matches). An upload that breaks off, or sends nothing for the idle
//! timeout, leaves neither a partial target nor the temporary file.

use super::{blocking, HttpsError};
use crate::storage::{EntryKind, RelPath, Storage, StorageError, WriteFile};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::BytesMut;
use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Bytes gathered from the body before one blocking write.
const CHUNK: usize = 1 << 20;
/// How long an upload may go without a byte before it is abandoned.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(60);

/// A digest the client announced for the whole content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expected {
    Md5(Vec<u8>),
    Sha256(Vec<u8>),
    Sha512(Vec<u8>),
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn for_expected(e: &Expected) -> Self {
        match e {
            Expected::Md5(_) => Self::Md5(Md5::new()),
            Expected::Sha256(_) => Self::Sha256(Sha256::new()),
            Expected::Sha512(_) => Self::Sha512(Sha512::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Self::Md5(h) => h.update(b),
            Self::Sha256(h) => h.update(b),
            Self::Sha512(h) => h.update(b),
        }
    }
    fn matches(self, e: &Expected) -> bool {
        let got: Vec<u8> = match self {
            Self::Md5(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        };
        let want = match e {
            Expected::Md5(w) | Expected::Sha256(w) | Expected::Sha512(w) => w,
        };
        got == *want
    }
}

/// The digest to check, from `Repr-Digest` (RFC 9530: `sha-256=:base64:`), `Digest` (RFC 3230:
/// `SHA-256=base64`) or `Content-MD5` (RFC 1864); the strongest algorithm given wins. A header
/// that does not parse is a 400: the client asked for a check we cannot make.
pub(super) fn expected(headers: &HeaderMap) -> Result<Option<Expected>, HttpsError> {
    let b64 = |v: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(v.trim().trim_matches(':'))
            .map_err(|_| HttpsError::bad_request("A digest header's value is not base64"))
    };
    let mut found: Vec<Expected> = Vec::new();
    for name in ["repr-digest", "digest"] {
        for value in headers.get_all(name) {
            let value = value
                .to_str()
                .map_err(|_| HttpsError::bad_request("A digest header is not text"))?;
            for item in value.split(',') {
                let Some((algo, v)) = item.split_once('=') else {
                    return Err(HttpsError::bad_request("A digest header does not parse"));
                };
                match algo.trim().to_ascii_lowercase().as_str() {
                    "sha-256" => found.push(Expected::Sha256(b64(v)?)),
                    "sha-512" => found.push(Expected::Sha512(b64(v)?)),
                    "md5" => found.push(Expected::Md5(b64(v)?)),
                    // Algorithms we do not compute are skipped (RFC 9530 §3).
                    _ => {}
                }
            }
        }
    }
    if let Some(v) = headers.get("content-md5") {
        let v = v
            .to_str()
            .map_err(|_| HttpsError::bad_request("Content-MD5 is not text"))?;
        found.push(Expected::Md5(b64(v)?));
    }
    let rank = |e: &Expected| match e {
        Expected::Sha512(_) => 3,
        Expected::Sha256(_) => 2,
        Expected::Md5(_) => 1,
    };
    Ok(found.into_iter().max_by_key(rank))
}

pub(super) async fn put(
    storage: Arc<dyn Storage>,
    path: RelPath,
    headers: &HeaderMap,
    body: Body,
    idle: Duration,
) -> Result<Response, HttpsError> {
    if path.is_root() {
        return Err(HttpsError::conflict("Is a directory: /"));
    }
    let expected = expected(headers)?;
    // Before the body is read (a client waiting on `Expect: 100-continue` sends nothing yet):
    // whether the name exists, and the temporary file beside it.
    let target = path.clone();
    let (existed, file) = blocking(move || {
        let existed = match storage.stat(&target) {
            Ok(e) if e.kind == EntryKind::Dir => {
                return Err(StorageError::IsADirectory(target.to_api()))
            }
            Ok(_) => true,
            Err(StorageError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        let file = storage.create(&target).map_err(|e| match e {
            // The parent is missing: a conflict with the tree, not a missing resource.
            StorageError::NotFound(_) => StorageError::NotADirectory(format!(
                "{}: the parent directory does not exist",
                target.to_api()
            )),
            other => other,
        })?;
        Ok((existed, file))
    })
    .await?;
    let mut sink = Sink {
        file,
        hasher: expected.as_ref().map(Hasher::for_expected),
        path,
    };
    // The body is received here, on the async side, and gathered into chunks of `CHUNK` bytes;
    // each chunk is one short blocking write while the next is being received. No thread waits
    // on the client: one that stops sending holds this future and a buffer until `idle`.
    let mut buf = BytesMut::new();
    let mut slot = Slot::Idle(Box::new(sink));
    let mut stream = body.into_data_stream();
    loop {
        let refused = match tokio::time::timeout(idle, stream.next()).await {
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => {
                buf.extend_from_slice(&chunk);
                None
            }
            Ok(Some(Err(_))) => Some(HttpsError::bad_request(
                "The upload broke off before its end; nothing was written",
            )),
            Err(_) => Some(HttpsError::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                format!(
                    "No byte of the upload arrived for {} s; nothing was written",
                    idle.as_secs_f64()
                ),
            )),
        };
        if let Some(e) = refused {
            slot.discard().await;
            return Err(e);
        }
        if buf.len() >= CHUNK {
            sink = slot.settle().await?;
            let data = buf.split().freeze();
            slot = Slot::Busy(tokio::task::spawn_blocking(move || sink.write(&data)));
        }
    }
    sink = slot.settle().await?;
    let data = buf.split().freeze();
    blocking_https(move || sink.write(&data)?.finish(expected.as_ref())).await?;
    Ok(if existed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::CREATED.into_response()
    })
}

/// Runs a blocking step of an upload off the async threads.
async fn blocking_https<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HttpsError> + Send + 'static,
) -> Result<T, HttpsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(HttpsError::internal)?
}

/// The temporary file being written, and the digest of what it holds so far.
struct Sink {
    file: Box<dyn WriteFile>,
    hasher: Option<Hasher>,
    path: RelPath,
}

impl Sink {
    /// Appends `data` (blocking). On failure the file is dropped here, which removes the
    /// temporary name.
    fn write(mut self, data: &[u8]) -> Result<Self, HttpsError> {
        if data.is_empty() {
            return Ok(self);
        }
        self.file
            .write_all(data)
            .map_err(|e| HttpsError::from_storage(StorageError::from_io(&e, &self.path)))?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(data);
        }
        Ok(self)
    }

    /// Checks the digest and renames the file over the target (blocking).
    fn finish(self, expected: Option<&Expected>) -> Result<(), HttpsError> {
        if let (Some(h), Some(e)) = (self.hasher, expected) {
            if !h.matches(e) {
                return Err(HttpsError::bad_request(
                    "The content does not match the digest sent with it; nothing was written",
                ));
            }
        }
        // Durable before the name appears: after a crash the target is the old file or the new
        // one.
        self.file
            .commit(None, None, true)
            .map_err(HttpsError::from_storage)
    }
}

/// The sink, idle or busy with one blocking write.
enum Slot {
    Idle(Box<Sink>),
    Busy(JoinHandle<Result<Sink, HttpsError>>),
}

impl Slot {
    /// The sink once its write is done, or that write's error.
    async fn settle(self) -> Result<Sink, HttpsError> {
        match self {
            Self::Idle(s) => Ok(*s),
            Self::Busy(h) => h.await.map_err(HttpsError::internal)?,
        }
    }

    /// Abandons the upload: the temporary file is removed before this returns.
    async fn discard(self) {
        if let Ok(sink) = self.settle().await {
            let _ = tokio::task::spawn_blocking(move || drop(sink)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn digest_headers_pick_the_strongest_and_refuse_junk() {
        let mut h = HeaderMap::new();
        assert_eq!(expected(&h).unwrap(), None);
        h.insert("content-md5", HeaderValue::from_static("AAAA"));
        assert_eq!(expected(&h).unwrap(), Some(Expected::Md5(vec![0, 0, 0])));
        h.insert(
            "repr-digest",
            HeaderValue::from_static("unixsum=1, sha-256=:AAAA:"),
        );
        assert_eq!(expected(&h).unwrap(), Some(Expected::Sha256(vec![0, 0, 0])));
        h.insert("digest", HeaderValue::from_static("SHA-512=AAAA"));
        assert_eq!(expected(&h).unwrap(), Some(Expected::Sha512(vec![0, 0, 0])));
        h.insert("digest", HeaderValue::from_static("SHA-512=!!"));
        assert!(expected(&h).is_err());
    }
}
