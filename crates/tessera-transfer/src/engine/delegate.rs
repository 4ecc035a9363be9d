//! One file of a task: copied directly between two storage connectors when the hub can (the
//! bytes go from one storage host to the other, never through this node; the file is under its
//! name when that returns), else through this node by [`data::copy_file_staged`] (left under
//! its temporary name for the caller's batch to publish).

use crate::connectors::ConnectorHub;
use crate::data::{self, CopyOptions, DataError, FileOutcome};
use crate::storage::{RelPath, Staged, Storage};
use std::sync::atomic::AtomicBool;
use uuid::Uuid;

#[allow(clippy::too_many_arguments)]
pub(super) fn copy_file_staged(
    hub: Option<&dyn ConnectorHub>,
    task: Uuid,
    src: &dyn Storage,
    from: &RelPath,
    dst: &dyn Storage,
    to: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<(FileOutcome, Option<Box<dyn Staged>>), DataError> {
    if let Some(hub) = hub {
        if let Some(done) = hub.copy_direct(task, src, from, dst, to, opts, progress, cancel) {
            return done.map(|outcome| (outcome, None));
        }
    }
    data::copy_file_staged(src, from, dst, to, opts, progress, cancel)
}
