//! Writing a file on a connector through this process (a copy between a local endpoint and a
//! connector's): the connector writes a temporary file (its storage's `create`), this side
//! sends the bytes in chunks at their offsets, and the commit renames it into place. Dropped
//! uncommitted, the upload is abandoned and the connector removes the temporary file.

use super::remote::RemoteStorage;
use crate::capability::{self, Op};
use crate::wire::{self, routes};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tessera_transfer::storage::{RelPath, StorageError, WriteFile};

/// Bytes sent per request.
const CHUNK: usize = 8 << 20;

pub(crate) fn begin(
    storage: Arc<RemoteStorage>,
    path: &RelPath,
) -> Result<Box<dyn WriteFile>, StorageError> {
    let mut upload = RemoteWrite {
        storage,
        path: path.clone(),
        id: String::new(),
        offset: 0,
        buf: Vec::with_capacity(CHUNK),
        done: false,
    };
    let resp = upload.send(reqwest::Method::POST, &[("action", "begin".into())], None)?;
    let doc: serde_json::Value = upload
        .storage
        .handle
        .block_on(resp.json())
        .map_err(|e| StorageError::Io(format!("connector: unreadable answer: {e}")))?;
    upload.id = doc
        .get("upload")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Box::new(upload))
}

struct RemoteWrite {
    storage: Arc<RemoteStorage>,
    path: RelPath,
    id: String,
    /// Where `buf` starts in the file.
    offset: u64,
    buf: Vec<u8>,
    done: bool,
}

impl RemoteWrite {
    fn send(
        &self,
        method: reqwest::Method,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, StorageError> {
        let s = &self.storage;
        let cap = s.capability(vec![Op::Write], vec![self.path.to_api()], capability::TTL);
        let mut q = vec![("path", self.path.to_api()), ("id", self.id.clone())];
        q.extend(query.iter().cloned());
        let mut req = s
            .http
            .request(method, format!("{}{}", s.base, routes::UPLOAD))
            .header(wire::CAPABILITY_HEADER, cap)
            .query(&q);
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = s
            .handle
            .block_on(req.send())
            .map_err(|e| s.unreachable(&e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(s.error_of(resp))
        }
    }

    fn flush_buf(&mut self) -> Result<(), StorageError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let body = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let len = body.len() as u64;
        self.send(
            reqwest::Method::PUT,
            &[("offset", self.offset.to_string())],
            Some(body),
        )?;
        self.offset += len;
        Ok(())
    }
}

impl Write for RemoteWrite {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush_buf().map_err(std::io::Error::other)?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buf().map_err(std::io::Error::other)
    }
}

impl Seek for RemoteWrite {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.flush_buf().map_err(std::io::Error::other)?;
        match to {
            SeekFrom::Start(n) => self.offset = n,
            SeekFrom::Current(d) => {
                self.offset = self.offset.checked_add_signed(d).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "before the start")
                })?
            }
            SeekFrom::End(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "seek from the end of an upload",
                ))
            }
        }
        Ok(self.offset)
    }
}

impl WriteFile for RemoteWrite {
    fn commit(
        mut self: Box<Self>,
        modified: Option<SystemTime>,
        permissions: Option<u32>,
        fsync: bool,
    ) -> Result<(), StorageError> {
        self.flush_buf()?;
        let mut q = vec![
            ("action", "commit".to_owned()),
            ("fsync", fsync.to_string()),
        ];
        if let Some(t) = modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
            q.push(("mtime_ns", t.as_nanos().to_string()));
        }
        if let Some(p) = permissions {
            q.push(("mode", p.to_string()));
        }
        self.send(reqwest::Method::POST, &q, None)?;
        self.done = true;
        Ok(())
    }

    fn read_back(&self) -> Result<Box<dyn Read + Send>, StorageError> {
        Ok(Box::new(Follow {
            storage: self.storage.clone(),
            path: self.path.clone(),
            id: self.id.clone(),
            offset: 0,
            buf: bytes::Bytes::new(),
        }))
    }
}

/// What an upload holds so far, read from the connector as it grows: each read past what was
/// fetched asks for the bytes from there on; none yet is end-of-file for now (the contract of
/// `WriteFile::read_back`).
struct Follow {
    storage: Arc<RemoteStorage>,
    path: RelPath,
    id: String,
    offset: u64,
    buf: bytes::Bytes,
}

impl Read for Follow {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            let s = &self.storage;
            let cap = s.capability(vec![Op::Write], vec![self.path.to_api()], capability::TTL);
            let req = s
                .http
                .get(format!("{}{}", s.base, routes::UPLOAD))
                .header(wire::CAPABILITY_HEADER, cap)
                .query(&[
                    ("path", self.path.to_api()),
                    ("id", self.id.clone()),
                    ("offset", self.offset.to_string()),
                ]);
            let resp = s
                .handle
                .block_on(req.send())
                .map_err(|e| std::io::Error::other(s.unreachable(&e)))?;
            if !resp.status().is_success() {
                return Err(std::io::Error::other(s.error_of(resp)));
            }
            self.buf = s
                .handle
                .block_on(resp.bytes())
                .map_err(|e| std::io::Error::other(s.unreachable(&e)))?;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        self.offset += n as u64;
        Ok(n)
    }
}

impl Drop for RemoteWrite {
    fn drop(&mut self) {
        if !self.done && !self.id.is_empty() {
            let _ = self.send(reqwest::Method::DELETE, &[], None);
        }
    }
}
