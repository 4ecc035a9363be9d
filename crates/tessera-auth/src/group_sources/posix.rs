//! POSIX accounts and groups as NSS gives them (`getpwnam`, `getgrouplist`, `getgrgid`), through
//! `uzers` (no unsafe code here). Blocking: call from `spawn_blocking`.

use super::PosixAccount;

/// The account's uid and the names of every group `getgrouplist` lists for it (its primary
/// group included); empty when NSS does not know the name.
pub fn account(name: &str) -> PosixAccount {
    let Some(user) = uzers::get_user_by_name(name) else {
        return PosixAccount::default();
    };
    let groups = uzers::get_user_groups(name, user.primary_group_id())
        .unwrap_or_default()
        .iter()
        .map(|g| g.name().to_string_lossy().into_owned())
        .fold(Vec::new(), |mut acc: Vec<String>, g| {
            if !acc.contains(&g) {
                acc.push(g);
            }
            acc
        });
    PosixAccount {
        uid: Some(user.uid()),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_in_its_primary_group_and_strangers_in_none() {
        let root = account("root");
        assert_eq!(root.uid, Some(0));
        assert!(root.groups.iter().any(|g| g == "root"), "{root:?}");
        assert_eq!(account("no-such-user-tessera-xyz"), PosixAccount::default());
    }
}
