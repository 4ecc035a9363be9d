//! The embedded store: one SQLite file in WAL mode, a pool of readers and a single writer.
//!
//! SQLite allows one writer at a time; giving writes a pool of exactly one connection makes
//! them queue in this process instead of failing with "database is locked", and the busy
//! timeout covers other processes (`tessera admin` while the server runs).

use crate::feed::{ChangeFeed, LocalFeed};
use crate::{Backend, Job, Lease, Store, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, QueryBuilder, Sqlite};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::grant::TokenRecord;

pub struct SqliteStore {
    reader: Pool<Sqlite>,
    writer: Pool<Sqlite>,
    feed: Arc<LocalFeed>,
    /// Cluster jobs: one server owns the file, so an in-process lock is enough.
    jobs: Arc<tokio::sync::Mutex<()>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL survives a process crash (kill -9) without losing a commit; only
            // a power loss can take the last transactions back.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Reads come from memory-mapped pages. (A larger page cache made commits slower:
            // SQLite scans its page-cache hash table as it grows; measured, see bench/README.)
            // 4 GiB of address space covers a database of 10 M tokens (1.9 GB): with 256 MiB,
            // lookups in the rest of the file went through read() and the mix of known and
            // unknown tokens sustained 10-20 % less at 10 M than at 10 k; mapped, the same.
            // Only pages touched count in RSS.
            .pragma("mmap_size", "4294967296")
            .pragma("temp_store", "memory");
        // The writer never checkpoints: a checkpoint fsyncs, and issuance must not wait for it.
        // Checkpoints (which fsync) mostly run in the background; the writer checkpoints itself
        // only as a safety net when the log passes 8 MB, and then finds little left to copy.
        // No `test_before_acquire`: an in-process connection does not break, and the ping is a
        // round trip through sqlx's worker thread before every statement.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().pragma("wal_autocheckpoint", "2000"))
            .await?;
        migrate(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        tokio::spawn(checkpoint_loop(checkpointer));
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            reader,
            writer,
            feed: Arc::new(LocalFeed::default()),
            jobs: Arc::default(),
        })
    }
}

/// Copies the write-ahead log back into the database file in the background, without blocking
/// the writer (PASSIVE), so that commits rarely pay for a checkpoint's fsync. Ends when its pool
/// is closed.
async fn checkpoint_loop(pool: Pool<Sqlite>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// Two processes may start on a fresh file at once (a server and an admin command); the loser
/// of that race sees the winner's migrations on its second try.
async fn migrate(pool: &Pool<Sqlite>) -> Result<(), StoreError> {
    match MIGRATOR.run(pool).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tokio::time::sleep(Duration::from_millis(250)).await;
            MIGRATOR
                .run(pool)
                .await
                .map_err(|_| StoreError::Migration(first))
        }
    }
}

mod repositories {
    crate::sql::impl_repositories!(
        super::SqliteStore,
        ::sqlx::Sqlite,
        ::sqlx::sqlite::SqliteRow
    );
    crate::sql_connector::impl_connectors!(
        super::super::SqliteStore,
        ::sqlx::Sqlite,
        ::sqlx::sqlite::SqliteRow
    );
    crate::sql_transfer::impl_transfer!(
        super::super::SqliteStore,
        ::sqlx::Sqlite,
        ::sqlx::sqlite::SqliteRow,
        ""
    );
    crate::sql_endpoint_manager::impl_endpoint_manager!(
        super::super::SqliteStore,
        ::sqlx::Sqlite,
        ::sqlx::sqlite::SqliteRow
    );
    crate::sql_groups::impl_group_repository!(
        super::SqliteStore,
        ::sqlx::Sqlite,
        ::sqlx::sqlite::SqliteRow
    );
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    fn feed(&self) -> Arc<dyn ChangeFeed> {
        self.feed.clone()
    }

    async fn try_lead(&self, _job: Job) -> Result<Option<Lease>, StoreError> {
        Ok(self.jobs.clone().try_lock_owned().ok().map(Lease::new))
    }
}

impl SqliteStore {
    /// A batch of issued tokens: multi-row INSERTs of at most 64 rows (16 parameters a row stays
    /// under SQLite's bind limit). One statement is atomic by itself, so a batch that fits is
    /// one call instead of BEGIN, INSERT, COMMIT.
    pub(crate) async fn insert_token_rows(
        &self,
        records: &[TokenRecord],
    ) -> Result<(), sqlx::Error> {
        const ROWS: usize = 64;
        fn statement(chunk: &[TokenRecord]) -> QueryBuilder<'static, Sqlite> {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO tokens ({}) ",
                crate::sql::TOKEN_COLUMNS
            ));
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.hash.as_bytes().to_vec())
                    .push_bind(r.kind.as_str())
                    .push_bind(r.client_id.to_string())
                    .push_bind(r.subject.to_string())
                    .push_bind(r.subject_kind.as_str())
                    .push_bind(r.resource_server.clone())
                    .push_bind(r.scope.clone())
                    .push_bind(r.issued_at)
                    .push_bind(r.expires_at)
                    .push_bind(r.revoked_at)
                    .push_bind(r.family_id.map(|u| u.to_string()))
                    .push_bind(r.session_id.map(|u| u.to_string()))
                    .push_bind(r.auth_time)
                    .push_bind(r.parent.map(|p| p.as_bytes().to_vec()))
                    .push_bind(r.rotated_at)
                    .push_bind(r.effective_identity.map(|u| u.to_string()));
            });
            qb
        }
        if records.len() <= ROWS {
            statement(records).build().execute(&self.writer).await?;
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        for chunk in records.chunks(ROWS) {
            statement(chunk).build().execute(&mut *tx).await?;
        }
        tx.commit().await
    }
}
