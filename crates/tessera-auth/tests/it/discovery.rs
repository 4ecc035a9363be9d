//! Discovery (RFC 8414, OpenID Connect Discovery 1.0) states what certified clients read, and
//! every endpoint it advertises behaves as advertised; RFC 9207 `iss` in every authorization
//! response; `prompt`, `max_age`, `response_mode` and POST at the authorization endpoint.

use crate::browser::{location_params, Browser, PASSWORD};
use crate::flows::{alice, query, register_redirect};
use crate::harness::{Client, Reply, TestServer};
use axum::http::{header, StatusCode};
use serde_json::json;
use tessera_core::client::ClientType;

const ISSUER: &str = "http://tessera.test";
const CB: &str = "https://portal.example.org/cb";

#[tokio::test]
async fn discovery_states_every_field_a_certified_client_reads() {
    let s = TestServer::new().await;
    let r = s.get("/.well-known/openid-configuration", None).await;
    r.ok();
    let d = &r.body;
    assert_eq!(d["issuer"], ISSUER, "RFC 8414 §3.3: the issuer, exactly");
    for (field, path) in [
        ("authorization_endpoint", "/v2/oauth2/authorize"),
        ("token_endpoint", "/v2/oauth2/token"),
        ("userinfo_endpoint", "/v2/oauth2/userinfo"),
        ("revocation_endpoint", "/v2/oauth2/token/revoke"),
        ("introspection_endpoint", "/v2/oauth2/token/introspect"),
        ("end_session_endpoint", "/v2/web/logout"),
        (
            "device_authorization_endpoint",
            "/v2/oauth2/device_authorization",
        ),
        ("jwks_uri", "/jwk.json"),
        ("service_documentation", "/"),
    ] {
        assert_eq!(d[field], format!("{ISSUER}{path}"), "{field}");
    }
    let expected = json!({
        "response_types_supported": ["code"],
        // Stated: OIDC Discovery's default would add "fragment".
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:globus:auth:grant_type:dependent_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS512"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        // Stated: OIDC Discovery's default is true.
        "request_uri_parameter_supported": false,
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&d[field], value, "{field}");
    }
    for scope in ["openid", "profile", "email"] {
        assert!(
            d["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope)),
            "{scope}"
        );
    }
    let claims = d["claims_supported"].as_array().unwrap();
    for claim in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "email",
    ] {
        assert!(claims.contains(&json!(claim)), "{claim}");
    }

    // With RS256 configured, that is what is advertised.
    let rs256 = TestServer::with_config(|c| {
        c.id_token_algorithm = tessera_auth::keys::SigningAlgorithm::RS256;
    })
    .await;
    assert_eq!(
        rs256
            .get("/.well-known/openid-configuration", None)
            .await
            .body["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
}

/// The form of a token-endpoint request with `client` authenticated by `method`.
fn authenticated(client: &Client, method: &str, body: &str) -> (Option<String>, String) {
    match method {
        "client_secret_basic" => (Some(client.basic()), body.to_owned()),
        "client_secret_post" => (
            None,
            format!(
                "{body}&client_id={}&client_secret={}",
                client.id, client.secret
            ),
        ),
        "none" => (None, format!("{body}&client_id={}", client.id)),
        other => panic!("not advertised: {other}"),
    }
}

#[tokio::test]
async fn every_advertised_endpoint_behaves_as_advertised() {
    let s = TestServer::new().await;
    let d = s.get("/.well-known/openid-configuration", None).await.body;
    let path = |field: &str| {
        d[field]
            .as_str()
            .unwrap()
            .strip_prefix(ISSUER)
            .unwrap()
            .to_owned()
    };
    let list = |field: &str| -> Vec<String> {
        d[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let portal = s.client("portal", ClientType::Confidential).await;
    let native = s.client("notebook", ClientType::PublicInstalled).await;

    // Every grant type advertised is one the token endpoint knows (a request without its
    // parameters is refused for what it lacks, never as an unsupported grant).
    for grant in list("grant_types_supported") {
        let r = s
            .form(
                &path("token_endpoint"),
                Some(&portal.basic()),
                &format!("grant_type={grant}"),
            )
            .await;
        assert_ne!(r.body["error"], "unsupported_grant_type", "{grant}");
        assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{grant}");
    }
    s.form(
        &path("token_endpoint"),
        Some(&portal.basic()),
        "grant_type=password",
    )
    .await
    .oauth_error(400, "unsupported_grant_type");

    // Every token-endpoint authentication method works: the confidential client gets a token,
    // the public one is authenticated (a bad refresh token is its only fault).
    for method in list("token_endpoint_auth_methods_supported") {
        let (client, body) = if method == "none" {
            (&native, "grant_type=refresh_token&refresh_token=trt_x")
        } else {
            (
                &portal,
                "grant_type=client_credentials&scope=openid%20profile",
            )
        };
        let (auth, body) = authenticated(client, &method, body);
        let r = s
            .form(&path("token_endpoint"), auth.as_deref(), &body)
            .await;
        if method == "none" {
            r.oauth_error(400, "invalid_grant");
        } else {
            r.ok();
        }
    }

    let token = s.token(&portal, "openid profile").await;
    for method in list("introspection_endpoint_auth_methods_supported") {
        let (auth, body) = authenticated(&portal, &method, &format!("token={token}"));
        let r = s
            .form(&path("introspection_endpoint"), auth.as_deref(), &body)
            .await;
        r.ok();
        assert_eq!(r.body["active"], true, "{method}");
    }
    // Not advertised for introspection, and refused: a public client.
    let (auth, body) = authenticated(&native, "none", &format!("token={token}"));
    s.form(&path("introspection_endpoint"), auth.as_deref(), &body)
        .await
        .oauth_error(401, "invalid_client");

    for (method, client) in [
        ("client_secret_basic", &portal),
        ("client_secret_post", &portal),
        ("none", &native),
    ] {
        assert!(list("revocation_endpoint_auth_methods_supported").contains(&method.to_owned()));
        let (auth, body) = authenticated(client, method, "token=tat_unknown");
        let r = s
            .form(&path("revocation_endpoint"), auth.as_deref(), &body)
            .await;
        r.ok();
    }

    // userinfo by GET and by POST, with the Bearer token.
    for post in [false, true] {
        let mut b = axum::http::Request::builder()
            .uri(path("userinfo_endpoint"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if post {
            b = b.method("POST");
        }
        let r = s.send(b.body(axum::body::Body::empty()).unwrap()).await;
        r.ok();
        assert_eq!(r.body["sub"], portal.id);
    }

    let jwks = s.get(&path("jwks_uri"), None).await;
    jwks.ok();
    assert_eq!(jwks.body["keys"][0]["alg"], "RS512");

    // The pages: the authorization endpoint (GET and POST), logout and the front door.
    for (method, p, status) in [
        ("GET", path("authorization_endpoint"), 400),
        ("POST", path("authorization_endpoint"), 400),
        ("GET", path("end_session_endpoint"), 200),
        ("GET", path("service_documentation"), 200),
    ] {
        let mut req = axum::http::Request::builder().method(method).uri(&p);
        if method == "POST" {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let r = s.send(req.body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(r.status.as_u16(), status, "{method} {p}: {}", r.text);
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{method} {p}"
        );
    }
}

/// An authorize request answered by a redirect to the client: its parameters.
#[track_caller]
fn redirected(r: &Reply) -> std::collections::HashMap<String, String> {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(CB), "{location}");
    location_params(r)
}

#[tokio::test]
async fn every_authorization_response_carries_iss() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;

    // Errors found in the request itself.
    for (extra, error) in [
        (
            &[("response_type", "token")][..],
            "unsupported_response_type",
        ),
        (&[("scope", "openid nowhere:at:all")], "invalid_scope"),
        (
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &[("request_uri", "https://portal.example.org/r")],
            "request_uri_not_supported",
        ),
        (&[("registration", "{}")], "registration_not_supported"),
        (&[("response_mode", "form_post")], "invalid_request"),
        (&[("response_mode", "fragment")], "invalid_request"),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("max_age", "-5")], "invalid_request"),
        (&[("prompt", "none")], "login_required"),
    ] {
        let mut q: Vec<(&str, &str)> = vec![
            ("client_id", &portal.id),
            ("redirect_uri", CB),
            ("state", "st8"),
        ];
        for (k, v) in extra {
            q.push((k, v));
        }
        for (k, v) in [("response_type", "code"), ("scope", "openid")] {
            if !q.iter().any(|(seen, _)| *seen == k) {
                q.push((k, v));
            }
        }
        let q = serde_urlencoded::to_string(q).unwrap();
        let p = redirected(&s.get(&format!("/v2/oauth2/authorize?{q}"), None).await);
        assert_eq!(p["error"], error, "{extra:?}");
        assert_eq!(p["iss"], ISSUER, "RFC 9207, {error}");
        assert_eq!(p["state"], "st8", "{error}");
    }

    // The user says no.
    let mut b = Browser::new(&s);
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&portal.id, CB, &[])
        ))
        .await;
    let login = b.follow(r).await;
    let consent = b.sign_in(&login, "alice@example.org", PASSWORD).await;
    let p = redirected(&b.decide(&consent, "deny").await);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["iss"], ISSUER);

    // The user says yes.
    let p = redirected(
        &b.authorize(&query(&portal.id, CB, &[]), "alice@example.org")
            .await,
    );
    assert!(p.contains_key("code"));
    assert_eq!(p["iss"], ISSUER);
}

