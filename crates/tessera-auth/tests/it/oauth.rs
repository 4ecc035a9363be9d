//! The OAuth endpoints: client credentials, introspection, validate, revoke, userinfo.

use crate::harness::{basic, TestServer};
use axum::http::{header, Method};
use serde_json::json;
use tessera_core::client::ClientType;

const AUTH_SCOPES: &str =
    "openid openid profile email urn:globus:auth:scope:auth.globus.org:view_identity_set";

#[tokio::test]
async fn token_endpoint_refuses_bad_requests_with_rfc_codes() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let native = s.client("native", ClientType::PublicInstalled).await;
    let auth = portal.basic();
    let cc = "grant_type=client_credentials&scope=openid";
    let table: Vec<(&str, Option<String>, String, u16, &str)> = vec![
        (
            "no grant_type",
            Some(auth.clone()),
            "scope=openid".into(),
            400,
            "invalid_request",
        ),
        (
            "repeated grant_type",
            Some(auth.clone()),
            format!("{cc}&grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            "unknown grant",
            Some(auth.clone()),
            "grant_type=urn:x:nope".into(),
            400,
            "unsupported_grant_type",
        ),
        (
            "password grant (RFC 9700)",
            Some(auth.clone()),
            "grant_type=password&username=a&password=b".into(),
            400,
            "unsupported_grant_type",
        ),
        (
            "implicit-style grant",
            Some(auth.clone()),
            "grant_type=implicit".into(),
            400,
            "unsupported_grant_type",
        ),
        (
            "no client authentication",
            None,
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "wrong secret",
            Some(basic(&portal.id, "tcs_wrong")),
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            Some(basic(
                "5c0f4f8e-0000-4000-8000-000000000000",
                &portal.secret,
            )),
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "client id that is no uuid",
            Some(basic("portal", &portal.secret)),
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "malformed Basic",
            Some("Basic !!!".into()),
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "Bearer at the token endpoint",
            Some("Bearer abc".into()),
            cc.into(),
            401,
            "invalid_client",
        ),
        (
            "two authentication methods",
            Some(auth.clone()),
            format!("{cc}&client_secret={}", portal.secret),
            400,
            "invalid_request",
        ),
        (
            "native client may not use client_credentials",
            None,
            format!("{cc}&client_id={}", native.id),
            400,
            "unauthorized_client",
        ),
        (
            "no scope",
            Some(auth.clone()),
            "grant_type=client_credentials".into(),
            400,
            "invalid_scope",
        ),
        (
            "unbalanced brackets",
            Some(auth.clone()),
            "grant_type=client_credentials&scope=openid%5Bx".into(),
            400,
            "invalid_scope",
        ),
        (
            "unknown scope",
            Some(auth.clone()),
            "grant_type=client_credentials&scope=urn:x:y".into(),
            400,
            "invalid_scope",
        ),
        (
            "undeclared dependency",
            Some(auth.clone()),
            "grant_type=client_credentials&scope=openid%5Bprofile%5D".into(),
            400,
            "invalid_scope",
        ),
    ];
    for (what, auth, body, status, error) in table {
        let r = s.form("/v2/oauth2/token", auth.as_deref(), &body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(r.body["error"], error, "{what}: {}", r.body);
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-store", "{what}");
        if status == 401 {
            assert!(r.headers.contains_key(header::WWW_AUTHENTICATE), "{what}");
        }
    }
    // Not form-encoded at all.
    let r = s
        .json(
            axum::http::Method::POST,
            "/v2/oauth2/token",
            Some(&auth),
            Some(json!({"grant_type": "x"})),
        )
        .await;
    r.oauth_error(400, "invalid_request");
    // Over the body limit.
    let huge = format!("{cc}&pad={}", "x".repeat(70 * 1024));
    let r = s.form("/v2/oauth2/token", Some(&auth), &huge).await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.body);
}

