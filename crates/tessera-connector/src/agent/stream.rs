//! The source's side of a batch (`POST /connector/v1/stream`): the files a [`StreamRequest`]
//! names, in its order, as one streamed answer (`crate::stream`), under a read capability that
//! covers every one of them. Each file is read once: its checksum is computed while its bytes
//! go out; a file in sync with what the destination has (the task's sync level) is answered
//! `skip` and not sent.

use super::{storage_of, Agent, Failure};
use crate::capability::Op;
use crate::stream::{self, FileHead, FileTail, Have, StreamRequest};
use crate::wire::ErrorDoc;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use std::io::{Read, SeekFrom};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use tessera_transfer::data::ChecksumAlgorithm;
use tessera_transfer::storage::{EntryKind, ReadFile, RelPath, Storage, StorageError};
use tokio::sync::mpsc;

/// What the producer hands the body at once (records of small files are packed together).
const PIECE: usize = 256 << 10;

pub(super) async fn serve(
    State(a): State<Arc<Agent>>,
    h: HeaderMap,
    Json(req): Json<StreamRequest>,
) -> Result<Response, Failure> {
    if req.files.is_empty() || req.files.len() > stream::MAX_FILES {
        return Err(Failure::bad(format!(
            "a stream asks for 1 to {} files",
            stream::MAX_FILES
        )));
    }
    let mut paths = Vec::with_capacity(req.files.len());
    let mut algs = Vec::with_capacity(req.files.len());
    for f in &req.files {
        paths.push(RelPath::parse(&f.path).map_err(Failure::Storage)?);
        algs.push(
            f.algorithm
                .parse::<ChecksumAlgorithm>()
                .map_err(|_| Failure::bad("unknown checksum algorithm"))?,
        );
    }
    let refs: Vec<&RelPath> = paths.iter().collect();
    let claims = a.authorize(&h, Op::Read, &refs)?;
    let storage = storage_of(&claims).map_err(Failure::Storage)?;
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::task::spawn_blocking(move || produce(&storage, &req, &paths, &algs, &tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Ok(Response::new(Body::from_stream(body)))
}

/// Packs records into pieces for the body; `false` once the destination went away.
struct Out<'a> {
    tx: &'a mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl Out<'_> {
    fn put(&mut self, data: &[u8]) -> bool {
        self.buf.extend_from_slice(data);
        self.buf.len() < PIECE || self.flush()
    }

    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx.blocking_send(piece).is_ok()
    }
}

fn ns(t: std::time::SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn produce(
    storage: &dyn Storage,
    req: &StreamRequest,
    paths: &[RelPath],
    algs: &[ChecksumAlgorithm],
    tx: &mpsc::Sender<Bytes>,
) {
    let mut out = Out {
        tx,
        buf: Vec::with_capacity(PIECE),
    };
    let mut chunk = vec![0u8; PIECE];
    for (index, ((want, path), alg)) in req.files.iter().zip(paths).zip(algs).enumerate() {
        let mut head = FileHead {
            index,
            path: want.path.clone(),
            size: 0,
            modified_ns: 0,
            permissions: 0,
            skip: None,
            error: None,
        };
        let opened = storage.open_read(path).and_then(|f| match f.entry().kind {
            EntryKind::File => Ok(f),
            _ => Err(StorageError::IsADirectory(path.to_api())),
        });
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                head.error = Some(ErrorDoc::from(&e));
                if !out.put(&stream::frame(&head)) {
                    return;
                }
                continue;
            }
        };
        let entry = file.entry().clone();
        head.size = entry.size;
        head.modified_ns = ns(entry.modified);
        head.permissions = entry.permissions & 0o777;
        match in_sync(req.sync_level, want.have.as_ref(), file.as_mut(), *alg) {
            Ok(Some(reason)) => {
                head.skip = Some(reason.into());
                if !out.put(&stream::frame(&head)) {
                    return;
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                head.error = Some(ErrorDoc::from(&e));
                if !out.put(&stream::frame(&head)) {
                    return;
                }
                continue;
            }
        }
        if !out.put(&stream::frame(&head)) {
            return;
        }
        let mut hasher = req.checksum.then(|| alg.hasher());
        let mut left = entry.size;
        let mut error = None;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
            let n = match file.read(&mut chunk[..want]) {
                Ok(0) => {
                    error = Some(StorageError::Io(format!(
                        "{} shrank while it was read",
                        path.to_api()
                    )));
                    0
                }
                Ok(n) => n,
                Err(e) => {
                    error = Some(StorageError::from_io(&e, path));
                    0
                }
            };
            if n == 0 {
                // The record promised `size` bytes: zeros, and a tail saying they are not
                // the file.
                chunk[..want].fill(0);
                if !out.put(&chunk[..want]) {
                    return;
                }
                left -= want as u64;
                continue;
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk[..n]);
            }
            if !out.put(&chunk[..n]) {
                return;
            }
            left -= n as u64;
        }
        let tail = FileTail {
            checksum: hasher.map(|h| h.finish()),
            error: error.as_ref().map(ErrorDoc::from),
        };
        if !out.put(&stream::frame(&tail)) {
            return;
        }
    }
    out.flush();
}

/// The sync level's verdict (the same rules as a single file's, `service/direct.rs`).
fn in_sync(
    level: Option<u8>,
    have: Option<&Have>,
    file: &mut dyn ReadFile,
    alg: ChecksumAlgorithm,
) -> Result<Option<&'static str>, StorageError> {
    let (Some(level), Some(have)) = (level, have) else {
        return Ok(None);
    };
    let e = file.entry();
    let same_size = e.size == have.size;
    Ok(match level {
        0 => Some("Exists"),
        1 if same_size => Some("SameSize"),
        2 if same_size && have.modified_ns >= ns(e.modified) => Some("NotNewer"),
        3 if same_size && have.checksum.is_some() => {
            let mut h = alg.hasher();
            let mut buf = vec![0u8; PIECE];
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(|e| StorageError::Io(e.to_string()))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            file.seek(SeekFrom::Start(0))
                .map_err(|e| StorageError::Io(e.to_string()))?;
            (have.checksum.as_deref() == Some(h.finish().as_str())).then_some("SameChecksum")
        }
        _ => None,
    })
}
