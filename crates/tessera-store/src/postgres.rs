//! The cluster store: PostgreSQL, one pool for reads and writes.

use crate::feed::{ChangeFeed, PgFeed};
use crate::{Backend, Job, Lease, Store, StoreError};
use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};
use std::sync::Arc;
use std::time::Duration;

pub struct PgStore {
    reader: Pool<Postgres>,
    writer: Pool<Postgres>,
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
        Ok(Self {
            feed: Arc::new(PgFeed::new(pool.clone(), url)),
            reader: pool.clone(),
            writer: pool,
        })
    }
}

mod repositories {
    crate::sql::impl_repositories!(super::PgStore, ::sqlx::Postgres, ::sqlx::postgres::PgRow);
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
