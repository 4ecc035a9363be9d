//! The audit log: security events as stored, the query that reads them back, and the batched
//! background writer that keeps recording them off the request path.
//!
//! Recording an event never waits for the database: it is queued, and one task stores whatever
//! has queued up in one transaction. Issuing a client-credentials token (thousands a second)
//! thus costs one queue push, not a write. What this trades: events of the last few
//! milliseconds before a crash (kill -9) may be lost; on a clean shutdown the server flushes
//! the queue ([`AuditWriter::flush`]). If the database cannot keep up and the queue fills,
//! events are dropped and counted ([`AuditWriter::dropped`]) rather than slowing every request.

use crate::{Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::clock::UnixTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: UnixTime,
    /// What happened: `sign_in`, `sign_in_failed`, `token_issued`, … (see tessera-auth's audit).
    pub event: String,
    /// Who did it: an identity or a client (a client's identity has the client's id).
    pub actor: Option<Uuid>,
    /// Whom or what it concerns: the identity signed in, the token's subject, the linked
    /// identity.
    pub subject: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub remote_addr: Option<String>,
    /// A small JSON object with the event's particulars (never a secret).
    pub detail: serde_json::Value,
}

/// A stored event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub event: AuditEvent,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only events at or after this time.
    pub since: Option<UnixTime>,
    /// Only events of this type.
    pub event: Option<String>,
    /// Only events older than this id (the next page).
    pub before_id: Option<i64>,
    /// At most this many (the store caps it at [`MAX_AUDIT_LIMIT`]).
    pub limit: u32,
}

pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// The most events one transaction takes.
const MAX_BATCH: usize = 2048;
/// How long the writer lets events gather after the first one of a batch: under load, many
/// events share one transaction (and, on SQLite, one turn of the single writer connection).
const GATHER: Duration = Duration::from_millis(20);
/// Events queued before new ones are dropped.
const QUEUE: usize = 65_536;

enum Message {
    Event(AuditEvent),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime. It stops when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues `event`; never waits.
    pub fn record(&self, event: AuditEvent) {
        if let Err(e) = self.tx.try_send(Message::Event(event)) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() || n == 0 {
                let kind = match &e {
                    mpsc::error::TrySendError::Full(_) => "the audit queue is full",
                    mpsc::error::TrySendError::Closed(_) => "the audit writer has stopped",
                };
                tracing::error!(dropped = n + 1, "{kind}: audit events dropped");
            }
        }
    }

    /// Returns once every event queued before the call is stored (or failed to be).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Events lost because the queue was full or the writer had stopped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Message>) {
    let mut events = Vec::new();
    let mut acks = Vec::new();
    while let Some(first) = rx.recv().await {
        match first {
            Message::Event(e) => {
                events.push(e);
                // Let a burst gather, unless someone waits for a flush.
                tokio::time::sleep(GATHER).await;
            }
            Message::Flush(ack) => acks.push(ack),
        }
        while events.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Message::Event(e)) => events.push(e),
                Ok(Message::Flush(ack)) => acks.push(ack),
                Err(_) => break,
            }
        }
        if !events.is_empty() {
            if let Err(e) = store.insert_audit(&events).await {
                report(&e, events.len());
            }
            events.clear();
        }
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

fn report(e: &StoreError, n: usize) {
    tracing::error!(error = %e, events = n, "storing audit events failed");
}
