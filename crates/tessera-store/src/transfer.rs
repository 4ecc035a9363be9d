//! The Transfer service's repository: endpoints, access rules, roles, bookmarks, and durable
//! tasks with their files and events (migrations 0011 and 0012). The SQL is in
//! `sql_transfer.rs`, one body for both backends.
//!
//! Tasks are claimed by engine nodes with a lease (`claim_task`): on PostgreSQL the candidate
//! row is locked `FOR UPDATE SKIP LOCKED`, so two nodes never claim the same task, and a node
//! that dies stops renewing its lease, which lets another node take the task over once it
//! expires. Every change of a task's state is one statement guarded by `status = 'ACTIVE'` (and
//! the lease where it matters), so a canceled task cannot be revived by a late worker.

use async_trait::async_trait;
use tessera_core::clock::UnixTime;
use uuid::Uuid;

use crate::StoreError;

/// An endpoint as stored. A host endpoint has `root_path`; a shared endpoint has
/// `host_endpoint_id` and `host_path` instead.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    pub id: Uuid,
    pub display_name: String,
    pub owner_id: Uuid,
    pub owner_string: String,
    /// The directory on this server that is the endpoint's "/" (host endpoints only).
    pub root_path: Option<String>,
    pub host_endpoint_id: Option<Uuid>,
    /// The share's "/" in its host's namespace, absolute, ending in "/".
    pub host_path: Option<String>,
    /// The storage connector serving a host endpoint (migration 0028): `root_path` is then a
    /// directory on the connector's host, which the service never opens.
    pub connector_id: Option<Uuid>,
    /// Descriptive fields only the API reads (description, keywords, ...), a JSON object.
    pub attrs: serde_json::Value,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRuleRecord {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub principal_type: String,
    pub principal: String,
    pub path: String,
    pub permissions: String,
    pub create_time: UnixTime,
    pub expiration_date: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub principal_type: String,
    pub principal: String,
    pub role: String,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookmarkRecord {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub endpoint_id: Uuid,
    pub path: String,
    pub created_at: UnixTime,
}

/// A task as stored. `spec` is the accepted submission (JSON), which only the transfer crate
/// interprets.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub owner_string: String,
    pub submission_id: String,
    /// `TRANSFER` or `DELETE`.
    pub kind: String,
    /// `ACTIVE`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub label: Option<String>,
    pub source_endpoint_id: Uuid,
    pub destination_endpoint_id: Option<Uuid>,
    pub request_time: UnixTime,
    pub completion_time: Option<UnixTime>,
    pub deadline: UnixTime,
    pub spec: serde_json::Value,
    /// `{"code", "description"}` once FAILED.
    pub fatal_error: Option<serde_json::Value>,
    pub expanded: bool,
    pub files: i64,
    pub directories: i64,
    pub files_transferred: i64,
    pub files_skipped: i64,
    pub bytes_transferred: i64,
    pub faults: i64,
}

/// The state of one file of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Pending,
    /// Copied (or deleted).
    Done,
    /// Not copied: the sync level found it up to date.
    Skipped,
    /// A source error skipped under `skip_source_errors`.
    Error,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "skipped" => Self::Skipped,
            "error" => Self::Error,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFileRecord {
    pub seq: i64,
    pub is_dir: bool,
    pub source_path: String,
    pub destination_path: Option<String>,
    pub size: i64,
    pub state: FileState,
    pub checksum: Option<String>,
    pub error_code: Option<String>,
    pub error_details: Option<String>,
    pub error_time: Option<UnixTime>,
}

/// The outcome of one file, recorded by the engine (batched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcomeRecord {
    pub seq: i64,
    pub state: FileState,
    /// Bytes copied (0 unless `Done` for a copied file).
    pub bytes: i64,
    pub checksum: Option<String>,
    pub error_code: Option<String>,
    pub error_details: Option<String>,
    pub at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub time: UnixTime,
    pub code: String,
    pub description: String,
    pub details: String,
    pub is_error: bool,
}

