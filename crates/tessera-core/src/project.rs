//! Developer projects (spec §4): a named group of clients and authentication policies, managed
//! by its admins. Admins are identities; whoever's identity set contains an admin id may act on
//! the project.

use crate::clock::UnixTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: Uuid,
    pub display_name: String,
    pub contact_email: String,
    /// Identity ids; never empty, so a project can always be managed by someone.
    pub admin_ids: Vec<Uuid>,
    /// Groups whose active members administer the project (membership is read at each
    /// decision, so a removed member loses the project at once).
    pub admin_group_ids: Option<Vec<Uuid>>,
    pub created_at: UnixTime,
}

impl Project {
    /// Whether someone with this identity set, actively a member of `groups`, administers the
    /// project: one of their identities is an admin, or one of the groups is an admin group.
    pub fn administered_by(&self, identity_set: &[Uuid], groups: &[Uuid]) -> bool {
        self.admin_ids.iter().any(|a| identity_set.contains(a))
            || self
                .admin_group_ids
                .iter()
                .flatten()
                .any(|g| groups.contains(g))
    }
}

/// Project names appear in the developer console and on consent pages: printable, bounded.
pub fn validate_display_name(name: &str) -> Result<(), &'static str> {
    let t = name.trim();
    if t.is_empty() {
        return Err("display_name must not be empty");
    }
    if t.chars().count() > 100 {
        return Err("display_name must be at most 100 characters");
    }
    if t.chars().any(char::is_control) {
        return Err("display_name must not contain control characters");
    }
    Ok(())
}

/// A contact address: `local@domain`, no spaces, at most 254 characters (RFC 5321 §4.5.3.1.3).
pub fn validate_contact_email(email: &str) -> Result<(), &'static str> {
    let bad = "contact_email must be an email address (name@domain)";
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad);
    }
    match email.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(()),
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_are_matched_against_the_whole_identity_set() {
        let p = Project {
            id: Uuid::from_u128(1),
            display_name: "P".into(),
            contact_email: "a@example.org".into(),
            admin_ids: vec![Uuid::from_u128(7)],
            admin_group_ids: None,
            created_at: 0,
        };
        assert!(p.administered_by(&[Uuid::from_u128(3), Uuid::from_u128(7)], &[]));
        assert!(!p.administered_by(&[Uuid::from_u128(3)], &[]));
        assert!(!p.administered_by(&[], &[]));
    }

    #[test]
    fn members_of_an_admin_group_administer() {
        let lab = Uuid::from_u128(50);
        let p = Project {
            id: Uuid::from_u128(1),
            display_name: "P".into(),
            contact_email: "a@example.org".into(),
            admin_ids: vec![Uuid::from_u128(7)],
            admin_group_ids: Some(vec![lab]),
            created_at: 0,
        };
        assert!(p.administered_by(&[Uuid::from_u128(3)], &[lab]));
        assert!(!p.administered_by(&[Uuid::from_u128(3)], &[Uuid::from_u128(51)]));
        let no_groups = Project {
            admin_group_ids: None,
            ..p
        };
        assert!(!no_groups.administered_by(&[Uuid::from_u128(3)], &[lab]));
    }

    #[test]
    fn names_and_emails_are_checked() {
        assert!(validate_display_name("My portal").is_ok());
        assert!(validate_display_name(" ").is_err());
        assert!(validate_display_name("a\u{7}").is_err());
        assert!(validate_contact_email("dev@example.org").is_ok());
        for bad in [
            "",
            "dev",
            "@example.org",
            "dev@localhost",
            "d ev@example.org",
        ] {
            assert!(validate_contact_email(bad).is_err(), "{bad:?}");
        }
    }
}
