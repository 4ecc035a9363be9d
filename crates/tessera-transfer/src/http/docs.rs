//! The documents the API answers with, rendered from stored records.

use crate::storage::{Entry, EntryKind};
use crate::timefmt;
use serde_json::{json, Value};
use tessera_store::transfer::{
    AccessRuleRecord, BookmarkRecord, EndpointRecord, EventRecord, RoleRecord, TaskRecord,
};

/// A result document (`code`, `message` the CLI prints).
pub fn result(data_type: &str, code: &str, message: &str, resource: &str) -> Value {
    json!({
        "DATA_TYPE": data_type,
        "code": code,
        "message": message,
        "request_id": uuid::Uuid::new_v4().simple().to_string(),
        "resource": resource,
    })
}

fn attr(e: &EndpointRecord, key: &str) -> Value {
    e.attrs.get(key).cloned().unwrap_or(Value::Null)
}

/// The endpoint document (spec §2.1). `host` is the host endpoint of a share; `roles` the
/// caller's effective role names; `https_server` the base URL of its HTTPS access, when known.
pub fn endpoint(
    e: &EndpointRecord,
    host: Option<&EndpointRecord>,
    roles: &[&str],
    https_server: Option<&str>,
) -> Value {
    let share = e.host_endpoint_id.is_some();
    let host_id = e.host_endpoint_id.map(|u| u.to_string());
    json!({
        "DATA_TYPE": "endpoint",
        "id": e.id.to_string(),
        "display_name": e.display_name,
        "canonical_name": format!("{}#{}", e.owner_string, e.id),
        "name": e.id.to_string(),
        "username": e.owner_string,
        "owner_id": e.owner_id.to_string(),
        "owner_string": e.owner_string,
        "entity_type": if share { "GCSv4_share" } else { "GCSv4_host" },
        "is_globus_connect": false,
        "gcp_connected": null,
        "gcp_paused": null,
        "gcs_version": null,
        "gcs_manager_url": null,
        "tlsftp_server": null,
        "https_server": https_server,
        "description": attr(e, "description"),
        "keywords": attr(e, "keywords"),
        "info_link": attr(e, "info_link"),
        "contact_email": attr(e, "contact_email"),
        "contact_info": attr(e, "contact_info"),
        "organization": attr(e, "organization"),
        "department": attr(e, "department"),
        "public": e.attrs.get("public").and_then(Value::as_bool).unwrap_or(false),
        "default_directory": attr(e, "default_directory"),
        "force_encryption": crate::service::endpoints::force_encryption(e),
        "force_verify": false,
        "disable_verify": false,
        "subscription_id": attr(e, "subscription_id"),
        "local_user_info_available": false,
        "shareable": !share,
        "host_endpoint_id": host_id,
        "host_endpoint": host_id,
        "host_endpoint_display_name": host.map(|h| h.display_name.clone()),
        "host_path": e.host_path,
        "acl_available": true,
        "acl_editable": roles.contains(&"administrator") || roles.contains(&"access_manager"),
        "my_effective_roles": roles,
        "high_assurance": false,
        "authentication_assurance_timeout": null,
        "non_functional": false,
        "mfa_required": false,
        "activated": true,
        "expires_in": -1,
        "expire_time": null,
        "in_use": false,
        "network_use": "normal",
        "max_concurrency": null,
        "preferred_concurrency": null,
        "max_parallelism": null,
        "preferred_parallelism": null,
        "myproxy_server": null,
        "myproxy_dn": null,
        "oauth_server": null,
        "location": null,
        "S3_url": null,
        "DATA": [],
    })
}

fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Link => "invalid_symlink",
        EntryKind::Other => "other",
    }
}

