//! Permission re-checked while a task runs: before each file is started, the task's owner must
//! still be allowed to read its source and write its destination (an access rule deleted, a
//! group membership removed or a share taken away mid-task stops further files). Decisions are
//! kept per directory for at most a second, so a tree of small files costs a few reads a
//! second, not one per file.

use super::run::Stop;
use crate::acl::Access;
use crate::service::endpoints as svc;
use crate::storage::RelPath;
use crate::TransferState;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tessera_store::transfer::{EndpointRecord, TaskRecord};
use uuid::Uuid;

/// How long one decision is reused.
const FRESH: Duration = Duration::from_secs(1);

pub(super) struct Recheck {
    identities: Vec<Uuid>,
    source: Option<EndpointRecord>,
    destination: Option<EndpointRecord>,
    decided: HashMap<(bool, RelPath), (Access, Instant)>,
}

impl Recheck {
    pub(super) async fn new(
        state: &TransferState,
        task: &TaskRecord,
        identities: &[Uuid],
    ) -> Result<Self, Stop> {
        let identities = match identities {
            [] => vec![task.owner_id],
            ids => ids.to_vec(),
        };
        let source = state.store.endpoint(task.source_endpoint_id).await?;
        let destination = match task.destination_endpoint_id {
            Some(id) => state.store.endpoint(id).await?,
            None => None,
        };
        Ok(Self {
            identities,
            source,
            destination,
            decided: HashMap::new(),
        })
    }

    async fn access(
        &mut self,
        state: &TransferState,
        destination: bool,
        path: &RelPath,
    ) -> Result<Access, Stop> {
        let dir = path.parent().unwrap_or_default();
        let key = (destination, dir);
        if let Some((a, at)) = self.decided.get(&key) {
            if at.elapsed() < FRESH {
                return Ok(*a);
            }
        }
        let endpoint = match destination {
            true => &self.destination,
            false => &self.source,
        };
        let Some(endpoint) = endpoint else {
            return Ok(Access::None);
        };
        let a = svc::access_of(state, &self.identities, endpoint, path)
            .await
            .map_err(|e| Stop::Internal(e.message))?;
        self.decided.insert(key, (a, Instant::now()));
        Ok(a)
    }

    /// `Ok` when the owner may still copy `from` to `to`; the fatal error otherwise.
    pub(super) async fn copy(
        &mut self,
        state: &TransferState,
        from: &RelPath,
        to: &RelPath,
    ) -> Result<(), Stop> {
        if !self.access(state, false, from).await?.allows_read() {
            return Err(denied(from, "read"));
        }
        if !self.access(state, true, to).await?.allows_write() {
            return Err(denied(to, "write"));
        }
        Ok(())
    }
}

fn denied(path: &RelPath, what: &str) -> Stop {
    Stop::Fatal(
        "PERMISSION_DENIED",
        format!(
            "{}: the task's owner may no longer {what} here (an access rule changed)",
            path.to_api()
        ),
    )
}
