//! A connector's endpoint as a [`Storage`]: every call is one HTTP request to the connector's
//! public URL with a capability for exactly that operation on exactly those paths. Blocking, as
//! `Storage` is: the async client is driven with `Handle::block_on` (callers are on the
//! blocking pool or a data thread, never on the async workers).
//!
//! A connector that stated its certificate's fingerprint is reached over TLS pinned to it (its
//! public URL with `https://`, `crate::pin`), and the capabilities sent it then demand TLS:
//! they are never readable on the wire. A certificate other than the pinned one is a refusal
//! (`PermissionDenied`), not an unreachable connector.

use crate::capability::{self, Claims, Op};
use crate::wire::{self, routes, EntryDoc, ErrorDoc};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use tessera_transfer::storage::{Entry, ReadFile, RelPath, Storage, StorageError, WriteFile};
use tokio::runtime::Handle;
use uuid::Uuid;

/// One endpoint on one connector.
pub struct RemoteStorage {
    pub(crate) connector: Uuid,
    pub(crate) name: String,
    /// Where this service reaches it, without a trailing `/`: its public URL, or the TLS URL
    /// when its fingerprint is known.
    pub(crate) base: String,
    /// Its public URL as it stated it, without a trailing `/`.
    pub(crate) public: String,
    /// SHA-256 of its certificate (lower-case hex), as it stated it at check-in.
    pub(crate) fingerprint: Option<String>,
    /// Whether `base` is TLS (pinned to `fingerprint`).
    pub(crate) tls: bool,
    /// The endpoint's root on the connector's host.
    pub(crate) root: String,
    pub(crate) key: Arc<Vec<u8>>,
    pub(crate) http: reqwest::Client,
    pub(crate) handle: Handle,
}

impl RemoteStorage {
    /// A capability for `ops` on `paths`, valid for `ttl` seconds, sent over this storage's
    /// own connection (demanding TLS when that is TLS).
    pub(crate) fn capability(&self, ops: Vec<Op>, paths: Vec<String>, ttl: i64) -> String {
        self.capability_over(ops, paths, ttl, self.tls)
    }

    /// A capability that demands TLS or not.
    pub(crate) fn capability_over(
        &self,
        ops: Vec<Op>,
        paths: Vec<String>,
        ttl: i64,
        tls: bool,
    ) -> String {
        capability::sign(
            &self.key,
            &Claims {
                c: self.connector,
                root: self.root.clone(),
                ops,
                paths,
                exp: wire::now_secs() + ttl,
                tls,
            },
        )
    }

    /// A request that failed: the connector is unreachable (`Io`, waited for), unless it
    /// presented another certificate than the pinned one (`PermissionDenied`).
    pub(crate) fn unreachable(&self, e: &reqwest::Error) -> StorageError {
        match crate::pin::mismatch(e) {
            Some(why) => {
                StorageError::PermissionDenied(format!("connector {}: its {why}", self.name))
            }
            None => StorageError::Io(format!("connector {} unreachable: {e}", self.name)),
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        route: &str,
        op: Op,
        paths: &[&RelPath],
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, StorageError> {
        let cap = self.capability(
            vec![op],
            paths.iter().map(|p| p.to_api()).collect(),
            capability::TTL,
        );
        let req = self
            .http
            .request(method, format!("{}{route}", self.base))
            .header(wire::CAPABILITY_HEADER, cap)
            .query(query);
        let resp = self
            .handle
            .block_on(req.send())
            .map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.error_of(resp))
    }

    /// The storage error a refusal carries.
    pub(crate) fn error_of(&self, resp: reqwest::Response) -> StorageError {
        let status = resp.status();
        let doc = self.handle.block_on(resp.json::<ErrorDoc>()).ok();
        refusal(&self.name, status, doc)
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        route: &str,
        op: Op,
        paths: &[&RelPath],
        query: &[(&str, String)],
    ) -> Result<T, StorageError> {
        let resp = self.request(method, route, op, paths, query)?;
        self.handle.block_on(resp.json::<T>()).map_err(|e| {
            StorageError::Io(format!("connector {}: unreadable answer: {e}", self.name))
        })
    }

    /// The checksum of `path` (of its first `length` bytes when given), computed by the
    /// connector.
    pub(crate) fn checksum(
        &self,
        path: &RelPath,
        algorithm: &str,
        length: Option<u64>,
    ) -> Result<String, StorageError> {
        let mut query = vec![("path", path.to_api()), ("algorithm", algorithm.to_owned())];
        if let Some(l) = length {
            query.push(("length", l.to_string()));
        }
        let doc: serde_json::Value = self.json(
            reqwest::Method::GET,
            routes::CHECKSUM,
            Op::Read,
            &[path],
            &query,
        )?;
        doc.get("checksum")
            .and_then(|c| c.as_str())
            .map(str::to_owned)
            .ok_or_else(|| StorageError::Io("connector: no checksum in its answer".into()))
    }
}

impl Storage for RemoteStorage {
    fn stat(&self, path: &RelPath) -> Result<Entry, StorageError> {
        let doc: EntryDoc = self.json(
            reqwest::Method::GET,
            routes::STAT,
            Op::Stat,
            &[path],
            &[("path", path.to_api())],
        )?;
        Ok(doc.into())
    }

