//! Upstream IdPs on the sign-in page and at the API: `required_idp`/`preselect_idp` may name a
//! registered upstream, the page shows its button (alone, or first), and the start and callback
//! handlers refuse what a browser or an attacker gets wrong. (The whole flow against real
//! upstreams is in crates/tessera/tests/it/upstream.rs and tests/browser/upstream.test.mjs.)

use crate::browser::Browser;
use crate::harness::TestServer;
use crate::projects::{create_project, manager};
use axum::http::Method;
use serde_json::json;
use tessera_core::identity::LOCAL_IDP_ID;
use tessera_core::upstream::UpstreamIdp;
use uuid::Uuid;

async fn registered(s: &TestServer, name: &str, issuer: &str) -> UpstreamIdp {
    let idp = UpstreamIdp {
        id: tessera_auth::service::upstream::idp_id(issuer),
        name: name.into(),
        issuer: issuer.into(),
        client_id: "tessera".into(),
        client_secret: "s".into(),
        domains: vec!["uni.example.edu".into()],
        scopes: vec![],
        username_claim: None,
        trust_mfa: false,
        metadata: "{}".into(),
        created_at: 0,
    };
    s.state.store.insert_upstream_idp(&idp).await.unwrap();
    idp
}

#[tokio::test]
async fn clients_may_require_or_preselect_a_registered_upstream_and_the_page_follows() {
    let s = TestServer::new().await;
    let uni = registered(&s, "Example University", "https://idp.uni.example.edu").await;
    let lab = registered(&s, "Another Lab", "https://idp.lab.example.org").await;
    let (_, bearer) = manager(&s, "developer").await;
    let project = create_project(&s, &bearer).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = |field: &str, idp: String| {
        json!({"client": {"name": "portal", "project": project, "public_client": false,
            "redirect_uris": ["https://portal.example.org/callback"], field: idp}})
    };
    for field in ["required_idp", "preselect_idp"] {
        let r = s
            .json(
                Method::POST,
                "/v2/api/clients",
                Some(&bearer),
                Some(client(field, Uuid::new_v4().to_string())),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{field}: {}", r.body);
    }
    let required = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(client("required_idp", uni.id.to_string())),
        )
        .await;
    required.ok();
    assert_eq!(required.body["client"]["required_idp"], uni.id.to_string());
    let preselect = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(client("preselect_idp", lab.id.to_string())),
        )
        .await;
    preselect.ok();
    let local = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(client("required_idp", LOCAL_IDP_ID.to_string())),
        )
        .await;
    local.ok();

    let page_for = |id: &serde_json::Value| {
        format!(
            "/v2/oauth2/authorize?client_id={}&redirect_uri=https%3A%2F%2Fportal.example.org%2Fcallback&scope=openid&response_type=code",
            id.as_str().unwrap()
        )
    };
    // Without a request: every upstream, alphabetically, and the password form.
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    let (a, e) = (
        page.text.find("Sign in with Another Lab").unwrap(),
        page.text.find("Sign in with Example University").unwrap(),
    );
    assert!(a < e, "{}", page.text);
    assert!(page.text.contains("name=\"password\""));
    // required_idp: that upstream alone, no password form.
    let r = b.get(&page_for(&required.body["client"]["id"])).await;
    let page = b.follow(r).await;
    assert!(
        page.text.contains("Sign in with Example University"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("Another Lab"), "{}", page.text);
    assert!(!page.text.contains("name=\"password\""), "{}", page.text);
    // preselect_idp: its button first, the others and the password form still there.
    let r = b.get(&page_for(&preselect.body["client"]["id"])).await;
    let page = b.follow(r).await;
    let (a, e) = (
        page.text.find("Sign in with Another Lab").unwrap(),
        page.text.find("Sign in with Example University").unwrap(),
    );
    assert!(a < e);
    assert!(page.text.contains("name=\"password\""));
    // required_idp = the built-in IdP: no upstream buttons.
    let r = b.get(&page_for(&local.body["client"]["id"])).await;
    let page = b.follow(r).await;
    assert!(!page.text.contains("Sign in with "), "{}", page.text);
    assert!(page.text.contains("name=\"password\""));
}

#[tokio::test]
async fn start_and_callback_refuse_bad_requests_without_a_5xx() {
    let s = TestServer::new().await;
    let uni = registered(&s, "Example University", "https://idp.uni.example.edu").await;
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    let csrf = Browser::hidden(&page, "csrf");
    // A forged start (no CSRF token), an unknown IdP, a malformed id.
    let r = b
        .post(&format!("/v2/web/idp/{}/start", uni.id), &[("request", "")])
        .await;
    assert_eq!(r.status.as_u16(), 400);
    let r = b
        .post(
            &format!("/v2/web/idp/{}/start", Uuid::new_v4()),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    let r = b
        .post("/v2/web/idp/not-a-uuid/start", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status.as_u16(), 404);
    // Callbacks that no sign-in of this browser started: refused, no session.
    for q in [
        "",
        "?code=x",
        "?code=x&state=y",
        "?error=access_denied&state=y",
        "?state=%FF%FE",
    ] {
        let r = b.get(&format!("/v2/web/idp/{}/callback{q}", uni.id)).await;
        assert_eq!(r.status.as_u16(), 400, "{q}: {}", r.text);
        assert!(!b.cookies.contains_key("tessera_session"), "{q}");
    }
    let r = b.get("/v2/web/idp/x/callback?code=1&state=2").await;
    assert_eq!(r.status.as_u16(), 404);
}
