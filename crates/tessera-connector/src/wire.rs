//! What travels between the service and a connector, and between two connectors: JSON
//! documents (serde), the header names, the route paths.

use serde::{Deserialize, Serialize};
use std::time::{Duration, UNIX_EPOCH};
use tessera_transfer::storage::{Entry, EntryKind, StorageError};

/// The header carrying a capability on every request to a connector.
pub const CAPABILITY_HEADER: &str = "x-tessera-capability";
/// The size of the whole file, on a file answer (also on a `Range` answer).
pub const SIZE_HEADER: &str = "x-tessera-size";

/// The service's side: a connector checks in here (Basic auth with its id and secret).
pub const POLL_PATH: &str = "/connector/v1/poll";

/// A connector's routes, at its public URL.
pub mod routes {
    pub const STAT: &str = "/connector/v1/stat";
    pub const LIST: &str = "/connector/v1/list";
    pub const MKDIR: &str = "/connector/v1/mkdir";
    pub const RENAME: &str = "/connector/v1/rename";
    pub const REMOVE: &str = "/connector/v1/remove";
    pub const SYNC: &str = "/connector/v1/sync";
    pub const FILE: &str = "/connector/v1/file";
    pub const CHECKSUM: &str = "/connector/v1/checksum";
    pub const PULL: &str = "/connector/v1/pull";
    pub const JOB: &str = "/connector/v1/jobs/{id}";
    pub const UPLOAD: &str = "/connector/v1/upload";
    pub const HEALTH: &str = "/connector/v1/health";
}

/// A connector's check-in: where it is, and what it has to report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollRequest {
    pub public_url: String,
    /// SHA-256 (hex) of its TLS certificate's DER, when it serves TLS.
    pub cert_fingerprint: Option<String>,
    /// Finished jobs not reported yet (kept in its state directory until acknowledged).
    #[serde(default)]
    pub reports: Vec<JobReport>,
}

/// The service's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollResponse {
    /// The connector's capability key (base64url): it checks every capability with it.
    pub capability_key: String,
    /// Check in again after this many seconds.
    pub poll_after: u64,
    /// How many of the reports the service recorded (they may be forgotten).
    pub acknowledged: usize,
}

/// One finished job, as reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobReport {
    pub job: String,
    pub task: Option<String>,
    pub path: String,
    pub ok: bool,
    pub bytes: u64,
    pub detail: String,
}

/// A directory entry or stat answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryDoc {
    pub name: String,
    pub name_is_utf8: bool,
    pub kind: String,
    pub size: u64,
    /// Nanoseconds since the epoch.
    pub modified_ns: u128,
    pub permissions: u32,
    pub user: String,
    pub group: String,
    pub link_target: Option<String>,
}

impl From<&Entry> for EntryDoc {
    fn from(e: &Entry) -> Self {
        Self {
            name: e.name.clone(),
            name_is_utf8: e.name_is_utf8,
            kind: match e.kind {
                EntryKind::File => "file",
                EntryKind::Dir => "dir",
                EntryKind::Link => "link",
                EntryKind::Other => "other",
            }
            .into(),
            size: e.size,
            modified_ns: e
                .modified
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
            permissions: e.permissions,
            user: e.user.clone(),
            group: e.group.clone(),
            link_target: e.link_target.clone(),
        }
    }
}

impl From<EntryDoc> for Entry {
    fn from(d: EntryDoc) -> Self {
        let ns = u64::try_from(d.modified_ns).unwrap_or(u64::MAX);
        Self {
            name: d.name,
            name_is_utf8: d.name_is_utf8,
            kind: match d.kind.as_str() {
                "file" => EntryKind::File,
                "dir" => EntryKind::Dir,
                "link" => EntryKind::Link,
                _ => EntryKind::Other,
            },
            size: d.size,
            modified: UNIX_EPOCH + Duration::from_nanos(ns),
            permissions: d.permissions,
            user: d.user,
            group: d.group,
            link_target: d.link_target,
        }
    }
}

/// A refusal or a storage error, in both directions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDoc {
    /// The `StorageError` variant (`not_found`, …), or `capability` for a refused capability.
    pub kind: String,
    pub message: String,
}

impl From<&StorageError> for ErrorDoc {
    fn from(e: &StorageError) -> Self {
        let (kind, m) = match e {
            StorageError::NotFound(m) => ("not_found", m),
            StorageError::Exists(m) => ("exists", m),
            StorageError::NotADirectory(m) => ("not_a_directory", m),
            StorageError::IsADirectory(m) => ("is_a_directory", m),
            StorageError::PermissionDenied(m) => ("permission_denied", m),
            StorageError::InvalidPath(m) => ("invalid_path", m),
            StorageError::NotEmpty(m) => ("not_empty", m),
            StorageError::NoSpace(m) => ("no_space", m),
            StorageError::Io(m) => ("io", m),
        };
        Self {
            kind: kind.into(),
            message: m.clone(),
        }
    }
}

