//! Response documents of the Transfer API that `tessera-proto` leaves as JSON: tasks,
//! endpoints, successful transfers. The fields programs use are typed; everything else the
//! server sends is kept in `extra`, so a document prints back whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A task (`GET /task/{id}`, an element of `/task_list`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    /// `TRANSFER` or `DELETE`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `ACTIVE`, `INACTIVE`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub source_endpoint_id: Option<String>,
    #[serde(default)]
    pub destination_endpoint_id: Option<String>,
    #[serde(default)]
    pub request_time: Option<String>,
    #[serde(default)]
    pub completion_time: Option<String>,
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub directories: u64,
    #[serde(default)]
    pub files_transferred: u64,
    #[serde(default)]
    pub files_skipped: u64,
    #[serde(default)]
    pub bytes_transferred: u64,
    #[serde(default)]
    pub effective_bytes_per_second: u64,
    #[serde(default)]
    pub faults: u64,
    /// Why a FAILED task failed.
    #[serde(default)]
    pub fatal_error: Option<FatalError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Task {
    /// Still running (ACTIVE, or INACTIVE waiting on something).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "ACTIVE" | "INACTIVE")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FatalError {
    pub code: String,
    #[serde(default)]
    pub description: String,
}

/// An endpoint (`GET /endpoint/{id}`, an element of `/endpoint_search`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub owner_string: Option<String>,
    #[serde(default)]
    pub entity_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Set for a shared endpoint (a guest collection).
    #[serde(default)]
    pub host_endpoint_id: Option<String>,
    #[serde(default)]
    pub host_path: Option<String>,
    #[serde(default)]
    pub my_effective_roles: Vec<String>,
    /// The base URL of the endpoint's HTTPS access (`<server>/https/<id>`), when it has one:
    /// see [`HttpsClient`](crate::https::HttpsClient).
    #[serde(default)]
    pub https_server: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One file a task copied (`GET /task/{id}/successful_transfers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessfulTransfer {
    pub source_path: String,
    pub destination_path: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_task_reads_its_fields_and_keeps_the_rest() {
        let doc = serde_json::json!({"DATA_TYPE": "task", "task_id": "t", "type": "TRANSFER",
            "status": "FAILED", "label": null, "files": 3, "files_transferred": 1,
            "fatal_error": {"code": "FILE_NOT_FOUND", "description": "/x"}, "nice_status": null});
        let t: Task = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(t.kind, "TRANSFER");
        assert!(!t.is_active());
        assert_eq!(t.fatal_error.as_ref().unwrap().code, "FILE_NOT_FOUND");
        assert_eq!(t.extra["DATA_TYPE"], "task");
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["nice_status"], Value::Null);
        assert_eq!(back["files_transferred"], 1);
        assert_eq!(back["DATA_TYPE"], "task");
    }
}
