//! Client mistakes and hostile input against the newest surfaces (HTTPS access, the
//! endpoint-manager API): each must be a 4xx in the surface's own error shape, never a panic, a
//! 5xx (the SDK retries those five times) or a change of state.

use crate::harness::{AuthScopes, World};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tessera_transfer::https::{scope_string, HttpsScopes};
use tower::ServiceExt;
use uuid::Uuid;

struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn raw(
    w: &World,
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Raw {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let r = w
        .app
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

/// The Transfer envelope with `code` and a 4xx `status`.
fn transfer_error(r: &Raw, status: StatusCode, code: &str, what: &str) {
    let j = r.json();
    assert_eq!(
        (r.status, j["code"].as_str()),
        (status, Some(code)),
        "{what}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(
        j["message"].is_string() && j["request_id"].is_string() && j["resource"].is_string(),
        "{what}: {j}"
    );
}

#[tokio::test]
async fn endpoint_manager_refuses_malformed_input_with_the_transfer_envelope() {
    let w = World::new(false).await;
    let t = Some(w.mover.token.as_str());
    let json_type = [("content-type", "application/json")];
    let e = &w.src;

    // Path segments that are not text, and ids that are not UUIDs.
    for uri in [
        "/v0.10/endpoint_manager/task/%ff".to_owned(),
        "/v0.10/endpoint_manager/pause_rule/%c3%28".to_owned(),
        "/v0.10/v0.10/endpoint_manager/admin_cancel/%ff%fe".to_owned(),
    ] {
        let r = raw(&w, Method::GET, &uri, t, &[], vec![]).await;
        transfer_error(&r, StatusCode::BAD_REQUEST, "ClientError.BadRequest", &uri);
    }

    // Query filters that do not parse.
    for q in [
        "filter_status=ACTIVE&limit=-1".to_owned(),
        "filter_status=ACTIVE&limit=ten".to_owned(),
        "filter_status=ACTIVE&limit=99999999999999999999999".to_owned(),
        "filter_status=ACTIVE&last_key=1_2".to_owned(),
        "filter_status=ACTIVE&last_key=99999999999999999999_".to_owned() + e,
        "filter_task_id=a,b".to_owned(),
        format!("filter_endpoint={e}&filter_completion_time=2024-13-01,"),
        format!("filter_endpoint={e}&filter_completion_time=9999999999999-01-01,"),
        format!("filter_endpoint={e}&filter_completion_time=2024-01-01T00:00:00+99999999999999,"),
        format!("filter_endpoint={e}&filter_completion_time=,2024-01-01T99:00:00"),
        format!("filter_endpoint={e}&filter_owner_id=me"),
        "filter_endpoint=not-an-endpoint".to_owned(),
    ] {
        let uri = format!("/v0.10/endpoint_manager/task_list?{q}");
        let r = raw(&w, Method::GET, &uri, t, &[], vec![]).await;
        transfer_error(&r, StatusCode::BAD_REQUEST, "ClientError.BadRequest", &q);
    }

    // Admin action bodies.
    let big: Vec<String> = (0..1001).map(|_| Uuid::new_v4().to_string()).collect();
    for path in ["admin_cancel", "admin_pause", "admin_resume"] {
        let uri = format!("/v0.10/endpoint_manager/{path}");
        for body in [
            b"not json".to_vec(),
            b"[1,2]".to_vec(),
            b"\"task_id_list\"".to_vec(),
            json!({"message": "m"}).to_string().into_bytes(),
            json!({"message": "m", "task_id_list": []})
                .to_string()
                .into_bytes(),
            json!({"message": "m", "task_id_list": "x"})
                .to_string()
                .into_bytes(),
            json!({"message": "m", "task_id_list": [1]})
                .to_string()
                .into_bytes(),
            json!({"message": "m", "task_id_list": big})
                .to_string()
                .into_bytes(),
            json!({"message": "", "task_id_list": [Uuid::new_v4()]})
                .to_string()
                .into_bytes(),
            json!({"message": 5, "task_id_list": [Uuid::new_v4()]})
                .to_string()
                .into_bytes(),
        ]
        .into_iter()
        // admin_resume takes no message.
        .take(if path == "admin_resume" { 8 } else { 10 })
        {
            let r = raw(&w, Method::POST, &uri, t, &json_type, body.clone()).await;
            transfer_error(
                &r,
                StatusCode::BAD_REQUEST,
                "ClientError.BadRequest",
                &format!("{path} {}", String::from_utf8_lossy(&body)),
            );
        }
        // A body beyond the size limit: a 4xx in the envelope (not axum's text).
        let huge = vec![b' '; 3 << 20];
        let r = raw(&w, Method::POST, &uri, t, &json_type, huge).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.status);
        assert!(r.json()["code"].is_string(), "{path}: not the envelope");
    }

    // Pause rule bodies: wrong types, missing fields, unknown pause operations. None makes a rule.
    let rule = |extra: Value| {
        let mut b = json!({"DATA_TYPE": "pause_rule", "endpoint_id": e, "message": "m"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b.to_string().into_bytes()
    };
    for body in [
        b"{".to_vec(),
        b"42".to_vec(),
        json!({"message": "m"}).to_string().into_bytes(),
        json!({"endpoint_id": e}).to_string().into_bytes(),
        json!({"endpoint_id": 7, "message": "m"})
            .to_string()
            .into_bytes(),
        rule(json!({"DATA_TYPE": "task"})),
        rule(json!({"message": ""})),
        rule(json!({"pause_ls": "yes"})),
        rule(json!({"identity_id": "bob"})),
        rule(json!({"identity_id": 12})),
        rule(json!({"start_time": "tomorrow"})),
        rule(json!({"start_time": "99999999999-01-01"})),
        rule(json!({"start_time": 5})),
        // A misspelt operation would silently pause everything.
        rule(json!({"pause_transfer": false})),
        rule(json!({"pause_task_transfer": false})),
    ] {
        let r = raw(
            &w,
            Method::POST,
            "/v0.10/endpoint_manager/pause_rule",
            t,
            &json_type,
            body.clone(),
        )
        .await;
        transfer_error(
            &r,
            StatusCode::BAD_REQUEST,
            "ClientError.BadRequest",
            &String::from_utf8_lossy(&body),
        );
    }
    let list = w
        .get(
            &w.mover,
            &format!("/v0.10/endpoint_manager/pause_rule_list?filter_endpoint={e}"),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["DATA"], json!([]), "no rule was made");

    // A rule, then changes to it that are refused whole: it stays as it was.
    let made = raw(
        &w,
        Method::POST,
        "/v0.10/endpoint_manager/pause_rule",
        t,
        &json_type,
        rule(json!({"pause_ls": false})),
    )
    .await;
    assert_eq!(
        made.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    let rule_uri = format!(
        "/v0.10/endpoint_manager/pause_rule/{}",
        made.json()["id"].as_str().unwrap()
    );
    for body in [
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        json!({"endpoint_id": w.dst}).to_string().into_bytes(),
        json!({"endpoint_id": 3}).to_string().into_bytes(),
        json!({"message": "changed", "pause_ls": 1})
            .to_string()
            .into_bytes(),
        json!({"message": "changed", "pause_typo": true})
            .to_string()
            .into_bytes(),
        json!({"message": "changed", "start_time": "2024-02-30T99:00:00"})
            .to_string()
            .into_bytes(),
    ] {
        let r = raw(&w, Method::PUT, &rule_uri, t, &json_type, body.clone()).await;
        // An empty body is an empty change; anything else here is refused.
        if body.is_empty() {
            assert_eq!(r.status, StatusCode::OK);
            continue;
        }
        transfer_error(
            &r,
            StatusCode::BAD_REQUEST,
            "ClientError.BadRequest",
            &format!("PUT {}", String::from_utf8_lossy(&body)),
        );
    }
    let after = w.get(&w.mover, &rule_uri).await;
    assert_eq!(
        (
            after.body["message"].as_str(),
            after.body["pause_ls"].as_bool(),
            after.body["endpoint_id"].as_str()
        ),
        (Some("m"), Some(false), Some(e.as_str())),
        "{}",
        after.body
    );
    let same = raw(
        &w,
        Method::PUT,
        &rule_uri,
        t,
        &json_type,
        json!({"endpoint_id": e, "message": "same place"})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(
        same.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&same.body)
    );
    // The document as read, sent back whole (what a client that edits it does): accepted.
    let echo = raw(
        &w,
        Method::PUT,
        &rule_uri,
        t,
        &json_type,
        after.body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        echo.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&echo.body)
    );
    let r = raw(&w, Method::DELETE, &rule_uri, t, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);

    // Unknown ids are 404s with the spec's codes.
    let unknown = Uuid::new_v4();
    for (uri, code) in [
        (
            format!("/v0.10/endpoint_manager/task/{unknown}"),
            "TaskNotFound",
        ),
        (
            format!("/v0.10/endpoint_manager/pause_rule/{unknown}"),
            "PauseRuleNotFound",
        ),
        (
            "/v0.10/endpoint_manager/pause_rule/nope".to_owned(),
            "PauseRuleNotFound",
        ),
        (
            format!("/v0.10/endpoint_manager/admin_cancel/{unknown}"),
            "AdminCancelNotFound",
        ),
    ] {
        let r = raw(&w, Method::GET, &uri, t, &[], vec![]).await;
        transfer_error(&r, StatusCode::NOT_FOUND, code, &uri);
    }
    let r = raw(
        &w,
        Method::POST,
        "/v0.10/endpoint_manager/admin_cancel",
        t,
        &json_type,
        json!({"message": "m", "task_id_list": [unknown]})
            .to_string()
            .into_bytes(),
    )
    .await;
    transfer_error(&r, StatusCode::NOT_FOUND, "TaskNotFound", "unknown task");
    // A method the route does not have.
    let r = raw(
        &w,
        Method::DELETE,
        "/v0.10/endpoint_manager/task_list",
        t,
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json()["code"].is_string());
}

#[tokio::test]
async fn https_access_answers_odd_requests_in_its_own_shape() {
    let w = World::new(false).await;
    let src = Uuid::parse_str(&w.src).unwrap();
    AuthScopes(w.auth.clone()).register(src).await.unwrap();
    let client = w
        .auth
        .store
        .client(Uuid::parse_str(&w.mover.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let tok = tessera_auth::service::tokens::client_credentials(
        &w.auth,
        &client,
        Some(&scope_string(src)),
    )
    .await
    .unwrap()
    .top
    .access_token;
    let t = Some(tok.as_str());
    std::fs::write(w.src_dir.join("empty"), b"").unwrap();
    std::fs::write(w.src_dir.join("ten"), b"0123456789").unwrap();
    let url = |p: &str| format!("/https/{}/{p}", w.src);
    let own_shape = |r: &Raw, status: StatusCode, what: &str| {
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let j = r.json();
        assert!(
            j["code"].is_string() && j["message"].is_string(),
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
    };

    // Percent-encodings that are not UTF-8, in the path and in the endpoint id.
    for p in ["%ff", "a/%c3%28", "%80%80/x"] {
        let r = raw(&w, Method::GET, &url(p), t, &[], vec![]).await;
        own_shape(&r, StatusCode::BAD_REQUEST, p);
        let r = raw(&w, Method::PUT, &url(p), t, &[], b"x".to_vec()).await;
        own_shape(&r, StatusCode::BAD_REQUEST, p);
    }
    let r = raw(&w, Method::GET, "/https/%ff/ten", t, &[], vec![]).await;
    own_shape(&r, StatusCode::BAD_REQUEST, "endpoint %ff");
    let r = raw(&w, Method::GET, "/https/not-a-uuid/ten", t, &[], vec![]).await;
    own_shape(&r, StatusCode::NOT_FOUND, "endpoint not-a-uuid");
    for p in [
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/etc/passwd",
        "a/%2E%2E/ten",
    ] {
        let r = raw(&w, Method::GET, &url(p), t, &[], vec![]).await;
        own_shape(&r, StatusCode::BAD_REQUEST, p);
        let r = raw(&w, Method::PUT, &url(p), t, &[], b"x".to_vec()).await;
        own_shape(&r, StatusCode::BAD_REQUEST, p);
    }

    // Names longer than the filesystem takes, and paths longer than PATH_MAX: 400, not a 5xx.
    let long_name = "n".repeat(300);
    let long_path = vec!["d"; 3000].join("/");
    for p in [long_name.as_str(), long_path.as_str()] {
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let r = raw(&w, m.clone(), &url(p), t, &[], b"x".to_vec()).await;
            assert!(r.status.is_client_error(), "{m} {:.20}: {}", p, r.status);
            own_shape(&r, r.status, &format!("{m} long"));
        }
    }

    // Ranges on an empty file: a suffix range is satisfiable (RFC 9110 §14.1.1: the whole,
    // empty, representation); a first position is not.
    let r = raw(
        &w,
        Method::GET,
        &url("empty"),
        t,
        &[("range", "bytes=-5")],
        vec![],
    )
    .await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 0));
    let r = raw(
        &w,
        Method::GET,
        &url("empty"),
        t,
        &[("range", "bytes=0-")],
        vec![],
    )
    .await;
    own_shape(&r, StatusCode::RANGE_NOT_SATISFIABLE, "empty bytes=0-");
    assert_eq!(r.headers[header::CONTENT_RANGE], "bytes */0");
    let r = raw(&w, Method::GET, &url("empty"), t, &[], vec![]).await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 0));
    // Several ranges, garbage, non-text: the whole file.
    for range in [
        "bytes=0-1,4-5",
        "bytes=abc",
        "bytes=--1",
        "pages=1-2",
        "bytes=5-1",
    ] {
        let r = raw(&w, Method::GET, &url("ten"), t, &[("range", range)], vec![]).await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (StatusCode::OK, b"0123456789".as_slice()),
            "{range}"
        );
    }
    let r = w
        .app
        .clone()
        .oneshot(
            Request::get(url("ten"))
                .header(header::AUTHORIZATION, format!("Bearer {tok}"))
                .header(
                    header::RANGE,
                    axum::http::HeaderValue::from_bytes(b"bytes=\xff-1").unwrap(),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = raw(
        &w,
        Method::HEAD,
        &url("ten"),
        t,
        &[("range", "bytes=2-3")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers[header::CONTENT_LENGTH], "2");
    assert!(r.body.is_empty());

    // Methods beyond the four: 405 naming the ones there are, in this surface's shape.
    for m in [Method::POST, Method::PATCH, Method::TRACE] {
        let r = raw(&w, m.clone(), &url("ten"), t, &[], vec![]).await;
        own_shape(&r, StatusCode::METHOD_NOT_ALLOWED, m.as_str());
        let allow = r.headers[header::ALLOW].to_str().unwrap().to_owned();
        for want in ["GET", "HEAD", "PUT", "DELETE"] {
            assert!(allow.contains(want), "{m}: Allow: {allow}");
        }
    }

    // A browser application: a preflight names the methods and headers it may use, and every
    // answer (errors too) is readable from any origin (nothing here rides on cookies).
    let pre = raw(
        &w,
        Method::OPTIONS,
        &url("ten"),
        None,
        &[
            ("origin", "https://portal.example.org"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization, range"),
        ],
        vec![],
    )
    .await;
    assert_eq!(pre.status, StatusCode::NO_CONTENT);
    assert_eq!(pre.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let methods = pre.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("PUT") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = pre.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("range"),
        "{allowed}"
    );
    for (tok, status) in [(t, StatusCode::OK), (None, StatusCode::UNAUTHORIZED)] {
        let r = raw(
            &w,
            Method::GET,
            &url("ten"),
            tok,
            &[("origin", "https://portal.example.org")],
            vec![],
        )
        .await;
        assert_eq!(r.status, status);
        assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(r.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap()
            .contains("Content-Range"));
    }
    // The base URL without its slash is the root (a directory), not another service's 404.
    let r = raw(
        &w,
        Method::GET,
        &format!("/https/{}", w.src),
        t,
        &[],
        vec![],
    )
    .await;
    own_shape(&r, StatusCode::CONFLICT, "base URL");

    // Digest headers that do not parse or do not match change nothing.
    for (name, value) in [
        ("repr-digest", "sha-256=:not base64!:"),
        ("digest", "SHA-256"),
        ("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ("repr-digest", "sha-512=:AAAA:"),
    ] {
        let r = raw(
            &w,
            Method::PUT,
            &url("ten"),
            t,
            &[(name, value)],
            b"new".to_vec(),
        )
        .await;
        own_shape(&r, StatusCode::BAD_REQUEST, value);
        assert_eq!(std::fs::read(w.src_dir.join("ten")).unwrap(), b"0123456789");
    }

    // Signed links with impossible expiries or signatures.
    for q in [
        format!("sig={}&exp={}&by={}", "0".repeat(64), i64::MAX, w.mover.id),
        format!("sig={}&exp={}&by={}", "0".repeat(64), i64::MIN, w.mover.id),
        format!("sig=%ff&exp=1&by={}", w.mover.id),
        format!("sig={}&exp=1e9&by={}", "é".repeat(32), w.mover.id),
        "sig=x&exp=1".to_owned(),
        "sig=x&by=me&exp=1".to_owned(),
        "sig=%zz".to_owned(),
    ] {
        let r = raw(
            &w,
            Method::GET,
            &format!("{}?{q}", url("ten")),
            None,
            &[],
            vec![],
        )
        .await;
        own_shape(&r, StatusCode::FORBIDDEN, &q);
    }
    // An Authorization header that is not a bearer token.
    for a in [
        "Basic abc",
        "Bearer",
        "Bearer    ",
        &format!("Bearer {}", "a".repeat(5000)),
    ] {
        let r = w
            .app
            .clone()
            .oneshot(
                Request::get(url("ten"))
                    .header(header::AUTHORIZATION, a)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{a:.20}");
    }
    let names: Vec<String> = std::fs::read_dir(&w.src_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "nothing was written: {names:?}");
}

#[tokio::test]
async fn odd_query_parameters_on_v0_10_documents_are_4xx_envelopes_or_ignored() {
    let w = World::new(false).await;
    let t = Some(w.mover.token.as_str());
    let (e, u) = (&w.src, Uuid::new_v4());
    std::fs::write(w.src_dir.join("f.txt"), b"x").unwrap();
    for prefix in ["/v0.10", "/v0.10/v0.10"] {
        for q in [
            format!("/endpoint/{e}?fields=id,display_name"),
            format!("/endpoint/{e}?fields="),
            format!("/endpoint/{e}?fields=%ff%fe"),
            "/endpoint_search?filter_fulltext=%00&limit=1000000".to_owned(),
            "/endpoint_search?filter_scope=nonsense&offset=-5".to_owned(),
            "/endpoint_search?limit=abc".to_owned(),
            "/task_list?limit=-1".to_owned(),
            "/task_list?offset=99999999999999999999".to_owned(),
            "/task_list?filter=status:NOPE".to_owned(),
            "/task_list?filter=request_time:garbage".to_owned(),
            "/task_list?filter=request_time:9999999999999-01-01,".to_owned(),
            "/task_list?orderby=nonsense%20SIDEWAYS".to_owned(),
            "/task_list?filter=%ff:%fe".to_owned(),
            format!("/task/{u}"),
            "/task/not-a-uuid".to_owned(),
            format!("/task/{u}/event_list?limit=-1"),
            format!("/operation/endpoint/{e}/ls?path=%00"),
            format!("/operation/endpoint/{e}/ls?path=/../"),
            format!("/operation/endpoint/{e}/ls?path=/f.txt"),
            format!("/operation/endpoint/{e}/ls?show_hidden=maybe"),
            format!("/operation/endpoint/{e}/ls?limit=-3&offset=x"),
            format!("/operation/endpoint/{e}/ls?orderby=type%20DESC,%20name%20BOGUS"),
            format!("/operation/endpoint/{e}/ls?filter=name:~%5B"),
            format!("/operation/endpoint/{e}/stat?path="),
            format!("/operation/endpoint/{e}/stat?path=/%ff"),
            format!("/endpoint/{e}/access_list?limit=x"),
            format!("/endpoint/{e}/access/{u}"),
            "/bookmark/not-a-uuid".to_owned(),
            "/submission_id?fields=value".to_owned(),
            "/nonexistent".to_owned(),
        ] {
            let uri = format!("{prefix}{q}");
            let r = raw(&w, Method::GET, &uri, t, &[], vec![]).await;
            assert!(
                !r.status.is_server_error()
                    || r.json()["code"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("ExternalError")),
                "{uri}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            if !r.status.is_success() {
                let j = r.json();
                assert!(
                    j["code"].is_string()
                        && j["message"].is_string()
                        && j["request_id"].is_string(),
                    "{uri}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
    }
}
