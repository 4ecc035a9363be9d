//! The change feed: how a node tells every node (itself included) that something it may have
//! cached has changed.
//!
//! Publishers are the services that change data; subscribers are the in-process caches, given
//! as a [`ChangeSink`]. Publishing applies a change to this process's sinks at once. On SQLite
//! one server owns the data, so that is all ([`LocalFeed`]). On PostgreSQL ([`PgFeed`]) the
//! database itself tells every node: triggers (migration 0010) call `pg_notify` inside the
//! writing transaction, so a notice is delivered if, and when, its change commits, whoever made
//! it (a node that dies right after its commit, an operator's hand edit). The notices come from
//! node [`DB_NODE`], and a dedicated connection per node LISTENs and applies them, the writing
//! node's included (applying an invalidation twice is harmless). When that connection is lost
//! the sink is told to trust nothing it holds ([`ChangeSink::set_trusted`]`(false)`: serve
//! nothing from caches) until the listener is back, and the gap is treated as
//! [`Change::FlushAll`].
//!
//! Payloads carry token hashes and ids, never tokens or secrets.

use crate::StoreError;
use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::{Pool, Postgres};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tessera_core::secret::SecretHash;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Something a cache may hold has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A token was revoked or its record otherwise changed (rotated, expiry moved).
    TokenRevoked(SecretHash),
    /// Every token of a family was revoked (a replayed code, a reused refresh token).
    FamilyRevoked(Uuid),
    /// A client or its credentials changed (a secret created or deleted).
    ClientChanged(Uuid),
    /// The scope catalogue changed.
    ScopesChanged,
    /// An identity's consents were rescinded (the tokens they revoked come as
    /// `TokenRevoked`).
    ConsentRescinded(Uuid),
    /// An identity joined or left a set of linked identities.
    IdentitySetChanged(Uuid),
    /// The memberships of a group changed (migration 0013): whoever caches who belongs to it
    /// drops that.
    MembershipChanged(Uuid),
    /// Drop everything: what changed is not known.
    FlushAll,
}

impl Change {
    /// One change on the wire: `t<token hash in hex>`, `f<family>`, `c<client>`, `s`,
    /// `r<identity>`, `i<identity>`, `g<group>`, `*`; ids are UUIDs, simple or hyphenated. Migration 0010's
    /// triggers write all but `f` (they announce a family's tokens one by one). Anything not
    /// understood (a newer schema's notice, a hand-written NOTIFY) flushes: fail safe.
    fn decode(s: &str) -> Self {
        let id = |rest: &str| Uuid::try_parse(rest).ok();
        let (tag, rest) = s.split_at(s.len().min(1));
        let parsed = match tag {
            "t" => unhex(rest).map(Self::TokenRevoked),
            "f" => id(rest).map(Self::FamilyRevoked),
            "c" => id(rest).map(Self::ClientChanged),
            "s" if rest.is_empty() => Some(Self::ScopesChanged),
            "r" => id(rest).map(Self::ConsentRescinded),
            "i" => id(rest).map(Self::IdentitySetChanged),
            "g" => id(rest).map(Self::MembershipChanged),
            _ => None,
        };
        parsed.unwrap_or(Self::FlushAll)
    }
}

fn unhex(s: &str) -> Option<SecretHash> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect();
    SecretHash::from_slice(&bytes?)
}

/// What the caches implement to follow the feed.
pub trait ChangeSink: Send + Sync {
    fn apply(&self, change: &Change);
    /// `false`: the feed cannot vouch for anything cached, so serve nothing from the caches
    /// (read the database every time) until `true` again. `true` comes only after a
    /// `FlushAll` has been applied.
    fn set_trusted(&self, trusted: bool);
}

#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Makes `sink` follow the feed for as long as it lives. Returns once it is following (on
    /// PostgreSQL: once the listener is connected).
    async fn subscribe(&self, sink: Weak<dyn ChangeSink>) -> Result<(), StoreError>;
    /// Applies `changes` to this process's sinks at once. Call it right after the changes
    /// committed. Other nodes are not told from here: on PostgreSQL the database announces
    /// every committed change itself (see the module doc).
    async fn publish(&self, changes: &[Change]) -> Result<(), StoreError>;
}

