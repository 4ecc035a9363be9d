//! The batch data plane's documents: a multi-file pull job the service gives the destination
//! connector (`POST /connector/v1/batch`, watched at `/connector/v1/batches/{id}`), which
//! fetches all its files from the source connector in one stream (`crate::stream`).

use crate::wire::{JobFailure, SourceRef};
use serde::{Deserialize, Serialize};

pub mod routes {
    pub const BATCH: &str = "/connector/v1/batch";
    pub const BATCH_JOB: &str = "/connector/v1/batches/{id}";
    pub const STREAM: &str = "/connector/v1/stream";
    /// Many `mkdir -p` in one request (JSON [`super::Mkdirs`]).
    pub const MKDIRS: &str = "/connector/v1/mkdirs";
    /// Many directory listings in one request (JSON [`super::Mkdirs`]-shaped `paths`).
    pub const LISTS: &str = "/connector/v1/lists";
}

/// One directory's listing of a [`routes::LISTS`] answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listing {
    pub entries: Option<Vec<crate::wire::EntryDoc>>,
    pub error: Option<crate::wire::ErrorDoc>,
}

/// Directories to make (with their parents), in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mkdirs {
    pub paths: Vec<String>,
}

/// Made all, or which one failed and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MkdirsDone {
    pub failed: Option<(usize, crate::wire::ErrorDoc)>,
}

/// The most files in one batch job.
pub const MAX_FILES: usize = crate::stream::MAX_FILES;

/// Files for a destination connector to pull from a source connector in one stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchJob {
    /// Chosen by the caller; the same id finds the same job again.
    pub id: String,
    pub task: Option<String>,
    /// The source connector: its URL, pinned certificate, and a read capability for exactly
    /// the batch's source paths (`SourceRef::path` is unused).
    pub source: SourceRef,
    pub files: Vec<BatchFile>,
    pub verify_checksum: bool,
    pub preserve_timestamp: bool,
    /// The task's sync level (0 to 3), if any.
    pub sync_level: Option<u8>,
    /// Make the batch durable (one `syncfs`) before answering it done.
    pub fsync: bool,
    /// The task's `encrypt_data`: over TLS to the pinned certificate, or not at all.
    pub encrypt: bool,
    /// The engine attempt's mark (lower-case hex and `-`, at most 50) for the temporary names,
    /// so the node that takes the task over removes a dead attempt's leftovers.
    #[serde(default)]
    pub temp_tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchFile {
    /// Where to write, in the destination capability's namespace.
    pub path: String,
    /// Where to read, in the source capability's namespace.
    pub source_path: String,
    pub checksum_algorithm: String,
}

/// A batch job as its connector knows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchStatus {
    pub id: String,
    /// `running`, `done` (every file has its outcome), `failed` (the batch stopped:
    /// `failure`; the files that were done are in `files`) or `canceled`.
    pub state: String,
    /// Bytes written so far.
    pub bytes: u64,
    /// Files finished so far.
    pub files_done: u64,
    /// Each finished file's outcome (once the job has ended), in no particular order.
    #[serde(default)]
    pub files: Vec<BatchFileStatus>,
    pub failure: Option<JobFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchFileStatus {
    /// The destination path.
    pub path: String,
    /// `done`, `skipped:<reason>` or `failed`.
    pub state: String,
    pub bytes: u64,
    /// The source's checksum (when asked), else ours.
    pub checksum: Option<String>,
    pub failure: Option<JobFailure>,
}
