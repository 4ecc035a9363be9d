//! The authorization-code and refresh flows end to end through the router, and each RFC 9700
//! protection as a test named after the attack it stops.

use crate::browser::{challenge, location_params, Browser, PASSWORD, VERIFIER};
use crate::harness::{Client, TestServer};
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::secret::Secret;

const PAGE: &str = "http://tessera.test/v2/web/auth-code";
const SCOPES: &str = "openid profile email urn:globus:auth:scope:transfer.api.globus.org:all";

pub(crate) async fn alice(s: &TestServer) -> String {
    let who = admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "alice@example.org",
        &Secret::new(PASSWORD),
        Profile {
            name: Some("Alice".into()),
            email: Some("alice@example.org".into()),
            ..Profile::default()
        },
    )
    .await
    .unwrap();
    who.id.to_string()
}

pub(crate) fn query(client: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", SCOPES),
        ("response_type", "code"),
        ("state", "st8"),
    ];
    p.extend_from_slice(extra);
    serde_urlencoded::to_string(p).unwrap()
}

fn pkce(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    v.extend_from_slice(extra);
    v
}

/// A native client's code, signed in as alice.
async fn native_code(b: &mut Browser<'_>, native: &Client, offline: bool) -> String {
    let mut extra = pkce(&[]);
    if offline {
        extra.push(("access_type", "offline".into()));
    }
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .authorize(&query(&native.id, PAGE, &extra), "alice@example.org")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let p = location_params(&r);
    assert_eq!(p["state"], "st8");
    assert_eq!(
        p["iss"], "http://tessera.test",
        "RFC 9207 iss in the authorization response"
    );
    p["code"].clone()
}

async fn exchange(
    s: &TestServer,
    native: &Client,
    code: &str,
    verifier: &str,
) -> crate::harness::Reply {
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", PAGE),
        ("code_verifier", verifier),
        ("client_id", &native.id),
    ])
    .unwrap();
    s.form("/v2/oauth2/token", None, &body).await
}

async fn refresh(
    s: &TestServer,
    client: &Client,
    rt: &str,
    auth: Option<&str>,
) -> crate::harness::Reply {
    let mut p = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if auth.is_none() {
        p.push(("client_id", &client.id));
    }
    s.form(
        "/v2/oauth2/token",
        auth,
        &serde_urlencoded::to_string(p).unwrap(),
    )
    .await
}