#[derive(Default)]
struct Sinks(Mutex<Vec<Weak<dyn ChangeSink>>>);

impl Sinks {
    fn add(&self, sink: Weak<dyn ChangeSink>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(sink);
    }

    fn apply(&self, changes: &[Change]) {
        let live: Vec<Arc<dyn ChangeSink>> = {
            let mut sinks = self.0.lock().unwrap_or_else(|p| p.into_inner());
            sinks.retain(|s| s.strong_count() > 0);
            sinks.iter().filter_map(Weak::upgrade).collect()
        };
        for sink in live {
            for c in changes {
                sink.apply(c);
            }
        }
    }
}

/// The feed of a store that one process owns (SQLite): changes go to this process's sinks.
#[derive(Default)]
pub struct LocalFeed {
    sinks: Sinks,
}

#[async_trait]
impl ChangeFeed for LocalFeed {
    async fn subscribe(&self, sink: Weak<dyn ChangeSink>) -> Result<(), StoreError> {
        self.sinks.add(sink);
        Ok(())
    }

    async fn publish(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.sinks.apply(changes);
        Ok(())
    }
}

/// The PostgreSQL channel every node listens on.
pub const CHANNEL: &str = "tessera_changes";
/// The sender name of the notices the database's triggers send (migration 0010). No node is
/// called that (nodes are named by a UUID), so every node applies them.
pub const DB_NODE: &str = "db";
/// How often an idle listener checks its connection by notifying itself.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence this long (heartbeats included) means the connection is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(3);

/// A received payload, `<node> <change>;<change>…`: who sent it and what changed (`None`: a
/// heartbeat, `<node> ping`).
fn parse_payload(payload: &str) -> (&str, Option<Vec<Change>>) {
    let (node, body) = payload.split_once(' ').unwrap_or((payload, ""));
    if body == "ping" {
        return (node, None);
    }
    (node, Some(body.split(';').map(Change::decode).collect()))
}

/// The feed of a PostgreSQL store shared by many nodes.
pub struct PgFeed {
    pool: Pool<Postgres>,
    url: String,
    /// This process's id in its heartbeats, so it can tell its own from other nodes'.
    node: String,
    sinks: Arc<Sinks>,
}

impl PgFeed {
    pub(crate) fn new(pool: Pool<Postgres>, url: &str) -> Self {
        Self {
            pool,
            url: url.to_owned(),
            node: Uuid::new_v4().simple().to_string(),
            sinks: Arc::new(Sinks::default()),
        }
    }
}

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn subscribe(&self, sink: Weak<dyn ChangeSink>) -> Result<(), StoreError> {
        // The first connection is made here, so a node that cannot listen does not start.
        let listener = listen(&self.url).await?;
        self.sinks.add(sink.clone());
        tokio::spawn(follow(
            listener,
            sink,
            self.url.clone(),
            self.node.clone(),
            self.pool.clone(),
        ));
        Ok(())
    }

    /// Local only. Every change a service publishes is also announced by the triggers of
    /// migration 0010, from inside the transaction that committed it, to every node: a token
    /// row revoked, rotated or extended (`TokenRevoked`; a `FamilyRevoked` arrives as the
    /// `TokenRevoked` of each row it revoked), a client updated or its credentials or FQDNs
    /// changed (`ClientChanged`), scopes written (`ScopesChanged`), consents deleted
    /// (`ConsentRescinded`), identity links written (`IdentitySetChanged`). Sending them from
    /// here as well would only repeat those notices, later and not atomically with the commit.
    async fn publish(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.sinks.apply(changes);
        Ok(())
    }
}

async fn listen(url: &str) -> Result<PgListener, StoreError> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// Receives notifications on its own task, so that waiting for them can time out without
/// cancelling a read half-way. Sends `None` and ends when the connection is lost.
fn receive(
    mut listener: PgListener,
) -> (mpsc::Receiver<Option<String>>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    if tx.send(Some(n.payload().to_owned())).await.is_err() {
                        return;
                    }
                }
                Ok(None) | Err(_) => {
                    let _ = tx.send(None).await;
                    return;
                }
            }
        }
    });
    (rx, task)
}

