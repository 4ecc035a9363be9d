//! The store suites' harness: every body runs on a fresh SQLite file and, when
//! `TESSERA_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database (skipped with a notice
//! otherwise).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use tessera_store::{Backend, Store};
use uuid::Uuid;

pub(crate) const PG_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

/// Runs `body` on SQLite, then on PostgreSQL when configured; `what` names the suite in the
/// skip notice.
pub(crate) async fn each_backend<F, Fut>(what: &str, body: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    assert_eq!(sqlite.backend(), Backend::Sqlite);
    body(sqlite).await;

    match std::env::var(PG_ENV) {
        Ok(base) if !base.is_empty() => {
            let (store, db, admin) = fresh_pg(&base).await;
            assert_eq!(store.backend(), Backend::Postgres);
            body(store).await;
            drop_pg(&admin, &db).await;
        }
        _ => eprintln!("notice: {PG_ENV} is not set; PostgreSQL {what} tests skipped"),
    }
}

/// A fresh database on the server `base` names: the store, its name, and an admin pool to drop
/// it with ([`drop_pg`]).
pub(crate) async fn fresh_pg(base: &str) -> (Arc<dyn Store>, String, sqlx::PgPool) {
    let admin = sqlx::PgPool::connect(base).await.unwrap();
    let db = format!("tessera_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = tessera_store::connect(&format!("{prefix}/{db}"))
        .await
        .unwrap();
    (store, db, admin)
}

/// Best effort: CI machines are thrown away, laptops are not.
pub(crate) async fn drop_pg(admin: &sqlx::PgPool, db: &str) {
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(admin)
        .await;
}
