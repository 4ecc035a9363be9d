//! The portal's routes without a network: what they answer before any call to Tessera is
//! needed (sign-in start, callback refusals, sign-out and pages without a session, headers).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{router, Config};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn app() -> Router {
    router(
        Config {
            tessera_url: "http://127.0.0.1:1".into(),
            client_id: "portal-id".into(),
            client_secret: "portal-secret".into(),
            public_url: None,
            dataset_endpoint: "ep".into(),
            dataset_path: "/datasets/".into(),
            graph_url: "http://127.0.0.1:1".into(),
            graph_scope: "https://auth.globus.org/scopes/graph/plot".into(),
        },
        "http://127.0.0.1:8081",
    )
    .unwrap()
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn signin_redirects_with_state_and_pkce_and_a_strict_cookie() {
    let app = app();
    let (status, headers, _) = call(&app, get("/signin", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    assert_eq!(url.path(), "/v2/oauth2/authorize");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "portal-id");
    assert_eq!(q["redirect_uri"], "http://127.0.0.1:8081/callback");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].contains("https://auth.globus.org/scopes/graph/plot"));
    assert!(q["state"].len() >= 20);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("portal_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let jar = cookie.split(';').next().unwrap();

    // A callback with another state is refused, and so is one without a session.
    let (status, _, page) = call(&app, get("/callback?code=abc&state=forged", Some(jar))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("does not belong"), "{page}");
    let cb = format!("/callback?code=abc&state={}", q["state"]);
    let (status, _, page) = call(&app, get(&cb, None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("no sign-in under way"), "{page}");

    // Deny at the consent page: said plainly, and the flow is spent.
    let denied = format!("/callback?error=access_denied&state={}", q["state"]);
    let (status, _, page) = call(&app, get(&denied, Some(jar))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("You did not allow the portal"), "{page}");
    let (status, _, _) = call(&app, get(&cb, Some(jar))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_a_session_pages_send_to_signin_and_signout_changes_nothing() {
    let app = app();
    for path in [
        "/datasets",
        "/transfer?dataset=x",
        "/tasks/abc",
        "/graph?dataset=a&file=b.csv",
    ] {
        let (status, headers, _) = call(&app, get(path, Some("portal_session=unknown"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/signin", "{path}");
    }
    let post = Request::post("/signout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf=x"))
        .unwrap();
    let (status, headers, _) = call(&app, post).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
}

#[tokio::test]
async fn pages_forbid_framing_and_scripts_from_elsewhere() {
    let (status, headers, page) = call(&app(), get("/", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(page.contains("href=\"/signin\""));
}
