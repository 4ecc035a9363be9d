//! Group commit for token issuance.
//!
//! Every issued token must be durably stored before the client sees it. One transaction per
//! token makes the database's commit the bottleneck; instead, concurrent issuances hand their
//! records to one task, which stores whatever has queued up in a single transaction and then
//! acknowledges each. Under no load a batch is one request, so latency is unchanged; under
//! load, one commit serves many requests.
//!
//! The writer runs on a thread of its own, with a single-threaded runtime. On the request
//! runtime its wake-up, when the database answered, queued behind every request task that the
//! previous acknowledgement had released, so each commit took that much longer and every
//! client waited for it. Measured with 32 clients on 2 cores, the median commit went from
//! 600–680 to 410–550 µs on PostgreSQL and from 250–270 to 60–150 µs on SQLite.
//!
//! Batches are committed one after the other on both backends. On PostgreSQL several batches
//! in flight looked attractive (its WAL flush serves every commit waiting for it), but a commit
//! costs a fixed amount of CPU on both sides of the connection whatever its size, and on a
//! machine where the server, the database and the clients share the cores that is what limits
//! issuance: measured with 32 clients on 2 cores, one batch at a time issued 19 k tokens/s in
//! batches of 14 and four at a time 13 k in batches of 4.4 (PostgreSQL used 24 and 55 µs of CPU
//! per token); two at a time, on ping-free connections, made no consistent difference (−4 to
//! +9 % over five alternating pairs). Each client waits for at least one flush either way, so
//! more batches in flight only pay off with more waiting requests than one batch takes.

use crate::{Store, StoreError};
use std::sync::{Arc, Mutex};
use tessera_core::grant::TokenRecord;
use tokio::sync::{mpsc, oneshot};

/// The most records one transaction takes.
const MAX_BATCH_RECORDS: usize = 512;

type Ack = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct TokenWriter {
    tx: mpsc::Sender<(Vec<TokenRecord>, Ack)>,
}

impl TokenWriter {
    /// Starts the writer on a thread of its own (on the current runtime if no thread can be
    /// started). It stops when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        // Taken by whichever of the thread and the fallback gets to run.
        let parts = Arc::new(Mutex::new(Some((store, rx))));
        let theirs = parts.clone();
        let started = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|runtime| {
                std::thread::Builder::new()
                    .name("token-writer".into())
                    .spawn(move || {
                        if let Some((store, rx)) = take(&theirs) {
                            runtime.block_on(run(store, rx));
                        }
                    })
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "no thread for the token writer; it shares the request runtime");
            if let Some((store, rx)) = take(&parts) {
                tokio::spawn(run(store, rx));
            }
        }
        Self { tx }
    }

    /// Stores `records` in one transaction shared with other concurrent calls; returns once
    /// they are committed.
    pub async fn write(&self, records: Vec<TokenRecord>) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((records, ack))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Database(sqlx::Error::Protocol(message))),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

type Queue = mpsc::Receiver<(Vec<TokenRecord>, Ack)>;

fn take(parts: &Mutex<Option<(Arc<dyn Store>, Queue)>>) -> Option<(Arc<dyn Store>, Queue)> {
    parts.lock().unwrap_or_else(|p| p.into_inner()).take()
}

async fn run(store: Arc<dyn Store>, mut rx: Queue) {
    while let Some(first) = rx.recv().await {
        // Whatever queued while the previous batch committed joins this one.
        let mut batch = vec![first];
        let mut count = batch[0].0.len();
        while count < MAX_BATCH_RECORDS {
            match rx.try_recv() {
                Ok(next) => {
                    count += next.0.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit(store.as_ref(), batch).await;
    }
}

async fn commit(store: &dyn Store, batch: Vec<(Vec<TokenRecord>, Ack)>) {
    let requests = batch.len();
    let (records, acks): (Vec<Vec<TokenRecord>>, Vec<Ack>) = batch.into_iter().unzip();
    let records: Vec<TokenRecord> = records.into_iter().flatten().collect();
    let started = std::time::Instant::now();
    let result = store.insert_tokens(&records).await;
    tracing::debug!(
        records = records.len(),
        requests,
        micros = started.elapsed().as_micros() as u64,
        "token batch committed"
    );
    if let Err(e) = &result {
        tracing::error!(error = %e, records = records.len(), "storing issued tokens failed");
    }
    for ack in acks {
        // A caller that went away no longer needs its answer.
        let _ = ack.send(result.as_ref().map(|_| ()).map_err(ToString::to_string));
    }
}
