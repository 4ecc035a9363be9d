//! Transfer and delete submissions (spec §4): validated, authorized against both endpoints,
//! and stored as one task once and only once per (owner, submission_id).

use crate::data::ChecksumAlgorithm;
use crate::error::ApiError;
use crate::http::Caller;
use crate::service::endpoints::{self as svc, load};
use crate::timefmt;
use crate::TransferState;
use serde::{Deserialize, Serialize};
use tessera_proto::transfer::{DeleteSubmission, FilterRule, TransferSubmission};
use tessera_store::transfer::{EventRecord, Submitted, TaskRecord};
use uuid::Uuid;

/// A task's options and items as the engine reads them (the `spec` column).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskSpec {
    #[serde(default)]
    pub sync_level: Option<i64>,
    #[serde(default)]
    pub verify_checksum: bool,
    #[serde(default)]
    pub preserve_timestamp: bool,
    #[serde(default)]
    pub encrypt_data: bool,
    #[serde(default)]
    pub delete_destination_extra: bool,
    #[serde(default)]
    pub skip_source_errors: bool,
    #[serde(default)]
    pub fail_on_quota_errors: bool,
    #[serde(default)]
    pub filter_rules: Option<Vec<FilterRule>>,
    /// Transfer items: source and destination paths (API form, resolved).
    #[serde(default)]
    pub items: Vec<SpecItem>,
    /// Delete options.
    #[serde(default)]
    pub recursive: bool,
    #[serde(default)]
    pub ignore_missing: bool,
    #[serde(default)]
    pub interpret_globs: bool,
    /// The submitter's identity set when the task was accepted: the engine re-checks the
    /// access rules for it while the task runs (empty in tasks stored before: the owner alone).
    #[serde(default)]
    pub identities: Vec<Uuid>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SpecItem {
    pub source_path: String,
    #[serde(default)]
    pub destination_path: Option<String>,
    #[serde(default)]
    pub recursive: Option<bool>,
    #[serde(default)]
    pub external_checksum: Option<String>,
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
}

fn label(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(l) if l.chars().count() > 128 || l.contains(['\r', '\n']) || l.trim() != l => {
            Err(ApiError::bad_request(
                "label must be at most 128 characters, one line, without surrounding spaces",
            ))
        }
        Some(l) => Ok(Some(l)),
    }
}

pub fn deadline(state: &TransferState, raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(state.clock.now() + 24 * 3600),
        Some(d) => timefmt::parse(d)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid deadline '{d}'"))),
    }
}

fn submission_id(raw: Option<&str>) -> Result<String, ApiError> {
    let id = raw.map(str::trim).unwrap_or("");
    if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "submission_id is required (GET /submission_id gives one)",
        ));
    }
    Ok(id.to_owned())
}

/// The task document's `(code, task)`: `Accepted` for a new task, `Duplicate` for a repeat.
pub async fn transfer(
    state: &TransferState,
    caller: &Caller,
    s: TransferSubmission,
) -> Result<(&'static str, TaskRecord), ApiError> {
    let sid = submission_id(s.submission_id.as_deref())?;
    let src = load(state, s.source_endpoint.as_deref().unwrap_or("")).await?;
    let dst = load(state, s.destination_endpoint.as_deref().unwrap_or("")).await?;
    if s.data.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "ClientError.BadRequest.NoTransferItems",
            "A transfer requires at least one item",
        ));
    }
    if let Some(level) = s.sync_level {
        if !(0..=3).contains(&level) {
            return Err(ApiError::bad_request("sync_level must be 0, 1, 2 or 3"));
        }
    }
    for rule in s.filter_rules.iter().flatten() {
        if !matches!(rule.method.as_str(), "include" | "exclude") || rule.name.is_empty() {
            return Err(ApiError::bad_request(
                "filter rules need method include|exclude and a name",
            ));
        }
        if !matches!(rule.kind.as_deref(), None | Some("file" | "dir")) {
            return Err(ApiError::bad_request("a filter rule's type is file or dir"));
        }
    }
    let mut items = Vec::with_capacity(s.data.len());
    for item in &s.data {
        if item
            .data_type
            .as_deref()
            .is_some_and(|t| t != "transfer_item")
        {
            return Err(ApiError::bad_request(
                "only transfer_item items are supported",
            ));
        }
        let from = svc::resolve(&src, Some(&item.source_path))?;
        let to = svc::resolve(&dst, Some(&item.destination_path))?;
        let algorithm = match &item.checksum_algorithm {
            Some(alg) => Some(alg.parse::<ChecksumAlgorithm>().map_err(|_| {
                let names: Vec<&str> = ChecksumAlgorithm::ALL.iter().map(|a| a.name()).collect();
                ApiError::bad_request(format!(
                    "checksum_algorithm must be one of {}",
                    names.join(", ")
                ))
            })?),
            None => None,
        };
        svc::require(state, caller, &src, &from, false, "PermissionDenied").await?;
        svc::require(state, caller, &dst, &to, true, "PermissionDenied").await?;
        items.push(SpecItem {
            source_path: from.to_api(),
            destination_path: Some(to.to_api()),
            recursive: item.recursive,
            external_checksum: item.external_checksum.clone(),
            checksum_algorithm: algorithm.map(|a| a.name().to_owned()),
        });
    }
    let spec = TaskSpec {
        sync_level: s.sync_level,
        verify_checksum: s.verify_checksum.unwrap_or(false),
        preserve_timestamp: s.preserve_timestamp.unwrap_or(false),
        // An endpoint that forces encryption upgrades the task (what Globus does): the task
        // document then reports encrypt_data true.
        encrypt_data: s.encrypt_data.unwrap_or(false)
            || svc::forces_encryption(state, &src).await?
            || svc::forces_encryption(state, &dst).await?,
        delete_destination_extra: s.delete_destination_extra.unwrap_or(false),
        skip_source_errors: s.skip_source_errors.unwrap_or(false),
        fail_on_quota_errors: s.fail_on_quota_errors.unwrap_or(false),
        filter_rules: s.filter_rules.clone(),
        items,
        identities: caller.identities.clone(),
        ..TaskSpec::default()
    };
    let task = new_task(
        state,
        caller,
        sid,
        "TRANSFER",
        label(s.label)?,
        src.id,
        Some(dst.id),
        deadline(state, s.deadline.as_deref())?,
        &spec,
    )?;
    store(state, task).await
}