#[tokio::test]
async fn prompt_none_answers_at_once_and_never_shows_a_page() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    let silent = query(&portal.id, CB, &[("prompt", "none")]);
    let mut b = Browser::new(&s);

    let p = redirected(&b.get(&format!("/v2/oauth2/authorize?{silent}")).await);
    assert_eq!(p["error"], "login_required");

    // Signed in (from the sign-in page alone), but the app was never allowed.
    let login = b.get("/v2/web/login").await;
    b.sign_in(&login, "alice@example.org", PASSWORD).await;
    let p = redirected(&b.get(&format!("/v2/oauth2/authorize?{silent}")).await);
    assert_eq!(p["error"], "consent_required");

    // Allowed once: from then on the code comes back without a page.
    b.authorize(&query(&portal.id, CB, &[]), "alice@example.org")
        .await;
    let p = redirected(&b.get(&format!("/v2/oauth2/authorize?{silent}")).await);
    assert!(p.contains_key("code"), "{p:?}");
    assert_eq!(p["state"], "st8");
}

#[tokio::test]
async fn max_age_asks_for_a_fresh_sign_in_only_when_the_last_is_older() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    let mut b = Browser::new(&s);
    b.authorize(&query(&portal.id, CB, &[]), "alice@example.org")
        .await;
    s.clock.advance(120);

    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&portal.id, CB, &[("max_age", "3600")])
        ))
        .await;
    assert!(redirected(&r).contains_key("code"), "recent enough");

    let old = query(&portal.id, CB, &[("max_age", "60")]);
    let r = b.get(&format!("/v2/oauth2/authorize?{old}")).await;
    let location = r.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/v2/web/login?request="), "{location}");
    // Signing in again is what it takes, and the ID token then says when.
    let p = redirected(&b.authorize(&old, "alice@example.org").await);
    let tokens = s.redeem(&portal, &p["code"], CB).await;
    tokens.ok();
    let claims = crate::jwt::claims_of(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(claims["auth_time"], crate::harness::START + 120);

    let silent = query(&portal.id, CB, &[("max_age", "0"), ("prompt", "none")]);
    s.clock.advance(1);
    let p = redirected(&b.get(&format!("/v2/oauth2/authorize?{silent}")).await);
    assert_eq!(p["error"], "login_required");
}

#[tokio::test]
async fn authorize_by_post_works_as_by_get() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    let mut b = Browser::new(&s);
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&query(&portal.id, CB, &[])).unwrap();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = b.post("/v2/oauth2/authorize", &pairs).await;
    let location = r.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with("/v2/web/login?request="), "{location}");
    b.authorize(&query(&portal.id, CB, &[]), "alice@example.org")
        .await;
    let p = redirected(&b.post("/v2/oauth2/authorize", &pairs).await);
    assert!(p.contains_key("code"));
    assert_eq!(p["iss"], ISSUER);
    // An unknown client is our own page, by POST too.
    let r = b
        .post("/v2/oauth2/authorize", &[("client_id", "nobody")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.headers.contains_key(header::LOCATION));
}
