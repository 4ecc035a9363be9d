//! Background cleanup: rows past their end are deleted in small batches by whichever node holds
//! the cleanup lease, so each round runs on one node and each row is deleted once.
//!
//! What is kept, and why:
//! - A token row stays until an hour after it expires, whatever happened to it. Revoked and
//!   rotated refresh tokens are not deleted early: reuse detection needs a rotated refresh
//!   token's row for as long as that token could still be presented (a reused one revokes its
//!   family), and the grant rules refuse an expired token before they look for reuse, so past
//!   its expiry a row has nothing left to detect. The family itself is only a column of its
//!   live members; it ends when its last token expires.
//! - An authorization code stays for a day after it expires, so that a code replayed late still
//!   revokes what its first exchange produced (a replay is checked before expiry).
//! - Pending authorize requests and browser sessions stay for an hour after they expire.
//! - Device grants stay for an hour after they expire (like pending requests); initial access
//!   tokens are deleted once expired.
//! - Audit events stay for the configured retention (`audit_retention`, a year by default, as
//!   long as an investigation may look back); 0 keeps them for ever. They are deleted by the
//!   time they happened, oldest first, like the rest: in batches, under the same lease.

use crate::{Expired, Job, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::clock::{Clock, UnixTime};

/// Rows one statement deletes at most: short transactions that never hold up issuance long.
pub const BATCH_ROWS: i64 = 1000;
/// The pause between two batches of one round, so cleanup yields to the hot paths.
pub const BATCH_PAUSE: Duration = Duration::from_millis(20);

pub const TOKEN_MARGIN_S: i64 = 3600;
pub const CODE_MARGIN_S: i64 = 24 * 3600;
pub const PENDING_MARGIN_S: i64 = 3600;
pub const SESSION_MARGIN_S: i64 = 3600;
/// How long audit events are kept unless configured otherwise: 365 days.
pub const DEFAULT_AUDIT_RETENTION_S: i64 = 365 * 24 * 3600;

/// How many rows of each kind one round deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    pub tokens: u64,
    pub authorization_codes: u64,
    pub pending_authorizations: u64,
    pub sessions: u64,
    pub device_grants: u64,
    pub initial_access_tokens: u64,
    /// Audit events older than the retention.
    pub audit_events: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.tokens
            + self.authorization_codes
            + self.pending_authorizations
            + self.sessions
            + self.device_grants
            + self.initial_access_tokens
            + self.audit_events
    }
}

/// One cleanup round, if this node gets the lease (`None`: another node is running one).
/// Audit events older than `audit_retention` seconds are deleted too, unless it is 0.
pub async fn purge_expired(
    store: &dyn Store,
    now: UnixTime,
    audit_retention: i64,
    batch: i64,
    pause: Duration,
) -> Result<Option<Purged>, StoreError> {
    let Some(_lease) = store.try_lead(Job::Cleanup).await? else {
        return Ok(None);
    };
    let mut purged = Purged::default();
    let mut rounds = vec![
        (Expired::Tokens, now - TOKEN_MARGIN_S),
        (Expired::AuthorizationCodes, now - CODE_MARGIN_S),
        (Expired::PendingAuthorizations, now - PENDING_MARGIN_S),
        (Expired::Sessions, now - SESSION_MARGIN_S),
        (Expired::DeviceGrants, now - PENDING_MARGIN_S),
        (Expired::InitialAccessTokens, now),
    ];
    if audit_retention > 0 {
        rounds.push((Expired::AuditEvents, now.saturating_sub(audit_retention)));
    }
    for (what, before) in rounds {
        let count = match what {
            Expired::Tokens => &mut purged.tokens,
            Expired::AuthorizationCodes => &mut purged.authorization_codes,
            Expired::PendingAuthorizations => &mut purged.pending_authorizations,
            Expired::Sessions => &mut purged.sessions,
            Expired::DeviceGrants => &mut purged.device_grants,
            Expired::InitialAccessTokens => &mut purged.initial_access_tokens,
            Expired::AuditEvents => &mut purged.audit_events,
        };
        loop {
            let n = store.purge_batch(what, before, batch).await?;
            *count += n;
            if n < u64::try_from(batch).unwrap_or(0) {
                break;
            }
            tokio::time::sleep(pause).await;
        }
    }
    Ok(Some(purged))
}

/// Runs a cleanup round every `interval` until the runtime stops. Every node runs one; the
/// lease makes each round happen on one of them.
pub fn spawn_cleanup(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    audit_retention: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let round = purge_expired(
                store.as_ref(),
                clock.now(),
                audit_retention,
                BATCH_ROWS,
                BATCH_PAUSE,
            );
            match round.await {
                Ok(Some(p)) if p.total() > 0 => tracing::info!(
                    tokens = p.tokens,
                    authorization_codes = p.authorization_codes,
                    pending_authorizations = p.pending_authorizations,
                    sessions = p.sessions,
                    audit_events = p.audit_events,
                    "expired rows deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleanup round failed; retrying next round"),
            }
        }
    })
}
