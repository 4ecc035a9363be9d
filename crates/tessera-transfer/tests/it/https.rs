//! HTTPS access to endpoints (`/https/{id}/{path}`), driven with `oneshot`: tokens for the
//! endpoint's `https` scope from the real auth server, the real guard, real directories.

use crate::harness::{AuthScopes, Who, World};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tessera_transfer::https::{scope_string, HttpsScopes};
use tower::ServiceExt;
use uuid::Uuid;

/// A token for `scopes` (space-separated) of the client behind `who`.
pub(crate) async fn token(w: &World, who: &Who, scopes: &str) -> String {
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

pub(crate) async fn register(w: &World, endpoint: &str) {
    AuthScopes(w.auth.clone())
        .register(Uuid::parse_str(endpoint).unwrap())
        .await
        .unwrap();
}

pub(crate) struct Got {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Got {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub(crate) fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

pub(crate) async fn send(w: &World, req: Request<Body>) -> Got {
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

pub(crate) fn req(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
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
    // A person's file never runs on this site: no sniffing, a sandbox without scripts.
    assert_eq!(whole.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let csp = whole.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.starts_with("sandbox;") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    std::fs::write(
        w.src_dir.join("data/page.html"),
        "<script>alert(1)</script>",
    )
    .unwrap();
    let page = get(&w, &format!("/https/{}/data/page.html", w.src), Some(&t)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header(header::CONTENT_SECURITY_POLICY)
        .starts_with("sandbox;"));
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
    // Without a credential an unknown endpoint answers the same: nothing tells which exist.
    let unknown = get(&w, &format!("/https/{}/f.txt", Uuid::new_v4()), None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
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

/// Names in a directory, sorted, temporaries included.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn put_creates_and_replaces_and_delete_removes_files_only() {
    let w = World::new(false).await;
    register(&w, &w.src).await;
    std::fs::create_dir_all(w.src_dir.join("up/sub")).unwrap();
    let t = token(
        &w,
        &w.mover,
        &scope_string(Uuid::parse_str(&w.src).unwrap()),
    )
    .await;
    let url = |p: &str| format!("/https/{}/{p}", w.src);
    let put = |p: &str, body: Vec<u8>| {
        req(Method::PUT, &url(p), Some(&t))
            .body(Body::from(body))
            .unwrap()
    };
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(
        send(&w, put("up/big.bin", big.clone())).await.status,
        StatusCode::CREATED
    );
    assert_eq!(std::fs::read(w.src_dir.join("up/big.bin")).unwrap(), big);
    assert_eq!(
        send(&w, put("up/big.bin", b"small".to_vec())).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        std::fs::read(w.src_dir.join("up/big.bin")).unwrap(),
        b"small"
    );
    assert_eq!(
        names(&w.src_dir.join("up")),
        ["big.bin", "sub"],
        "no temporaries left"
    );

    // A digest that matches is accepted; one that does not leaves the old content.
    let good = send(
        &w,
        req(Method::PUT, &url("up/d.txt"), Some(&t))
            .header(
                "repr-digest",
                "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:",
            )
            .body(Body::from("hello"))
            .unwrap(),
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{:?}", good.json());
    let bad = send(
        &w,
        req(Method::PUT, &url("up/d.txt"), Some(&t))
            .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
            .body(Body::from("other"))
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(std::fs::read(w.src_dir.join("up/d.txt")).unwrap(), b"hello");

    // Where a file cannot go.
    assert_eq!(
        send(&w, put("missing/x.txt", b"x".to_vec())).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&w, put("up/sub", b"x".to_vec())).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&w, put("up/big.bin/x", b"x".to_vec())).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&w, put("", b"x".to_vec())).await.status,
        StatusCode::CONFLICT
    );
    std::os::unix::fs::symlink("/tmp", w.src_dir.join("up/tmp-link")).unwrap();
    assert_eq!(
        send(&w, put("up/tmp-link/evil", b"x".to_vec()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        names(&w.src_dir.join("up")),
        ["big.bin", "d.txt", "sub", "tmp-link"]
    );

    let delete = |p: &str| {
        req(Method::DELETE, &url(p), Some(&t))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&w, delete("up/sub")).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(send(&w, delete("")).await.status, StatusCode::CONFLICT);
    assert_eq!(
        send(&w, delete("up/nope")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&w, delete("up/big.bin")).await.status,
        StatusCode::NO_CONTENT
    );
    // The link itself goes; what it points at stays.
    assert_eq!(
        send(&w, delete("up/tmp-link")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(std::path::Path::new("/tmp").is_dir());
    assert_eq!(names(&w.src_dir.join("up")), ["d.txt", "sub"]);
}

#[tokio::test]
async fn an_upload_that_breaks_off_leaves_nothing() {
    let w = World::new(false).await;
    register(&w, &w.src).await;
    let t = token(
        &w,
        &w.mover,
        &scope_string(Uuid::parse_str(&w.src).unwrap()),
    )
    .await;
    std::fs::write(w.src_dir.join("keep.bin"), b"old").unwrap();
    for target in ["new.bin", "keep.bin"] {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from(vec![1u8; 1 << 20])),
            Ok(bytes::Bytes::from(vec![2u8; 1 << 20])),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            )),
        ];
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let r = send(
            &w,
            req(Method::PUT, &format!("/https/{}/{target}", w.src), Some(&t))
                .body(body)
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json());
        assert_eq!(
            names(&w.src_dir),
            ["keep.bin"],
            "{target}: no partial file, no temporary"
        );
        assert_eq!(std::fs::read(w.src_dir.join("keep.bin")).unwrap(), b"old");
    }
}

#[tokio::test]
async fn a_share_with_a_read_only_rule_lets_its_reader_read_and_not_write() {
    let w = World::new(false).await;
    std::fs::create_dir_all(w.src_dir.join("project/results")).unwrap();
    std::fs::write(w.src_dir.join("project/results/r.txt"), b"result").unwrap();
    std::fs::write(w.src_dir.join("outside.txt"), b"host only").unwrap();
    // The share is made through the API, which registers its https scope.
    let share = w
        .post(&w.mover, "/v0.10/shared_endpoint", json!({"DATA_TYPE": "shared_endpoint", "host_endpoint": w.src, "host_path": "/project/", "display_name": "Project"}))
        .await;
    assert_eq!(share.status, StatusCode::CREATED, "{}", share.body);
    let share = share.body["id"].as_str().unwrap().to_owned();
    let scope = scope_string(Uuid::parse_str(&share).unwrap());
    let found = w
        .auth
        .store
        .scopes_by_strings(std::slice::from_ref(&scope))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].resource_server, "transfer.api.globus.org");
    let rule = w
        .post(&w.mover, &format!("/v0.10/endpoint/{share}/access"), json!({"DATA_TYPE": "access", "principal_type": "identity", "principal": w.reader.id, "path": "/results/", "permissions": "r"}))
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let reader = token(&w, &w.reader, &scope).await;
    let owner = token(&w, &w.mover, &scope).await;
    let url = |p: &str| format!("/https/{share}/{p}");

    let r = get(&w, &url("results/r.txt"), Some(&reader)).await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (StatusCode::OK, b"result".as_slice())
    );
    // The share's root is its host path: nothing above it is reachable.
    assert_eq!(
        get(&w, &url("outside.txt"), Some(&owner)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&w, &url("%2E%2E/outside.txt"), Some(&owner))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let put = |p: &str, t: &str| {
        req(Method::PUT, &url(p), Some(t))
            .body(Body::from("w"))
            .unwrap()
    };
    assert_eq!(
        send(&w, put("results/w.txt", &reader)).await.status,
        StatusCode::FORBIDDEN
    );
    let del = send(
        &w,
        req(Method::DELETE, &url("results/r.txt"), Some(&reader))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(del.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(&w, put("results/w.txt", &owner)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        std::fs::read(w.src_dir.join("project/results/w.txt")).unwrap(),
        b"w"
    );
    // Outside the rule's path, the reader reads nothing.
    std::fs::write(w.src_dir.join("project/private.txt"), b"p").unwrap();
    assert_eq!(
        get(&w, &url("private.txt"), Some(&reader)).await.status,
        StatusCode::FORBIDDEN
    );

    // The rule removed: refused at the next request.
    let rule_id = rule.body["access_id"]
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| rule.body["access_id"].as_str().map(str::to_owned))
        .unwrap();
    let gone = w
        .call(
            Some(&w.mover),
            Method::DELETE,
            &format!("/v0.10/endpoint/{share}/access/{rule_id}"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert_eq!(
        get(&w, &url("results/r.txt"), Some(&reader)).await.status,
        StatusCode::FORBIDDEN
    );

    // Deleting the share removes its scope.
    let deleted = w
        .call(
            Some(&w.mover),
            Method::DELETE,
            &format!("/v0.10/endpoint/{share}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(w
        .auth
        .store
        .scopes_by_strings(&[scope])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn signed_links_read_without_a_token_until_they_expire_and_refuse_tampering() {
    let w = World::new(false).await;
    std::fs::create_dir_all(w.src_dir.join("pub")).unwrap();
    std::fs::write(w.src_dir.join("pub/plot.png"), b"PNG").unwrap();
    std::fs::write(w.src_dir.join("pub/other.png"), b"OTHER").unwrap();
    let made = w
        .post(
            &w.mover,
            &format!("/v0.10/endpoint/{}/https_link", w.src),
            json!({"path": "/pub/plot.png", "expires_in": 300}),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let full = made.body["url"].as_str().unwrap().to_owned();
    assert!(
        full.contains(&format!("/https/{}/pub/plot.png?sig=", w.src)),
        "{full}"
    );
    assert_eq!(made.body["identity_id"], w.mover.id.as_str());
    let local = &full[full.find("/https/").unwrap()..];

    let ok = get(&w, local, None).await;
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (StatusCode::OK, b"PNG".as_slice())
    );
    // Tampered: another file, another identity, a later expiry, a changed signature.
    let other_file = local.replace("plot.png", "other.png");
    let other_by = local.replace(&w.mover.id, &w.reader.id);
    let exp: i64 = local
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let later = local.replace(&format!("exp={exp}"), &format!("exp={}", exp + 10));
    let sig_at = local.find("sig=").unwrap() + 4;
    let mut flipped = local.to_owned();
    let c = if &local[sig_at..=sig_at] == "0" {
        "1"
    } else {
        "0"
    };
    flipped.replace_range(sig_at..=sig_at, c);
    for bad in [other_file, other_by, later, flipped] {
        assert_eq!(
            get(&w, &bad, None).await.status,
            StatusCode::FORBIDDEN,
            "{bad}"
        );
    }
    // Links only read.
    let put = send(
        &w,
        req(Method::PUT, local, None).body(Body::from("x")).unwrap(),
    )
    .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN);
    assert_eq!(
        std::fs::read(w.src_dir.join("pub/plot.png")).unwrap(),
        b"PNG"
    );

    // Expired: a link signed with the server's key for a time already past.
    let key = &w.state.https.link_key;
    let path = tessera_transfer::storage::RelPath::parse("/pub/plot.png").unwrap();
    let src = Uuid::parse_str(&w.src).unwrap();
    let mover = Uuid::parse_str(&w.mover.id).unwrap();
    let now = tessera_core::clock::Clock::now(&tessera_core::clock::SystemClock);
    let past = tessera_transfer::https::link::Signed {
        sig: key.sign(src, &path, now - 1, mover),
        exp: now - 1,
        by: mover,
    };
    let expired = get(
        &w,
        &format!("/https/{}/pub/plot.png?{}", w.src, past.to_query()),
        None,
    )
    .await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);

    // Permission is decided again at use: the owner changes, the link made for mover fails.
    let mut e = w.state.store.endpoint(src).await.unwrap().unwrap();
    e.owner_id = Uuid::parse_str(&w.reader.id).unwrap();
    w.state.store.update_endpoint(&e).await.unwrap();
    assert_eq!(get(&w, local, None).await.status, StatusCode::FORBIDDEN);

    // Refused to make: too long, no permission (reader on a path they cannot read now is the
    // owner; mover is not), and the limits.
    let long = w
        .post(
            &w.reader,
            &format!("/v0.10/endpoint/{}/https_link", w.src),
            json!({"path": "/pub/plot.png", "expires_in": 3601}),
        )
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    let denied = w
        .post(
            &w.mover,
            &format!("/v0.10/endpoint/{}/https_link", w.src),
            json!({"path": "/pub/plot.png"}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

/// A client that stops reading a download, or stops sending an upload, holds no thread of the
/// blocking pool: with twice as many of each stalled as the pool has threads, the files and the
/// Transfer API still answer promptly. An upload that sends nothing for the idle timeout is
/// abandoned with a 408, leaving neither the target nor its temporary file.
#[test]
fn stalled_clients_hold_no_blocking_thread_and_an_idle_upload_is_abandoned() {
    const POOL: usize = 4;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(POOL)
        .enable_all()
        .build()
        .unwrap();
    // A failure must end the test, not wait forever for threads parked by the stalled
    // clients: the runtime is shut down without waiting for them.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let w = World::new(false).await;
            register(&w, &w.src).await;
            let big: Vec<u8> = (0..(8u32 << 20)).map(|i| (i % 253) as u8).collect();
            std::fs::write(w.src_dir.join("big.bin"), &big).unwrap();
            std::fs::write(w.src_dir.join("small.txt"), b"still here").unwrap();
            std::fs::create_dir_all(w.src_dir.join("stall")).unwrap();
            std::fs::create_dir_all(w.src_dir.join("idle")).unwrap();
            let t = token(
                &w,
                &w.mover,
                &scope_string(Uuid::parse_str(&w.src).unwrap()),
            )
            .await;
            let url = |p: &str| format!("/https/{}/{p}", w.src);

            // Downloads whose client never reads a byte.
            let mut stalled_gets = Vec::new();
            for _ in 0..2 * POOL {
                let r: Response = w
                    .app
                    .clone()
                    .oneshot(
                        req(Method::GET, &url("big.bin"), Some(&t))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                stalled_gets.push(r);
            }
            // Uploads whose client sends a few bytes, then nothing.
            let mut stalled_puts = Vec::new();
            let mut senders = Vec::new();
            for i in 0..2 * POOL {
                let (tx, rx) =
                    tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
                tx.send(Ok(bytes::Bytes::from_static(b"first bytes")))
                    .await
                    .unwrap();
                senders.push(tx);
                let body =
                    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                        rx.recv().await.map(|item| (item, rx))
                    }));
                let request = req(Method::PUT, &url(&format!("stall/{i}.bin")), Some(&t))
                    .body(body)
                    .unwrap();
                stalled_puts.push(tokio::spawn(w.app.clone().oneshot(request)));
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;

            // Everything else still answers.
            let prompt = std::time::Duration::from_secs(10);
            let small = tokio::time::timeout(prompt, get(&w, &url("small.txt"), Some(&t)))
                .await
                .expect("a GET answers while clients stall");
            assert_eq!(small.status, StatusCode::OK);
            assert_eq!(small.body, b"still here");
            let whole = tokio::time::timeout(prompt, get(&w, &url("big.bin"), Some(&t)))
                .await
                .expect("a whole download completes while clients stall");
            assert_eq!(whole.body.len(), big.len());
            assert!(whole.body == big);
            let ls = tokio::time::timeout(
                prompt,
                w.get(&w.mover, &format!("/v0.10/operation/endpoint/{}/ls", w.src)),
            )
            .await
            .expect("an ls answers while clients stall");
            assert_eq!(ls.status, StatusCode::OK, "{}", ls.body);
            for p in &stalled_puts {
                assert!(!p.is_finished(), "a stalled upload is still waiting");
            }

            // An upload idle for the (short) timeout is abandoned, nothing left behind.
            let short = tessera_transfer::https::router_with_idle(
                std::sync::Arc::new(tessera_transfer::https::local::LocalAccess::new(
                    w.state.clone(),
                )),
                std::time::Duration::from_secs(1),
            );
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
            tx.send(Ok(bytes::Bytes::from(vec![7u8; 3 << 20])))
                .await
                .unwrap();
            let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            }));
            let began = std::time::Instant::now();
            let r: Response = tokio::time::timeout(
                prompt,
                short.oneshot(
                    req(Method::PUT, &url("idle/x.bin"), Some(&t))
                        .body(body)
                        .unwrap(),
                ),
            )
            .await
            .expect("an idle upload is abandoned")
            .unwrap();
            let waited = began.elapsed();
            assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
            assert!(
                waited >= std::time::Duration::from_millis(900),
                "{waited:?}"
            );
            let body = r.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["code"], "RequestTimeout", "{v}");
            let left: Vec<_> = std::fs::read_dir(w.src_dir.join("idle"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(left.is_empty(), "{left:?}");
            drop(tx);

            drop(stalled_gets);
            drop(senders);
            for p in stalled_puts {
                let _ = p.await;
            }
        })
    }));
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