#[tokio::test]
async fn native_flow_with_pkce_gives_tokens_and_a_verifiable_id_token() {
    let s = TestServer::new().await;
    let alice = alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let r = exchange(&s, &native, &code, VERIFIER).await;
    r.ok();
    assert_eq!(r.body["resource_server"], "auth.globus.org");
    assert_eq!(r.body["scope"], "openid profile email");
    assert_eq!(
        r.body["other_tokens"][0]["resource_server"],
        "transfer.api.globus.org"
    );
    assert!(r.body["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("trt_"));
    assert!(r.body["other_tokens"][0]["refresh_token"].is_string());

    // The ID token verifies with keys[0] of the JWKS, RS512, aud = the native client.
    let jwks = s.get("/jwk.json", None).await.body;
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwks["keys"][0]["n"].as_str().unwrap(),
        jwks["keys"][0]["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS512);
    v.set_audience(&[&native.id]);
    v.leeway = 300;
    // The test clock is in the future of the real one; check exp against it by hand below.
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(r.body["id_token"].as_str().unwrap(), &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], alice.as_str());
    assert_eq!(claims["iss"], "http://tessera.test");
    assert_eq!(claims["preferred_username"], "alice@example.org");
    assert_eq!(claims["auth_time"], crate::harness::START);
    assert!(claims["exp"].as_i64().unwrap() > crate::harness::START);
    assert_eq!(
        claims["at_hash"],
        tessera_auth::service::id_token::at_hash(
            tessera_auth::keys::SigningAlgorithm::RS512,
            r.body["access_token"].as_str().unwrap()
        )
        .as_str()
    );

    // userinfo and session_info speak for alice.
    let at = r.body["access_token"].as_str().unwrap();
    let info = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await;
    assert_eq!(info.body["preferred_username"], "alice@example.org");
    assert_eq!(info.body["email"], "alice@example.org");
}

#[tokio::test]
async fn authorization_code_replay_revokes_what_the_code_produced() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let first = exchange(&s, &native, &code, VERIFIER).await;
    first.ok();
    let at = first.body["access_token"].as_str().unwrap().to_owned();
    let rt = first.body["refresh_token"].as_str().unwrap().to_owned();
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await
        .ok();

    exchange(&s, &native, &code, VERIFIER)
        .await
        .oauth_error(400, "invalid_grant");
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await
        .oauth_error(401, "invalid_token");
    refresh(&s, &native, &rt, None)
        .await
        .oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn pkce_verifier_mismatch_and_missing_verifier_are_refused() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, false).await;
    exchange(
        &s,
        &native,
        &code,
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
    )
    .await
    .oauth_error(400, "invalid_grant");
    let code = native_code(&mut b, &native, false).await;
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PAGE),
        ("client_id", native.id.as_str()),
    ])
    .unwrap();
    s.form("/v2/oauth2/token", None, &body)
        .await
        .oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn pkce_downgrade_verifier_without_challenge_is_refused() {
    let s = TestServer::new().await;
    alice(&s).await;
    // A confidential client may skip PKCE, but then a verifier at the token endpoint is an attack.
    let instance = register_redirect(&s, "https://portal.example.org/cb").await;
    let mut b = Browser::new(&s);
    let r = b
        .authorize(
            &query(&instance.id, "https://portal.example.org/cb", &[]),
            "alice@example.org",
        )
        .await;
    let code = location_params(&r)["code"].clone();
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://portal.example.org/cb"),
        ("code_verifier", VERIFIER),
    ])
    .unwrap();
    s.form("/v2/oauth2/token", Some(&instance.basic()), &body)
        .await
        .oauth_error(400, "invalid_grant");
}

/// A confidential client with a registered redirect URI.
pub(crate) async fn register_redirect(s: &TestServer, uri: &str) -> Client {
    let (c, secret) = admin::add_client(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "portal with callback",
        ClientType::Confidential,
        vec![uri.to_owned()],
    )
    .await
    .unwrap();
    Client {
        id: c.id.to_string(),
        secret: secret.unwrap().expose().to_owned(),
    }
}

#[tokio::test]
async fn confidential_portal_code_flow_without_pkce_and_code_bound_to_client_and_redirect() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, "https://portal.example.org/cb").await;
    let stranger = register_redirect(&s, "https://portal.example.org/cb").await;
    let mut b = Browser::new(&s);
    let r = b
        .authorize(
            &query(&portal.id, "https://portal.example.org/cb", &[]),
            "alice@example.org",
        )
        .await;
    let code = location_params(&r)["code"].clone();
    let body = |redirect: &str| {
        serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ])
        .unwrap()
    };
    // Another client cannot redeem it, and its attempt does not burn the code.
    s.form(
        "/v2/oauth2/token",
        Some(&stranger.basic()),
        &body("https://portal.example.org/cb"),
    )
    .await
    .oauth_error(400, "invalid_grant");
    // The redirect URI must be the authorize request's.
    let code2 = {
        let r = b
            .authorize(
                &query(&portal.id, "https://portal.example.org/cb", &[]),
                "alice@example.org",
            )
            .await;
        location_params(&r)["code"].clone()
    };
    let wrong = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code2.as_str()),
        ("redirect_uri", "https://portal.example.org/other"),
    ])
    .unwrap();
    s.form("/v2/oauth2/token", Some(&portal.basic()), &wrong)
        .await
        .oauth_error(400, "invalid_grant");
    let ok = s
        .form(
            "/v2/oauth2/token",
            Some(&portal.basic()),
            &body("https://portal.example.org/cb"),
        )
        .await;
    ok.ok();
    assert!(
        ok.body.get("refresh_token").is_none(),
        "online access: no refresh token"
    );
    assert!(ok.body["id_token"].is_string());
}

