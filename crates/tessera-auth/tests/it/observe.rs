//! Observability: the Prometheus metrics move as requests happen, readiness follows the
//! database, and every security event lands in the audit log, readable only by administrators.

use crate::browser::{location_params, Browser, PASSWORD, VERIFIER};
use crate::harness::{Client, TestServer};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use tessera_auth::service::admin::{self, Profile};
use tessera_auth::{AppState, AuthConfig};
use tessera_core::client::ClientType;
use tessera_core::clock::FixedClock;
use tessera_core::random::SeededRandom;
use tessera_core::secret::Secret;
use tessera_store::{AuditQuery, AuditRecord};
use tower::ServiceExt;

const AUTH_CODE_PAGE: &str = "http://tessera.test/v2/web/auth-code";
const VIEW_AUDIT: &str = "urn:globus:auth:scope:auth.globus.org:view_audit";

async fn metrics(s: &TestServer) -> String {
    let r = tessera_auth::metrics_router(s.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of one series (name with its labels, as exposed); 0 when absent.
#[track_caller]
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

pub(crate) async fn user(s: &TestServer, name: &str) -> String {
    admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        name,
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap()
    .id
    .to_string()
}

/// An `auth.globus.org` access token of `username` for `scope`, through the browser flow.
async fn user_token(s: &TestServer, native: &Client, username: &str, scope: &str) -> String {
    user_tokens(s, native, username, scope).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The token answer (with `other_tokens`) of `username`'s grant of `scope` to the native
/// client, through the browser flow.
pub(crate) async fn user_tokens(
    s: &TestServer,
    native: &Client,
    username: &str,
    scope: &str,
) -> serde_json::Value {
    let mut b = Browser::new(s);
    let q = serde_urlencoded::to_string([
        ("client_id", native.id.as_str()),
        ("redirect_uri", AUTH_CODE_PAGE),
        ("scope", scope),
        ("response_type", "code"),
        ("code_challenge", &crate::browser::challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let r = b.authorize(&q, username).await;
    let code = location_params(&r)["code"].clone();
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", AUTH_CODE_PAGE),
        ("code_verifier", VERIFIER),
        ("client_id", native.id.as_str()),
    ])
    .unwrap();
    let r = s.form("/v2/oauth2/token", None, &body).await;
    r.ok();
    r.body
}

pub(crate) async fn audit_log(s: &TestServer) -> Vec<AuditRecord> {
    s.state.flush_audit().await;
    s.state
        .store
        .audit_events(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

fn of_type<'a>(log: &'a [AuditRecord], event: &str) -> Vec<&'a AuditRecord> {
    log.iter().filter(|r| r.event.event == event).collect()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_tokens_sign_ins_and_cache_lookups() {
    let s = TestServer::new().await;
    user(&s, "alice@example.org").await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let before = metrics(&s).await;
    let failed = r#"tessera_sign_ins_total{result="failed"}"#;
    assert_eq!(value(&before, failed), 0.0);
    assert!(before.contains(failed), "counters exist before they move");

    // One failed sign-in moves the failure counter by one, and nothing else.
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    b.sign_in(&page, "alice@example.org", "not the password")
        .await;
    let after = metrics(&s).await;
    assert_eq!(value(&after, failed), 1.0);
    assert_eq!(
        value(&after, r#"tessera_sign_ins_total{result="succeeded"}"#),
        0.0
    );

    let token = s.token(&portal, "openid").await;
    let issued =
        r#"tessera_tokens_issued_total{grant_type="client_credentials",token_type="access_token"}"#;
    let token_hits = r#"tessera_cache_requests_total{cache="token",result="hit"}"#;
    let client_hits = r#"tessera_cache_requests_total{cache="client",result="hit"}"#;
    let m1 = metrics(&s).await;
    assert_eq!(value(&m1, issued), 1.0);
    s.introspect(&portal, &token).await;
    s.introspect(&portal, &token).await;
    let m2 = metrics(&s).await;
    assert!(
        value(&m2, token_hits) >= value(&m1, token_hits) + 2.0,
        "introspection is answered from the token cache"
    );
    assert!(value(&m2, client_hits) >= value(&m1, client_hits) + 2.0);
    assert!(m2.contains(r#"tessera_cache_requests_total{cache="scope",result="miss"}"#));

    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={token}"),
    )
    .await
    .ok();

    // The route label is the template, never the raw path; unknown paths share one label.
    let id = uuid::Uuid::new_v4();
    s.get(&format!("/v2/api/scopes/{id}"), Some(&portal.basic()))
        .await;
    s.get(&format!("/no/such/{id}"), None).await;
    let m3 = metrics(&s).await;
    assert_eq!(
        value(&m3, r#"tessera_tokens_revoked_total{reason="revocation"}"#),
        1.0
    );
    assert_eq!(
        value(
            &m3,
            r#"tessera_http_request_duration_seconds_count{method="GET",route="/v2/api/scopes/{id}",status="404"}"#
        ),
        1.0,
        "{m3}"
    );
    assert_eq!(
        value(
            &m3,
            r#"tessera_http_request_duration_seconds_count{method="POST",route="/v2/oauth2/token/introspect",status="200"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &m3,
            r#"tessera_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}"#
        ),
        1.0
    );
    assert!(!m3.contains(&id.to_string()), "no raw path reaches a label");
    assert!(m3.contains("process_resident_memory_bytes"));
    assert!(m3.contains("tessera_audit_events_dropped_total 0"));
    assert!(!m3.contains(&token), "no token in the metrics");
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let s = TestServer::new().await;
    s.get("/metrics", None).await.api_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    let Some(base) = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "notice: TESSERA_TEST_POSTGRES_URL is not set; PostgreSQL readiness test skipped"
        );
        return;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let db = format!("tessera_ready_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let store = tessera_store::connect(&format!("{prefix}/{db}"))
        .await
        .unwrap();
    let state = AppState::new(
        AuthConfig::new("http://tessera.test"),
        store,
        Arc::new(FixedClock::new(crate::harness::START)),
        Arc::new(SeededRandom::new(7)),
    )
    .await
    .unwrap();
    let ready = || async {
        let r = tessera_auth::router(state.clone())
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        r.status()
    };
    assert_eq!(ready().await, StatusCode::OK);
    // The database goes away under the running server (its connections are cut).
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(ready().await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "readiness answers promptly"
    );
    // Liveness is not readiness: the process still answers.
    let r = tessera_auth::router(state.clone())
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_audit_api_is_for_administrators_with_the_view_audit_scope() {
    let s = TestServer::with_config(|c| c.admin_usernames = vec!["root@example.org".into()]).await;
    user(&s, "root@example.org").await;
    user(&s, "alice@example.org").await;
    let native = s.client("console", ClientType::PublicInstalled).await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let scope = format!("openid {VIEW_AUDIT}");
    let root = user_token(&s, &native, "root@example.org", &scope).await;
    let alice = user_token(&s, &native, "alice@example.org", &scope).await;
    let root_plain = user_token(&s, &native, "root@example.org", "openid").await;
    s.state.flush_audit().await;

    let bearer = |t: &str| format!("Bearer {t}");
    s.get("/v2/api/audit", None)
        .await
        .api_error(401, "UNAUTHORIZED");
    s.get("/v2/api/audit", Some(&bearer("at_not_a_token")))
        .await
        .api_error(401, "UNAUTHORIZED");
    s.get("/v2/api/audit", Some(&portal.basic()))
        .await
        .api_error(401, "UNAUTHORIZED");
    s.get("/v2/api/audit", Some(&bearer(&alice)))
        .await
        .api_error(403, "FORBIDDEN");
    s.get("/v2/api/audit", Some(&bearer(&root_plain)))
        .await
        .api_error(403, "FORBIDDEN");

    let r = s.get("/v2/api/audit", Some(&bearer(&root))).await;
    r.ok();
    let events = r.body["audit_events"].as_array().unwrap();
    assert!(!events.is_empty());
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    for key in [
        "time",
        "type",
        "actor",
        "subject",
        "client",
        "remote_addr",
        "detail",
    ] {
        assert!(events[0].get(key).is_some(), "{key} in {}", events[0]);
    }

    let r = s
        .get("/v2/api/audit?type=sign_in&limit=2", Some(&bearer(&root)))
        .await;
    r.ok();
    let signins = r.body["audit_events"].as_array().unwrap();
    assert_eq!(signins.len(), 2);
    assert!(signins.iter().all(|e| e["type"] == "sign_in"));
    let page2 = s
        .get(
            &format!("/v2/api/audit?type=sign_in&before={}", signins[1]["id"]),
            Some(&bearer(&root)),
        )
        .await;
    page2.ok();
    assert!(page2.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"].as_i64() < signins[1]["id"].as_i64()));
    let future = s
        .get(
            "/v2/api/audit?since=2099-01-01T00:00:00Z",
            Some(&bearer(&root)),
        )
        .await;
    future.ok();
    assert_eq!(future.body["audit_events"], json!([]));

    for bad in [
        "type=no_such_event",
        "limit=0",
        "limit=1001",
        "limit=ten",
        "since=yesterday",
        "before=x",
    ] {
        s.get(&format!("/v2/api/audit?{bad}"), Some(&bearer(&root)))
            .await
            .api_error(400, "BAD_REQUEST");
    }
}

#[tokio::test]
async fn every_security_event_is_recorded_by_its_flow() {
    let s = TestServer::new().await;
    let alice = user(&s, "alice@example.org").await;
    let work = user(&s, "alice@university.edu").await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let portal = s.client("portal", ClientType::Confidential).await;

    // sign_in, consent_granted, token_issued (authorization_code)
    let at = user_token(&s, &native, "alice@example.org", "openid profile").await;

    // sign_in_failed: the username as typed, never the password
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    b.sign_in(&page, "Mallory@Example.org", "hunter2-guess")
        .await;

    // token_issued (client_credentials), with the caller's address
    let addr: SocketAddr = "10.1.2.3:5555".parse().unwrap();
    let cc = s
        .send(
            Request::post("/v2/oauth2/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, portal.basic())
                .extension(ConnectInfo(addr))
                .body(Body::from("grant_type=client_credentials&scope=openid"))
                .unwrap(),
        )
        .await;
    cc.ok();
    let cc_token = cc.body["access_token"].as_str().unwrap().to_owned();

    // token_revoked
    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={cc_token}"),
    )
    .await
    .ok();

    // client_secret_created and client_secret_deleted
    let created = s
        .json(
            Method::POST,
            &format!("/v2/api/clients/{}/credentials", portal.id),
            Some(&portal.basic()),
            Some(json!({"credential": {"name": "rotation"}})),
        )
        .await;
    created.ok();
    let cred_id = created.body["credential"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = created.body["credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    s.json(
        Method::DELETE,
        &format!("/v2/api/clients/{}/credentials/{cred_id}", portal.id),
        Some(&portal.basic()),
        None,
    )
    .await
    .ok();

    // consent_rescinded
    let consents = s
        .get(
            &format!("/v2/api/identities/{alice}/consents"),
            Some(&format!("Bearer {at}")),
        )
        .await;
    consents.ok();
    let root = consents.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["dependency_path"].as_array().unwrap().len() == 1)
        .unwrap()["id"]
        .clone();

    // identity_linked and identity_unlinked, through the account pages
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    b.sign_in(&page, "alice@example.org", PASSWORD).await;
    let page = b.get("/v2/web/login?link=1").await;
    let csrf = Browser::hidden(&page, "csrf");
    let linked = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("link", "1"),
                ("username", "alice@university.edu"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.text);
    let account = b.get("/v2/web/account").await;
    let csrf = Browser::hidden(&account, "csrf");
    let r = b
        .post(
            &format!("/v2/web/account/identities/{work}/unlink"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    s.json(
        Method::DELETE,
        &format!("/v2/api/identities/{alice}/consents/{root}"),
        Some(&format!("Bearer {at}")),
        None,
    )
    .await
    .ok();

    let log = audit_log(&s).await;
    let alice_id: uuid::Uuid = alice.parse().unwrap();
    let work_id: uuid::Uuid = work.parse().unwrap();
    let portal_id: uuid::Uuid = portal.id.parse().unwrap();
    let native_id: uuid::Uuid = native.id.parse().unwrap();

    let sign_ins = of_type(&log, "sign_in");
    assert!(sign_ins
        .iter()
        .any(|r| r.event.subject == Some(alice_id) && r.event.actor == Some(alice_id)));
    assert!(sign_ins.iter().any(|r| r.event.subject == Some(work_id)));

    let failed = of_type(&log, "sign_in_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].event.detail["username"], "Mallory@Example.org");
    assert_eq!(failed[0].event.detail["reason"], "rejected");

    let granted = of_type(&log, "consent_granted");
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].event.actor, Some(alice_id));
    assert_eq!(granted[0].event.client_id, Some(native_id));
    assert!(granted[0].event.detail["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("openid")));

    let issued = of_type(&log, "token_issued");
    let code_token = issued
        .iter()
        .find(|r| r.event.detail["grant_type"] == "authorization_code")
        .unwrap();
    assert_eq!(code_token.event.subject, Some(alice_id));
    assert_eq!(code_token.event.client_id, Some(native_id));
    assert!(code_token.event.detail["family_id"].is_string());
    let cc_issued = issued
        .iter()
        .find(|r| r.event.detail["grant_type"] == "client_credentials")
        .unwrap();
    assert_eq!(cc_issued.event.subject, Some(portal_id));
    assert_eq!(cc_issued.event.remote_addr.as_deref(), Some("10.1.2.3"));
    assert_eq!(cc_issued.event.detail["count"], 1);
    let token_ref = cc_issued.event.detail["token"].as_str().unwrap();
    assert_eq!(token_ref.len(), 16);
    assert!(token_ref.bytes().all(|b| b.is_ascii_hexdigit()));

    let revoked = of_type(&log, "token_revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].event.actor, Some(portal_id));
    assert_eq!(
        revoked[0].event.detail["token"], token_ref,
        "the revoked token is the one issued"
    );

    for (event, id) in [
        ("client_secret_created", &cred_id),
        ("client_secret_deleted", &cred_id),
    ] {
        let e = of_type(&log, event);
        assert_eq!(e.len(), 1, "{event}");
        assert_eq!(e[0].event.actor, Some(portal_id));
        assert_eq!(e[0].event.client_id, Some(portal_id));
        assert_eq!(e[0].event.detail["credential_id"], json!(id));
    }

    let rescinded = of_type(&log, "consent_rescinded");
    assert_eq!(rescinded.len(), 1);
    assert_eq!(rescinded[0].event.actor, Some(alice_id));
    assert_eq!(rescinded[0].event.detail["consent_id"], root);
    assert!(
        rescinded[0].event.detail["tokens_revoked"]
            .as_u64()
            .unwrap()
            >= 1
    );

    for event in ["identity_linked", "identity_unlinked"] {
        let e = of_type(&log, event);
        assert_eq!(e.len(), 1, "{event}");
        assert_eq!(e[0].event.actor, Some(alice_id));
        assert_eq!(e[0].event.subject, Some(work_id));
    }

    // No secret of any kind is in the log.
    let text: String = log.iter().map(|r| format!("{:?}", r.event)).collect();
    for secret in [
        PASSWORD,
        "hunter2-guess",
        &at,
        &cc_token,
        &secret,
        &portal.secret,
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }
}

#[tokio::test]
async fn client_credentials_tokens_are_counted_into_one_event_per_client_and_scope() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let body = "grant_type=client_credentials&scope=openid";
    for _ in 0..3 {
        s.form("/v2/oauth2/token", Some(&portal.basic()), body)
            .await
            .ok();
    }
    for _ in 0..2 {
        s.form(
            "/v2/oauth2/token",
            Some(&portal.basic()),
            "grant_type=client_credentials&scope=email",
        )
        .await
        .ok();
    }
    let log = audit_log(&s).await;
    let mut cc: Vec<_> = of_type(&log, "token_issued")
        .into_iter()
        .filter(|r| r.event.detail["grant_type"] == "client_credentials")
        .collect();
    cc.sort_by_key(|r| r.event.detail["scope"].as_str().unwrap().to_owned());
    assert_eq!(cc.len(), 2, "one event per scope: {cc:?}");
    assert_eq!(cc[0].event.detail["scope"], "email");
    assert_eq!(cc[0].event.detail["count"], 2);
    assert_eq!(cc[1].event.detail["scope"], "openid");
    assert_eq!(cc[1].event.detail["count"], 3);
    assert_eq!(cc[1].event.client_id, Some(portal.id.parse().unwrap()));
    assert_eq!(cc[1].event.detail["resource_server"], "auth.globus.org");
    // Nothing is left to write: the tally starts again.
    assert!(of_type(&audit_log(&s).await, "token_issued").len() == 2);
}
