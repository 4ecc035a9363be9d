//! The operator's view of a running server: `/metrics` on its own listener, and the audit log
//! through `tessera admin audit` while the server runs.

use crate::process::{json, run, BIN};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn metrics_listener_and_admin_audit_show_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("TESSERA_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut url_of = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned()
    };
    let url = url_of();
    let metrics_url = url_of();
    assert!(metrics_url.ends_with("/metrics"), "{metrics_url}");
    let data = Some(dir.path());

    let portal = json(&run(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "portal",
            "--confidential",
        ],
        data,
        None,
        &[],
    ));
    let id = portal["client_id"].as_str().unwrap();
    let secret = portal["client_secret"].as_str().unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let metrics = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains(
        r#"tessera_tokens_issued_total{grant_type="client_credentials",token_type="access_token"} 1"#
    ), "{text}");
    assert!(text.contains(r#"route="/v2/oauth2/token",status="200""#));
    let public = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "metrics stay off the public listener");
    let ready = http
        .get(metrics_url.replace("/metrics", "/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // The audit log, read straight from the database while the server runs (events are stored
    // in batches a few milliseconds after they happen).
    let deadline = Instant::now() + Duration::from_secs(10);
    let issued = loop {
        let events = lines(&run(
            &["admin", "audit", "--type", "token_issued"],
            data,
            None,
            &[],
        ));
        if !events.is_empty() || Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["type"], "token_issued");
    assert_eq!(issued[0]["client"], id);
    assert_eq!(issued[0]["detail"]["grant_type"], "client_credentials");
    assert_eq!(
        issued[0]["remote_addr"], "127.0.0.1",
        "the peer address reaches the log"
    );

    let none = lines(&run(
        &["admin", "audit", "--since", "2099-01-01T00:00:00Z"],
        data,
        None,
        &[],
    ));
    assert!(none.is_empty());
    let limited = lines(&run(&["admin", "audit", "--limit", "1"], data, None, &[]));
    assert_eq!(limited.len(), 1);
    let bad = run(
        &["admin", "audit", "--type", "no_such_event"],
        data,
        None,
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown event type"));

    let _ = child.kill();
    let _ = child.wait();
}

/// `tessera admin cleanup` deletes audit events older than the retention (a year unless told
/// otherwise; 0 keeps them) and says how many.
#[tokio::test]
async fn admin_cleanup_deletes_audit_events_past_the_retention_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let data = Some(dir.path());
    let first = json(&run(&["admin", "cleanup"], data, None, &[]));
    assert_eq!(first["audit_events"], 0, "{first}");
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tessera.db").display()
    ))
    .await
    .unwrap();
    // Three events from 1970 and one from now.
    sqlx::query(
        "INSERT INTO audit_events (at, event, detail) VALUES (0, 'sign_in', '{}'), \
         (1, 'sign_in', '{}'), (2, 'token_issued', '{}'), \
         (CAST(strftime('%s', 'now') AS INTEGER), 'sign_in', '{}')",
    )
    .execute(&db)
    .await
    .unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    let kept = json(&run(
        &["admin", "cleanup"],
        data,
        None,
        &[("TESSERA_AUDIT_RETENTION", "0")],
    ));
    assert_eq!(kept["audit_events"], 0, "{kept}");
    assert_eq!(count().await, 4);
    let refused = run(
        &["admin", "cleanup", "--audit-retention", "365"],
        data,
        None,
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("audit_retention"));
    let purged = json(&run(&["admin", "cleanup"], data, None, &[]));
    assert_eq!(purged["audit_events"], 3, "{purged}");
    assert_eq!(count().await, 1);
}
