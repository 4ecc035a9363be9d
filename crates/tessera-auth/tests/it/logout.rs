//! `/v2/web/logout` as the `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0) and
//! as Globus's logout page: back to the application only at a URI it registered.

use crate::browser::{location_params, Browser};
use crate::flows::{alice, query, register_redirect};
use crate::harness::{Client, Reply, TestServer};
use axum::http::{header, StatusCode};

const CB: &str = "https://portal.example.org/cb";

/// Signs alice in through `portal`'s flow; returns its ID token.
async fn signed_in(s: &TestServer, b: &mut Browser<'_>, portal: &Client) -> String {
    let r = b
        .authorize(&query(&portal.id, CB, &[]), "alice@example.org")
        .await;
    let r = s.redeem(portal, &location_params(&r)["code"], CB).await;
    r.ok();
    r.body["id_token"].as_str().unwrap().to_owned()
}

fn logout_url(params: &[(&str, &str)]) -> String {
    format!(
        "/v2/web/logout?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// Presses "Sign out" on the confirmation page, sending what its hidden fields carry.
async fn confirm(b: &mut Browser<'_>, page: &Reply) -> Reply {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(">Sign out</button>"), "{}", page.text);
    let mut form = vec![("csrf".to_owned(), Browser::hidden(page, "csrf"))];
    for name in [
        "client_id",
        "post_logout_redirect_uri",
        "redirect_uri",
        "redirect_name",
        "state",
    ] {
        if page.text.contains(&format!("name=\"{name}\"")) {
            form.push((name.to_owned(), Browser::hidden(page, name)));
        }
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post("/v2/web/logout", &form).await
}

async fn is_signed_in(b: &mut Browser<'_>) -> bool {
    b.get("/v2/web/account").await.status == StatusCode::OK
}

#[tokio::test]
async fn rp_initiated_logout_asks_then_returns_to_the_registered_uri_with_state() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    for by in ["client_id", "id_token_hint", "both"] {
        let mut b = Browser::new(&s);
        let id_token = signed_in(&s, &mut b, &portal).await;
        let mut params = vec![("post_logout_redirect_uri", CB), ("state", "bye 1")];
        if by != "id_token_hint" {
            params.push(("client_id", &portal.id));
        }
        if by != "client_id" {
            params.push(("id_token_hint", &id_token));
        }
        let page = b.get(&logout_url(&params)).await;
        let r = confirm(&mut b, &page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{by}: {}", r.text);
        assert_eq!(
            r.headers[header::LOCATION],
            format!("{CB}?state=bye+1"),
            "{by}"
        );
        assert!(!is_signed_in(&mut b).await, "{by}");
    }
}

#[tokio::test]
async fn rp_initiated_logout_without_a_session_goes_straight_back() {
    let s = TestServer::new().await;
    let portal = register_redirect(&s, CB).await;
    let r = Browser::new(&s)
        .get(&logout_url(&[
            ("post_logout_redirect_uri", CB),
            ("client_id", &portal.id),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], CB);
}

#[tokio::test]
async fn logout_never_returns_to_an_unregistered_uri_nor_on_a_foreign_hint() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    let other = register_redirect(&s, "https://other.example.org/cb").await;
    let mut b = Browser::new(&s);
    let id_token = signed_in(&s, &mut b, &portal).await;
    let forged = crate::jwt::tamper(&id_token);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "unregistered",
            vec![
                ("post_logout_redirect_uri", "https://evil.example/"),
                ("client_id", &portal.id),
            ],
        ),
        (
            "another client's URI",
            vec![("post_logout_redirect_uri", CB), ("client_id", &other.id)],
        ),
        (
            "no client",
            vec![("post_logout_redirect_uri", CB), ("state", "x")],
        ),
        (
            "not a client id",
            vec![("post_logout_redirect_uri", CB), ("client_id", "nobody")],
        ),
        (
            "forged hint",
            vec![("post_logout_redirect_uri", CB), ("id_token_hint", &forged)],
        ),
        (
            "hint for another client",
            vec![
                ("post_logout_redirect_uri", CB),
                ("id_token_hint", &id_token),
                ("client_id", &other.id),
            ],
        ),
        (
            "garbage hint",
            vec![("post_logout_redirect_uri", CB), ("id_token_hint", "x.y.z")],
        ),
    ];
    for (why, params) in &cases {
        let page = b.get(&logout_url(params)).await;
        assert!(
            !["portal.example", "other.example", "evil.example"]
                .iter()
                .any(|u| page.text.contains(u)),
            "{why}: the page names the URI"
        );
        let r = confirm(&mut b, &page).await;
        assert_eq!(r.status, StatusCode::OK, "{why}");
        assert!(!r.headers.contains_key(header::LOCATION), "{why}");
        assert!(r.text.contains("You are signed out"), "{why}");
        signed_in(&s, &mut b, &portal).await;
    }
}

#[tokio::test]
async fn globus_logout_offers_the_way_back_after_signing_out() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = register_redirect(&s, CB).await;
    let mut b = Browser::new(&s);
    signed_in(&s, &mut b, &portal).await;
    let page = b
        .get(&logout_url(&[
            ("redirect_uri", CB),
            ("redirect_name", "the Portal"),
            ("client_id", &portal.id),
        ]))
        .await;
    let r = confirm(&mut b, &page).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text
            .contains(&format!("href=\"{}\"", CB.replace('/', "&#x2f;"))),
        "{}",
        r.text
    );
    assert!(r.text.contains("Return to the Portal"), "{}", r.text);
    assert!(!is_signed_in(&mut b).await);
}