#[tokio::test]
async fn client_credentials_groups_scopes_by_resource_server() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let api = s.client("api", ClientType::Confidential).await;
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let scope =
        format!("{data} {AUTH_SCOPES} urn:globus:auth:scope:transfer.api.globus.org:all {data}");
    let body =
        serde_urlencoded::to_string([("grant_type", "client_credentials"), ("scope", &scope)])
            .unwrap();
    let r = s
        .form("/v2/oauth2/token", Some(&portal.basic()), &body)
        .await;
    r.ok();
    // openid was asked for, so the auth.globus.org token is on top.
    assert_eq!(r.body["resource_server"], "auth.globus.org");
    assert_eq!(
        r.body["scope"],
        "openid profile email urn:globus:auth:scope:auth.globus.org:view_identity_set"
    );
    assert_eq!(r.body["expires_in"], 172_800);
    assert_eq!(r.body["token_type"], "Bearer");
    let others = r.body["other_tokens"].as_array().unwrap();
    let rs: Vec<_> = others
        .iter()
        .map(|t| t["resource_server"].as_str().unwrap())
        .collect();
    assert_eq!(rs, [api.id.as_str(), "transfer.api.globus.org"]);
    assert_eq!(
        others[0]["scope"],
        data.as_str(),
        "a duplicate scope appears once"
    );
    assert!(
        r.body.get("refresh_token").is_none(),
        "client credentials never give refresh tokens"
    );
}

#[tokio::test]
async fn client_secret_post_authenticates_too() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let body = format!(
        "grant_type=client_credentials&scope=openid&client_id={}&client_secret={}",
        portal.id, portal.secret
    );
    s.form("/v2/oauth2/token", None, &body).await.ok();
}

#[tokio::test]
async fn introspection_tells_only_the_holder_and_the_audience() {
    let s = TestServer::new().await;
    let (portal, api, stranger) = (
        s.client("portal", ClientType::Confidential).await,
        s.client("api", ClientType::Confidential).await,
        s.client("stranger", ClientType::Confidential).await,
    );
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = s.token(&portal, &data).await;

    let seen = s.introspect(&api, &token).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], portal.id.as_str());
    assert_eq!(seen["aud"], json!([api.id]));
    assert_eq!(seen["iss"], "http://tessera.test");
    assert_eq!(seen["exp"], crate::harness::START + 172_800);
    assert_eq!(s.introspect(&portal, &token).await["active"], true);
    assert_eq!(
        s.introspect(&stranger, &token).await,
        json!({"active": false}),
        "not the stranger's to see"
    );

    let detail = s
        .form(
            "/v2/oauth2/token/introspect",
            Some(&api.basic()),
            &format!("token={token}&include=identity_set_detail,bogus"),
        )
        .await;
    assert_eq!(
        detail.body["identity_set_detail"][0]["id"],
        portal.id.as_str()
    );
    assert_eq!(
        detail.body["identity_set_detail"][0]["sub"],
        portal.id.as_str()
    );
    assert!(detail.body.get("session_info").is_none());
}

