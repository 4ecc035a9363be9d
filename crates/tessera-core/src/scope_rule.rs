//! Scopes granted by group (what a SciToken issuer does): a resource server's scope may carry a
//! rule naming the groups whose members may get it, and capability templates such as
//! `read:/data` or `write:/home/{username}` expanded per user into the capabilities its tokens
//! carry. Pure: the caller looks the user's groups up (Tessera groups, POSIX through NSS, LDAP)
//! and hands them in.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most groups and capability templates one rule may hold.
pub const MAX_RULE_GROUPS: usize = 32;
pub const MAX_RULE_CAPABILITIES: usize = 32;
/// The longest group reference or capability template.
const MAX_ITEM_LEN: usize = 512;

/// The authorizations a capability may name: the SciTokens `read`/`write` and the WLCG 1.0
/// `storage.*` and `compute.*` scopes.
pub const AUTHZ: [&str; 10] = [
    "read",
    "write",
    "storage.read",
    "storage.create",
    "storage.modify",
    "storage.stage",
    "compute.read",
    "compute.create",
    "compute.modify",
    "compute.cancel",
];

/// The placeholders a capability path may use.
const PLACEHOLDERS: [&str; 3] = ["{username}", "{posix_uid}", "{group}"];

/// A group a rule names, by its source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupRef {
    /// A Tessera group (`tessera:<uuid>`, or the Globus URN `urn:globus:groups:id:<uuid>`).
    Tessera(Uuid),
    /// A group of the host as NSS sees it (`posix:<name>`).
    Posix(String),
    /// A group in the configured LDAP directory (`ldap:<name>`).
    Ldap(String),
}

impl GroupRef {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad_name = |n: &str| {
            n.is_empty()
                || n.len() > 256
                || n.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        };
        if let Some(id) = s
            .strip_prefix("tessera:")
            .or_else(|| s.strip_prefix("urn:globus:groups:id:"))
        {
            return Uuid::parse_str(id)
                .map(Self::Tessera)
                .map_err(|_| format!("group {s:?}: not a group id"));
        }
        if let Some(n) = s.strip_prefix("posix:") {
            if bad_name(n) {
                return Err(format!("group {s:?}: not a POSIX group name"));
            }
            return Ok(Self::Posix(n.to_owned()));
        }
        if let Some(n) = s.strip_prefix("ldap:") {
            if bad_name(n) {
                return Err(format!("group {s:?}: not an LDAP group name"));
            }
            return Ok(Self::Ldap(n.to_owned()));
        }
        Err(format!(
            "group {s:?}: give tessera:<group id>, posix:<name> or ldap:<name>"
        ))
    }
}

impl std::fmt::Display for GroupRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tessera(id) => write!(f, "tessera:{id}"),
            Self::Posix(n) => write!(f, "posix:{n}"),
            Self::Ldap(n) => write!(f, "ldap:{n}"),
        }
    }
}

/// A scope's authorization rule, as stored and as the API shows it (`group_rule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRule {
    /// Members of any of these get the scope (`tessera:<id>`, `posix:<name>`, `ldap:<name>`).
    pub groups: Vec<String>,
    /// Capability templates (`read:/data`, `write:/home/{username}`), expanded per user.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

impl GroupRule {
    /// Checks a rule given through the API: known sources, known authorizations, absolute
    /// paths without `..`, only the known placeholders.
    pub fn validate(&self) -> Result<(), String> {
        if self.groups.is_empty() {
            return Err("group_rule.groups must name at least one group".into());
        }
        if self.groups.len() > MAX_RULE_GROUPS {
            return Err(format!("group_rule.groups: at most {MAX_RULE_GROUPS}"));
        }
        if self.capabilities.len() > MAX_RULE_CAPABILITIES {
            return Err(format!(
                "group_rule.capabilities: at most {MAX_RULE_CAPABILITIES}"
            ));
        }
        for g in &self.groups {
            if g.len() > MAX_ITEM_LEN {
                return Err("group_rule.groups: a reference is too long".into());
            }
            GroupRef::parse(g)?;
        }
        for c in &self.capabilities {
            validate_capability(c)?;
        }
        Ok(())
    }

    /// The parsed group references (those that do not parse are skipped: the store holds only
    /// validated rules).
    pub fn group_refs(&self) -> Vec<GroupRef> {
        self.groups
            .iter()
            .filter_map(|g| GroupRef::parse(g).ok())
            .collect()
    }
}

