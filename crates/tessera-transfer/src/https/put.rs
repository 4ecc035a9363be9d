//! `PUT` of one file: the body streamed to a temporary name beside the target
//! ([`Storage::create`]) and renamed over it only once the body is complete (and its digest, when
//! the client sent one, matches). An upload that breaks off leaves neither a partial target nor
//! the temporary file.

use super::{blocking, HttpsError};
use crate::storage::{EntryKind, RelPath, Storage, StorageError, WriteFile};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};
use std::io::Write;
use std::sync::Arc;

/// Chunks received ahead of the disk.
const AHEAD: usize = 8;

enum Msg {
    Data(Bytes),
    /// The body ended normally: commit.
    Done,
}

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
    let (tx, rx) = tokio::sync::mpsc::channel::<Msg>(AHEAD);
    let writer = tokio::task::spawn_blocking(move || write(file, rx, path, expected));
    let mut stream = body.into_data_stream();
    let mut broken = false;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(chunk) => {
                if tx.send(Msg::Data(chunk)).await.is_err() {
                    // The writer failed; its error is the answer.
                    break;
                }
            }
            Err(_) => {
                broken = true;
                break;
            }
        }
    }
    if !broken {
        let _ = tx.send(Msg::Done).await;
    }
    drop(tx);
    let outcome = writer.await.map_err(HttpsError::internal)?;
    if broken {
        return Err(HttpsError::bad_request(
            "The upload broke off before its end; nothing was written",
        ));
    }
    outcome?;
    Ok(if existed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::CREATED.into_response()
    })
}

/// Writes chunks until `Done` (then checks and commits) or until the channel closes without it
/// (then drops the file, which removes the temporary name).
fn write(
    mut file: Box<dyn WriteFile>,
    mut rx: tokio::sync::mpsc::Receiver<Msg>,
    path: RelPath,
    expected: Option<Expected>,
) -> Result<(), HttpsError> {
    let mut hasher = expected.as_ref().map(Hasher::for_expected);
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(chunk)) => {
                file.write_all(&chunk)
                    .map_err(|e| HttpsError::from_storage(StorageError::from_io(&e, &path)))?;
                if let Some(h) = hasher.as_mut() {
                    h.update(&chunk);
                }
            }
            Some(Msg::Done) => break,
            None => return Ok(()),
        }
    }
    if let (Some(h), Some(e)) = (hasher, expected.as_ref()) {
        if !h.matches(e) {
            return Err(HttpsError::bad_request(
                "The content does not match the digest sent with it; nothing was written",
            ));
        }
    }
    // Durable before the name appears: after a crash the target is the old file or the new one.
    file.commit(None, None, true)
        .map_err(HttpsError::from_storage)
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