    fn list(&self, dir: &RelPath) -> Result<Vec<Entry>, StorageError> {
        let docs: Vec<EntryDoc> = self.json(
            reqwest::Method::GET,
            routes::LIST,
            Op::List,
            &[dir],
            &[("path", dir.to_api())],
        )?;
        Ok(docs.into_iter().map(Entry::from).collect())
    }

    fn mkdir(&self, path: &RelPath) -> Result<(), StorageError> {
        self.request(
            reqwest::Method::POST,
            routes::MKDIR,
            Op::Mkdir,
            &[path],
            &[("path", path.to_api())],
        )
        .map(drop)
    }

    fn list_many(&self, dirs: &[RelPath]) -> Vec<Result<Vec<Entry>, StorageError>> {
        use crate::wire_batch::{routes as batch_routes, Listing, Mkdirs};
        let mut out = Vec::with_capacity(dirs.len());
        for chunk in dirs.chunks(256) {
            let cap = self.capability(
                vec![Op::List],
                chunk.iter().map(RelPath::to_api).collect(),
                capability::TTL,
            );
            let req = self
                .http
                .post(format!("{}{}", self.base, batch_routes::LISTS))
                .header(wire::CAPABILITY_HEADER, cap)
                .json(&Mkdirs {
                    paths: chunk.iter().map(RelPath::to_api).collect(),
                });
            let got: Result<Vec<Listing>, StorageError> = self
                .handle
                .block_on(req.send())
                .map_err(|e| self.unreachable(&e))
                .and_then(|resp| {
                    if !resp.status().is_success() {
                        return Err(self.error_of(resp));
                    }
                    self.handle.block_on(resp.json()).map_err(|e| {
                        StorageError::Io(format!("connector {}: unreadable answer: {e}", self.name))
                    })
                })
                .and_then(|l: Vec<Listing>| match l.len() == chunk.len() {
                    true => Ok(l),
                    false => Err(StorageError::Io(format!(
                        "connector {}: {} listings for {} directories",
                        self.name,
                        l.len(),
                        chunk.len()
                    ))),
                });
            match got {
                Ok(listings) => {
                    out.extend(listings.into_iter().map(|l| match (l.entries, l.error) {
                        (Some(e), _) => Ok(e.into_iter().map(Entry::from).collect()),
                        (None, Some(err)) => Err(err.into()),
                        (None, None) => Err(StorageError::Io("no listing".into())),
                    }))
                }
                Err(e) => {
                    let doc = ErrorDoc::from(&e);
                    out.extend(chunk.iter().map(|_| Err(doc.clone().into())));
                }
            }
        }
        out
    }