#[tokio::test]
async fn unregistered_redirect_uri_and_unknown_client_get_an_error_page_never_a_redirect() {
    let s = TestServer::new().await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let extra = pkce(&[]);
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for (client, redirect) in [
        (native.id.as_str(), "https://evil.example/cb"),
        (native.id.as_str(), "http://127.0.0.1.evil.example/"),
        ("00000000-0000-4000-8000-000000000000", PAGE),
        ("not-a-uuid", PAGE),
    ] {
        let r = s
            .get(
                &format!("/v2/oauth2/authorize?{}", query(client, redirect, &extra)),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{client} {redirect}");
        assert!(r.headers.get(header::LOCATION).is_none());
        assert!(
            r.text.contains("role=\"alert\"") || r.text.contains("<h1"),
            "an HTML error page"
        );
        assert!(r.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
    // A native client may use any loopback port.
    let r = s
        .get(
            &format!(
                "/v2/oauth2/authorize?{}",
                query(&native.id, "http://127.0.0.1:49152/", &extra)
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn after_the_redirect_uri_is_trusted_errors_go_back_to_the_client() {
    let s = TestServer::new().await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let with_pkce = pkce(&[]);
    let with_pkce: Vec<(&str, &str)> = with_pkce.iter().map(|(k, v)| (*k, v.as_str())).collect();
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("code_challenge", "x")],
            "invalid_request",
            "public client without S256 PKCE",
        ),
        (
            vec![],
            "invalid_request",
            "public client without PKCE (RFC 9700 2.1.1)",
        ),
        (
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
            "plain PKCE",
        ),
    ];
    for (extra, error, what) in cases {
        let r = s
            .get(
                &format!("/v2/oauth2/authorize?{}", query(&native.id, PAGE, &extra)),
                None,
            )
            .await;
        let p = location_params(&r);
        assert_eq!(p["error"], error, "{what}");
        assert_eq!(p["state"], "st8", "{what}");
    }
    let mut implicit = with_pkce.clone();
    implicit.retain(|(k, _)| *k != "response_type");
    let q = query(&native.id, PAGE, &implicit).replace("response_type=code", "response_type=token");
    let r = s.get(&format!("/v2/oauth2/authorize?{q}"), None).await;
    assert_eq!(
        location_params(&r)["error"],
        "unsupported_response_type",
        "no implicit grant (RFC 9700 2.1.2)"
    );
    let q = query(&native.id, PAGE, &with_pkce)
        .replace("transfer.api.globus.org", "nowhere.example.org");
    let r = s.get(&format!("/v2/oauth2/authorize?{q}"), None).await;
    assert_eq!(location_params(&r)["error"], "invalid_scope");
}

/// A native client's first token response, with a refresh token.
async fn native_tokens(s: &TestServer, native: &Client) -> Value {
    let mut b = Browser::new(s);
    let code = native_code(&mut b, native, true).await;
    let first = exchange(s, native, &code, VERIFIER).await;
    first.ok();
    first.body
}

#[tokio::test]
async fn reused_refresh_token_is_refused_at_once_and_revokes_the_family() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let first = native_tokens(&s, &native).await;
    let rt1 = first["refresh_token"].as_str().unwrap();

    let second = refresh(&s, &native, rt1, None).await;
    second.ok();
    assert_eq!(second.body["other_tokens"], json!([]));
    let rt2 = second.body["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "rotated");

    // The same second, no clock change: the rotated token is refused (RFC 9700 §4.14.2) ...
    refresh(&s, &native, rt1, None)
        .await
        .oauth_error(400, "invalid_grant");
    // ... and everything of its family dies: the successor, and the first access token.
    refresh(&s, &native, rt2, None)
        .await
        .oauth_error(400, "invalid_grant");
    for at in [&first["access_token"], &second.body["access_token"]] {
        s.get(
            "/v2/oauth2/userinfo",
            Some(&format!("Bearer {}", at.as_str().unwrap())),
        )
        .await
        .oauth_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn with_a_reuse_grace_a_rotated_refresh_token_works_once_more_within_it() {
    let s = TestServer::with_config(|c| c.refresh_grace = 60).await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let first = native_tokens(&s, &native).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();

    let second = refresh(&s, &native, &rt1, None).await;
    second.ok();
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_owned();

    // Within the grace window the old one works once more (a lost response), and the successor
    // that was never received dies.
    s.clock.advance(30);
    let again = refresh(&s, &native, &rt1, None).await;
    again.ok();
    let rt3 = again.body["refresh_token"].as_str().unwrap().to_owned();
    refresh(&s, &native, &rt2, None)
        .await
        .oauth_error(400, "invalid_grant");

    // After the grace window, reuse of a rotated token is theft: the whole family goes.
    s.clock.advance(60);
    refresh(&s, &native, &rt1, None)
        .await
        .oauth_error(400, "invalid_grant");
    refresh(&s, &native, &rt3, None)
        .await
        .oauth_error(400, "invalid_grant");
    let at = first["access_token"].as_str().unwrap();
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await
        .oauth_error(401, "invalid_token");
}

#[tokio::test]
async fn refresh_token_of_another_client_is_refused() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let other = s.client("other", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let rt = exchange(&s, &native, &code, VERIFIER).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    refresh(&s, &other, &rt, None)
        .await
        .oauth_error(400, "invalid_grant");
    refresh(&s, &native, &rt, None).await.ok();
}

#[tokio::test]
async fn refresh_tokens_die_after_six_months_unused() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let rt = exchange(&s, &native, &code, VERIFIER).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.clock.advance(183 * 24 * 3600);
    refresh(&s, &native, &rt, None)
        .await
        .oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn confidential_refresh_keeps_the_token_and_restarts_its_idle_lifetime() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, "https://portal.example.org/cb").await;
    let mut b = Browser::new(&s);
    let r = b
        .authorize(
            &query(
                &portal.id,
                "https://portal.example.org/cb",
                &[("access_type", "offline")],
            ),
            "alice@example.org",
        )
        .await;
    let code = location_params(&r)["code"].clone();
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://portal.example.org/cb"),
    ])
    .unwrap();
    let rt = s
        .form("/v2/oauth2/token", Some(&portal.basic()), &body)
        .await
        .body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.clock.advance(100 * 24 * 3600);
    let r = refresh(&s, &portal, &rt, Some(&portal.basic())).await;
    r.ok();
    assert_eq!(
        r.body["refresh_token"],
        rt.as_str(),
        "confidential clients keep their refresh token"
    );
    s.clock.advance(100 * 24 * 3600); // 200 days after issue, 100 after last use
    refresh(&s, &portal, &rt, Some(&portal.basic())).await.ok();
}

#[tokio::test]
async fn consent_is_remembered_and_asked_again_only_for_new_scopes() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    native_code(&mut b, &native, false).await;
    // Same scopes, same browser: straight back with a code, no page.
    let extra = pkce(&[]);
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&native.id, PAGE, &extra)
        ))
        .await;
    assert!(location_params(&r).contains_key("code"));
    // A new scope: the consent page again.
    let more = query(&native.id, PAGE, &extra).replace(
        "transfer.api.globus.org%3Aall",
        "transfer.api.globus.org%3Aall+urn%3Aglobus%3Aauth%3Ascope%3Agroups.api.globus.org%3Aall",
    );
    let r = b.get(&format!("/v2/oauth2/authorize?{more}")).await;
    let page = b.follow(r).await;
    assert!(page.text.contains(">Allow</button>"), "{}", page.text);
}