fn unix(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// One file document of `ls` or `stat` (spec §3.1).
pub fn file(e: &Entry) -> tessera_proto::transfer::FileDoc {
    tessera_proto::transfer::FileDoc {
        data_type: "file".into(),
        name: e.name.clone(),
        kind: kind(e.kind).into(),
        size: e.size,
        last_modified: timefmt::spaced(unix(e.modified)),
        permissions: format!("{:04o}", e.permissions & 0o7777),
        user: e.user.clone(),
        group: e.group.clone(),
        link_target: e.link_target.clone(),
        link_size: None,
        link_user: None,
        link_group: None,
        link_last_modified: None,
    }
}

pub fn access_rule(r: &AccessRuleRecord) -> Value {
    json!({
        "DATA_TYPE": "access",
        "id": r.id.to_string(),
        "principal_type": r.principal_type,
        "principal": r.principal,
        "path": r.path,
        "permissions": r.permissions,
        "role_id": null,
        "role_type": null,
        "create_time": timefmt::iso(r.create_time),
        "expiration_date": r.expiration_date.map(timefmt::iso),
    })
}

pub fn role(r: &RoleRecord) -> Value {
    json!({
        "DATA_TYPE": "role",
        "id": r.id.to_string(),
        "principal_type": r.principal_type,
        "principal": r.principal,
        "role": r.role,
    })
}

pub fn bookmark(b: &BookmarkRecord) -> Value {
    json!({
        "DATA_TYPE": "bookmark",
        "id": b.id.to_string(),
        "name": b.name,
        "endpoint_id": b.endpoint_id.to_string(),
        "path": b.path,
        "pinned": false,
    })
}

pub fn event(e: &EventRecord) -> Value {
    json!({
        "DATA_TYPE": "event",
        "code": e.code,
        "description": e.description,
        "details": e.details,
        "is_error": e.is_error,
        "time": timefmt::iso(e.time),
    })
}

fn spec_bool(t: &TaskRecord, key: &str) -> bool {
    t.spec.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The task document (spec §5.1). `names` are the display names of source and destination.
pub fn task(t: &TaskRecord, names: (Option<&str>, Option<&str>)) -> Value {
    let active = t.status == "ACTIVE";
    let pending = (t.files - t.files_transferred - t.files_skipped).max(0);
    let src = t.source_endpoint_id.to_string();
    let dst = t.destination_endpoint_id.map(|u| u.to_string());
    json!({
        "DATA_TYPE": "task",
        "task_id": t.id.to_string(),
        "type": t.kind,
        "status": t.status,
        "label": t.label,
        "owner_id": t.owner_id.to_string(),
        "username": t.owner_string,
        "owner_string": t.owner_string,
        "command": "API 0.10",
        "request_time": timefmt::iso(t.request_time),
        "completion_time": t.completion_time.map(timefmt::iso),
        "deadline": timefmt::iso(t.deadline),
        "source_endpoint_id": src,
        "source_endpoint": src,
        "source_endpoint_display_name": names.0,
        "destination_endpoint_id": dst,
        "destination_endpoint": dst,
        "destination_endpoint_display_name": names.1,
        "sync_level": t.spec.get("sync_level").cloned().unwrap_or(Value::Null),
        "verify_checksum": spec_bool(t, "verify_checksum"),
        "preserve_timestamp": spec_bool(t, "preserve_timestamp"),
        "encrypt_data": spec_bool(t, "encrypt_data"),
        "delete_destination_extra": spec_bool(t, "delete_destination_extra"),
        "skip_source_errors": spec_bool(t, "skip_source_errors"),
        "fail_on_quota_errors": spec_bool(t, "fail_on_quota_errors"),
        "recursive_symlinks": "ignore",
        "filter_rules": t.spec.get("filter_rules").cloned().unwrap_or(Value::Null),
        "files": t.files,
        "directories": t.directories,
        "symlinks": 0,
        "files_transferred": t.files_transferred,
        "files_skipped": t.files_skipped,
        "bytes_transferred": t.bytes_transferred,
        "bytes_checksummed": 0,
        "effective_bytes_per_second": effective_rate(t),
        "faults": t.faults,
        "subtasks_total": t.files,
        "subtasks_pending": if active { pending } else { 0 },
        "subtasks_retrying": 0,
        "subtasks_succeeded": t.files_transferred + t.files_skipped,
        "subtasks_failed": 0,
        "subtasks_canceled": if active { 0 } else { pending },
        "subtasks_expired": 0,
        "subtasks_skipped_errors": 0,
        "delete_destination_extra_count": 0,
        "is_paused": false,
        "is_ok": if active { Value::Bool(true) } else { Value::Null },
        "nice_status": if active { Value::from(if t.expanded { "OK" } else { "Queued" }) } else { Value::Null },
        "nice_status_short_description": if active { Value::from("OK") } else { Value::Null },
        "nice_status_details": null,
        "nice_status_expires_in": -1,
        "fatal_error": t.fatal_error,
        "canceled_by_admin": null,
        "canceled_by_admin_message": null,
        "history_deleted": false,
        "source_local_user": null,
        "source_local_user_status": null,
        "destination_local_user": null,
        "destination_local_user_status": null,
    })
}

fn effective_rate(t: &TaskRecord) -> i64 {
    let end = t.completion_time.unwrap_or(t.request_time);
    let secs = (end - t.request_time).max(1);
    t.bytes_transferred / secs
}