    fn mkdir_all_many(&self, dirs: &[RelPath]) -> Result<(), (usize, StorageError)> {
        use crate::wire_batch::{routes as batch_routes, Mkdirs, MkdirsDone};
        for (n, chunk) in dirs.chunks(256).enumerate() {
            let at = n * 256;
            let cap = self.capability(
                vec![Op::Mkdir],
                chunk.iter().map(RelPath::to_api).collect(),
                capability::TTL,
            );
            let req = self
                .http
                .post(format!("{}{}", self.base, batch_routes::MKDIRS))
                .header(wire::CAPABILITY_HEADER, cap)
                .json(&Mkdirs {
                    paths: chunk.iter().map(RelPath::to_api).collect(),
                });
            let resp = self
                .handle
                .block_on(req.send())
                .map_err(|e| (at, self.unreachable(&e)))?;
            if !resp.status().is_success() {
                return Err((at, self.error_of(resp)));
            }
            let done: MkdirsDone = self.handle.block_on(resp.json()).map_err(|e| {
                let m = format!("connector {}: unreadable answer: {e}", self.name);
                (at, StorageError::Io(m))
            })?;
            if let Some((i, doc)) = done.failed {
                return Err((at + i, doc.into()));
            }
        }
        Ok(())
    }

    fn mkdir_all(&self, path: &RelPath) -> Result<(), StorageError> {
        self.request(
            reqwest::Method::POST,
            routes::MKDIR,
            Op::Mkdir,
            &[path],
            &[("path", path.to_api()), ("all", "true".into())],
        )
        .map(drop)
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<(), StorageError> {
        self.request(
            reqwest::Method::POST,
            routes::RENAME,
            Op::Rename,
            &[from, to],
            &[("from", from.to_api()), ("to", to.to_api())],
        )
        .map(drop)
    }

    fn remove(&self, path: &RelPath, recursive: bool) -> Result<u64, StorageError> {
        let doc: serde_json::Value = self.json(
            reqwest::Method::POST,
            routes::REMOVE,
            Op::Remove,
            &[path],
            &[
                ("path", path.to_api()),
                ("recursive", recursive.to_string()),
            ],
        )?;
        Ok(doc.get("removed").and_then(|v| v.as_u64()).unwrap_or(0))
    }

    fn open_read(&self, path: &RelPath) -> Result<Box<dyn ReadFile>, StorageError> {
        let entry = self.stat(path)?;
        if entry.kind != tessera_transfer::storage::EntryKind::File {
            return Err(StorageError::IsADirectory(path.to_api()));
        }
        Ok(Box::new(RemoteRead {
            storage: self.clone_handle(),
            path: path.clone(),
            entry,
            pos: 0,
            body: None,
            buf: Bytes::new(),
        }))
    }

    fn create(&self, path: &RelPath) -> Result<Box<dyn WriteFile>, StorageError> {
        super::upload::begin(self.clone_handle(), path)
    }

    fn sync_all(&self) -> Result<(), StorageError> {
        let root = RelPath::root();
        self.request(reqwest::Method::POST, routes::SYNC, Op::Sync, &[&root], &[])
            .map(drop)
    }

    fn connector(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl RemoteStorage {
    pub(crate) fn clone_handle(&self) -> Arc<RemoteStorage> {
        Arc::new(RemoteStorage {
            connector: self.connector,
            name: self.name.clone(),
            base: self.base.clone(),
            public: self.public.clone(),
            fingerprint: self.fingerprint.clone(),
            tls: self.tls,
            root: self.root.clone(),
            key: self.key.clone(),
            http: self.http.clone(),
            handle: self.handle.clone(),
        })
    }

    /// A ranged read of `path` from `offset` to its end.
    pub(crate) fn get_from(
        &self,
        path: &RelPath,
        offset: u64,
    ) -> Result<reqwest::Response, StorageError> {
        let cap = self.capability(vec![Op::Read], vec![path.to_api()], capability::TTL);
        let req = self
            .http
            .get(format!("{}{}", self.base, routes::FILE))
            .header(wire::CAPABILITY_HEADER, cap)
            .header(reqwest::header::RANGE, format!("bytes={offset}-"))
            .query(&[("path", path.to_api())]);
        let resp = self
            .handle
            .block_on(req.send())
            .map_err(|e| self.unreachable(&e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.error_of(resp))
        }
    }
}

/// The storage error of a connector's refusal: the kind its error document names; else (no
/// document, or a kind this side does not know: another version, a proxy in between) what its
/// status means, so a client's mistake stays a client's mistake (a 4xx of the API or of the
/// HTTPS access) and only a failure of the connector or its storage becomes `Io` (502).
pub(crate) fn refusal(
    connector: &str,
    status: reqwest::StatusCode,
    doc: Option<ErrorDoc>,
) -> StorageError {
    use reqwest::StatusCode as S;
    let message = match doc {
        Some(d) if wire::is_known_kind(&d.kind) => return d.into(),
        Some(d) => d.message,
        None => format!("connector {connector} answered {status}"),
    };
    match status {
        S::NOT_FOUND | S::GONE => StorageError::NotFound(message),
        S::UNAUTHORIZED | S::FORBIDDEN => StorageError::PermissionDenied(message),
        S::CONFLICT | S::PRECONDITION_FAILED => StorageError::Exists(message),
        S::PAYLOAD_TOO_LARGE | S::INSUFFICIENT_STORAGE => StorageError::NoSpace(message),
        s if s.is_client_error() => StorageError::InvalidPath(message),
        _ => StorageError::Io(message),
    }
}

/// A file on a connector, read front to back (a seek opens a new ranged read).
struct RemoteRead {
    storage: Arc<RemoteStorage>,
    path: RelPath,
    entry: Entry,
    pos: u64,
    body: Option<reqwest::Response>,
    buf: Bytes,
}

impl Read for RemoteRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            if self.pos >= self.entry.size {
                return Ok(0);
            }
            if self.body.is_none() {
                let resp = self
                    .storage
                    .get_from(&self.path, self.pos)
                    .map_err(std::io::Error::other)?;
                self.body = Some(resp);
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(0);
            };
            match self.storage.handle.block_on(body.chunk()) {
                Ok(Some(chunk)) => self.buf = chunk,
                Ok(None) => return Ok(0),
                Err(e) => {
                    self.body = None;
                    return Err(std::io::Error::other(self.storage.unreachable(&e)));
                }
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteRead {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let size = i128::from(self.entry.size);
        let target = match to {
            SeekFrom::Start(n) => i128::from(n),
            SeekFrom::End(d) => size + i128::from(d),
            SeekFrom::Current(d) => i128::from(self.pos) + i128::from(d),
        };
        let target = u64::try_from(target).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "before the start")
        })?;
        if target != self.pos {
            self.body = None;
            self.buf = Bytes::new();
            self.pos = target;
        }
        Ok(target)
    }
}

impl ReadFile for RemoteRead {
    fn entry(&self) -> &Entry {
        &self.entry
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use reqwest::StatusCode as S;

    fn doc(kind: &str) -> Option<ErrorDoc> {
        Some(ErrorDoc {
            kind: kind.into(),
            message: "m".into(),
        })
    }

    #[test]
    fn a_connectors_refusal_keeps_its_kind_else_its_status_decides() {
        // The document's kind wins.
        assert!(matches!(
            refusal("c", S::NOT_FOUND, doc("not_found")),
            StorageError::NotFound(_)
        ));
        assert!(matches!(
            refusal("c", S::BAD_REQUEST, doc("no_space")),
            StorageError::NoSpace(_)
        ));
        assert!(matches!(
            refusal("c", S::FORBIDDEN, doc("capability")),
            StorageError::PermissionDenied(_)
        ));
        // Without one, or with a kind unknown here: the status, never Io for a 4xx.
        let cases = [
            (S::NOT_FOUND, "not_found"),
            (S::GONE, "not_found"),
            (S::FORBIDDEN, "permission_denied"),
            (S::UNAUTHORIZED, "permission_denied"),
            (S::CONFLICT, "exists"),
            (S::PAYLOAD_TOO_LARGE, "no_space"),
            (S::INSUFFICIENT_STORAGE, "no_space"),
            (S::RANGE_NOT_SATISFIABLE, "invalid_path"),
            (S::UNPROCESSABLE_ENTITY, "invalid_path"),
            (S::IM_A_TEAPOT, "invalid_path"),
            (S::BAD_GATEWAY, "io"),
            (S::INTERNAL_SERVER_ERROR, "io"),
        ];
        for (status, kind) in cases {
            for d in [None, doc("from_a_newer_version")] {
                let e = refusal("c", status, d.clone());
                assert_eq!(ErrorDoc::from(&e).kind, kind, "{status} {d:?}: {e:?}");
            }
        }
        // A server error stays one whatever the document says.
        assert!(matches!(
            refusal("c", S::SERVICE_UNAVAILABLE, doc("odd")),
            StorageError::Io(_)
        ));
    }
}
