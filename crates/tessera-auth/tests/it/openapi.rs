//! `/openapi.json`: an OpenAPI 3.1 document generated from the handlers, describing every path
//! the Auth router routes (the pages for people aside), served cacheably.

use crate::harness::TestServer;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

/// The paths `router` routes, read from the router itself. axum has no API that lists routes;
/// its `Debug` output names them (`RouteId(n): "/path"`). The caller checks the list is not
/// empty, so a change of that output fails the test instead of passing it vacuously.
fn routed_paths(router: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    // The fallback's own routes come after `fallback_router`.
    let routes = debug.split("fallback_router").next().unwrap();
    let mut out = BTreeSet::new();
    let mut rest = routes;
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Some(quoted) = rest[digits..].strip_prefix("): \"") {
            let end = quoted.find('"').unwrap();
            out.insert(quoted[..end].to_owned());
        }
    }
    out
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_openapi_3_1_and_describes_every_routed_path() {
    let s = TestServer::new().await;
    let r = s.get("/openapi.json", None).await;
    r.ok();
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
    // It parses as an OpenAPI document, of version 3.1.
    let doc: utoipa::openapi::OpenApi = serde_json::from_str(&r.text).unwrap();
    assert!(
        matches!(doc.openapi, utoipa::openapi::OpenApiVersion::Version31),
        "{}",
        r.body["openapi"]
    );
    assert_eq!(r.body["openapi"], "3.1.0");
    assert_eq!(r.body["info"]["title"], "Tessera");

    // Every routed path is documented, and nothing else is: the routes are read from the
    // router, pages for people aside.
    let routed = routed_paths(&s.router);
    let pages = routed_paths(&tessera_auth::http::pages().with_state(s.state.clone()));
    assert!(routed.contains("/v2/oauth2/token") && pages.contains("/v2/web/login"));
    let api: BTreeSet<String> = routed.difference(&pages).cloned().collect();
    let documented: BTreeSet<String> = doc.paths.paths.keys().cloned().collect();
    let missing: Vec<_> = api.difference(&documented).collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    let stale: Vec<_> = documented.difference(&api).collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");
    for wanted in [
        "/v2/api/clients/{id}",
        "/.well-known/openid-configuration",
        "/jwk.json",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(documented.contains(wanted), "{wanted}");
    }

    // Every operation says what it answers and has an id of its own; every reference resolves.
    let mut operations = 0;
    let mut ids = BTreeSet::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} twice");
            assert!(
                !op["responses"].as_object().unwrap().is_empty(),
                "{method} {path}"
            );
        }
    }
    assert!(operations >= 40, "{operations} operations");
    let delete = &r.body["paths"]["/v2/api/clients/{id}"]["delete"];
    assert!(delete["responses"]["409"].is_object() && delete["responses"]["403"].is_object());
    let mut found = Vec::new();
    refs(&r.body, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference}"));
        assert!(
            r.body["components"]["schemas"][name].is_object(),
            "{reference} does not resolve"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_cacheable_and_revalidated_by_its_etag() {
    let s = TestServer::new().await;
    let r = s.get("/openapi.json", None).await;
    r.ok();
    let etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(r.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .starts_with("public"));
    let again = s
        .send(
            Request::get("/openapi.json")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    let other = s
        .send(
            Request::get("/openapi.json")
                .header(header::IF_NONE_MATCH, "\"something-else\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.text, r.text, "the same document every time");
}

#[tokio::test]
async fn other_services_documents_are_merged_into_the_served_one() {
    let s = TestServer::new().await;
    let mut transfer = utoipa::openapi::OpenApi::default();
    transfer.paths.paths.insert(
        "/v0.10/endpoint_search".into(),
        utoipa::openapi::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .response("200", utoipa::openapi::Response::new("found")),
        ),
    );
    let router = tessera_auth::http::router_with_docs(s.state.clone(), [transfer]);
    let r = tower::ServiceExt::oneshot(
        router,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let bytes = http_body_util::BodyExt::collect(r.into_body())
        .await
        .unwrap()
        .to_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(doc["paths"]["/v0.10/endpoint_search"]["get"].is_object());
    assert!(doc["paths"]["/v2/oauth2/token"]["post"].is_object());
}
