//! The endpoint-manager repository (migration 0026): pause rules, tasks paused by id, admin
//! cancel jobs, the managers' task list, and the engine's parking of paused tasks. The SQL is in
//! `sql_endpoint_manager.rs`, one body for both backends.
//!
//! A paused task keeps status ACTIVE; the engine "parks" it: its lease goes to the pseudo-owner
//! [`PARKED`] for a few seconds, so no node claims it in the meantime and no node's release
//! frees it. When the park runs out the task is claimed again and the engine looks at the rules
//! afresh; a resume (or a changed rule) unparks it at once.

use async_trait::async_trait;
use tessera_core::clock::UnixTime;
use uuid::Uuid;

use crate::transfer::TaskRecord;
use crate::StoreError;

/// The lease owner of a parked (paused) task.
pub const PARKED: &str = "paused";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseRuleRecord {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// Whose tasks it holds; `None`: everyone's.
    pub identity_id: Option<Uuid>,
    pub message: String,
    /// From when; `None`: at once.
    pub start_time: Option<UnixTime>,
    pub pause_ls: bool,
    pub pause_mkdir: bool,
    pub pause_rename: bool,
    pub pause_task_delete: bool,
    pub pause_task_transfer_write: bool,
    pub pause_task_transfer_read: bool,
    pub modified_by_id: Uuid,
    pub modified_by: String,
    pub created_at: UnixTime,
}

/// A task paused by id (`admin_pause`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPauseRecord {
    pub task_id: Uuid,
    pub message: String,
    /// `SOURCE`, `DESTINATION` or `BOTH`: whose manager paused it.
    pub side: String,
    pub paused_by: Uuid,
    pub paused_at: UnixTime,
}

/// One `admin_cancel` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCancelRecord {
    pub id: Uuid,
    pub message: String,
    pub task_ids: Vec<Uuid>,
    pub processed_task_ids: Vec<Uuid>,
    pub created_by: Uuid,
    pub created_at: UnixTime,
}

/// A task an admin cancel ended: the message its owner sees, and whose manager canceled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAdminCancelRecord {
    pub task_id: Uuid,
    pub admin_cancel_id: Uuid,
    pub message: String,
    pub side: String,
}

/// Which side of a task an endpoint filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointUse {
    Source,
    Destination,
}

/// The tasks a manager sees: those whose source or destination is one of `endpoint_ids`,
/// newest first (`request_time`, then id), after `after` (the last key of the page before).
#[derive(Debug, Clone, Default)]
pub struct ManagerTaskQuery {
    pub endpoint_ids: Vec<Uuid>,
    pub endpoint_use: Option<EndpointUse>,
    pub statuses: Vec<String>,
    pub task_ids: Vec<Uuid>,
    pub owner_ids: Vec<Uuid>,
    pub completion_after: Option<UnixTime>,
    pub completion_before: Option<UnixTime>,
    /// With only a lower completion bound: tasks still running match too.
    pub include_running: bool,
    pub min_faults: Option<i64>,
    pub after: Option<(UnixTime, Uuid)>,
    pub limit: i64,
}

#[async_trait]
pub trait EndpointManagerRepository {
    async fn insert_pause_rule(&self, rule: &PauseRuleRecord) -> Result<(), StoreError>;
    async fn pause_rule(&self, id: Uuid) -> Result<Option<PauseRuleRecord>, StoreError>;
    /// The rules on any of `endpoint_ids`, oldest first.
    async fn pause_rules(&self, endpoint_ids: &[Uuid]) -> Result<Vec<PauseRuleRecord>, StoreError>;
    /// Replaces every field but id, endpoint and creation; false when unknown.
    async fn update_pause_rule(&self, rule: &PauseRuleRecord) -> Result<bool, StoreError>;
    async fn delete_pause_rule(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Pauses an ACTIVE task by id (replacing an earlier pause's message); false when the task
    /// is not ACTIVE.
    async fn pause_task(&self, pause: &TaskPauseRecord) -> Result<bool, StoreError>;
    /// Removes a task's pause by id and unparks it; false when it was not paused by id.
    async fn resume_task(&self, task_id: Uuid) -> Result<bool, StoreError>;
    async fn task_pauses(&self, task_ids: &[Uuid]) -> Result<Vec<TaskPauseRecord>, StoreError>;

    /// Records an admin cancel and the tasks it ended, in one transaction.
    async fn insert_admin_cancel(
        &self,
        cancel: &AdminCancelRecord,
        ended: &[TaskAdminCancelRecord],
    ) -> Result<(), StoreError>;
    async fn admin_cancel(&self, id: Uuid) -> Result<Option<AdminCancelRecord>, StoreError>;
    async fn task_admin_cancels(
        &self,
        task_ids: &[Uuid],
    ) -> Result<Vec<TaskAdminCancelRecord>, StoreError>;

    /// One page of the managers' task list (at most `limit`).
    async fn manager_tasks(&self, query: &ManagerTaskQuery) -> Result<Vec<TaskRecord>, StoreError>;

    /// Parks a paused ACTIVE task `node` holds until `until` (see the module comment); false
    /// when it is no longer ACTIVE or `node`'s.
    async fn park_task(&self, id: Uuid, node: &str, until: UnixTime) -> Result<bool, StoreError>;
    /// Unparks the given parked tasks, or every parked task when `ids` is empty; how many.
    async fn unpark_tasks(&self, ids: &[Uuid]) -> Result<u64, StoreError>;
}