#[tokio::test]
async fn prompt_login_forces_a_fresh_sign_in() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    native_code(&mut b, &native, false).await;
    s.clock.advance(5);
    let extra = pkce(&[("prompt", "login".into())]);
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&native.id, PAGE, &extra)
        ))
        .await;
    let page = b.follow(r).await;
    assert!(
        page.text.contains(">Sign in</button>"),
        "signed in already, but prompt=login asks again"
    );
}

#[tokio::test]
async fn sign_in_answers_alike_for_unknown_users_and_wrong_passwords_and_slows_guessing() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    let unknown = b
        .sign_in(&page, "nobody@example.org", "whatever-password")
        .await;
    let wrong = b
        .sign_in(&page, "alice@example.org", "wrong-password-123")
        .await;
    let alert = |r: &crate::harness::Reply| {
        let start = r.text.find("role=\"alert\"").expect("an alert");
        r.text[start..start + 120].to_owned()
    };
    assert_eq!(alert(&unknown), alert(&wrong));
    assert!(
        !wrong.text.contains("wrong-password-123"),
        "the password is never echoed"
    );
    for _ in 0..4 {
        b.sign_in(&page, "alice@example.org", "wrong-password-123")
            .await;
    }
    let slowed = b.sign_in(&page, "alice@example.org", PASSWORD).await;
    assert_eq!(
        slowed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits after 5 failures"
    );
    s.clock.advance(2);
    assert!(!b.cookies.contains_key("tessera_session"));
    b.sign_in(&page, "alice@example.org", PASSWORD).await;
    assert!(
        b.cookies.contains_key("tessera_session"),
        "after the wait, the right password signs in"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut b = Browser::new(&s);
    b.get("/v2/web/login").await;
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("username", "alice@example.org"),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!b.cookies.contains_key("tessera_session"));
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_lax() {
    let s = TestServer::new().await;
    alice(&s).await;
    let mut b = Browser::new(&s);
    let page = b.get("/v2/web/login").await;
    let csrf = Browser::hidden(&page, "csrf");
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("username", "alice@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // A sign-in for no application (and no `next`) ends on the front door.
    assert_eq!(r.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_no_code() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let extra = pkce(&[]);
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&native.id, PAGE, &extra)
        ))
        .await;
    let login = b.follow(r).await;
    let consent = b.sign_in(&login, "alice@example.org", PASSWORD).await;
    let r = b.decide(&consent, "deny").await;
    let p = location_params(&r);
    assert_eq!(p["error"], "access_denied");
    assert!(!p.contains_key("code"));
}