fn validate_capability(c: &str) -> Result<(), String> {
    if c.len() > MAX_ITEM_LEN {
        return Err("group_rule.capabilities: a template is too long".into());
    }
    let Some((authz, path)) = c.split_once(':') else {
        return Err(format!(
            "capability {c:?}: give authz:/path, such as read:/data"
        ));
    };
    if !AUTHZ.contains(&authz) {
        return Err(format!(
            "capability {c:?}: the authorization must be one of {}",
            AUTHZ.join(", ")
        ));
    }
    if !path.starts_with('/') {
        return Err(format!("capability {c:?}: the path must be absolute"));
    }
    if path
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control() || ch == '%')
    {
        return Err(format!(
            "capability {c:?}: the path may not hold spaces, control characters or %"
        ));
    }
    if path.split('/').any(|seg| seg == "..") {
        return Err(format!("capability {c:?}: the path may not hold .."));
    }
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let tail = &rest[open..];
        let Some(p) = PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) else {
            return Err(format!(
                "capability {c:?}: unknown placeholder (use {})",
                PLACEHOLDERS.join(", ")
            ));
        };
        rest = &tail[p.len()..];
    }
    if rest.contains('}') || path.matches('}').count() != path.matches('{').count() {
        return Err(format!("capability {c:?}: unbalanced braces"));
    }
    Ok(())
}

/// What is known of a person when a rule is evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// The name `{username}` expands to: the local account name when the username is in the
    /// configured local domain, else the Tessera username.
    pub username: String,
    /// `{posix_uid}`; capabilities that need it are left out when unknown.
    pub posix_uid: Option<u32>,
    /// Active memberships in Tessera groups: id and name.
    pub tessera_groups: Vec<(Uuid, String)>,
    /// POSIX group names (as `getgrouplist` gives them).
    pub posix_groups: Vec<String>,
    /// LDAP group names.
    pub ldap_groups: Vec<String>,
}

impl Member {
    /// The name of the group `r` when the member belongs to it.
    fn name_in(&self, r: &GroupRef) -> Option<String> {
        match r {
            GroupRef::Tessera(id) => self
                .tessera_groups
                .iter()
                .find(|(g, _)| g == id)
                .map(|(_, n)| n.clone()),
            GroupRef::Posix(n) => self.posix_groups.iter().find(|g| *g == n).cloned(),
            GroupRef::Ldap(n) => self.ldap_groups.iter().find(|g| *g == n).cloned(),
        }
    }
}

/// What a rule grants one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted {
    /// Expanded capabilities, in template order, without repeats.
    pub capabilities: Vec<String>,
    /// The names of the rule's groups the member is in (for `wlcg.groups`).
    pub groups: Vec<String>,
}

/// A placeholder value that may go into a path: one non-empty segment, no `..`.
fn safe_segment(v: &str) -> bool {
    !v.is_empty()
        && v != "."
        && v != ".."
        && !v
            .chars()
            .any(|c| c == '/' || c == '%' || c.is_whitespace() || c.is_control())
}