/// The listener's life: apply what arrives; on loss, distrust the caches, reconnect, flush,
/// trust again. Ends when the sink is dropped.
async fn follow(
    first: PgListener,
    sink: Weak<dyn ChangeSink>,
    url: String,
    node: String,
    pool: Pool<Postgres>,
) {
    let mut listener = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => match listen(&url).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: cannot listen yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    if sink.strong_count() == 0 {
                        return;
                    }
                    continue;
                }
            },
        };
        backoff = Duration::from_millis(100);
        // Listening again: whatever changed while nobody listened is unknown.
        {
            let Some(s) = sink.upgrade() else { return };
            s.apply(&Change::FlushAll);
            s.set_trusted(true);
        }
        tracing::info!("change feed: listening");
        let (mut rx, task) = receive(l);
        let lost = run_listener(&mut rx, &sink, &node, &pool).await;
        task.abort();
        let Some(s) = sink.upgrade() else { return };
        s.set_trusted(false);
        s.apply(&Change::FlushAll);
        if !lost {
            return;
        }
        tracing::warn!("change feed: connection lost; caches bypassed until it is back");
    }
}

/// Applies notifications until the connection is lost (true) or the sink is gone (false).
async fn run_listener(
    rx: &mut mpsc::Receiver<Option<String>>,
    sink: &Weak<dyn ChangeSink>,
    node: &str,
    pool: &Pool<Postgres>,
) -> bool {
    let mut last_heard = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(HEARTBEAT, rx.recv()).await {
            Ok(Some(Some(payload))) => {
                last_heard = tokio::time::Instant::now();
                let (from, changes) = parse_payload(&payload);
                let Some(s) = sink.upgrade() else {
                    return false;
                };
                if from == node {
                    continue; // our own heartbeat
                }
                // `None`: another node's heartbeat. Changes come from the database's triggers
                // (`DB_NODE`), whoever made them.
                for c in changes.iter().flatten() {
                    s.apply(c);
                }
            }
            Ok(Some(None)) | Ok(None) => return true,
            Err(_) => {
                if sink.strong_count() == 0 {
                    return false;
                }
                if last_heard.elapsed() >= SILENCE_LIMIT {
                    return true;
                }
                // Quiet: ask the database to echo a heartbeat on the channel. If the listening
                // connection is silently dead, the echo never comes and the silence limit trips.
                let pool = pool.clone();
                let ping = format!("{node} ping");
                tokio::spawn(async move {
                    let _ = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(ping)
                        .execute(&pool)
                        .await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_payloads_decode_and_unknown_changes_flush() {
        let hash = SecretHash::of("x");
        let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let id = |n: u128| Uuid::from_u128(n).simple().to_string();
        // As the triggers of migration 0010 write them.
        let payload = format!(
            "db t{hex};f{};c{};s;r{};i{};g{};*",
            id(7),
            id(8),
            id(9),
            id(10),
            id(11)
        );
        let (from, got) = parse_payload(&payload);
        assert_eq!(from, DB_NODE);
        assert_eq!(
            got.unwrap(),
            vec![
                Change::TokenRevoked(hash),
                Change::FamilyRevoked(Uuid::from_u128(7)),
                Change::ClientChanged(Uuid::from_u128(8)),
                Change::ScopesChanged,
                Change::ConsentRescinded(Uuid::from_u128(9)),
                Change::IdentitySetChanged(Uuid::from_u128(10)),
                Change::MembershipChanged(Uuid::from_u128(11)),
                Change::FlushAll,
            ]
        );
        assert_eq!(
            Change::decode("c00000000-0000-0000-0000-000000000008"),
            Change::ClientChanged(Uuid::from_u128(8))
        );
        // Not understood (a newer schema's change, a hand-written NOTIFY): flush, fail safe.
        assert_eq!(Change::decode("x123"), Change::FlushAll);
        assert_eq!(Change::decode("tzz"), Change::FlushAll);
        assert_eq!(Change::decode(&format!("t{}", &hex[2..])), Change::FlushAll);
        assert_eq!(Change::decode("cnot-a-uuid"), Change::FlushAll);
        assert_eq!(Change::decode("s1"), Change::FlushAll);
        assert_eq!(Change::decode(""), Change::FlushAll);
        assert_eq!(parse_payload("n ping").1, None);
    }
}
