//! The cluster store: PostgreSQL, one pool for reads and writes and one connection for the
//! token writer.

use crate::feed::{ChangeFeed, PgFeed};
use crate::{Backend, Job, Lease, Store, StoreError};
use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::grant::TokenRecord;

pub struct PgStore {
    reader: Pool<Postgres>,
    writer: Pool<Postgres>,
    /// The group-commit writer's connection (`TokenWriter` commits one batch at a time), kept
    /// apart so that its batches are not preceded by the pool's liveness ping: that ping was a
    /// quarter of issuance throughput. A batch that finds the connection dead is retried once
    /// on `writer`, which pings.
    batches: Pool<Postgres>,
    feed: Arc<PgFeed>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl PgStore {
    /// Connects and migrates. sqlx takes an advisory lock while migrating, so several nodes
    /// may start at once.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let batches = PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy(url)?;
        Ok(Self {
            feed: Arc::new(PgFeed::new(pool.clone(), url)),
            reader: pool.clone(),
            writer: pool,
            batches,
        })
    }
}

mod repositories {
    crate::sql::impl_repositories!(super::PgStore, ::sqlx::Postgres, ::sqlx::postgres::PgRow);
    crate::sql_connector::impl_connectors!(
        super::super::PgStore,
        ::sqlx::Postgres,
        ::sqlx::postgres::PgRow
    );
    crate::sql_transfer::impl_transfer!(
        super::super::PgStore,
        ::sqlx::Postgres,
        ::sqlx::postgres::PgRow,
        "FOR UPDATE SKIP LOCKED"
    );
    crate::sql_endpoint_manager::impl_endpoint_manager!(
        super::super::PgStore,
        ::sqlx::Postgres,
        ::sqlx::postgres::PgRow
    );
    crate::sql_groups::impl_group_repository!(
        super::PgStore,
        ::sqlx::Postgres,
        ::sqlx::postgres::PgRow
    );
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn feed(&self) -> Arc<dyn ChangeFeed> {
        self.feed.clone()
    }

    async fn try_lead(&self, job: Job) -> Result<Option<Lease>, StoreError> {
        // A connection of its own, out of the pool: dropping it ends the session and so the
        // lock, whatever happens to the holder.
        let mut conn = self.writer.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(job.lock_key())
            .fetch_one(&mut conn)
            .await?;
        Ok(got.then(|| Lease::new(conn)))
    }
}

impl PgStore {
    /// A batch of issued tokens as one `INSERT … SELECT FROM UNNEST` of one array a column:
    /// the same statement text for every batch size, so it is parsed and planned once per
    /// connection, and one statement is atomic by itself (no BEGIN/COMMIT round trips).
    pub(crate) async fn insert_token_rows(
        &self,
        records: &[TokenRecord],
    ) -> Result<(), sqlx::Error> {
        match Self::insert_token_batch(&self.batches, records).await {
            Err(e) if connection_lost(&e) => {
                tracing::warn!(error = %e, "the token writer's connection failed; retrying the batch");
                match Self::insert_token_batch(&self.writer, records).await {
                    // The statement is atomic: its rows are already there, so the first try
                    // committed before its answer was lost (the hashes are 256 random bits).
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(()),
                    other => other,
                }
            }
            other => other,
        }
    }

    async fn insert_token_batch(
        pool: &Pool<Postgres>,
        records: &[TokenRecord],
    ) -> Result<(), sqlx::Error> {
        let col = |f: fn(&TokenRecord) -> String| records.iter().map(f).collect::<Vec<_>>();
        let opt = |f: fn(&TokenRecord) -> Option<String>| records.iter().map(f).collect::<Vec<_>>();
        let num = |f: fn(&TokenRecord) -> Option<i64>| records.iter().map(f).collect::<Vec<_>>();
        sqlx::query(INSERT_TOKENS)
            .bind(
                records
                    .iter()
                    .map(|r| r.hash.as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            )
            .bind(col(|r| r.kind.as_str().to_owned()))
            .bind(col(|r| r.client_id.to_string()))
            .bind(col(|r| r.subject.to_string()))
            .bind(col(|r| r.subject_kind.as_str().to_owned()))
            .bind(col(|r| r.resource_server.clone()))
            .bind(col(|r| r.scope.clone()))
            .bind(records.iter().map(|r| r.issued_at).collect::<Vec<_>>())
            .bind(records.iter().map(|r| r.expires_at).collect::<Vec<_>>())
            .bind(num(|r| r.revoked_at))
            .bind(opt(|r| r.family_id.map(|u| u.to_string())))
            .bind(opt(|r| r.session_id.map(|u| u.to_string())))
            .bind(num(|r| r.auth_time))
            .bind(
                records
                    .iter()
                    .map(|r| r.parent.map(|p| p.as_bytes().to_vec()))
                    .collect::<Vec<_>>(),
            )
            .bind(num(|r| r.rotated_at))
            .bind(opt(|r| r.effective_identity.map(|u| u.to_string())))
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// An error that says the connection is gone, not that the statement was refused.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolClosed => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now: the server
        // ended the session (a restart).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
        _ => false,
    }
}

/// The columns in `sql::TOKEN_COLUMNS` order.
const INSERT_TOKENS: &str = "INSERT INTO tokens (hash, kind, client_id, subject, subject_kind, \
    resource_server, scope, issued_at, expires_at, revoked_at, family_id, session_id, auth_time, \
    parent, rotated_at, effective_identity) \
    SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::text[], $12::text[], $13::int8[], \
    $14::bytea[], $15::int8[], $16::text[])";