/// A connector's public URL as the data plane can use it: `http://HOST[:PORT]` (the same port
/// serves TLS, pinned by the service, for encrypt_data and for the service itself) or
/// `https://HOST[:PORT]` reaching the connector's own listener (TLS only), with no path, query,
/// fragment or user. The refusal says why. (A TLS-terminating proxy in front of a connector
/// presents its own certificate, which the pins refuse: `pin::reaches` finds that out.)
pub fn check_public_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "public URL {url:?} cannot be used by the data plane: {why}. Give \
             http://HOST:PORT of this connector's own listener (the same port serves TLS, \
             pinned to the connector's certificate; encrypt_data uses it)"
        ))
    };
    if url.len() > 2000 {
        return bad("it is longer than 2000 characters");
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return bad("it is not a URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad("its scheme is not http or https");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return bad("it has no host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("it carries a user or password");
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return bad(
            "it has a path, query or fragment (the connector's routes are at its root, \
             and a proxy that routes by path cannot carry the pinned TLS)",
        );
    }
    Ok(())
}

/// Whether `kind` is one this side reads (the kinds [`ErrorDoc`] is made with).
pub fn is_known_kind(kind: &str) -> bool {
    matches!(
        kind,
        "not_found"
            | "exists"
            | "not_a_directory"
            | "is_a_directory"
            | "permission_denied"
            | "invalid_path"
            | "not_empty"
            | "no_space"
            | "io"
            | "capability"
    )
}

impl From<ErrorDoc> for StorageError {
    fn from(d: ErrorDoc) -> Self {
        let m = d.message;
        match d.kind.as_str() {
            "not_found" => Self::NotFound(m),
            "exists" => Self::Exists(m),
            "not_a_directory" => Self::NotADirectory(m),
            "is_a_directory" => Self::IsADirectory(m),
            "permission_denied" => Self::PermissionDenied(m),
            "invalid_path" => Self::InvalidPath(m),
            "not_empty" => Self::NotEmpty(m),
            "no_space" => Self::NoSpace(m),
            "capability" => Self::PermissionDenied(format!("refused by the connector: {m}")),
            _ => Self::Io(m),
        }
    }
}

/// A file for a destination connector to pull from a source connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullJob {
    /// Chosen by the caller; the same id finds the same job again (a retry attaches to it).
    pub id: String,
    pub task: Option<String>,
    /// Where to write, in the destination capability's namespace.
    pub path: String,
    pub source: SourceRef,
    /// `MD5`, `SHA256`, … (the API's names).
    pub checksum_algorithm: String,
    pub verify_checksum: bool,
    pub external_checksum: Option<String>,
    pub preserve_timestamp: bool,
    pub fsync: bool,
    /// The task's `encrypt_data`: the pull goes over TLS to the pinned certificate, or not at
    /// all (a plaintext source URL is refused).
    #[serde(default)]
    pub encrypt: bool,
}

/// The source of a pull: a connector's URL (`https://` for TLS), the SHA-256 of the
/// certificate it must present there (pinned: the service's word, not any CA's), and a read
/// capability.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceRef {
    pub url: String,
    pub cert_fingerprint: Option<String>,
    pub capability: String,
    pub path: String,
}

/// A job as its connector knows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobStatus {
    pub id: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Bytes written so far (the whole file once done).
    pub bytes: u64,
    /// Bytes found already there and verified when the job (re)started.
    pub resumed_from: u64,
    /// The source's checksum of the whole file, once done.
    pub checksum: Option<String>,
    /// Why it failed: `source`/`destination`/`checksum`, and the error.
    pub failure: Option<JobFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobFailure {
    pub side: String,
    pub kind: String,
    pub message: String,
}

/// Seconds since the epoch now (for capability expiry; the connector's own clock).
pub fn now_secs() -> i64 {
    use tessera_core::clock::Clock;
    tessera_core::clock::SystemClock.now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_the_data_plane_can_use() {
        for ok in [
            "http://10.0.0.2:7070",
            "http://h:1/",
            "https://storage.example.org:8443",
            "http://[::1]:9",
        ] {
            assert!(check_public_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://h:1",
            "h:1",
            "http://",
            "http://u:p@h:1",
            "https://proxy/connector",
            "http://h:1/?x=1",
            "http://h:1/#f",
        ] {
            let e = check_public_url(bad).unwrap_err();
            assert!(e.contains("http://HOST:PORT"), "{bad}: {e}");
        }
        assert!(check_public_url(&format!("http://{}", "a".repeat(3000))).is_err());
    }
}