pub async fn delete(
    state: &TransferState,
    caller: &Caller,
    s: DeleteSubmission,
) -> Result<(&'static str, TaskRecord), ApiError> {
    let sid = submission_id(s.submission_id.as_deref())?;
    let endpoint = load(state, s.endpoint.as_deref().unwrap_or("")).await?;
    if s.data.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "ClientError.BadRequest.NoTransferItems",
            "A delete requires at least one item",
        ));
    }
    let mut items = Vec::with_capacity(s.data.len());
    for item in &s.data {
        let path = svc::resolve(&endpoint, Some(&item.path))?;
        if path.is_root() {
            return Err(ApiError::bad_request(
                "The endpoint's root cannot be deleted",
            ));
        }
        svc::require(state, caller, &endpoint, &path, true, "PermissionDenied").await?;
        items.push(SpecItem {
            source_path: path.to_api(),
            ..SpecItem::default()
        });
    }
    let spec = TaskSpec {
        items,
        recursive: s.recursive.unwrap_or(false),
        ignore_missing: s.ignore_missing.unwrap_or(false),
        interpret_globs: s.interpret_globs.unwrap_or(false),
        identities: caller.identities.clone(),
        ..TaskSpec::default()
    };
    let task = new_task(
        state,
        caller,
        sid,
        "DELETE",
        label(s.label)?,
        endpoint.id,
        None,
        deadline(state, s.deadline.as_deref())?,
        &spec,
    )?;
    store(state, task).await
}

#[allow(clippy::too_many_arguments)]
fn new_task(
    state: &TransferState,
    caller: &Caller,
    submission_id: String,
    kind: &str,
    label: Option<String>,
    source: Uuid,
    destination: Option<Uuid>,
    deadline: i64,
    spec: &TaskSpec,
) -> Result<TaskRecord, ApiError> {
    Ok(TaskRecord {
        id: state.rng.uuid_v4(),
        owner_id: caller.id,
        owner_string: caller.username.clone(),
        submission_id,
        kind: kind.to_owned(),
        status: "ACTIVE".into(),
        label,
        source_endpoint_id: source,
        destination_endpoint_id: destination,
        request_time: state.clock.now(),
        completion_time: None,
        deadline,
        spec: serde_json::to_value(spec).map_err(ApiError::internal)?,
        fatal_error: None,
        expanded: false,
        files: 0,
        directories: 0,
        files_transferred: 0,
        files_skipped: 0,
        bytes_transferred: 0,
        faults: 0,
    })
}

async fn store(
    state: &TransferState,
    task: TaskRecord,
) -> Result<(&'static str, TaskRecord), ApiError> {
    let event = EventRecord {
        time: task.request_time,
        code: "SUBMITTED".into(),
        description: "submitted".into(),
        details: format!("{} task submitted", task.kind.to_lowercase()),
        is_error: false,
    };
    match state.store.submit_task(&task, &event).await? {
        Submitted::Created(t) => {
            state.wake.notify_one();
            Ok(("Accepted", *t))
        }
        Submitted::Duplicate(t) => Ok(("Duplicate", *t)),
    }
}
