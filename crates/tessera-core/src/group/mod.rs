//! Groups (the Globus Groups API v2): groups, their policies, and memberships with roles and
//! statuses. The rules of who may change which membership how are in [`rules`]; they are pure,
//! so the service applies them to what it read and stores the result.

pub mod allowed;
pub mod rules;

use crate::clock::UnixTime;
use uuid::Uuid;

/// The default `authentication_assurance_timeout` (seconds), as the Globus fixtures show it.
pub const DEFAULT_ASSURANCE_TIMEOUT: i64 = 28_800;
/// Longest group name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description or terms and conditions, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The signup fields a group may ask for (Globus `GroupPolicies.signup_fields`).
pub const SIGNUP_FIELDS: [&str; 12] = [
    "institution",
    "current_project_name",
    "address",
    "city",
    "state",
    "country",
    "address1",
    "address2",
    "zip",
    "phone",
    "department",
    "field_of_science",
];

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

string_enum!(
    /// A member's role. Ordered: a manager can do what a member can, an admin what a manager can.
    Role { Member = "member", Manager = "manager", Admin = "admin" }
);
string_enum!(
    /// Where a membership stands.
    Status {
        Active = "active",
        Invited = "invited",
        Pending = "pending",
        Rejected = "rejected",
        Removed = "removed",
        Left = "left",
        Declined = "declined",
    }
);
string_enum!(
    /// Who may see a group.
    GroupVisibility { Authenticated = "authenticated", Private = "private" }
);
string_enum!(
    /// Who may see a group's members.
    MembersVisibility { Members = "members", Managers = "managers" }
);

/// A group's policies (Globus `GroupPolicies`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policies {
    pub is_high_assurance: bool,
    pub authentication_assurance_timeout: i64,
    pub group_visibility: String,
    pub group_members_visibility: String,
    pub join_requests: bool,
    pub signup_fields: Vec<String>,
}

impl Default for Policies {
    /// What a new group gets (the OpenAPI description of `POST /v2/groups`).
    fn default() -> Self {
        Self {
            is_high_assurance: false,
            authentication_assurance_timeout: DEFAULT_ASSURANCE_TIMEOUT,
            group_visibility: GroupVisibility::Private.as_str().to_owned(),
            group_members_visibility: MembersVisibility::Managers.as_str().to_owned(),
            join_requests: false,
            signup_fields: Vec::new(),
        }
    }
}

impl Policies {
    pub fn visibility(&self) -> GroupVisibility {
        GroupVisibility::parse(&self.group_visibility).unwrap_or(GroupVisibility::Private)
    }
    pub fn members_visibility(&self) -> MembersVisibility {
        MembersVisibility::parse(&self.group_members_visibility)
            .unwrap_or(MembersVisibility::Managers)
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<Uuid>,
    pub terms_and_conditions: Option<String>,
    pub policies: Policies,
    pub subscription_id: Option<Uuid>,
    pub subscription_admin_verified_id: Option<Uuid>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// One identity's membership of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group_id: Uuid,
    pub identity_id: Uuid,
    pub role: Role,
    pub status: Status,
    pub status_reason: Option<String>,
    pub invite_email_address: Option<String>,
    pub invite_time: Option<UnixTime>,
    pub updated: UnixTime,
}

/// A group name: printable, not blank, bounded.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("a group name must not be empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("a group name must be at most 200 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("a group name must not contain control characters");
    }
    Ok(())
}

/// A description or terms and conditions: bounded, no control characters but line breaks and tabs.
pub fn validate_text(text: &str) -> Result<(), &'static str> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err("a text field must be at most 10000 characters");
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("a text field must not contain control characters");
    }
    Ok(())
}

