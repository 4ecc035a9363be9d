//! `GET` and `HEAD` of one file: validators, a single byte range, conditional requests, and the
//! bytes streamed chunk by chunk, each chunk one short blocking read (never the whole file in
//! memory, never a thread parked on a slow client).

use super::range::{self, Wanted};
use super::{blocking, HttpsError};
use crate::storage::{ReadFile, RelPath, Storage};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// Bytes per read and per body chunk: large enough that a fast disk and loopback are not paced
/// by per-chunk costs, small enough that a few in flight stay a few MiB per download.
const CHUNK: usize = 1 << 20;

pub(super) async fn get(
    storage: Arc<dyn Storage>,
    path: RelPath,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response, HttpsError> {
    if path.is_root() {
        return Err(HttpsError::conflict("Is a directory: /"));
    }
    let file = blocking(move || storage.open_read(&path)).await?;
    let entry = file.entry().clone();
    let size = entry.size;
    let etag = etag(size, entry.modified);
    let last_modified = httpdate::fmt_http_date(entry.modified);
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-cache")
        // The files are people's, served on the site that holds the sign-in session: a
        // browser must neither guess a type nor run anything in them (an uploaded page opened
        // from a signed link would otherwise act as whoever opened it).
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, SANDBOX);
    if not_modified(headers, &etag, entry.modified) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(HttpsError::internal);
    }
    builder = builder.header(header::CONTENT_TYPE, content_type(&entry.name));
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let wanted = if if_range_holds(headers, &etag, &last_modified) {
        range::parse(range_header, size)
    } else {
        Wanted::Whole
    };
    let (status, start, len) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, size),
        Wanted::Part { start, end } => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Wanted::Unsatisfiable => return Err(HttpsError::range_not_satisfiable(size)),
    };
    builder = builder.status(status).header(header::CONTENT_LENGTH, len);
    let body = if head || len == 0 {
        Body::empty()
    } else {
        stream(file, start, len)
    };
    builder.body(body).map_err(HttpsError::internal)
}

/// The body: `len` bytes from `start`. See [`file_stream`].
fn stream(file: Box<dyn ReadFile>, start: u64, len: u64) -> Body {
    Body::from_stream(file_stream(file, start, len))
}

/// A blocking read of one chunk, with the file handed back for the next.
type Chunk = JoinHandle<(Box<dyn ReadFile>, std::io::Result<Bytes>)>;

fn read_chunk(mut file: Box<dyn ReadFile>, seek: Option<u64>, left: u64) -> Chunk {
    let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
    tokio::task::spawn_blocking(move || {
        let mut read = || {
            if let Some(start) = seek {
                file.seek(SeekFrom::Start(start))?;
            }
            // `read_to_end` fills spare capacity without zeroing it first.
            let mut buf = Vec::with_capacity(want);
            if (&mut file).take(want as u64).read_to_end(&mut buf)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file shrank while being read",
                ));
            }
            Ok(Bytes::from(buf))
        };
        let got = read();
        (file, got)
    })
}

/// `len` bytes of `file` from `start` as a stream of chunks. Each chunk is one short blocking
/// read, and the next is read while the previous one is being sent (one chunk ahead): no
/// thread ever waits on the network, so a client that stops reading holds this future and at
/// most two chunks, never a thread of the blocking pool. Dropping the stream (the client went
/// away) lets a read in flight finish and close the file.
pub fn file_stream(
    file: Box<dyn ReadFile>,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let first = (len > 0).then(|| read_chunk(file, (start > 0).then_some(start), len));
    futures_util::stream::unfold((first, len), |(pending, left)| async move {
        let (file, got) = match pending?.await {
            Ok(done) => done,
            Err(e) => return Some((Err(std::io::Error::other(e)), (None, 0))),
        };
        match got {
            Ok(bytes) => {
                let left = left.saturating_sub(bytes.len() as u64);
                let next = (left > 0).then(|| read_chunk(file, None, left));
                Some((Ok(bytes), (next, left)))
            }
            Err(e) => Some((Err(e), (None, 0))),
        }
    })
}

/// A strong validator from what changes when the content does: size and modification time to
/// the nanosecond.
fn etag(size: u64, modified: SystemTime) -> String {
    let (secs, nanos) = match modified.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs(), d.subsec_nanos()),
        Err(_) => (0, 0),
    };
    format!("\"{size:x}-{secs:x}{nanos:08x}\"")
}

/// RFC 9110 §13.1.2 and §13.1.3: `If-None-Match` (weak comparison) wins; otherwise
/// `If-Modified-Since`, at one-second precision.
fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        let ours = etag.trim_start_matches("W/");
        return inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == ours);
    }
    let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    secs(modified) <= secs(since)
}

/// RFC 9110 §13.1.5: a range applies only while the representation is the one the client has.
fn if_range_holds(headers: &HeaderMap, etag: &str, last_modified: &str) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) => {
            let v = v.trim();
            v == etag || v == last_modified
        }
    }
}

/// Every file answer's policy: a unique origin without scripts, forms or fetches; inline
/// styles and data: images so an HTML report or an SVG still renders as a picture.
const SANDBOX: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The media type from the file name's extension; `application/octet-stream` otherwise.
/// Script is served as text (with `nosniff`, no `<script src>` runs it).
fn content_type(name: &str) -> HeaderValue {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let t = match ext.as_str() {
        "txt" | "log" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "tsv" => "text/tab-separated-values; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "bz2" => "application/x-bzip2",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "tar" => "application/x-tar",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "tif" | "tiff" => "image/tiff",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "h5" | "hdf5" => "application/x-hdf5",
        "nc" => "application/x-netcdf",
        "fits" => "application/fits",
        "parquet" => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    };
    HeaderValue::from_static(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_and_conditions() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        let tag = etag(10, t);
        assert_eq!(tag, "\"a-6553f10000000005\"");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag, t));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(not_modified(&h, &tag, t));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\""));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&httpdate::fmt_http_date(t)).unwrap(),
        );
        assert!(!not_modified(&h, &tag, t), "If-None-Match wins");
        h.remove(header::IF_NONE_MATCH);
        assert!(not_modified(&h, &tag, t));
        assert!(!not_modified(
            &h,
            &tag,
            t + std::time::Duration::from_secs(1)
        ));
        assert_eq!(content_type("A.CSV"), "text/csv; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("x.weird"), "application/octet-stream");
        assert_eq!(content_type("app.js"), "text/plain; charset=utf-8");
    }
}
