//! The batch stream: one request to a source connector (`POST /connector/v1/stream`, a
//! [`StreamRequest`] naming the files, under a read capability for exactly them) whose answer
//! carries every file in the order asked, so a batch of small files costs one round trip, not
//! three per file.
//!
//! The answer is a sequence of records, one per file asked for, then the end of the body:
//!
//! ```text
//! u32 BE n | n bytes: JSON FileHead       (n <= MAX_HEAD)
//! when the head has neither `skip` nor `error`:
//!   head.size bytes of data
//!   u32 BE m | m bytes: JSON FileTail     (m <= MAX_HEAD)
//! ```
//!
//! The source computes the checksum while reading (`FileTail::checksum`, when asked); a file
//! that changes size while read ends with a tail carrying an error. The [`Reader`] trusts
//! nothing: a record out of order, for a path not asked for, with an oversized head or size,
//! or a body cut short is an error of the whole stream (the caller treats the rest as
//! unreachable and asks again).

use crate::wire::ErrorDoc;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// The largest head or tail accepted (JSON of one path and a few numbers).
pub const MAX_HEAD: u32 = 64 << 10;
/// The most files one stream may ask for.
pub const MAX_FILES: usize = 4096;

/// What the destination asks the source for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StreamRequest {
    /// Compute each file's checksum while reading it (`FileTail::checksum`).
    pub checksum: bool,
    /// The task's sync level (0 to 3): a file in sync with what the destination has is
    /// answered `skip` and not sent.
    pub sync_level: Option<u8>,
    pub files: Vec<StreamWant>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StreamWant {
    pub path: String,
    /// `MD5`, `SHA256`, … (the API's names).
    pub algorithm: String,
    /// What the destination already has there (for the sync level).
    pub have: Option<Have>,
}

/// A destination file as the sync level compares it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Have {
    pub size: u64,
    pub modified_ns: u128,
    /// Its checksum (`StreamWant::algorithm`), for sync level 3 when the sizes match.
    pub checksum: Option<String>,
}

/// One file's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileHead {
    /// Its position in the request.
    pub index: usize,
    pub path: String,
    pub size: u64,
    pub modified_ns: u128,
    pub permissions: u32,
    /// In sync (`Exists`, `SameSize`, `NotNewer`, `SameChecksum`): no data follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
    /// Could not be read: no data follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileTail {
    pub checksum: Option<String>,
    /// The file changed while read (the data sent is not the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

/// A record's framing, for the source.
pub fn frame<T: Serialize>(doc: &T) -> Vec<u8> {
    let json = serde_json::to_vec(doc).unwrap_or_default();
    let mut out = Vec::with_capacity(json.len() + 4);
    out.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// Why a stream cannot be read on.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the stream ended early: {0}")]
    Truncated(String),
    #[error("the stream is malformed: {0}")]
    Malformed(String),
}

/// Reads a stream's records, checking each against the request.
pub struct Reader<'a, R: Read> {
    input: R,
    asked: &'a [StreamWant],
    next: usize,
    /// The largest file size accepted.
    max_size: u64,
}

/// One file's record, its data still to be read ([`Reader::data`]) when `sent`.
pub struct Record {
    pub head: FileHead,
    pub sent: bool,
}