/// Who may see a group: anyone signed in when its visibility is `authenticated`, else only
/// identities with an active, invited or pending membership (invitees see private groups).
pub fn visible_to(group: &Group, mine: &[&Membership]) -> bool {
    group.policies.visibility() == GroupVisibility::Authenticated
        || mine
            .iter()
            .any(|m| matches!(m.status, Status::Active | Status::Invited | Status::Pending))
}

/// The highest role among the caller's active memberships.
pub fn authority(mine: &[&Membership]) -> Option<Role> {
    mine.iter()
        .filter(|m| m.status == Status::Active)
        .map(|m| m.role)
        .max()
}

/// Which memberships of a group the caller may see: managers and admins see all; active members
/// see the active ones when the policy says `members`; everyone sees their own.
pub fn may_see_membership(group: &Group, mine: &[&Membership], other: &Membership) -> bool {
    if mine.iter().any(|m| m.identity_id == other.identity_id) {
        return true;
    }
    match authority(mine) {
        Some(Role::Admin | Role::Manager) => true,
        Some(Role::Member) => {
            group.policies.members_visibility() == MembersVisibility::Members
                && other.status == Status::Active
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(vis: GroupVisibility, members: MembersVisibility) -> Group {
        Group {
            id: Uuid::from_u128(1),
            name: "g".into(),
            description: None,
            parent_id: None,
            terms_and_conditions: None,
            policies: Policies {
                group_visibility: vis.as_str().into(),
                group_members_visibility: members.as_str().into(),
                ..Policies::default()
            },
            subscription_id: None,
            subscription_admin_verified_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn m(id: u128, role: Role, status: Status) -> Membership {
        Membership {
            group_id: Uuid::from_u128(1),
            identity_id: Uuid::from_u128(id),
            role,
            status,
            status_reason: None,
            invite_email_address: None,
            invite_time: None,
            updated: 0,
        }
    }

    #[test]
    fn enums_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Role::parse("owner"), None);
        assert!(Role::Admin > Role::Manager && Role::Manager > Role::Member);
    }

    #[test]
    fn private_groups_are_seen_by_active_invited_and_pending_only() {
        let g = group(GroupVisibility::Private, MembersVisibility::Managers);
        assert!(!visible_to(&g, &[]));
        for (status, seen) in [
            (Status::Active, true),
            (Status::Invited, true),
            (Status::Pending, true),
            (Status::Declined, false),
            (Status::Removed, false),
            (Status::Left, false),
            (Status::Rejected, false),
        ] {
            assert_eq!(
                visible_to(&g, &[&m(2, Role::Member, status)]),
                seen,
                "{status:?}"
            );
        }
        let open = group(GroupVisibility::Authenticated, MembersVisibility::Managers);
        assert!(visible_to(&open, &[]));
    }

    #[test]
    fn members_see_members_only_when_the_policy_says_so() {
        let me = m(2, Role::Member, Status::Active);
        let other = m(3, Role::Member, Status::Active);
        let invited = m(4, Role::Member, Status::Invited);
        let managers = group(GroupVisibility::Private, MembersVisibility::Managers);
        assert!(may_see_membership(&managers, &[&me], &me));
        assert!(!may_see_membership(&managers, &[&me], &other));
        let members = group(GroupVisibility::Private, MembersVisibility::Members);
        assert!(may_see_membership(&members, &[&me], &other));
        assert!(!may_see_membership(&members, &[&me], &invited));
        let boss = m(5, Role::Manager, Status::Active);
        assert!(may_see_membership(&managers, &[&boss], &invited));
        let gone = m(6, Role::Admin, Status::Left);
        assert!(!may_see_membership(&managers, &[&gone], &other));
        assert_eq!(authority(&[&gone, &me]), Some(Role::Member));
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("Lab").is_ok());
        assert!(validate_name("  ").is_err());
        assert!(validate_name("a\u{0}b").is_err());
        assert!(validate_name(&"x".repeat(201)).is_err());
        assert!(validate_text("line\nline").is_ok());
        assert!(validate_text("bell\u{7}").is_err());
    }
}
