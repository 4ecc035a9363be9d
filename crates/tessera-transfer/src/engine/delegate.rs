//! One file of a task: copied directly between two storage connectors when the hub can (the
//! bytes go from one storage host to the other, never through this node), else through this
//! node by [`data::copy_file`].

use crate::connectors::ConnectorHub;
use crate::data::{self, CopyOptions, DataError, FileOutcome};
use crate::storage::{RelPath, Storage};
use std::sync::atomic::AtomicBool;
use uuid::Uuid;

#[allow(clippy::too_many_arguments)]
pub(super) fn copy_file(
    hub: Option<&dyn ConnectorHub>,
    task: Uuid,
    src: &dyn Storage,
    from: &RelPath,
    dst: &dyn Storage,
    to: &RelPath,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<FileOutcome, DataError> {
    if let Some(hub) = hub {
        if let Some(done) = hub.copy_direct(task, src, from, dst, to, opts, progress, cancel) {
            return done;
        }
    }
    data::copy_file(src, from, dst, to, opts, progress, cancel)
}
