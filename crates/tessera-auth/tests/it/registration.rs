//! RFC 7591/7592 dynamic client registration through the router: off by default, open, or
//! gated by an initial access token; every error code; nothing written on error.

use crate::harness::{basic, Reply, TestServer};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_auth::service::registration;
use tessera_auth::Registration;

const REDIRECT: &str = "https://app.example.org/callback";

async fn server(mode: Registration) -> TestServer {
    TestServer::with_config(|c| c.registration = mode).await
}

async fn register(s: &TestServer, auth: Option<&str>, body: Value) -> Reply {
    s.json(Method::POST, "/v2/oauth2/register", auth, Some(body))
        .await
}

fn path(r: &Reply) -> String {
    r.body["registration_client_uri"]
        .as_str()
        .unwrap()
        .strip_prefix("http://tessera.test")
        .unwrap()
        .to_owned()
}

fn bearer(r: &Reply) -> String {
    format!(
        "Bearer {}",
        r.body["registration_access_token"].as_str().unwrap()
    )
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let s = TestServer::new().await;
    let r = register(&s, None, json!({"redirect_uris": [REDIRECT]})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let d = s.get("/.well-known/openid-configuration", None).await;
    assert!(d.body.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn open_registration_makes_a_client_that_can_use_its_secret() {
    let s = server(Registration::Open).await;
    let d = s.get("/.well-known/openid-configuration", None).await;
    assert_eq!(
        d.body["registration_endpoint"],
        "http://tessera.test/v2/oauth2/register"
    );
    let r = register(
        &s,
        None,
        json!({"redirect_uris": [REDIRECT], "client_name": "Lab portal",
               "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
               "contacts": ["ops@example.org"], "frobnicate": 1}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let b = &r.body;
    let id = b["client_id"].as_str().unwrap();
    let secret = b["client_secret"].as_str().unwrap();
    assert_eq!(b["client_secret_expires_at"], 0);
    assert_eq!(b["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(b["client_name"], "Lab portal");
    assert_eq!(b["redirect_uris"], json!([REDIRECT]));
    assert_eq!(b["contacts"], json!(["ops@example.org"]));
    assert!(b.get("frobnicate").is_none());
    assert!(b["registration_access_token"]
        .as_str()
        .unwrap()
        .starts_with("trg_"));
    assert_eq!(
        b["registration_client_uri"],
        format!("http://tessera.test/v2/oauth2/register/{id}")
    );
    // The secret works at the token endpoint.
    let t = s
        .form(
            "/v2/oauth2/token",
            Some(&basic(id, secret)),
            "grant_type=client_credentials&scope=openid",
        )
        .await;
    assert_ne!(t.status.as_u16(), 401, "{}", t.body);

    // RFC 7592 read: the metadata, never the secret again.
    let read = s.get(&path(&r), Some(&bearer(&r))).await;
    read.ok();
    assert_eq!(read.body["client_id"], id);
    assert_eq!(read.body["client_name"], "Lab portal");
    assert!(read.body.get("client_secret").is_none());
    assert!(read.body.get("registration_access_token").is_none());

    // Update replaces the metadata.
    let mut update = read.body.clone();
    let obj = update.as_object_mut().unwrap();
    for k in [
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        obj.remove(k);
    }
    obj.insert("client_name".into(), "Renamed portal".into());
    obj.insert(
        "redirect_uris".into(),
        json!([REDIRECT, "https://app.example.org/cb2"]),
    );
    let u = s
        .json(
            Method::PUT,
            &path(&r),
            Some(&bearer(&r)),
            Some(update.clone()),
        )
        .await;
    u.ok();
    assert_eq!(u.body["client_name"], "Renamed portal");
    let client = s
        .state
        .store
        .client(uuid::Uuid::parse_str(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.name, "Renamed portal");
    assert_eq!(client.redirect_uris.len(), 2);

    // Delete: 204, then the token and the client are gone.
    let del = s
        .json(Method::DELETE, &path(&r), Some(&bearer(&r)), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    s.get(&path(&r), Some(&bearer(&r)))
        .await
        .oauth_error(401, "invalid_token");
    s.form(
        "/v2/oauth2/token",
        Some(&basic(id, secret)),
        "grant_type=client_credentials&scope=openid",
    )
    .await
    .oauth_error(401, "invalid_client");
}

#[tokio::test]
async fn a_public_client_gets_no_secret() {
    let s = server(Registration::Open).await;
    let r = register(
        &s,
        None,
        json!({"token_endpoint_auth_method": "none",
               "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
               "client_name": "DAQ"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.get("client_secret").is_none());
    assert!(r.body.get("client_secret_expires_at").is_none());
    let id = r.body["client_id"].as_str().unwrap();
    // It can start a device flow.
    s.form(
        "/v2/oauth2/device_authorization",
        None,
        &format!("client_id={id}&scope=openid"),
    )
    .await
    .ok();
}

#[tokio::test]
async fn token_mode_needs_a_live_initial_access_token_spent_only_by_valid_requests() {
    let s = server(Registration::Token).await;
    let (iat, _) = registration::create_initial_access_token(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        1,
        3600,
    )
    .await
    .unwrap();
    let good = json!({"redirect_uris": [REDIRECT]});
    register(&s, None, good.clone())
        .await
        .oauth_error(401, "invalid_token");
    register(&s, Some("Bearer tia_nonsense"), good.clone())
        .await
        .oauth_error(401, "invalid_token");
    let auth = format!("Bearer {}", iat.expose());
    // An invalid request does not spend the token.
    register(
        &s,
        Some(&auth),
        json!({"redirect_uris": ["http://evil.example/cb"]}),
    )
    .await
    .oauth_error(400, "invalid_redirect_uri");
    let r = register(&s, Some(&auth), good.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let log = crate::observe::audit_log(&s).await;
    let registered: Vec<_> = log
        .iter()
        .filter(|e| e.event.event == "client_registered")
        .collect();
    assert_eq!(
        registered.len(),
        1,
        "one registration, the refused ones are not events"
    );
    assert_eq!(registered[0].event.detail["initial_access_token"], true);
    // One use only.
    register(&s, Some(&auth), good.clone())
        .await
        .oauth_error(401, "invalid_token");
    // An expired token is refused.
    let (old, _) = registration::create_initial_access_token(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        5,
        60,
    )
    .await
    .unwrap();
    s.clock.advance(61);
    register(&s, Some(&format!("Bearer {}", old.expose())), good)
        .await
        .oauth_error(401, "invalid_token");
}

#[tokio::test]
async fn bad_metadata_gets_rfc_7591_codes_and_registers_nothing() {
    let s = server(Registration::Open).await;
    let cases = [
        (json!({}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://app.example.org/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example.org/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["not a uri"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "https://app.example.org/cb"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(500)}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "software_statement": "a.b.c"}),
            "unapproved_software_statement",
        ),
        (json!([1, 2]), "invalid_client_metadata"),
    ];
    for (body, code) in cases {
        register(&s, None, body.clone())
            .await
            .oauth_error(400, code);
    }
    // Not JSON at all, or the wrong content type.
    let r = s
        .form(
            "/v2/oauth2/register",
            None,
            "redirect_uris=https://a.example/cb",
        )
        .await;
    r.oauth_error(400, "invalid_client_metadata");
    let raw = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v2/oauth2/register")
        .header("content-type", "application/json; charset=utf-8")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    s.send(raw)
        .await
        .oauth_error(400, "invalid_client_metadata");
    // Nothing was registered: the only clients are the seeded ones.
    let n: Vec<_> = s
        .state
        .store
        .clients_of_project(uuid::Uuid::nil())
        .await
        .unwrap();
    assert!(n.is_empty());
}

#[tokio::test]
async fn management_needs_the_clients_own_registration_token() {
    let s = server(Registration::Open).await;
    let a = register(&s, None, json!({"redirect_uris": [REDIRECT]})).await;
    let b = register(&s, None, json!({"redirect_uris": [REDIRECT]})).await;
    // B's token on A's URI, a missing token, Basic, garbage: all 401 invalid_token.
    for auth in [
        Some(bearer(&b)),
        None,
        Some(basic(
            a.body["client_id"].as_str().unwrap(),
            a.body["client_secret"].as_str().unwrap(),
        )),
        Some("Bearer trg_x".into()),
    ] {
        s.get(&path(&a), auth.as_deref())
            .await
            .oauth_error(401, "invalid_token");
        s.json(Method::DELETE, &path(&a), auth.as_deref(), None)
            .await
            .oauth_error(401, "invalid_token");
    }
    // An update must repeat the client_id and not send the server's fields; nothing changes.
    let mut read = s.get(&path(&a), Some(&bearer(&a))).await.body;
    for k in [
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        read.as_object_mut().unwrap().remove(k);
    }
    let mut wrong_id = read.clone();
    wrong_id["client_id"] = b.body["client_id"].clone();
    wrong_id["client_name"] = "Hijacked".into();
    let mut with_token = read.clone();
    with_token["registration_access_token"] = "x".into();
    let mut to_public = read.clone();
    to_public["token_endpoint_auth_method"] = "none".into();
    let mut bad_uri = read.clone();
    bad_uri["redirect_uris"] = json!(["http://evil.example/cb"]);
    for (body, code) in [
        (wrong_id, "invalid_client_metadata"),
        (with_token, "invalid_client_metadata"),
        (to_public, "invalid_client_metadata"),
        (bad_uri, "invalid_redirect_uri"),
    ] {
        s.json(Method::PUT, &path(&a), Some(&bearer(&a)), Some(body))
            .await
            .oauth_error(400, code);
    }
    let after = s.get(&path(&a), Some(&bearer(&a))).await.body;
    assert_eq!(after["client_name"], read["client_name"]);
    assert_eq!(after["redirect_uris"], read["redirect_uris"]);
}
