//! Two nodes (two `AppState`s with their own pools) on one PostgreSQL database
//! (`TESSERA_TEST_POSTGRES_URL`; skipped with a notice when unset): what one node changes, the
//! other stops honouring within a second. The binary-level cluster tests are in
//! `crates/tessera/tests/it/cluster.rs`; this one needs a browser sign-in.

use crate::browser::{challenge, location_params, Browser, PASSWORD, VERIFIER};
use crate::harness::TestServer;
use axum::http::{Method, StatusCode};
use std::time::{Duration, Instant};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::secret::Secret;

const PG_ENV: &str = "TESSERA_TEST_POSTGRES_URL";
const PAGE: &str = "http://tessera.test/v2/web/auth-code";

#[tokio::test]
async fn a_consent_rescinded_on_one_node_is_refused_by_the_other_within_a_second() {
    let base = match std::env::var(PG_ENV) {
        Ok(b) if !b.is_empty() => b,
        _ => {
            eprintln!("notice: {PG_ENV} is not set; two-node consent test skipped");
            return;
        }
    };
    let admin_pool = sqlx::PgPool::connect(&base).await.unwrap();
    let db = format!("tessera_consent_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin_pool)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{db}");
    let a = TestServer::on(
        tessera_store::connect(&url).await.unwrap(),
        1,
        tempfile::tempdir().unwrap(),
    )
    .await;
    let b = TestServer::on(
        tessera_store::connect(&url).await.unwrap(),
        2,
        tempfile::tempdir().unwrap(),
    )
    .await;

    let alice = admin::add_user(
        a.state.store.as_ref(),
        a.clock.as_ref(),
        a.state.rng.as_ref(),
        "alice@example.org",
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap()
    .id;
    let native = a.client("notebook", ClientType::PublicInstalled).await;
    let challenge = challenge(VERIFIER);
    let query = serde_urlencoded::to_string([
        ("client_id", native.id.as_str()),
        ("redirect_uri", PAGE),
        ("scope", "openid profile email"),
        ("response_type", "code"),
        ("state", "st8"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let mut browser = Browser::new(&a);
    let r = browser.authorize(&query, "alice@example.org").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let code = location_params(&r)["code"].clone();
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", PAGE),
        ("code_verifier", VERIFIER),
        ("client_id", &native.id),
    ])
    .unwrap();
    let tokens = a.form("/v2/oauth2/token", None, &body).await;
    tokens.ok();
    let at = tokens.body["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {at}");

    // Node B takes the token and now holds its record.
    b.get("/v2/oauth2/userinfo", Some(&bearer)).await.ok();
    let hash = tessera_core::token::lookup_hash(at);
    assert!(b.state.tokens.get(&hash).is_some(), "B caches the record");

    // Alice rescinds her openid consent on node A...
    let list = a
        .get(
            &format!("/v2/api/identities/{alice}/consents"),
            Some(&bearer),
        )
        .await;
    list.ok();
    let openid = list.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope_name"] == "openid")
        .unwrap()["id"]
        .clone();
    a.json(
        Method::DELETE,
        &format!("/v2/api/identities/{alice}/consents/{openid}"),
        Some(&bearer),
        None,
    )
    .await
    .ok();
    // ... and node B refuses the token within a second.
    let start = Instant::now();
    loop {
        let r = b.get("/v2/oauth2/userinfo", Some(&bearer)).await;
        if r.status == StatusCode::UNAUTHORIZED {
            break;
        }
        r.ok();
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node B still honours a token whose consent was rescinded"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop((a, b));
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&admin_pool)
        .await;
}