/// Which tasks `task_list` returns (the owner's, filtered).
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub owner_ids: Vec<Uuid>,
    pub kinds: Vec<String>,
    pub statuses: Vec<String>,
    pub task_ids: Vec<Uuid>,
    pub request_after: Option<UnixTime>,
    pub request_before: Option<UnixTime>,
    pub completion_after: Option<UnixTime>,
    pub completion_before: Option<UnixTime>,
    /// Every one must hold (the API's `label:` filter).
    pub labels: Vec<LabelFilter>,
    /// Newest first unless false.
    pub newest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// One value of a task list's `label:` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelFilter {
    /// `~text` (and a bare value): contains, ignoring ASCII case.
    Contains(String),
    /// `!~text`: does not contain (ignoring ASCII case); a task without a label matches.
    NotContains(String),
    /// `=text`: exactly.
    Equals(String),
    /// `!text`: anything else, no label included.
    NotEquals(String),
}

impl LabelFilter {
    /// Parses one comma-separated value of the filter.
    pub fn parse(value: &str) -> Self {
        if let Some(v) = value.strip_prefix("!~") {
            Self::NotContains(v.to_owned())
        } else if let Some(v) = value.strip_prefix('~') {
            Self::Contains(v.to_owned())
        } else if let Some(v) = value.strip_prefix('=') {
            Self::Equals(v.to_owned())
        } else if let Some(v) = value.strip_prefix('!') {
            Self::NotEquals(v.to_owned())
        } else {
            Self::Contains(value.to_owned())
        }
    }
}

/// What a submission found: a new task, or the one submitted before with the same id.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    Created(Box<TaskRecord>),
    Duplicate(Box<TaskRecord>),
}

#[async_trait]
pub trait TransferRepository {
    // Endpoints.
    async fn insert_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError>;
    async fn endpoint(&self, id: Uuid) -> Result<Option<EndpointRecord>, StoreError>;
    /// Every endpoint, oldest first (the search filters them; thousands at most).
    async fn all_endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError>;
    /// Replaces display_name, attrs (and root_path for a host); false when unknown.
    async fn update_endpoint(&self, endpoint: &EndpointRecord) -> Result<bool, StoreError>;
    /// Deletes it with its rules, roles and shares; false when unknown.
    async fn delete_endpoint(&self, id: Uuid) -> Result<bool, StoreError>;

    // Access rules.
    /// `Conflict` for a second rule of the same principal on the same path.
    async fn insert_access_rule(&self, rule: &AccessRuleRecord) -> Result<(), StoreError>;
    async fn access_rules(&self, endpoint_id: Uuid) -> Result<Vec<AccessRuleRecord>, StoreError>;
    /// The endpoints where one of `principals` (identity ids, or '' for the catch-all types)
    /// holds a rule.
    async fn endpoints_with_rules_for(
        &self,
        principals: &[String],
    ) -> Result<Vec<Uuid>, StoreError>;
    async fn update_access_rule(&self, rule: &AccessRuleRecord) -> Result<bool, StoreError>;
    async fn delete_access_rule(&self, endpoint_id: Uuid, id: Uuid) -> Result<bool, StoreError>;

    // Roles.
    async fn insert_role(&self, role: &RoleRecord) -> Result<(), StoreError>;
    async fn roles(&self, endpoint_id: Uuid) -> Result<Vec<RoleRecord>, StoreError>;
    async fn delete_role(&self, endpoint_id: Uuid, id: Uuid) -> Result<bool, StoreError>;

    // Bookmarks.
    /// `Conflict` when the owner has a bookmark of this name.
    async fn insert_bookmark(&self, bookmark: &BookmarkRecord) -> Result<(), StoreError>;
    async fn bookmarks_of(&self, owner_ids: &[Uuid]) -> Result<Vec<BookmarkRecord>, StoreError>;
    async fn update_bookmark(&self, bookmark: &BookmarkRecord) -> Result<bool, StoreError>;
    async fn delete_bookmark(&self, id: Uuid) -> Result<bool, StoreError>;

