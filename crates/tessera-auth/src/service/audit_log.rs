//! Reading the audit log (`GET /v2/api/audit`, `tessera admin audit`): who may, and the filters.
//!
//! An administrator is a person whose username is listed in `admin_usernames`, calling with an
//! `auth.globus.org` token that carries the `view_audit` scope: the list says who may, the scope
//! says the application was allowed to (a token the user gave some portal for other purposes
//! does not open the log).

use super::Failure;
use crate::state::AppState;
use tessera_core::clock::parse_iso8601;
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::identity::normalize_username;
use tessera_store::{AuditQuery, AuditRecord, MAX_AUDIT_LIMIT};

pub const VIEW_AUDIT_SCOPE: &str = "urn:globus:auth:scope:auth.globus.org:view_audit";
pub const DEFAULT_LIMIT: u32 = 100;

/// The filters as given (query parameters or command-line flags), before checking.
#[derive(Debug, Default, Clone)]
pub struct Filters<'a> {
    /// RFC 3339 time or Unix seconds.
    pub since: Option<&'a str>,
    pub event: Option<&'a str>,
    pub limit: Option<&'a str>,
    /// Only events older than this id (paging: the last id of the previous page).
    pub before: Option<&'a str>,
}

/// Checks the filters; the message says what is wrong.
pub fn query(f: &Filters<'_>) -> Result<AuditQuery, String> {
    let since = f
        .since
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .or_else(|| parse_iso8601(s))
                .ok_or_else(|| format!("since must be an RFC 3339 time or Unix seconds, not {s:?}"))
        })
        .transpose()?;
    let event = f
        .event
        .map(|t| {
            if crate::audit::EVENT_TYPES.contains(&t) {
                Ok(t.to_owned())
            } else {
                Err(format!(
                    "unknown event type {t:?}; one of: {}",
                    crate::audit::EVENT_TYPES.join(", ")
                ))
            }
        })
        .transpose()?;
    let limit = match f.limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_LIMIT).contains(n))
            .ok_or_else(|| format!("limit must be a number from 1 to {MAX_AUDIT_LIMIT}"))?,
    };
    let before_id = f
        .before
        .map(|b| {
            b.parse::<i64>()
                .map_err(|_| format!("before must be an event id, not {b:?}"))
        })
        .transpose()?;
    Ok(AuditQuery {
        since,
        event,
        before_id,
        limit,
    })
}

/// The events `filters` select, newest first, if `token` is an administrator's.
pub async fn list(
    state: &AppState,
    token: &TokenRecord,
    filters: &Filters<'_>,
) -> Result<Vec<AuditRecord>, Failure> {
    if !token.scope.split(' ').any(|s| s == VIEW_AUDIT_SCOPE) {
        return Err(Failure::Forbidden(format!(
            "reading the audit log needs a token with the {VIEW_AUDIT_SCOPE} scope"
        )));
    }
    let admin = token.subject_kind == SubjectKind::Identity
        && state
            .store
            .identities_by_ids(&[token.subject])
            .await?
            .first()
            .is_some_and(|i| {
                state
                    .config
                    .admin_usernames
                    .contains(&normalize_username(&i.username))
            });
    if !admin {
        return Err(Failure::Forbidden(
            "only administrators (admin_usernames) may read the audit log".into(),
        ));
    }
    let q = query(filters).map_err(Failure::BadRequest)?;
    Ok(state.store.audit_events(&q).await?)
}
