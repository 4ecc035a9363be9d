//! Linked identities: a signed-in user proves a second identity from the account page; the
//! identity set then shows in introspection and userinfo; unlinking takes it out again.

use crate::browser::{location_params, Browser, PASSWORD, VERIFIER};
use crate::harness::TestServer;
use serde_json::Value;
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::secret::Secret;

async fn user(s: &TestServer, name: &str) -> String {
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

#[tokio::test]
async fn a_user_links_and_unlinks_an_identity_and_the_set_shows_everywhere() {
    let s = TestServer::new().await;
    let alice = user(&s, "alice@example.org").await;
    let work = user(&s, "alice@university.edu").await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let api = s.client("api", ClientType::Confidential).await;
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(&s);

    // Sign in as alice and get a token that may see the identity set.
    let q = serde_urlencoded::to_string([
        ("client_id", native.id.as_str()),
        ("redirect_uri", "http://tessera.test/v2/web/auth-code"),
        (
            "scope",
            &format!(
                "openid profile urn:globus:auth:scope:auth.globus.org:view_identity_set {data}"
            ),
        ),
        ("response_type", "code"),
        ("code_challenge", &crate::browser::challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let r = b.authorize(&q, "alice@example.org").await;
    let code = location_params(&r)["code"].clone();
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://tessera.test/v2/web/auth-code"),
        ("code_verifier", VERIFIER),
        ("client_id", native.id.as_str()),
    ])
    .unwrap();
    let tokens = s.form("/v2/oauth2/token", None, &body).await.body;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    // The token for the API, which the API introspects with the identity set: its answer is
    // remembered (`cache::answers`) and must follow every link and unlink.
    let api_token = tokens["other_tokens"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let introspected_set = async || {
        let r = s
            .form(
                "/v2/oauth2/token/introspect",
                Some(&api.basic()),
                &format!("token={api_token}&include=identity_set"),
            )
            .await;
        let mut ids: Vec<String> = r.body["identity_set"]
            .as_array()
            .unwrap_or_else(|| panic!("no identity_set: {}", r.body))
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let set_ids = |v: &Value| {
        let mut ids: Vec<String> = v["identity_set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["sub"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let info = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await;
    assert_eq!(set_ids(&info.body), vec![alice.clone()]);
    assert_eq!(introspected_set().await, vec![alice.clone()]);
    assert_eq!(introspected_set().await, vec![alice.clone()], "remembered");

    // Link: the wrong password links nothing; the right one does.
    let page = b.get("/v2/web/login?link=1").await;
    assert!(page.text.contains("Link another identity"));
    assert_eq!(Browser::hidden(&page, "link"), "1");
    let csrf = Browser::hidden(&page, "csrf");
    let mut link = async |username: &str, password: &str| {
        let r = b
            .post(
                "/v2/web/login",
                &[
                    ("csrf", &csrf),
                    ("request", ""),
                    ("link", "1"),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        b.follow(r).await
    };
    let wrong = link("alice@university.edu", "not the password").await;
    assert!(wrong.text.contains("role=\"alert\""));
    let same = link("alice@example.org", PASSWORD).await;
    assert!(
        same.text.contains("signed in with"),
        "linking yourself is refused: {}",
        same.text
    );
    let done = link("alice@university.edu", PASSWORD).await;
    assert!(
        done.text.contains("alice@university.edu"),
        "the account page lists it: {}",
        done.text
    );

    let mut both = vec![alice.clone(), work.clone()];
    both.sort();
    let info = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await;
    assert_eq!(set_ids(&info.body), both);
    assert_eq!(introspected_set().await, both);
    // Signing in with the second identity was an authentication of this session too.
    let r = s
        .form(
            "/v2/oauth2/token/introspect",
            Some(&api.basic()),
            &format!("token={api_token}&include=session_info"),
        )
        .await;
    let mut authenticated: Vec<String> = r.body["session_info"]["authentications"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    authenticated.sort();
    assert_eq!(authenticated, both, "{}", r.text);

    // Unlink from the account page.
    let account = b.get("/v2/web/account").await;
    let csrf = Browser::hidden(&account, "csrf");
    let r = b
        .post(
            &format!("/v2/web/account/identities/{work}/unlink"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::SEE_OTHER);
    let info = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await;
    assert_eq!(set_ids(&info.body), vec![alice.clone()]);
    assert_eq!(introspected_set().await, vec![alice.clone()]);
    // The identity signed in with cannot be unlinked; strangers' identities are not ours.
    let r = b
        .post(
            &format!("/v2/web/account/identities/{alice}/unlink"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::NOT_FOUND);
}