#[tokio::test]
async fn a_remembered_introspection_answer_follows_what_it_states() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let api = s.client("api", ClientType::Confidential).await;
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = s.token(&portal, &data).await;
    let first = s.introspect(&api, &token).await;
    assert_eq!(first["name"], "portal");
    let hits = s.state.answers.stats.hits();
    assert_eq!(s.introspect(&api, &token).await, first);
    assert_eq!(
        s.state.answers.stats.hits(),
        hits + 1,
        "answered from memory"
    );

    // The subject renames itself: the next answer says so.
    s.json(
        Method::PUT,
        &format!("/v2/api/clients/{}", portal.id),
        Some(&portal.basic()),
        Some(json!({"client": {"name": "Portal Two"}})),
    )
    .await
    .ok();
    assert_eq!(s.introspect(&api, &token).await["name"], "Portal Two");

    // Revoked: inactive at once, whatever was remembered.
    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={token}"),
    )
    .await
    .ok();
    assert_eq!(s.introspect(&api, &token).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_bad_inputs() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let native = s.client("native", ClientType::PublicInstalled).await;
    let path = "/v2/oauth2/token/introspect";
    s.form(path, None, "token=abc")
        .await
        .oauth_error(401, "invalid_client");
    s.form(path, Some(&api.basic()), "")
        .await
        .oauth_error(400, "invalid_request");
    s.form(path, None, &format!("token=abc&client_id={}", native.id))
        .await
        .oauth_error(401, "invalid_client");
    for junk in ["abc", "tat_", &"x".repeat(10_000), "t%C3%B6k%C3%A9n"] {
        let r = s
            .form(path, Some(&api.basic()), &format!("token={junk}"))
            .await;
        assert_eq!(r.body, json!({"active": false}), "{junk}");
    }
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let token = s.token(&portal, "openid").await;
    s.clock.advance(172_800 - 1);
    assert_eq!(s.introspect(&portal, &token).await["active"], true);
    s.clock.advance(1);
    assert_eq!(
        s.introspect(&portal, &token).await,
        json!({"active": false})
    );
    let r = s
        .get("/v2/api/identities", Some(&format!("Bearer {token}")))
        .await;
    r.api_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn revocation_is_immediate_and_only_by_the_holder() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let stranger = s.client("stranger", ClientType::Confidential).await;
    let token = s.token(&portal, "openid profile").await;
    // Warm every cache first, so the revocation has something to invalidate.
    assert_eq!(s.introspect(&portal, &token).await["active"], true);
    s.get("/v2/api/identities", Some(&format!("Bearer {token}")))
        .await
        .ok();

    let r = s
        .form(
            "/v2/oauth2/token/revoke",
            Some(&stranger.basic()),
            &format!("token={token}"),
        )
        .await;
    r.ok();
    assert_eq!(r.body, json!({"active": false}));
    assert_eq!(
        s.introspect(&portal, &token).await["active"],
        true,
        "a stranger cannot revoke it"
    );

    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={token}"),
    )
    .await
    .ok();
    assert_eq!(
        s.introspect(&portal, &token).await,
        json!({"active": false})
    );
    s.get("/v2/api/identities", Some(&format!("Bearer {token}")))
        .await
        .api_error(401, "UNAUTHORIZED");
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {token}")))
        .await
        .oauth_error(401, "invalid_token");

    // Unknown and junk tokens: 200 and nothing to say (RFC 7009 §2.2).
    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        "token=junk",
    )
    .await
    .ok();
    s.form("/v2/oauth2/token/revoke", Some(&portal.basic()), "")
        .await
        .oauth_error(400, "invalid_request");
    s.form("/v2/oauth2/token/revoke", None, "token=junk")
        .await
        .oauth_error(401, "invalid_client");
}

#[tokio::test]
async fn validate_answers_for_the_callers_own_tokens() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let other = s.client("other", ClientType::Confidential).await;
    let token = s.token(&portal, "openid").await;
    let path = "/v2/oauth2/token/validate";
    assert_eq!(
        s.form(path, Some(&portal.basic()), &format!("token={token}"))
            .await
            .body,
        json!({"active": true})
    );
    assert_eq!(
        s.form(path, Some(&other.basic()), &format!("token={token}"))
            .await
            .body,
        json!({"active": false})
    );
    s.form(path, None, &format!("token={token}"))
        .await
        .oauth_error(401, "invalid_client");
}