    // Tasks.
    /// Inserts the task and its first event unless its owner submitted this submission id
    /// before; then the earlier task, and nothing is written. Atomic under concurrency.
    async fn submit_task(
        &self,
        task: &TaskRecord,
        first_event: &EventRecord,
    ) -> Result<Submitted, StoreError>;
    async fn task(&self, id: Uuid) -> Result<Option<TaskRecord>, StoreError>;
    /// The page, and the total that matched.
    async fn tasks(&self, query: &TaskQuery) -> Result<(Vec<TaskRecord>, i64), StoreError>;
    /// Changes label and deadline of an ACTIVE task; false when it is not ACTIVE (or unknown).
    async fn update_task(
        &self,
        id: Uuid,
        label: Option<&str>,
        deadline: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Ends an ACTIVE task (SUCCEEDED, or FAILED with `fatal_error`) with its final event, in
    /// one transaction; false when it was not ACTIVE (someone else ended it first).
    async fn finish_task(
        &self,
        id: Uuid,
        status: &str,
        fatal_error: Option<&serde_json::Value>,
        event: &EventRecord,
        at: UnixTime,
    ) -> Result<bool, StoreError>;
    async fn insert_event(&self, task_id: Uuid, event: &EventRecord) -> Result<(), StoreError>;
    /// Newest first; the page and the total.
    async fn events(
        &self,
        task_id: Uuid,
        is_error: Option<bool>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EventRecord>, i64), StoreError>;
    /// Files of a task in `state`, from `after_seq` (exclusive), at most `limit`, by seq.
    async fn task_files(
        &self,
        task_id: Uuid,
        state: FileState,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<TaskFileRecord>, StoreError>;

    // The engine.
    /// Claims one ACTIVE task whose lease is free or expired for `node` until `until`
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    async fn claim_task(
        &self,
        node: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<Option<TaskRecord>, StoreError>;
    /// Extends the lease; false when the task is no longer ACTIVE or no longer `node`'s.
    async fn renew_lease(&self, id: Uuid, node: &str, until: UnixTime) -> Result<bool, StoreError>;
    /// Frees every lease (SQLite only: one server owns the file, so at its start every lease
    /// is a dead process's). Returns how many tasks were freed.
    async fn release_all_leases(&self) -> Result<u64, StoreError>;
    /// Gives the lease up (shutting down) so another node may take the task at once.
    async fn release_lease(&self, id: Uuid, node: &str) -> Result<(), StoreError>;
    /// Records the expansion of a task's items (files and directories, in order) and marks it
    /// expanded, in one transaction, if `node` still holds it.
    async fn record_expansion(
        &self,
        id: Uuid,
        node: &str,
        files: &[TaskFileRecord],
        file_count: i64,
        directory_count: i64,
    ) -> Result<bool, StoreError>;
    /// Adds `bytes` moved by files still in flight to the task's `bytes_transferred` and
    /// records the PROGRESS `event`, in one transaction, if `node` still holds the ACTIVE task
    /// (false otherwise). The engine counts a finished file's remaining bytes in its outcome.
    async fn record_progress(
        &self,
        id: Uuid,
        node: &str,
        bytes: i64,
        event: &EventRecord,
    ) -> Result<bool, StoreError>;
    /// Records file outcomes and adds them to the task's counters, in one transaction, if
    /// `node` still holds the ACTIVE task; false (nothing written) otherwise: a node that lost
    /// its lease cannot write over the new owner's work.
    async fn record_outcomes(
        &self,
        id: Uuid,
        node: &str,
        outcomes: &[FileOutcomeRecord],
        faults: i64,
    ) -> Result<bool, StoreError>;
    /// Starts an attempt at a task `node` holds (a claim of an expanded task, after a crash or
    /// a lost lease): `bytes_transferred` becomes the bytes of the files recorded done, so the
    /// in-flight progress the dead attempt had counted is not counted twice. False when the
    /// task is not `node`'s ACTIVE task.
    async fn restart_progress(&self, id: Uuid, node: &str) -> Result<bool, StoreError>;
}
