//! Group commit for token issuance.
//!
//! Every issued token must be durably stored before the client sees it. One transaction per
//! token makes the database's commit the bottleneck; instead, concurrent issuances hand their
//! records to one task, which stores whatever has queued up in a single transaction and then
//! acknowledges each. Under no load a batch is one request, so latency is unchanged; under
//! load, one commit serves many requests.
//!
//! SQLite has one writer, so batches are committed one after the other. PostgreSQL commits
//! concurrent transactions together (one WAL flush for all that are waiting), so there a few
//! batches are in flight at once: while one waits for its flush, the next is already sent.

use crate::{Backend, Store, StoreError};
use std::sync::Arc;
use tessera_core::grant::TokenRecord;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The most records one transaction takes.
const MAX_BATCH_RECORDS: usize = 512;

/// Batches in flight at once on PostgreSQL.
const POSTGRES_BATCHES_IN_FLIGHT: usize = 4;

type Ack = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct TokenWriter {
    tx: mpsc::Sender<(Vec<TokenRecord>, Ack)>,
}

impl TokenWriter {
    /// Starts the writer task on the current runtime. It stops when every handle is dropped.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        let in_flight = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_BATCHES_IN_FLIGHT,
        };
        tokio::spawn(run(store, rx, in_flight));
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

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<(Vec<TokenRecord>, Ack)>,
    in_flight: usize,
) {
    let permits = Arc::new(Semaphore::new(in_flight));
    while let Some(first) = rx.recv().await {
        // Wait for a free slot before draining the queue: whatever arrives meanwhile joins
        // this batch.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
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
        if in_flight == 1 {
            // One batch at a time: commit it here, without a hop to another task.
            commit(store.as_ref(), batch).await;
            drop(permit);
        } else {
            let store = store.clone();
            tokio::spawn(async move {
                commit(store.as_ref(), batch).await;
                drop(permit);
            });
        }
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