#[tokio::test]
async fn userinfo_follows_the_granted_scopes() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let full = s.token(&portal, AUTH_SCOPES).await;
    let r = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {full}")))
        .await;
    r.ok();
    assert_eq!(r.body["sub"], portal.id.as_str());
    assert_eq!(
        r.body["preferred_username"],
        format!("{}@clients.auth.globus.org", portal.id)
    );
    assert_eq!(r.body["name"], "portal");
    assert_eq!(r.body["identity_set"][0]["sub"], portal.id.as_str());

    let bare = s.token(&portal, "openid").await;
    let r = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {bare}")))
        .await;
    assert_eq!(r.body, json!({"sub": portal.id}));

    let no_openid = s.token(&portal, "profile").await;
    let r = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {no_openid}")))
        .await;
    r.oauth_error(403, "insufficient_scope");
    let r = s.get("/v2/oauth2/userinfo", None).await;
    r.oauth_error(401, "invalid_token");
    assert!(r.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let transfer = s
        .token(&portal, "urn:globus:auth:scope:transfer.api.globus.org:all")
        .await;
    s.get("/v2/oauth2/userinfo", Some(&format!("Bearer {transfer}")))
        .await
        .oauth_error(401, "invalid_token");
}

#[tokio::test]
async fn discovery_and_jwks_are_public_and_consistent() {
    let s = TestServer::new().await;
    // The CLI fetches these with a Basic header of its own: it must be ignored.
    let r = s
        .get("/.well-known/openid-configuration", Some(&basic("x", "y")))
        .await;
    r.ok();
    assert_eq!(r.body["issuer"], "http://tessera.test");
    assert_eq!(r.body["jwks_uri"], "http://tessera.test/jwk.json");
    assert_eq!(
        r.body["id_token_signing_alg_values_supported"],
        json!(["RS512"])
    );
    let r = s.get("/jwk.json", Some(&basic("x", "y"))).await;
    r.ok();
    assert_eq!(r.body["keys"][0]["kty"], "RSA");
    assert_eq!(r.body["keys"][0]["alg"], "RS512");
    assert!(
        r.body["keys"][0].get("d").is_none(),
        "never the private part"
    );
    s.get("/healthz", None).await.ok();
    s.get("/readyz", None).await.ok();
}

#[tokio::test]
async fn tokens_carry_a_selector_and_tokens_from_before_still_work() {
    use tessera_core::grant::TokenRecord;
    use tessera_core::token::{self, TokenKind};
    let s = TestServer::new().await;
    let (portal, api) = (
        s.client("portal", ClientType::Confidential).await,
        s.client("api", ClientType::Confidential).await,
    );
    let data = s.scope(&api, "data").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = s.token(&portal, &data).await;
    let second = s.token(&portal, &data).await;
    assert_eq!(first.len(), TokenKind::AccessToken.selected_len());
    // Consecutive tokens get consecutive keys: the index appends.
    let (a, b) = (token::lookup_hash(&first), token::lookup_hash(&second));
    assert!(a.as_bytes() < b.as_bytes());
    let selector = u64::from_be_bytes(a.as_bytes()[..8].try_into().unwrap());
    assert_eq!(
        selector >> 20,
        crate::harness::START as u64,
        "time-ordered: the issuing second"
    );

    // A token of the old shape (no selector, plain SHA-256 key), stored directly: it is found
    // in the store, introspects active, and revokes.
    let record = s.state.store.token(&a).await.unwrap().unwrap();
    let (old, old_hash) = TokenKind::AccessToken.generate(s.state.rng.as_ref());
    let old = old.expose().to_owned();
    assert_eq!(old.len(), TokenKind::AccessToken.token_len());
    assert_eq!(token::lookup_hash(&old), old_hash);
    s.state
        .store
        .insert_tokens(&[TokenRecord {
            hash: old_hash,
            ..record
        }])
        .await
        .unwrap();
    assert_eq!(s.introspect(&api, &old).await["active"], true);
    s.form(
        "/v2/oauth2/token/revoke",
        Some(&portal.basic()),
        &format!("token={old}"),
    )
    .await
    .ok();
    assert_eq!(s.introspect(&api, &old).await, json!({"active": false}));
    assert_eq!(s.introspect(&api, &first).await["active"], true);
}
