//! HTTPS access to endpoints (`/https/{id}/{path}`), driven with `oneshot`: tokens for the
//! endpoint's `https` scope from the real auth server, the real guard, real directories.

use crate::harness::{AuthScopes, Who, World};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use tessera_transfer::https::{scope_string, HttpsScopes};
use tower::ServiceExt;
use uuid::Uuid;

/// A token for `scopes` (space-separated) of the client behind `who`.
async fn token(w: &World, who: &Who, scopes: &str) -> String {
    let client = w
        .auth
        .store
        .client(Uuid::parse_str(&who.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    tessera_auth::service::tokens::client_credentials(&w.auth, &client, Some(scopes))
        .await
        .unwrap()
        .top
        .access_token
}

async fn register(w: &World, endpoint: &str) {
    AuthScopes(w.auth.clone())
        .register(Uuid::parse_str(endpoint).unwrap())
        .await
        .unwrap();
}

struct Got {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn send(w: &World, req: Request<Body>) -> Got {
    let r: Response = w.app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    Got {
        status,
        headers,
        body,
    }
}

fn req(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b
}

async fn get(w: &World, uri: &str, token: Option<&str>) -> Got {
    send(w, req(Method::GET, uri, token).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn get_head_and_ranges_with_a_token_for_the_endpoints_https_scope() {
    let w = World::new(false).await;
    register(&w, &w.src).await;
    std::fs::create_dir_all(w.src_dir.join("data")).unwrap();
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(w.src_dir.join("data/table.csv"), &content).unwrap();
    let t = token(
        &w,
        &w.mover,
        &scope_string(Uuid::parse_str(&w.src).unwrap()),
    )
    .await;
    let url = format!("/https/{}/data/table.csv", w.src);

    // The endpoint document names the base URL.
    let doc = w.get(&w.mover, &format!("/v0.10/endpoint/{}", w.src)).await;
    let base = doc.body["https_server"].as_str().unwrap().to_owned();
    assert!(base.ends_with(&format!("/https/{}", w.src)), "{base}");

    let whole = get(&w, &url, Some(&t)).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body, content);
    assert_eq!(whole.header(header::CONTENT_LENGTH), "100000");
    assert_eq!(whole.header(header::ACCEPT_RANGES), "bytes");
    assert_eq!(
        whole.header(header::CONTENT_TYPE),
        "text/csv; charset=utf-8"
    );
    let etag = whole.header(header::ETAG).to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    assert!(!whole.header(header::LAST_MODIFIED).is_empty());

    let head = send(
        &w,
        req(Method::HEAD, &url, Some(&t))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header(header::CONTENT_LENGTH), "100000");
    assert!(head.body.is_empty());

    for (range, start, end) in [
        ("bytes=10-19", 10, 19),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-5", 99_995, 99_999),
    ] {
        let part = send(
            &w,
            req(Method::GET, &url, Some(&t))
                .header(header::RANGE, range)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(part.body, content[start..=end], "{range}");
        assert_eq!(
            part.header(header::CONTENT_RANGE),
            format!("bytes {start}-{end}/100000")
        );
    }
    let beyond = send(
        &w,
        req(Method::GET, &url, Some(&t))
            .header(header::RANGE, "bytes=100000-")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.header(header::CONTENT_RANGE), "bytes */100000");
    // A range under an If-Range that no longer holds: the whole file.
    let stale = send(
        &w,
        req(Method::GET, &url, Some(&t))
            .header(header::RANGE, "bytes=0-0")
            .header(header::IF_RANGE, "\"old\"")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((stale.status, stale.body.len()), (StatusCode::OK, 100_000));

    let cached = send(
        &w,
        req(Method::GET, &url, Some(&t))
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());

    // The root and a file named with characters that need encoding.
    std::fs::write(w.src_dir.join("a b%.bin"), b"x").unwrap();
    let odd = get(&w, &format!("/https/{}/a%20b%25.bin", w.src), Some(&t)).await;
    assert_eq!(
        (odd.status, odd.body.as_slice()),
        (StatusCode::OK, b"x".as_slice())
    );
    assert_eq!(odd.header(header::CONTENT_TYPE), "application/octet-stream");
    let root = get(&w, &format!("/https/{}/", w.src), Some(&t)).await;
    assert_eq!(root.status, StatusCode::CONFLICT, "{:?}", root.json());
}

#[tokio::test]
async fn refusals_are_the_standard_ones_and_name_no_host_path() {
    let w = World::new(false).await;
    register(&w, &w.src).await;
    register(&w, &w.dst).await;
    std::fs::create_dir_all(w.src_dir.join("dir")).unwrap();
    std::fs::write(w.src_dir.join("f.txt"), b"hello").unwrap();
    let src = Uuid::parse_str(&w.src).unwrap();
    let good = token(&w, &w.mover, &scope_string(src)).await;
    let url = |p: &str| format!("/https/{}/{p}", w.src);

    let none = get(&w, &url("f.txt"), None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.header(header::WWW_AUTHENTICATE)
            .starts_with("Bearer realm="),
        "{:?}",
        none.headers
    );
    let junk = get(&w, &url("f.txt"), Some("not-a-token")).await;
    assert_eq!(junk.status, StatusCode::UNAUTHORIZED);
    assert!(junk
        .header(header::WWW_AUTHENTICATE)
        .contains("error=\"invalid_token\""));

    // A Transfer token, and a token for another endpoint's https scope: the wrong scope.
    let transfer_only = get(&w, &url("f.txt"), Some(&w.mover.token)).await;
    assert_eq!(transfer_only.status, StatusCode::FORBIDDEN);
    assert!(transfer_only
        .header(header::WWW_AUTHENTICATE)
        .contains("insufficient_scope"));
    let other = token(
        &w,
        &w.mover,
        &scope_string(Uuid::parse_str(&w.dst).unwrap()),
    )
    .await;
    assert_eq!(
        get(&w, &url("f.txt"), Some(&other)).await.status,
        StatusCode::FORBIDDEN
    );

    // The right scope but no permission: reader has no rule on src.
    let reader = token(&w, &w.reader, &scope_string(src)).await;
    assert_eq!(
        get(&w, &url("f.txt"), Some(&reader)).await.status,
        StatusCode::FORBIDDEN
    );

    let missing = get(&w, &url("nope.txt"), Some(&good)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&w, &url("dir"), Some(&good)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        get(&w, &url("%2e%2e/x"), Some(&good)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&w, &url("a%00b"), Some(&good)).await.status,
        StatusCode::BAD_REQUEST
    );
    // Links are never followed, wherever they point.
    std::os::unix::fs::symlink("/etc", w.src_dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("f.txt", w.src_dir.join("inner-link")).unwrap();
    for p in ["etc/passwd", "etc", "inner-link"] {
        let r = get(&w, &url(p), Some(&good)).await;
        assert!(r.status == StatusCode::FORBIDDEN, "{p}: {}", r.status);
        assert!(r.body != b"hello" && !String::from_utf8_lossy(&r.body).contains("root:"));
    }
    let unknown = get(&w, &format!("/https/{}/f.txt", Uuid::new_v4()), Some(&good)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let host = w.src_dir.to_str().unwrap().to_owned();
    for r in [missing, unknown] {
        assert!(!String::from_utf8_lossy(&r.body).contains(&host));
        assert!(r.json()["code"].is_string() && r.json()["message"].is_string());
    }
    // Methods beyond the four.
    let post = send(
        &w,
        req(Method::POST, &url("f.txt"), Some(&good))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}
