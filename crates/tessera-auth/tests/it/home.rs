//! The front door (`/`) and the way home from every page; sign-in from the front door, which
//! returns only to paths on this site.

use crate::browser::{Browser, PASSWORD};
use crate::flows::{alice, query, register_redirect};
use crate::harness::{Reply, TestServer};
use axum::http::{header, StatusCode};

/// A page's text with minijinja's escapes of `/`, `&` and quotes undone, for plain assertions.
fn unescaped(page: &Reply) -> String {
    page.text
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

#[track_caller]
fn html(page: &Reply) -> String {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let h = &page.headers;
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(h[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert!(!page.text.contains("<script"), "no JavaScript");
    unescaped(page)
}

/// Signs alice in from the sign-in page, sending `next` as the form carries it.
async fn sign_in_then(b: &mut Browser<'_>, next: &str) -> Reply {
    let login = b
        .get(&format!(
            "/v2/web/login?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap()
        ))
        .await;
    let csrf = Browser::hidden(&login, "csrf");
    b.post(
        "/v2/web/login",
        &[
            ("csrf", csrf.as_str()),
            ("request", ""),
            ("next", next),
            ("username", "alice@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn the_front_door_tells_a_visitor_what_this_is_and_where_the_api_lives() {
    let s = TestServer::new().await;
    let page = html(&s.get("/", None).await);
    assert!(page.contains("<h1>Welcome to Tessera</h1>"), "{page}");
    assert!(
        page.contains("href=\"/v2/web/login?next=%2F\">Sign in</a>"),
        "{page}"
    );
    for link in [
        "http://tessera.test/.well-known/openid-configuration",
        "http://tessera.test/jwk.json",
    ] {
        assert!(page.contains(&format!("<a href=\"{link}\">")), "{link}");
    }
    for base in [
        "http://tessera.test/v2/oauth2/",
        "http://tessera.test/v2/api/",
    ] {
        assert!(page.contains(&format!("<code>{base}</code>")), "{base}");
    }
    assert!(page.contains("GLOBUS_SDK_SERVICE_URL_AUTH=http://tessera.test/"));
    assert!(!page.contains("Revoke") && !page.contains("Sign out"));

    // Everything else is still the API's JSON 404.
    for path in ["/nothing", "/v2", "/index.html"] {
        let r = s.get(path, None).await;
        r.api_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn signing_in_from_the_front_door_ends_on_it_showing_who_you_are() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, "https://portal.example.org/cb").await;
    let mut b = Browser::new(&s);
    let login = b.get("/v2/web/login?next=%2F").await;
    assert!(unescaped(&login).contains("name=\"next\" value=\"/\""));
    let r = sign_in_then(&mut b, "/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");

    let page = html(&b.get("/").await);
    assert!(page.contains("<h1>Hello, Alice</h1>"), "{page}");
    assert!(page.contains("alice@example.org"));
    assert!(page.contains("Signed in with this identity"));
    assert!(page.contains("You have not allowed any apps yet."));
    assert!(page.contains("href=\"/v2/web/logout\">Sign out</a>"));
    assert!(page.contains("href=\"/v2/web/login?link=1\""));
    // Still the way to the API for developers.
    assert!(page.contains("http://tessera.test/.well-known/openid-configuration"));

    // An app allowed shows up, with a Revoke that comes back here.
    b.authorize(
        &query(&portal.id, "https://portal.example.org/cb", &[]),
        "alice@example.org",
    )
    .await;
    let home = b.get("/").await;
    let page = html(&home);
    assert!(page.contains("portal with callback"), "{page}");
    let revoke = format!("/v2/web/account/apps/{}/revoke", portal.id);
    assert!(page.contains(&format!("action=\"{revoke}\"")));
    let csrf = Browser::hidden(&home, "csrf");
    let r = b
        .post(&revoke, &[("csrf", csrf.as_str()), ("next", "/")])
        .await;
    assert_eq!(r.headers[header::LOCATION], "/");
    let page = html(&b.get("/").await);
    assert!(!page.contains("portal with callback"), "revoked");
    assert!(page.contains("You have not allowed any apps yet."));

    // From the account page, forms come back to it.
    let r = b
        .post(
            &revoke,
            &[("csrf", csrf.as_str()), ("next", "//evil.example")],
        )
        .await;
    assert_eq!(r.headers[header::LOCATION], "/v2/web/account");
}

#[tokio::test]
async fn sign_in_returns_only_to_a_path_on_this_site() {
    let s = TestServer::new().await;
    alice(&s).await;
    for (next, lands) in [
        ("/v2/web/account", "/v2/web/account"),
        ("/", "/"),
        ("", "/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let mut b = Browser::new(&s);
        let page = b
            .get(&format!(
                "/v2/web/login?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap()
            ))
            .await;
        assert!(!unescaped(&page).contains("evil.example"), "{next:?}");
        let r = sign_in_then(&mut b, next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers[header::LOCATION], lands, "{next:?}");
    }
    // Signed out, the account page sends you to sign in and back.
    let r = Browser::new(&s).get("/v2/web/account").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/v2/web/login?next=%2Fv2%2Fweb%2Faccount"
    );
}

#[tokio::test]
async fn every_page_links_home() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, "https://portal.example.org/cb").await;
    let mut b = Browser::new(&s);
    let r = b
        .get(&format!(
            "/v2/oauth2/authorize?{}",
            query(&portal.id, "https://portal.example.org/cb", &[])
        ))
        .await;
    let login = b.follow(r).await;
    let consent = b.sign_in(&login, "alice@example.org", PASSWORD).await;
    let pages = [
        ("front door", b.get("/").await),
        ("login", login),
        ("consent", consent),
        ("account", b.get("/v2/web/account").await),
        ("auth-code", b.get("/v2/web/auth-code?code=x").await),
        ("logout", b.get("/v2/web/logout").await),
        (
            "error",
            b.get("/v2/oauth2/authorize?client_id=nobody").await,
        ),
    ];
    for (name, page) in &pages {
        assert!(
            page.text.contains("<a class=\"brand\" href=\"/\">"),
            "{name}: {}",
            page.text
        );
        assert!(page.text.contains("<a href=\"/\">Home</a>"), "{name}");
    }
}