impl<'a, R: Read> Reader<'a, R> {
    pub fn new(input: R, asked: &'a [StreamWant], max_size: u64) -> Self {
        Self {
            input,
            asked,
            next: 0,
            max_size,
        }
    }

    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), StreamError> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => StreamError::Truncated(what.to_owned()),
            _ => StreamError::Truncated(format!("{what}: {e}")),
        })
    }

    fn doc<T: for<'de> Deserialize<'de>>(&mut self, what: &str) -> Result<T, StreamError> {
        let mut n = [0u8; 4];
        self.exact(&mut n, what)?;
        let n = u32::from_be_bytes(n);
        if n > MAX_HEAD {
            return Err(StreamError::Malformed(format!("a {what} of {n} bytes")));
        }
        let mut buf = vec![0u8; n as usize];
        self.exact(&mut buf, what)?;
        serde_json::from_slice(&buf).map_err(|e| StreamError::Malformed(format!("{what}: {e}")))
    }

    /// The next file's head; `None` after the last one asked for (the body must end there).
    pub fn next_file(&mut self) -> Result<Option<Record>, StreamError> {
        if self.next >= self.asked.len() {
            let mut one = [0u8; 1];
            return match self.input.read(&mut one) {
                Ok(0) => Ok(None),
                Ok(_) => Err(StreamError::Malformed(
                    "bytes after the last file asked for".into(),
                )),
                Err(e) => Err(StreamError::Truncated(e.to_string())),
            };
        }
        let head: FileHead = self.doc("head")?;
        let want = &self.asked[self.next];
        if head.index != self.next || head.path != want.path {
            return Err(StreamError::Malformed(format!(
                "record {} for {:?} where {} ({:?}) was due",
                head.index, head.path, self.next, want.path
            )));
        }
        self.next += 1;
        let sent = head.skip.is_none() && head.error.is_none();
        if sent && head.size > self.max_size {
            return Err(StreamError::Malformed(format!(
                "{} is {} bytes, more than a batch carries",
                head.path, head.size
            )));
        }
        Ok(Some(Record { head, sent }))
    }

    /// The data of a sent record, handed to `sink` in pieces, then its tail.
    pub fn data(
        &mut self,
        record: &Record,
        buf: &mut [u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<FileTail, StreamError> {
        let mut left = record.head.size;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = self
                .input
                .read(&mut buf[..want])
                .map_err(|e| StreamError::Truncated(e.to_string()))?;
            if n == 0 {
                return Err(StreamError::Truncated(format!(
                    "{} ended {left} bytes short",
                    record.head.path
                )));
            }
            sink(&buf[..n]);
            left -= n as u64;
        }
        self.doc("tail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(path: &str) -> StreamWant {
        StreamWant {
            path: path.into(),
            algorithm: "MD5".into(),
            have: None,
        }
    }

    fn head(index: usize, path: &str, size: u64) -> FileHead {
        FileHead {
            index,
            path: path.into(),
            size,
            modified_ns: 1,
            permissions: 0o644,
            skip: None,
            error: None,
        }
    }

    fn file(index: usize, path: &str, data: &[u8]) -> Vec<u8> {
        let mut out = frame(&head(index, path, data.len() as u64));
        out.extend_from_slice(data);
        out.extend(frame(&FileTail {
            checksum: Some("abc".into()),
            error: None,
        }));
        out
    }

    /// Every file's data, or the error.
    fn read_all(body: &[u8], asked: &[StreamWant]) -> Result<Vec<(String, Vec<u8>)>, StreamError> {
        let mut r = Reader::new(body, asked, 1 << 20);
        let mut out = Vec::new();
        let mut buf = [0u8; 3];
        while let Some(rec) = r.next_file()? {
            let mut data = Vec::new();
            if rec.sent {
                r.data(&rec, &mut buf, &mut |b| data.extend_from_slice(b))?;
            }
            out.push((rec.head.path, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_files_skips_and_errors_in_order() {
        let asked = [want("/a"), want("/b"), want("/c"), want("/d")];
        let mut body = file(0, "/a", b"hello");
        let mut skip = head(1, "/b", 9);
        skip.skip = Some("SameSize".into());
        body.extend(frame(&skip));
        let mut err = head(2, "/c", 0);
        err.error = Some(ErrorDoc {
            kind: "not_found".into(),
            message: "/c".into(),
        });
        body.extend(frame(&err));
        body.extend(file(3, "/d", b""));
        let got = read_all(&body, &asked).unwrap();
        assert_eq!(
            got,
            vec![
                ("/a".into(), b"hello".to_vec()),
                ("/b".into(), vec![]),
                ("/c".into(), vec![]),
                ("/d".into(), vec![]),
            ]
        );
    }

    #[test]
    fn a_body_cut_anywhere_is_truncated() {
        let asked = [want("/a"), want("/b")];
        let mut body = file(0, "/a", b"hello world");
        body.extend(file(1, "/b", b"second"));
        for cut in 0..body.len() {
            match read_all(&body[..cut], &asked) {
                Err(StreamError::Truncated(_)) => {}
                other => panic!("cut at {cut}: {:?}", other.map(|v| v.len())),
            }
        }
        assert!(read_all(&body, &asked).is_ok());
    }

    #[test]
    fn an_oversized_head_or_file_is_refused_before_reading_it() {
        let asked = [want("/a")];
        let mut body = (MAX_HEAD + 1).to_be_bytes().to_vec();
        body.extend(vec![b' '; 16]);
        assert!(matches!(
            read_all(&body, &asked),
            Err(StreamError::Malformed(_))
        ));
        let body = frame(&head(0, "/a", 2 << 20));
        assert!(matches!(
            read_all(&body, &asked),
            Err(StreamError::Malformed(_))
        ));
    }

    #[test]
    fn a_path_not_asked_for_or_out_of_order_is_refused() {
        let asked = [want("/data/a"), want("/data/b")];
        for (i, path) in [
            (0, "/data/../etc/passwd"),
            (0, "/etc/passwd"),
            (0, "/data/b"),
            (1, "/data/a"),
        ] {
            let body = file(i, path, b"x");
            assert!(
                matches!(read_all(&body, &asked), Err(StreamError::Malformed(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn bytes_after_the_last_file_and_garbage_heads_are_refused() {
        let asked = [want("/a")];
        let mut body = file(0, "/a", b"x");
        body.push(0);
        assert!(matches!(
            read_all(&body, &asked),
            Err(StreamError::Malformed(_))
        ));
        let mut body = 5u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"{{{{{");
        assert!(matches!(
            read_all(&body, &asked),
            Err(StreamError::Malformed(_))
        ));
    }
}
