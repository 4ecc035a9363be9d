//! Crash safety: kill -9 a node while clients are being issued tokens; after a restart every
//! token whose 200 answer a client received is active, and the database is intact.

use crate::cluster::Db;
use crate::process::{json, Server};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const WORKERS_PER_CLIENT: usize = 2;
const LOAD: Duration = Duration::from_secs(2);

type Acked = Arc<Mutex<Vec<(usize, String)>>>;

/// Loads `server` with client-credentials issuance from several clients, kills it with
/// SIGKILL mid-load, and returns every token whose 200 response arrived whole.
async fn issue_then_crash(
    server: &mut Server,
    clients: &[(String, String)],
) -> Vec<(usize, String)> {
    let acked: Acked = Arc::default();
    let http = reqwest::Client::new();
    let mut workers = Vec::new();
    for (n, (id, secret)) in clients.iter().enumerate() {
        for _ in 0..WORKERS_PER_CLIENT {
            let (http, acked, url) = (http.clone(), acked.clone(), server.url.clone());
            let (id, secret) = (id.clone(), secret.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let sent = http
                        .post(format!("{url}/v2/oauth2/token"))
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let Ok(r) = sent else { return }; // the server is gone
                    if r.status() != 200 {
                        continue;
                    }
                    let Ok(body) = r.json::<serde_json::Value>().await else {
                        return; // cut off mid-answer: not acknowledged
                    };
                    let token = body["access_token"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().push((n, token));
                }
            }));
        }
    }
    tokio::time::sleep(LOAD).await;
    server.kill_9();
    for w in workers {
        tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a worker did not stop after the crash")
            .unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

/// Introspects every acknowledged token on `server`, several at a time; returns the inactive.
async fn inactive_after_restart(
    server: &Server,
    clients: &[(String, String)],
    acked: Vec<(usize, String)>,
) -> Vec<String> {
    let http = reqwest::Client::new();
    let chunk = acked.len().div_ceil(8).max(1);
    let mut tasks = Vec::new();
    for part in acked.chunks(chunk) {
        let (http, url, part) = (http.clone(), server.url.clone(), part.to_vec());
        let clients = clients.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut inactive = Vec::new();
            for (n, token) in part {
                let (id, secret) = &clients[n];
                let r: serde_json::Value = http
                    .post(format!("{url}/v2/oauth2/token/introspect"))
                    .basic_auth(id, Some(secret))
                    .form(&[("token", &token)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if r["active"] != true {
                    inactive.push(token);
                }
            }
            inactive
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.unwrap());
    }
    out
}

fn add_clients(server: &Server) -> Vec<(String, String)> {
    (0..CLIENTS)
        .map(|i| {
            let c = json(&server.admin(
                &[
                    "admin",
                    "client",
                    "add",
                    "--name",
                    &format!("load{i}"),
                    "--confidential",
                ],
                None,
            ));
            (
                c["client_id"].as_str().unwrap().to_owned(),
                c["client_secret"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_kill_9_under_load_loses_no_acknowledged_token_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(dir.path());
    let clients = add_clients(&server);
    let started = Instant::now();
    let acked = issue_then_crash(&mut server, &clients).await;
    assert!(acked.len() > 50, "too little load: {}", acked.len());
    let total = acked.len();

    // The lock of the dead process is gone with it; the same directory starts again.
    let mut restarted = Server::start_in(dir.path());
    let inactive = inactive_after_restart(&restarted, &clients, acked).await;
    assert!(
        inactive.is_empty(),
        "{} of {total} acknowledged tokens were lost",
        inactive.len()
    );
    assert!(restarted.terminate().success());

    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tessera.db").display()
    ))
    .await
    .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(stored as usize >= total);
    eprintln!(
        "sqlite crash test: {total} acknowledged tokens all active after kill -9 and restart, \
         {stored} stored, integrity ok ({:?})",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_kill_9_under_load_loses_no_acknowledged_token_on_postgres() {
    let Some(db) = Db::fresh("PostgreSQL crash test").await else {
        return;
    };
    let mut server = Server::start_pg(&db.url, &[]);
    let clients = add_clients(&server);
    let acked = issue_then_crash(&mut server, &clients).await;
    assert!(acked.len() > 50, "too little load: {}", acked.len());
    let total = acked.len();
    let restarted = Server::start_pg(&db.url, &[]);
    let inactive = inactive_after_restart(&restarted, &clients, acked).await;
    assert!(
        inactive.is_empty(),
        "{} of {total} acknowledged tokens were lost",
        inactive.len()
    );
    // Nothing half-written: every row whole.
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tokens WHERE length(hash) <> 32 OR expires_at <= issued_at",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(broken, 0);
    eprintln!(
        "postgres crash test: {total} acknowledged tokens all active after kill -9 and restart"
    );
    drop(restarted);
    db.drop_db().await;
}
