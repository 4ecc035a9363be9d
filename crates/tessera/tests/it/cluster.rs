//! Two `tessera serve` nodes on one PostgreSQL database (`TESSERA_TEST_POSTGRES_URL`; skipped
//! with a notice when unset). Each test gets a database of its own.

use crate::process::{json, Server};
use std::time::{Duration, Instant};

const PG_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

pub(crate) struct Db {
    pub(crate) url: String,
    name: String,
    admin: sqlx::PgPool,
    pub(crate) pool: sqlx::PgPool,
}

impl Db {
    /// A fresh database, or `None` (with a notice) when no PostgreSQL is configured.
    pub(crate) async fn fresh(test: &str) -> Option<Self> {
        let base = match std::env::var(PG_ENV) {
            Ok(b) if !b.is_empty() => b,
            _ => {
                eprintln!("notice: {PG_ENV} is not set; {test} skipped");
                return None;
            }
        };
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        let name = format!("tessera_cluster_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        let url = format!("{prefix}/{name}");
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Some(Self {
            url,
            name,
            admin,
            pool,
        })
    }

    pub(crate) async fn drop_db(self) {
        self.pool.close().await;
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await;
    }

    /// Ends every LISTEN connection of the test database, as a database restart would.
    async fn terminate_listeners(&self) -> u64 {
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(&self.name)
        .fetch_all(&self.pool)
        .await
        .unwrap();
        killed.len() as u64
    }

    /// Runs `statement` behind every node's back: with the change triggers off (as a
    /// replication apply or a restore with disabled triggers runs), so nothing is announced.
    async fn silently(&self, statement: &str) -> u64 {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query("SET LOCAL session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
        let done = sqlx::query(statement).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        done.rows_affected()
    }

    /// Revokes a token behind every node's back: no notice.
    async fn revoke_silently(&self, token: &str) {
        let hex = hex(tessera_core::token::lookup_hash(token).as_bytes());
        let revoked = self
            .silently(&format!(
                "UPDATE tokens SET revoked_at = 1 WHERE hash = '\\x{hex}'"
            ))
            .await;
        assert_eq!(revoked, 1);
    }

    /// Revokes a token with plain SQL, as a node that committed its revocation and died before
    /// it could tell anyone (or an operator) would: only the database can announce it.
    async fn revoke_by_sql(&self, token: &str) {
        let hash = tessera_core::token::lookup_hash(token);
        let done = sqlx::query("UPDATE tokens SET revoked_at = 1 WHERE hash = $1")
            .bind(hash.as_bytes().to_vec())
            .execute(&self.pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) struct Cluster {
    pub(crate) a: Server,
    pub(crate) b: Server,
    pub(crate) http: reqwest::Client,
    pub(crate) id: String,
    pub(crate) secret: String,
}

impl Cluster {
    pub(crate) fn start(db: &Db) -> Self {
        // One after the other: the first creates the signing key, the second loads it.
        let a = Server::start_pg(&db.url, &[]);
        let b = Server::start_pg(&db.url, &[]);
        let portal = json(&a.admin(
            &[
                "admin",
                "client",
                "add",
                "--name",
                "portal",
                "--confidential",
            ],
            None,
        ));
        Self {
            a,
            b,
            http: reqwest::Client::new(),
            id: portal["client_id"].as_str().unwrap().to_owned(),
            secret: portal["client_secret"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) async fn token_with(&self, node: &Server, secret: &str) -> reqwest::Response {
        self.client_credentials(node, (&self.id, secret), "openid")
            .await
    }

    /// A client-credentials request of client `(id, secret)` for `scope` to `node`.
    pub(crate) async fn client_credentials(
        &self,
        node: &Server,
        (id, secret): (&str, &str),
        scope: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/v2/oauth2/token", node.url))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap()
    }

    /// The access token of a client-credentials grant that must succeed.
    pub(crate) async fn access_token(
        &self,
        node: &Server,
        client: (&str, &str),
        scope: &str,
    ) -> String {
        let r = self.client_credentials(node, client, scope).await;
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn token(&self, node: &Server) -> String {
        self.access_token(node, (&self.id, &self.secret), "openid")
            .await
    }

    pub(crate) async fn active(&self, node: &Server, token: &str) -> bool {
        self.active_for(node, (&self.id, &self.secret), token).await
    }

    /// Whether `node` tells client `(id, secret)` that `token` is active.
    pub(crate) async fn active_for(
        &self,
        node: &Server,
        (id, secret): (&str, &str),
        token: &str,
    ) -> bool {
        let r: serde_json::Value = self
            .http
            .post(format!("{}/v2/oauth2/token/introspect", node.url))
            .basic_auth(id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["active"].as_bool().unwrap()
    }

    async fn revoke(&self, node: &Server, token: &str) {
        let r = self
            .http
            .post(format!("{}/v2/oauth2/token/revoke", node.url))
            .basic_auth(&self.id, Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// How long until `node` no longer calls `token` active (panics past `limit`).
    async fn until_inactive(&self, node: &Server, token: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.active(node, token).await {
            assert!(
                start.elapsed() < limit,
                "still active after {:?}",
                start.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        start.elapsed()
    }

    /// How long since `start` until `node` refuses `secret` (401; panics on anything but 200
    /// before that, or past `limit`).
    async fn until_refused(
        &self,
        node: &Server,
        secret: &str,
        start: Instant,
        limit: Duration,
    ) -> Duration {
        loop {
            let status = self.token_with(node, secret).await.status();
            if status == 401 {
                return start.elapsed();
            }
            assert_eq!(status, 200);
            assert!(
                start.elapsed() < limit,
                "still takes the deleted secret after {:?}",
                start.elapsed()
            );
        }
    }
}

#[tokio::test]
async fn cluster_revocation_on_one_node_is_refused_by_the_other_within_a_second_over_100_trials() {
    let Some(db) = Db::fresh("cluster revocation test").await else {
        return;
    };
    let c = Cluster::start(&db);
    let mut latencies = Vec::with_capacity(100);
    for _ in 0..100 {
        let token = c.token(&c.a).await;
        assert!(c.active(&c.b, &token).await, "node B knows A's token");
        let start = Instant::now();
        c.revoke(&c.a, &token).await;
        c.until_inactive(&c.b, &token, Duration::from_secs(1)).await;
        // From the revocation request being sent to B's first refusal.
        latencies.push(start.elapsed());
    }
    latencies.sort();
    let max = *latencies.last().unwrap();
    eprintln!(
        "cross-node revocation over 100 trials: p50 {:?}, p99 {:?}, max {:?}",
        latencies[49], latencies[98], max
    );
    assert!(max < Duration::from_secs(1), "max {max:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_a_deleted_client_secret_is_refused_by_the_other_node_within_a_second() {
    let Some(db) = Db::fresh("cluster client-secret test").await else {
        return;
    };
    let c = Cluster::start(&db);
    // Node B caches the client with its one secret.
    c.token(&c.b).await;
    let path = |node: &Server| format!("{}/v2/api/clients/{}/credentials", node.url, c.id);
    let created: serde_json::Value = c
        .http
        .post(path(&c.a))
        .basic_auth(&c.id, Some(&c.secret))
        .json(&serde_json::json!({"credential": {"name": "second"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = created["credential"]["secret"].as_str().unwrap().to_owned();
    // The new secret works on B at once (B's cached entry was dropped)...
    let start = Instant::now();
    loop {
        let status = c.token_with(&c.b, &second).await.status();
        if status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1), "{status}");
    }
    let list: serde_json::Value = c
        .http
        .get(path(&c.a))
        .basic_auth(&c.id, Some(&second))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first_id = list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] != "second")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // ... and once A deletes the first secret, B refuses it within a second.
    let deleted = c
        .http
        .delete(format!("{}/{first_id}", path(&c.a)))
        .basic_auth(&c.id, Some(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let took = c
        .until_refused(&c.b, &c.secret, Instant::now(), Duration::from_secs(1))
        .await;
    eprintln!("deleted secret refused by node B after {took:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_a_token_revoked_by_plain_sql_is_refused_by_a_node_that_cached_it_within_a_second()
{
    let Some(db) = Db::fresh("cluster SQL revocation test").await else {
        return;
    };
    let c = Cluster::start(&db);
    // The nodes answer from their caches: a revocation nobody announces goes unseen.
    let cached = c.token(&c.a).await;
    assert!(c.active(&c.b, &cached).await);
    db.revoke_silently(&cached).await;
    assert!(c.active(&c.b, &cached).await, "B answers from its cache");
    assert!(c.active(&c.a, &cached).await, "A answers from its cache");

    // A revocation committed by plain SQL, with no node left to tell the others, is announced
    // by the database itself.
    let mut latencies = Vec::with_capacity(20);
    for i in 0..20 {
        let (issuer, other) = if i % 2 == 0 {
            (&c.a, &c.b)
        } else {
            (&c.b, &c.a)
        };
        let token = c.token(issuer).await;
        assert!(c.active(other, &token).await, "the other node caches it");
        let start = Instant::now();
        db.revoke_by_sql(&token).await;
        c.until_inactive(other, &token, Duration::from_secs(1))
            .await;
        latencies.push(start.elapsed());
        c.until_inactive(issuer, &token, Duration::from_secs(1))
            .await;
    }
    latencies.sort();
    let max = *latencies.last().unwrap();
    eprintln!(
        "revocation by SQL refused after: p50 {:?}, max {max:?}",
        latencies[9]
    );
    assert!(max < Duration::from_secs(1), "max {max:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_a_client_secret_deleted_by_plain_sql_is_refused_by_a_node_that_cached_it_within_a_second(
) {
    let Some(db) = Db::fresh("cluster SQL secret-deletion test").await else {
        return;
    };
    let c = Cluster::start(&db);
    // Node B caches the client with its secret and authenticates from that cache: a secret
    // added behind every node's back is unknown to it. (Tried again while the notice of the
    // client's creation, which drops B's entry, may still be on its way.)
    let start = Instant::now();
    let extra = loop {
        assert_eq!(c.token_with(&c.b, &c.secret).await.status(), 200);
        let extra = format!("an-extra-secret-added-by-hand-{}", uuid::Uuid::new_v4());
        let added = db
            .silently(&format!(
                "INSERT INTO client_credentials (id, client_id, name, secret_hash, created_at) \
                 VALUES ('{}', '{}', 'extra', '\\x{}', 0)",
                uuid::Uuid::new_v4(),
                c.id,
                hex(tessera_core::secret::SecretHash::of(&extra).as_bytes())
            ))
            .await;
        assert_eq!(added, 1);
        if c.token_with(&c.b, &extra).await.status() == 401 {
            break extra; // B's cached entry
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never authenticated from its cache"
        );
    };

    // The first secret deleted by plain SQL: the database announces it, B refuses it.
    let start = Instant::now();
    let deleted =
        sqlx::query("DELETE FROM client_credentials WHERE client_id = $1 AND name <> 'extra'")
            .bind(&c.id)
            .execute(&db.pool)
            .await
            .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    let took = c
        .until_refused(&c.b, &c.secret, start, Duration::from_secs(1))
        .await;
    eprintln!("secret deleted by SQL refused by node B after {took:?}");
    // B reloaded the client from the database: the secret added by hand works now.
    assert_eq!(c.token_with(&c.b, &extra).await.status(), 200);
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_a_lost_listener_flushes_the_caches_and_the_feed_resumes() {
    let Some(db) = Db::fresh("cluster listener test").await else {
        return;
    };
    let c = Cluster::start(&db);
    let stale = c.token(&c.a).await;
    assert!(c.active(&c.b, &stale).await);
    // Behind the feed's back: B serves its cached copy (this proves B caches)...
    db.revoke_silently(&stale).await;
    assert!(c.active(&c.b, &stale).await, "B answers from its cache");
    // ... until its listener's connection is lost: the gap flushes everything.
    assert!(db.terminate_listeners().await >= 2, "both nodes listen");
    let flushed = c.until_inactive(&c.b, &stale, Duration::from_secs(5)).await;
    eprintln!("caches flushed {flushed:?} after the listener was killed");

    // The feed resumes: B caches again...
    let start = Instant::now();
    loop {
        let t = c.token(&c.a).await;
        assert!(c.active(&c.b, &t).await);
        db.revoke_silently(&t).await;
        if c.active(&c.b, &t).await {
            break; // served from B's cache: B trusts its feed again
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never trusted its caches again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ... and a revocation on A reaches it. (A fresh token: revoking one already revoked
    // behind the triggers' back changes no row, so the database has nothing to announce.)
    let token = c.token(&c.a).await;
    assert!(c.active(&c.b, &token).await);
    c.revoke(&c.a, &token).await;
    c.until_inactive(&c.b, &token, Duration::from_secs(1)).await;
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_cleanup_deletes_each_expired_row_once_across_nodes() {
    let Some(db) = Db::fresh("cluster cleanup test").await else {
        return;
    };
    let c = Cluster::start(&db);
    let live = c.token(&c.a).await;
    // 2500 tokens that expired two hours ago, copies of a live one.
    sqlx::query(
        "INSERT INTO tokens (hash, kind, client_id, subject, subject_kind, resource_server, scope, \
         issued_at, expires_at) \
         SELECT sha256(('expired' || g)::bytea), kind, client_id, subject, subject_kind, \
         resource_server, scope, 0, extract(epoch FROM now())::bigint - 7200 \
         FROM tokens, generate_series(1, 2500) AS g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    // Two operators (or two nodes' rounds) at once: one runs the round, the other is told so.
    let run = |server: &Server| {
        let out = server.admin(&["admin", "cleanup"], None);
        json(&out)
    };
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| run(&c.a));
        let y = s.spawn(|| run(&c.b));
        (x.join().unwrap(), y.join().unwrap())
    });
    let deleted = |v: &serde_json::Value| v["tokens"].as_u64().unwrap_or(0);
    assert_eq!(deleted(&x) + deleted(&y), 2500, "{x} {y}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 1);
    assert!(c.active(&c.b, &live).await);
    db.drop_db().await;
}

#[tokio::test]
async fn cluster_nodes_clean_up_expired_rows_in_the_background() {
    let Some(db) = Db::fresh("cluster background cleanup test").await else {
        return;
    };
    let a = Server::start_pg(&db.url, &["--cleanup-interval", "1"]);
    let b = Server::start_pg(&db.url, &["--cleanup-interval", "1"]);
    sqlx::query(
        "INSERT INTO sessions (hash, id, identity_id, auth_time, created_at, expires_at) \
         SELECT sha256(('s' || g)::bytea), gen_random_uuid()::text, gen_random_uuid()::text, \
         0, 0, 10 FROM generate_series(1, 1500) AS g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{left} expired sessions left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((a, b));
    db.drop_db().await;
}
