//! Who may do what on an endpoint: pure functions over the endpoint, its access rules and the
//! caller's identity set.
//!
//! The owner (any identity of the caller's set) may do everything. Anyone else gets the union of
//! the rules that name them (their identity, a group they are an active member of,
//! `all_authenticated_users`, `anonymous`) on the path or any ancestor of it, compared by whole
//! components (`/a/` never covers `/ab/`). On a shared endpoint the result is further capped by
//! what the share's owner may do on the host at the share's host path.

use crate::storage::RelPath;
use tessera_core::clock::UnixTime;
use tessera_store::transfer::AccessRuleRecord;
use uuid::Uuid;

/// What a caller may do at a path. Ordered: `None < Read < ReadWrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    Read,
    ReadWrite,
}

impl Access {
    pub fn parse(permissions: &str) -> Option<Self> {
        match permissions {
            "r" => Some(Self::Read),
            "rw" => Some(Self::ReadWrite),
            _ => None,
        }
    }
    pub fn allows_read(self) -> bool {
        self >= Self::Read
    }
    pub fn allows_write(self) -> bool {
        self == Self::ReadWrite
    }
}

/// The principal types a rule may name.
pub const PRINCIPAL_TYPES: [&str; 4] =
    ["identity", "group", "all_authenticated_users", "anonymous"];

/// A rule's path as it is stored: absolute, ending in `/`, no `..`; `None` when invalid.
pub fn normalize_rule_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let rel = RelPath::parse(path).ok()?;
    let mut s = rel.to_api();
    if !s.ends_with('/') {
        s.push('/');
    }
    Some(s)
}

/// The URN form of a group principal that other Globus services use (the groups spec).
pub const GROUP_URN_PREFIX: &str = "urn:globus:groups:id:";

/// A group principal as a rule may give it: the bare group id (what Transfer uses) or
/// `urn:globus:groups:id:<uuid>`.
pub fn group_principal(principal: &str) -> Option<Uuid> {
    let p = principal.trim();
    let bare = p.strip_prefix(GROUP_URN_PREFIX).unwrap_or(p);
    Uuid::parse_str(bare).ok()
}

/// Whether any rule names a group (then the caller's memberships are needed).
pub fn names_groups(rules: &[AccessRuleRecord]) -> bool {
    rules.iter().any(|r| r.principal_type == "group")
}

fn names(rule: &AccessRuleRecord, identities: &[Uuid], groups: &[Uuid]) -> bool {
    match rule.principal_type.as_str() {
        "identity" => Uuid::parse_str(&rule.principal)
            .map(|p| identities.contains(&p))
            .unwrap_or(false),
        "group" => group_principal(&rule.principal)
            .map(|g| groups.contains(&g))
            .unwrap_or(false),
        // Every caller that reached us holds a valid token.
        "all_authenticated_users" | "anonymous" => true,
        _ => false,
    }
}

/// The union of the rules that name one of `identities` (or one of `groups`, the groups they
/// are active members of) on `path` or an ancestor of it.
pub fn granted(
    rules: &[AccessRuleRecord],
    identities: &[Uuid],
    groups: &[Uuid],
    path: &RelPath,
    now: UnixTime,
) -> Access {
    let mut best = Access::None;
    for rule in rules {
        if rule.expiration_date.is_some_and(|e| e <= now) || !names(rule, identities, groups) {
            continue;
        }
        let Ok(rule_path) = RelPath::parse(&rule.path) else {
            continue;
        };
        if path.starts_with(&rule_path) {
            best = best.max(Access::parse(&rule.permissions).unwrap_or(Access::None));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(principal_type: &str, principal: &str, path: &str, perms: &str) -> AccessRuleRecord {
        AccessRuleRecord {
            id: Uuid::nil(),
            endpoint_id: Uuid::nil(),
            principal_type: principal_type.into(),
            principal: principal.into(),
            path: path.into(),
            permissions: perms.into(),
            create_time: 0,
            expiration_date: None,
        }
    }

    fn p(s: &str) -> RelPath {
        RelPath::parse(s).unwrap()
    }

    #[test]
    fn a_rule_covers_its_path_and_below_by_whole_components() {
        let me = Uuid::from_u128(7);
        let rules = [rule("identity", &me.to_string(), "/a/", "r")];
        assert_eq!(granted(&rules, &[me], &[], &p("/a"), 0), Access::Read);
        assert_eq!(granted(&rules, &[me], &[], &p("/a/b/c"), 0), Access::Read);
        assert_eq!(granted(&rules, &[me], &[], &p("/ab"), 0), Access::None);
        assert_eq!(granted(&rules, &[me], &[], &p("/"), 0), Access::None);
    }

    #[test]
    fn effective_permission_is_the_union_over_ancestors() {
        let me = Uuid::from_u128(7);
        let rules = [
            rule("identity", &me.to_string(), "/", "r"),
            rule("all_authenticated_users", "", "/shared/rw/", "rw"),
        ];
        assert_eq!(granted(&rules, &[me], &[], &p("/shared"), 0), Access::Read);
        assert_eq!(
            granted(&rules, &[me], &[], &p("/shared/rw/x"), 0),
            Access::ReadWrite
        );
    }

    #[test]
    fn other_identities_groups_and_expired_rules_grant_nothing() {
        let (me, other) = (Uuid::from_u128(7), Uuid::from_u128(8));
        let rules = [
            rule("identity", &other.to_string(), "/", "rw"),
            rule("group", &me.to_string(), "/", "rw"),
            AccessRuleRecord {
                expiration_date: Some(10),
                ..rule("identity", &me.to_string(), "/", "rw")
            },
        ];
        assert_eq!(granted(&rules, &[me], &[], &p("/x"), 5), Access::ReadWrite);
        assert_eq!(granted(&rules, &[me], &[], &p("/x"), 10), Access::None);
    }

    #[test]
    fn a_group_rule_grants_its_active_members_only() {
        let (me, lab, other) = (Uuid::from_u128(7), Uuid::from_u128(70), Uuid::from_u128(71));
        let rules = [
            rule("group", &lab.to_string(), "/lab/", "rw"),
            rule(
                "group",
                &format!("{GROUP_URN_PREFIX}{other}"),
                "/other/",
                "r",
            ),
        ];
        assert_eq!(
            granted(&rules, &[me], &[lab], &p("/lab/x"), 0),
            Access::ReadWrite
        );
        assert_eq!(granted(&rules, &[me], &[], &p("/lab/x"), 0), Access::None);
        assert_eq!(
            granted(&rules, &[me], &[lab], &p("/other"), 0),
            Access::None
        );
        assert_eq!(
            granted(&rules, &[me], &[other], &p("/other"), 0),
            Access::Read
        );
        assert!(names_groups(&rules));
        assert_eq!(
            group_principal(&format!(" {GROUP_URN_PREFIX}{lab}")),
            Some(lab)
        );
        assert_eq!(group_principal("urn:globus:groups:id:nope"), None);
    }

    #[test]
    fn rule_paths_are_normalized() {
        assert_eq!(normalize_rule_path("/a//b").as_deref(), Some("/a/b/"));
        assert_eq!(normalize_rule_path("/").as_deref(), Some("/"));
        assert_eq!(normalize_rule_path("a/"), None);
        assert_eq!(normalize_rule_path("/a/../b"), None);
    }
}