#[tokio::test]
async fn rescinding_a_consent_revokes_every_token_from_it() {
    let s = TestServer::new().await;
    let alice_id = alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let tokens = exchange(&s, &native, &code, VERIFIER).await.body;
    let at = tokens["access_token"].as_str().unwrap();
    let transfer_rt = tokens["other_tokens"][0]["refresh_token"].as_str().unwrap();
    let bearer = format!("Bearer {at}");

    let list = s
        .get(
            &format!("/v2/api/identities/{alice_id}/consents"),
            Some(&bearer),
        )
        .await;
    list.ok();
    let consents = list.body["consents"].as_array().unwrap().clone();
    assert_eq!(
        consents.len(),
        4,
        "openid profile email transfer: {consents:?}"
    );
    for key in [
        "id",
        "client",
        "scope",
        "scope_name",
        "effective_identity",
        "dependency_path",
        "created",
        "updated",
        "last_used",
        "status",
        "allows_refresh",
        "auto_approved",
        "atomically_revocable",
    ] {
        assert!(consents[0].get(key).is_some(), "consent lacks {key}");
    }
    // Someone else's consents are not ours to see.
    s.get(
        "/v2/api/identities/00000000-0000-4000-8000-000000000000/consents",
        Some(&bearer),
    )
    .await
    .api_error(403, "FORBIDDEN");

    let transfer = consents
        .iter()
        .find(|c| c["scope_name"] == "urn:globus:auth:scope:transfer.api.globus.org:all")
        .unwrap();
    let r = s
        .json(
            Method::DELETE,
            &format!("/v2/api/identities/{alice_id}/consents/{}", transfer["id"]),
            Some(&bearer),
            None,
        )
        .await;
    r.ok();
    refresh(&s, &native, transfer_rt, None)
        .await
        .oauth_error(400, "invalid_grant");
    s.get("/v2/oauth2/userinfo", Some(&bearer)).await.ok(); // the openid token came from other consents

    // The account page's Revoke ends the rest.
    let account = b.get("/v2/web/account").await;
    assert!(account.text.contains("notebook"), "{}", account.text);
    let csrf = Browser::hidden(&account, "csrf");
    let r = b
        .post(
            &format!("/v2/web/account/apps/{}/revoke", native.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    s.get("/v2/oauth2/userinfo", Some(&bearer))
        .await
        .oauth_error(401, "invalid_token");
    assert!(!b
        .get("/v2/web/account")
        .await
        .text
        .contains("Revoke</button>"));
}

#[tokio::test]
async fn template_instances_log_in_and_the_template_id_revokes_their_tokens() {
    let s = TestServer::new().await;
    alice(&s).await;
    let template = tessera_core::seed::CLI_TEMPLATES[0].1.to_string();
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            None,
            Some(json!({"client": {"template_id": template, "name": "Globus CLI"}})),
        )
        .await;
    r.ok();
    let instance = Client {
        id: r.body["included"]["client_credential"]["client"]
            .as_str()
            .unwrap()
            .to_owned(),
        secret: r.body["included"]["client_credential"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert_eq!(r.body["client"]["parent_client"], template.as_str());
    // Not a template: no instance.
    let bad = s
        .json(
            Method::POST,
            "/v2/api/clients",
            None,
            Some(json!({"client": {"template_id": instance.id}})),
        )
        .await;
    bad.api_error(400, "BAD_REQUEST");

    let mut b = Browser::new(&s);
    let q = query(
        &instance.id,
        PAGE,
        &[("access_type", "offline"), ("prompt", "login")],
    );
    let r = b.authorize(&q, "alice@example.org").await;
    let tokens = s
        .redeem(&instance, &location_params(&r)["code"], PAGE)
        .await;
    tokens.ok();
    let at = tokens.body["access_token"].as_str().unwrap();
    let rt = tokens.body["refresh_token"].as_str().unwrap();
    let validate = s
        .form(
            "/v2/oauth2/token/validate",
            Some(&instance.basic()),
            &format!("token={rt}"),
        )
        .await;
    assert_eq!(validate.body, json!({"active": true}));
    let session = s
        .form(
            "/v2/oauth2/token/introspect",
            Some(&instance.basic()),
            &format!("token={at}&include=session_info"),
        )
        .await;
    assert_eq!(
        session.body["session_info"]["authentications"]
            .as_object()
            .unwrap()
            .len(),
        1
    );

    for t in [at, rt] {
        s.form(
            "/v2/oauth2/token/revoke",
            None,
            &format!("token={t}&client_id={template}"),
        )
        .await
        .ok();
    }
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await
        .oauth_error(401, "invalid_token");
    assert_eq!(
        s.form(
            "/v2/oauth2/token/validate",
            Some(&instance.basic()),
            &format!("token={rt}")
        )
        .await
        .body,
        json!({"active": false})
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_the_access_tokens_of_its_grant() {
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, true).await;
    let tokens = exchange(&s, &native, &code, VERIFIER).await.body;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refreshed = refresh(&s, &native, rt, None).await.body;
    let at2 = refreshed["access_token"].as_str().unwrap();
    let rt2 = refreshed["refresh_token"].as_str().unwrap();
    let transfer_rt = tokens["other_tokens"][0]["refresh_token"].as_str().unwrap();
    s.form(
        "/v2/oauth2/token/revoke",
        None,
        &format!("token={rt2}&client_id={}", native.id),
    )
    .await
    .ok();
    for t in [at, at2] {
        s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {t}")))
            .await
            .oauth_error(401, "invalid_token");
    }
    // Another resource server's tokens from the same login are not part of that grant.
    refresh(&s, &native, transfer_rt, None).await.ok();
}

/// The Globus SDK verifies an ID token with `keys[0]` of a JWKS it fetches right after the
/// exchange; other OIDC clients cache the JWKS and match `kid`. Neither may fail while keys
/// rotate underneath them.
#[tokio::test]
async fn id_tokens_verify_throughout_key_rotations_for_keys0_and_kid_matching_clients() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use std::collections::{HashMap, HashSet};
    use tessera_core::clock::Clock;
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let policy = tessera_auth::keys::KeyPolicy {
        rotation_interval: 600,
        publish_ahead: 60,
        retain: 300,
    };
    let rsa = |k: &Value| {
        DecodingKey::from_rsa_components(k["n"].as_str().unwrap(), k["e"].as_str().unwrap())
            .unwrap()
    };
    let load = |jwks: &Value| -> HashMap<String, DecodingKey> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kty"] == "RSA")
            .map(|k| (k["kid"].as_str().unwrap().to_owned(), rsa(k)))
            .collect()
    };
    let mut v = Validation::new(Algorithm::RS512);
    v.set_audience(&[&native.id]);
    v.validate_exp = false; // the test clock is not the wall clock
    let mut cache = load(&s.get("/jwk.json", None).await.body);
    let (mut sdk_failures, mut kid_failures, mut refetches) = (0, 0, 0);
    let mut signers = HashSet::new();
    for _ in 0..14 {
        let mut b = Browser::new(&s);
        let code = native_code(&mut b, &native, true).await;
        let r = exchange(&s, &native, &code, VERIFIER).await;
        r.ok();
        let id_token = r.body["id_token"].as_str().unwrap();
        // The SDK: a fresh JWKS, keys[0].
        let jwks = s.get("/jwk.json", None).await.body;
        if jsonwebtoken::decode::<Value>(id_token, &rsa(&jwks["keys"][0]), &v).is_err() {
            sdk_failures += 1;
        }
        // A caching client: its JWKS until a kid is unknown.
        let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
        if !cache.contains_key(&kid) {
            cache = load(&s.get("/jwk.json", None).await.body);
            refetches += 1;
        }
        match cache.get(&kid) {
            Some(key) if jsonwebtoken::decode::<Value>(id_token, key, &v).is_ok() => {}
            _ => kid_failures += 1,
        }
        signers.insert(kid);
        s.clock.advance(150);
        s.state
            .keys
            .maintain(s.state.store.as_ref(), s.clock.now(), policy)
            .await
            .unwrap();
    }
    assert_eq!((sdk_failures, kid_failures), (0, 0));
    assert!(signers.len() >= 3, "keys rotated: {signers:?}");
    assert!(refetches >= 2);
}

/// The SDK's JWKS fetch right after an exchange may land after the RSA key changed: an ID token
/// signed by the old key a moment before would then fail against `keys[0]` (found by
/// bench/rotation.sh). Just before the switch the next key signs, and the answer waits for the
/// switch, so the JWKS fetched after it starts with the key that signed.
#[tokio::test]
async fn an_id_token_issued_a_moment_before_the_key_changes_verifies_with_keys0_after_it() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use tessera_core::clock::Clock;
    let s = TestServer::new().await;
    alice(&s).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;
    let policy = tessera_auth::keys::KeyPolicy {
        rotation_interval: 600,
        publish_ahead: 60,
        retain: 3600,
    };
    let old = s.get("/jwk.json", None).await.body["keys"][0]["kid"].clone();
    let added = s
        .state
        .keys
        .rotate_now(
            s.state.store.as_ref(),
            s.clock.now(),
            policy,
            &tessera_auth::keys::KeyFamily::ALL,
        )
        .await
        .unwrap();
    let switch = s.clock.now() + 60;
    s.clock.advance(59);
    let mut b = Browser::new(&s);
    let code = native_code(&mut b, &native, false).await;
    // The switch comes while the exchange is answered.
    let clock = s.clock.clone();
    let tick = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        clock.advance(1);
    });
    let r = exchange(&s, &native, &code, VERIFIER).await;
    assert!(
        s.clock.now() >= switch,
        "the answer waited for the next key to sign"
    );
    tick.await.unwrap();
    r.ok();
    let id_token = r.body["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    assert_eq!(kid, added[0], "the next key signed it (not {old})");
    let jwks = s.get("/jwk.json", None).await.body;
    let first = &jwks["keys"][0];
    assert_eq!(first["kid"], kid.as_str());
    let key = DecodingKey::from_rsa_components(
        first["n"].as_str().unwrap(),
        first["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = Validation::new(Algorithm::RS512);
    v.set_audience(&[&native.id]);
    v.validate_exp = false;
    assert!(jsonwebtoken::decode::<Value>(id_token, &key, &v).is_ok());

    // Far from a switch nothing waits, and the current key signs.
    s.clock.advance(100);
    let code = native_code(&mut b, &native, false).await;
    let started = std::time::Instant::now();
    let r = exchange(&s, &native, &code, VERIFIER).await;
    r.ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let id_token = r.body["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap(),
        added[0]
    );
}
