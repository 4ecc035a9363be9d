//! Wire types of Globus Transfer v0.10 as the Globus SDK and CLI send and read them
//! (`spec/globus-transfer-api.md`). Requests are lenient (unknown keys ignored, absent ≠ false);
//! responses carry the keys the clients index strictly.

use serde::{Deserialize, Serialize};

/// The Globus "type zero" error body: every refusal on `/v0.10`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobusError {
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub resource: String,
}

/// A generic result document (`Updated`, `Deleted`, `DirectoryCreated`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDoc {
    #[serde(rename = "DATA_TYPE")]
    pub data_type: String,
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub resource: String,
}

/// `POST /transfer`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TransferSubmission {
    #[serde(default)]
    pub submission_id: Option<String>,
    #[serde(default)]
    pub source_endpoint: Option<String>,
    #[serde(default)]
    pub destination_endpoint: Option<String>,
    #[serde(rename = "DATA", default)]
    pub data: Vec<TransferItem>,
    #[serde(default)]
    pub label: Option<String>,
    /// Any of the shapes in spec §1.7.
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub sync_level: Option<i64>,
    #[serde(default)]
    pub verify_checksum: Option<bool>,
    #[serde(default)]
    pub preserve_timestamp: Option<bool>,
    #[serde(default)]
    pub encrypt_data: Option<bool>,
    #[serde(default)]
    pub delete_destination_extra: Option<bool>,
    #[serde(default)]
    pub skip_source_errors: Option<bool>,
    #[serde(default)]
    pub fail_on_quota_errors: Option<bool>,
    #[serde(default)]
    pub filter_rules: Option<Vec<FilterRule>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct TransferItem {
    #[serde(rename = "DATA_TYPE", default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub source_path: String,
    #[serde(default)]
    pub destination_path: String,
    /// Absent: autodetect.
    #[serde(default)]
    pub recursive: Option<bool>,
    #[serde(default)]
    pub external_checksum: Option<String>,
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct FilterRule {
    #[serde(rename = "DATA_TYPE", default)]
    pub data_type: Option<String>,
    #[serde(default = "exclude")]
    pub method: String,
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

fn exclude() -> String {
    "exclude".into()
}

/// `POST /delete`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeleteSubmission {
    #[serde(default)]
    pub submission_id: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(rename = "DATA", default)]
    pub data: Vec<DeleteItem>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub recursive: Option<bool>,
    #[serde(default)]
    pub ignore_missing: Option<bool>,
    #[serde(default)]
    pub interpret_globs: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct DeleteItem {
    #[serde(default)]
    pub path: String,
}

/// The answer to a submission (`transfer_result` / `delete_result`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionResult {
    #[serde(rename = "DATA_TYPE")]
    pub data_type: String,
    /// `Accepted` or `Duplicate`.
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub resource: String,
    pub submission_id: String,
    pub task_id: String,
    pub task_link: serde_json::Value,
}

/// One entry of `ls`, or the answer to `stat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDoc {
    #[serde(rename = "DATA_TYPE")]
    pub data_type: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    /// `YYYY-MM-DD HH:MM:SS+00:00`.
    pub last_modified: String,
    /// Four octal digits.
    pub permissions: String,
    pub user: String,
    pub group: String,
    pub link_target: Option<String>,
    pub link_size: Option<u64>,
    pub link_user: Option<String>,
    pub link_group: Option<String>,
    pub link_last_modified: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileList {
    #[serde(rename = "DATA_TYPE")]
    pub data_type: String,
    pub endpoint: String,
    /// The normalized directory, ending in `/`.
    pub path: String,
    pub absolute_path: Option<String>,
    pub rename_supported: bool,
    pub symlink_supported: bool,
    pub length: usize,
    pub total: usize,
    #[serde(rename = "DATA")]
    pub data: Vec<FileDoc>,
}

/// `POST .../mkdir`.
#[derive(Debug, Clone, Deserialize)]
pub struct MkdirRequest {
    #[serde(default)]
    pub path: Option<String>,
}

/// `POST .../rename`.
#[derive(Debug, Clone, Deserialize)]
pub struct RenameRequest {
    #[serde(default)]
    pub old_path: Option<String>,
    #[serde(default)]
    pub new_path: Option<String>,
}

/// An access rule as read and written (`DATA_TYPE: access`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccessDoc {
    #[serde(rename = "DATA_TYPE", default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub permissions: Option<String>,
    #[serde(default)]
    pub role_id: Option<String>,
    #[serde(default)]
    pub role_type: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub expiration_date: Option<String>,
}

/// A bookmark as read and written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BookmarkDoc {
    #[serde(rename = "DATA_TYPE", default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub endpoint_id: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// A role as read and written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoleDoc {
    #[serde(rename = "DATA_TYPE", default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// One event of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDoc {
    #[serde(rename = "DATA_TYPE")]
    pub data_type: String,
    pub code: String,
    pub description: String,
    /// Always a string (the CLI re-renders JSON-looking ones).
    pub details: String,
    pub is_error: bool,
    pub time: String,
}

/// `PUT /task/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskUpdate {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
}

/// Updatable fields of an endpoint (`PUT /endpoint/{id}`, `POST /shared_endpoint`). Absent
/// fields stay as they are; `null` clears.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub host_endpoint: Option<String>,
    #[serde(default)]
    pub host_path: Option<String>,
    /// Everything else, kept as given for the descriptive fields.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}