/// `Some(granted)` when `member` is in one of the rule's groups; `None`: the scope is refused.
/// A template whose placeholder has no safe value for this member (no POSIX uid, a group name
/// with a slash) yields no capability; `{group}` yields one per matching group.
pub fn evaluate(rule: &GroupRule, member: &Member) -> Option<Granted> {
    let groups: Vec<String> = rule
        .group_refs()
        .iter()
        .filter_map(|r| member.name_in(r))
        .fold(Vec::new(), |mut acc, n| {
            if !acc.contains(&n) {
                acc.push(n);
            }
            acc
        });
    if groups.is_empty() {
        return None;
    }
    let uid = member.posix_uid.map(|u| u.to_string());
    let mut capabilities: Vec<String> = Vec::new();
    for template in &rule.capabilities {
        let with_user = if template.contains("{username}") {
            if !safe_segment(&member.username) {
                continue;
            }
            template.replace("{username}", &member.username)
        } else {
            template.clone()
        };
        let with_uid = if with_user.contains("{posix_uid}") {
            match &uid {
                Some(u) => with_user.replace("{posix_uid}", u),
                None => continue,
            }
        } else {
            with_user
        };
        let expanded: Vec<String> = if with_uid.contains("{group}") {
            groups
                .iter()
                .filter(|g| safe_segment(g))
                .map(|g| with_uid.replace("{group}", g))
                .collect()
        } else {
            vec![with_uid]
        };
        for e in expanded {
            if !capabilities.contains(&e) {
                capabilities.push(e);
            }
        }
    }
    Some(Granted {
        capabilities,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], caps: &[&str]) -> GroupRule {
        GroupRule {
            groups: groups.iter().map(|s| (*s).to_owned()).collect(),
            capabilities: caps.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn alice() -> Member {
        Member {
            username: "alice".into(),
            posix_uid: Some(1001),
            tessera_groups: vec![(Uuid::from_u128(7), "lab".into())],
            posix_groups: vec!["cms".into(), "users".into()],
            ldap_groups: vec!["physics".into()],
        }
    }

    #[test]
    fn group_references_parse_by_source() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            GroupRef::parse(&format!("tessera:{id}")),
            Ok(GroupRef::Tessera(id))
        );
        assert_eq!(
            GroupRef::parse(&format!("urn:globus:groups:id:{id}")),
            Ok(GroupRef::Tessera(id))
        );
        assert_eq!(
            GroupRef::parse("posix:cms"),
            Ok(GroupRef::Posix("cms".into()))
        );
        assert_eq!(
            GroupRef::parse("ldap:physics"),
            Ok(GroupRef::Ldap("physics".into()))
        );
        for bad in ["cms", "posix:", "ldap:a b", "tessera:nope", "nis:x"] {
            assert!(GroupRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_refuses_what_could_escape_or_confuse() {
        assert!(
            rule(&["posix:cms"], &["read:/data", "write:/home/{username}"])
                .validate()
                .is_ok()
        );
        assert!(
            rule(&["posix:cms"], &["storage.read:/store/{group}/{posix_uid}"])
                .validate()
                .is_ok()
        );
        assert!(rule(&[], &["read:/data"]).validate().is_err());
        for bad in [
            "read",
            "read:data",
            "delete:/data",
            "read:/data/../etc",
            "read:/x/{user}",
            "read:/x/{username",
            "read:/x/}",
            "read:/a b",
            "read:/a%2e%2e",
        ] {
            assert!(rule(&["posix:cms"], &[bad]).validate().is_err(), "{bad}");
        }
        assert!(rule(&["bogus"], &["read:/data"]).validate().is_err());
    }

    #[test]
    fn a_member_gets_expanded_capabilities_and_a_stranger_nothing() {
        let r = rule(
            &["posix:cms", "ldap:physics"],
            &[
                "read:/data",
                "write:/home/{username}",
                "read:/uid/{posix_uid}",
                "storage.read:/store/{group}",
            ],
        );
        let g = evaluate(&r, &alice()).expect("alice is in cms");
        assert_eq!(
            g.capabilities,
            vec![
                "read:/data",
                "write:/home/alice",
                "read:/uid/1001",
                "storage.read:/store/cms",
                "storage.read:/store/physics",
            ]
        );
        assert_eq!(g.groups, vec!["cms", "physics"]);
        let stranger = Member {
            username: "bob".into(),
            posix_groups: vec!["users".into()],
            ..Member::default()
        };
        assert_eq!(evaluate(&r, &stranger), None);
    }

    #[test]
    fn tessera_groups_match_by_id_and_expand_by_name() {
        let r = rule(
            &[&format!("tessera:{}", Uuid::from_u128(7))],
            &["read:/lab/{group}"],
        );
        let g = evaluate(&r, &alice()).expect("member");
        assert_eq!(g.capabilities, vec!["read:/lab/lab"]);
        let other = rule(&[&format!("tessera:{}", Uuid::from_u128(8))], &["read:/x"]);
        assert_eq!(evaluate(&other, &alice()), None);
    }

    #[test]
    fn unsafe_or_unknown_values_drop_the_capability_not_the_scope() {
        let r = rule(
            &["posix:cms"],
            &[
                "read:/uid/{posix_uid}",
                "write:/home/{username}",
                "read:/data",
            ],
        );
        let m = Member {
            username: "../root".into(),
            posix_uid: None,
            posix_groups: vec!["cms".into()],
            ..Member::default()
        };
        assert_eq!(
            evaluate(&r, &m).map(|g| g.capabilities),
            Some(vec!["read:/data".to_owned()])
        );
        let slashy = Member {
            username: "a".into(),
            ldap_groups: vec!["a/b".into()],
            ..Member::default()
        };
        let r = rule(&["ldap:a/b"], &["read:/g/{group}"]);
        assert_eq!(evaluate(&r, &slashy).map(|g| g.capabilities), Some(vec![]));
    }

    #[test]
    fn the_stored_form_round_trips() {
        let r = rule(&["posix:cms"], &["read:/data"]);
        let text = serde_json::to_string(&r).expect("serialises");
        assert_eq!(serde_json::from_str::<GroupRule>(&text).ok(), Some(r));
    }
}
