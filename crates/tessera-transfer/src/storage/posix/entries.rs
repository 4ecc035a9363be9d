//! Turning `stat` answers into [`Entry`] values: kind, size, mtime, mode, owner names, link
//! targets, and names that may not be UTF-8.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::AsFd;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{readlinkat, statat, AtFlags, Dir, FileType, Stat};
use rustix::io::Errno;

use crate::storage::{Entry, EntryKind};

/// uid/gid → name, looked up through NSS once per id (a listing of 10,000 files owned by one
/// user asks NSS once, not 10,000 times). Unknown ids are reported as their number.
#[derive(Default)]
pub(crate) struct Owners {
    users: Mutex<HashMap<u32, String>>,
    groups: Mutex<HashMap<u32, String>>,
}

impl Owners {
    pub(crate) fn user(&self, uid: u32) -> String {
        cached(&self.users, uid, |id| {
            uzers::get_user_by_uid(id).map(|u| u.name().to_string_lossy().into_owned())
        })
    }

    pub(crate) fn group(&self, gid: u32) -> String {
        cached(&self.groups, gid, |id| {
            uzers::get_group_by_gid(id).map(|g| g.name().to_string_lossy().into_owned())
        })
    }
}

fn cached(
    map: &Mutex<HashMap<u32, String>>,
    id: u32,
    lookup: impl Fn(u32) -> Option<String>,
) -> String {
    if let Ok(map) = map.lock() {
        if let Some(name) = map.get(&id) {
            return name.clone();
        }
    }
    let name = lookup(id).unwrap_or_else(|| id.to_string());
    if let Ok(mut map) = map.lock() {
        map.insert(id, name.clone());
    }
    name
}

pub(crate) fn kind_of(st: &Stat) -> EntryKind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Link,
        _ => EntryKind::Other,
    }
}

// The field types differ between architectures (`i64` here, `c_long` elsewhere).
#[allow(clippy::unnecessary_cast)]
pub(crate) fn mtime_of(st: &Stat) -> SystemTime {
    let secs = st.st_mtime as i64;
    let nanos = st.st_mtime_nsec as u32;
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nanos.into())
    }
}

/// A name as the API shows it: lossy UTF-8 plus whether it was valid.
pub(crate) fn name_of(raw: &[u8]) -> (String, bool) {
    match std::str::from_utf8(raw) {
        Ok(s) => (s.to_owned(), true),
        Err(_) => (String::from_utf8_lossy(raw).into_owned(), false),
    }
}

/// Builds the entry for `st`; `dir`/`raw_name` locate it for reading a link's target.
pub(crate) fn entry_from(
    owners: &Owners,
    st: &Stat,
    name: (String, bool),
    dir: &impl AsFd,
    raw_name: &CStr,
) -> Entry {
    let kind = kind_of(st);
    let link_target = if kind == EntryKind::Link {
        readlinkat(dir, raw_name, Vec::new())
            .ok()
            .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned())
    } else {
        None
    };
    Entry {
        name: name.0,
        name_is_utf8: name.1,
        kind,
        size: u64::try_from(st.st_size).unwrap_or(0),
        modified: mtime_of(st),
        permissions: st.st_mode & 0o7777,
        user: owners.user(st.st_uid),
        group: owners.group(st.st_gid),
        link_target,
    }
}

/// Every entry of the directory open for reading at `dir` (`.` and `..` left out). An entry that
/// vanishes between the listing and its `stat` is left out too: it no longer exists.
pub(crate) fn list(owners: &Owners, dir: &impl AsFd) -> Result<Vec<Entry>, Errno> {
    let mut out = Vec::new();
    let mut reader = Dir::read_from(dir)?;
    while let Some(item) = reader.read() {
        let item = item?;
        let raw = item.file_name();
        let bytes = raw.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        let st = match statat(dir, raw, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(err) => return Err(err),
        };
        out.push(entry_from(owners, &st, name_of(bytes), dir, raw));
    }
    Ok(out)
}
