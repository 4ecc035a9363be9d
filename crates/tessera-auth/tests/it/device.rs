//! RFC 8628 device authorization grant through the router: the device endpoint, the
//! verification page, polling, and each error code, with nothing changed on error.

use crate::browser::{Browser, PASSWORD};
use crate::flows::alice;
use crate::harness::{basic, Client, Reply, TestServer};
use axum::http::StatusCode;
use serde_json::Value;
use tessera_core::client::ClientType;
use tessera_core::grant::device_code::DEVICE_CODE_LIFETIME_S;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES: &str = "openid profile email urn:globus:auth:scope:transfer.api.globus.org:all";

async fn start(s: &TestServer, client: &Client, scope: &str) -> Reply {
    let mut form = vec![("scope", scope)];
    let auth = if client.secret.is_empty() {
        form.push(("client_id", &client.id));
        None
    } else {
        Some(client.basic())
    };
    s.form(
        "/v2/oauth2/device_authorization",
        auth.as_deref(),
        &serde_urlencoded::to_string(form).unwrap(),
    )
    .await
}

async fn poll(s: &TestServer, client: &Client, device_code: &str) -> Reply {
    let mut form = vec![("grant_type", GRANT), ("device_code", device_code)];
    let auth = if client.secret.is_empty() {
        form.push(("client_id", &client.id));
        None
    } else {
        Some(client.basic())
    };
    s.form(
        "/v2/oauth2/token",
        auth.as_deref(),
        &serde_urlencoded::to_string(form).unwrap(),
    )
    .await
}

/// Opens `path` (the verification page), signs in as alice when asked, and returns the page
/// the flow lands on (the consent page for a good code).
async fn open_signed_in(b: &mut Browser<'_>, path: &str) -> Reply {
    let r = b.get(path).await;
    let page = b.follow(r).await;
    if !page.text.contains(">Sign in</button>") {
        return page;
    }
    let csrf = Browser::hidden(&page, "csrf");
    let next = Browser::hidden(&page, "next");
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("next", &next),
                ("username", "alice@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    b.follow(r).await
}

async fn decide(b: &mut Browser<'_>, page: &Reply, decision: &str) -> Reply {
    let csrf = Browser::hidden(page, "csrf");
    let request = Browser::hidden(page, "request");
    b.post(
        "/v2/web/device",
        &[
            ("csrf", &csrf),
            ("request", &request),
            ("decision", decision),
        ],
    )
    .await
}

#[tokio::test]
async fn a_public_client_gets_tokens_after_approval_on_the_verification_page() {
    let s = TestServer::new().await;
    alice(&s).await;
    let device = s.client("Detector DAQ", ClientType::PublicInstalled).await;
    let r = start(&s, &device, SCOPES).await;
    r.ok();
    assert_eq!(r.headers["cache-control"], "no-store");
    let d = r.body.clone();
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code
        .chars()
        .filter(|c| *c != '-')
        .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    assert_eq!(d["verification_uri"], "http://tessera.test/v2/web/device");
    assert_eq!(
        d["verification_uri_complete"],
        format!("http://tessera.test/v2/web/device?user_code={user_code}")
    );
    assert_eq!(d["expires_in"], DEVICE_CODE_LIFETIME_S);
    assert_eq!(d["interval"], 5);
    let device_code = d["device_code"].as_str().unwrap();
    assert!(device_code.starts_with("tdc_"));

    poll(&s, &device, device_code)
        .await
        .oauth_error(400, "authorization_pending");

    // The person types the code in lower case without the dash.
    let mut b = Browser::new(&s);
    let typed = user_code.replace('-', "").to_lowercase();
    let page = open_signed_in(&mut b, &format!("/v2/web/device?user_code={typed}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Detector DAQ"), "{}", page.text);
    assert!(
        page.text.contains(user_code),
        "the consent page shows the code"
    );
    assert!(page.text.contains(">Allow</button>"));

    s.clock.advance(5);
    poll(&s, &device, device_code)
        .await
        .oauth_error(400, "authorization_pending");

    let done = decide(&mut b, &page, "allow").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("Device connected"));

    s.clock.advance(5);
    let t = poll(&s, &device, device_code).await;
    t.ok();
    assert_eq!(t.body["resource_server"], "auth.globus.org");
    assert!(
        t.body["refresh_token"].is_string(),
        "devices are offline by default"
    );
    assert!(t.body["id_token"].is_string(), "openid gives an ID token");
    assert_eq!(t.body["other_tokens"].as_array().unwrap().len(), 1);

    // Single use: the next poll is refused and changes nothing.
    s.clock.advance(5);
    poll(&s, &device, device_code)
        .await
        .oauth_error(400, "invalid_grant");

    // The approval and the tokens are in the audit log.
    let log = crate::observe::audit_log(&s).await;
    let authorized: Vec<_> = log
        .iter()
        .filter(|r| r.event.event == "device_authorized")
        .collect();
    assert_eq!(authorized.len(), 1);
    assert_eq!(
        authorized[0].event.client_id.unwrap().to_string(),
        device.id
    );
    assert!(log
        .iter()
        .any(|r| r.event.event == "token_issued" && r.event.detail["grant_type"] == "device_code"));

    // The token is alice's.
    let userinfo = s
        .get(
            "/v2/oauth2/userinfo",
            Some(&format!(
                "Bearer {}",
                t.body["access_token"].as_str().unwrap()
            )),
        )
        .await;
    userinfo.ok();
    assert_eq!(userinfo.body["preferred_username"], "alice@example.org");
}

#[tokio::test]
async fn a_confidential_client_authenticates_and_a_denial_is_access_denied() {
    let s = TestServer::new().await;
    alice(&s).await;
    let portal = s.client("Portal", ClientType::Confidential).await;
    // Unauthenticated or wrongly authenticated: invalid_client, nothing started.
    s.form(
        "/v2/oauth2/device_authorization",
        None,
        &format!("client_id={}&scope=openid", portal.id),
    )
    .await
    .oauth_error(401, "invalid_client");
    s.form(
        "/v2/oauth2/device_authorization",
        Some(&basic(&portal.id, "tcs_wrong")),
        "scope=openid",
    )
    .await
    .oauth_error(401, "invalid_client");

    let d = start(&s, &portal, "openid").await;
    d.ok();
    let device_code = d.body["device_code"].as_str().unwrap();
    let user_code = d.body["user_code"].as_str().unwrap();
    let mut b = Browser::new(&s);
    let page = open_signed_in(&mut b, &format!("/v2/web/device?user_code={user_code}")).await;
    let done = decide(&mut b, &page, "deny").await;
    assert!(done.text.contains("Device refused"), "{}", done.text);
    poll(&s, &portal, device_code)
        .await
        .oauth_error(400, "access_denied");
    // Denied stays denied: the page does not offer the code again.
    let again = b
        .get(&format!("/v2/web/device?user_code={user_code}"))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(!again.text.contains(">Allow</button>"));
}

#[tokio::test]
async fn polling_too_fast_slows_down_by_five_seconds_each_time() {
    let s = TestServer::new().await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let d = start(&s, &device, "openid").await.body;
    let code = d["device_code"].as_str().unwrap();
    poll(&s, &device, code)
        .await
        .oauth_error(400, "authorization_pending");
    s.clock.advance(2);
    poll(&s, &device, code).await.oauth_error(400, "slow_down");
    // The interval is 10 s now: 6 s later is still too fast.
    s.clock.advance(6);
    poll(&s, &device, code).await.oauth_error(400, "slow_down");
    s.clock.advance(15);
    poll(&s, &device, code)
        .await
        .oauth_error(400, "authorization_pending");
}

#[tokio::test]
async fn an_expired_device_code_is_expired_token_and_cannot_be_approved() {
    let s = TestServer::new().await;
    alice(&s).await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let d = start(&s, &device, "openid").await.body;
    let code = d["device_code"].as_str().unwrap();
    let user_code = d["user_code"].as_str().unwrap();
    let mut b = Browser::new(&s);
    let page = open_signed_in(&mut b, &format!("/v2/web/device?user_code={user_code}")).await;
    assert!(page.text.contains(">Allow</button>"));
    s.clock.advance(DEVICE_CODE_LIFETIME_S);
    let late = decide(&mut b, &page, "allow").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(!late.text.contains("Device connected"));
    poll(&s, &device, code)
        .await
        .oauth_error(400, "expired_token");
}

#[tokio::test]
async fn bad_requests_get_their_rfc_error_and_start_nothing() {
    let s = TestServer::new().await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let other = s.client("Other", ClientType::PublicInstalled).await;
    let rs = s.client("RS", ClientType::ResourceServer).await;
    let cases: Vec<(Option<String>, String, u16, &str)> = vec![
        (
            None,
            format!("client_id={}", device.id),
            400,
            "invalid_scope",
        ),
        (
            None,
            format!("client_id={}&scope=", device.id),
            400,
            "invalid_scope",
        ),
        (
            None,
            format!("client_id={}&scope=nonesuch", device.id),
            400,
            "invalid_scope",
        ),
        (
            None,
            format!("client_id={}&scope=openid&access_type=forever", device.id),
            400,
            "invalid_request",
        ),
        (
            None,
            format!("client_id={}&scope=openid&scope=email", device.id),
            400,
            "invalid_request",
        ),
        (None, "scope=openid".into(), 401, "invalid_client"),
        (
            None,
            "client_id=not-a-uuid&scope=openid".into(),
            401,
            "invalid_client",
        ),
        (
            None,
            format!("client_id={}&scope=openid", uuid::Uuid::nil()),
            401,
            "invalid_client",
        ),
        (
            Some(rs.basic()),
            "scope=openid".into(),
            400,
            "unauthorized_client",
        ),
        (
            Some("Bearer x".into()),
            "scope=openid".into(),
            401,
            "invalid_client",
        ),
    ];
    for (auth, body, status, error) in cases {
        s.form("/v2/oauth2/device_authorization", auth.as_deref(), &body)
            .await
            .oauth_error(status, error);
    }
    let d = start(&s, &device, "openid").await.body;
    let code = d["device_code"].as_str().unwrap();
    // Polls that are not this client's, or not a device code at all.
    poll(&s, &other, code)
        .await
        .oauth_error(400, "invalid_grant");
    let mut altered = code.to_owned().into_bytes();
    altered[10] = if altered[10] == b'x' { b'y' } else { b'x' };
    let altered = String::from_utf8(altered).unwrap();
    for bad in [
        "",
        "tdc_x",
        "tac_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_000000",
        &altered,
    ] {
        let r = poll(&s, &device, bad).await;
        if bad.is_empty() {
            r.oauth_error(400, "invalid_request");
        } else {
            r.oauth_error(400, "invalid_grant");
        }
    }
    poll(&s, &rs, code)
        .await
        .oauth_error(400, "unauthorized_client");
    // None of that counted as a poll of the grant: the device is not told to slow down.
    poll(&s, &device, code)
        .await
        .oauth_error(400, "authorization_pending");
}

#[tokio::test]
async fn the_verification_page_needs_sign_in_and_rate_limits_wrong_codes() {
    let s = TestServer::new().await;
    alice(&s).await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let d = start(&s, &device, "openid").await.body;
    let user_code = d["user_code"].as_str().unwrap().to_owned();
    let mut b = Browser::new(&s);
    // Not signed in: to the sign-in page, which comes back with the code.
    let r = b
        .get(&format!("/v2/web/device?user_code={user_code}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.headers["location"].to_str().unwrap();
    assert!(loc.starts_with("/v2/web/login?next="), "{loc}");
    // The form without a code.
    let form = open_signed_in(&mut b, "/v2/web/device").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("name=\"user_code\""));
    assert!(!form.text.contains("<script"));
    assert_eq!(form.headers["cache-control"], "no-store");
    // Hostile input is a wrong code, shown escaped.
    let hostile = b
        .get("/v2/web/device?user_code=%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert_eq!(hostile.status, StatusCode::BAD_REQUEST);
    assert!(!hostile.text.contains("<script>"));
    // Wrong codes: a few are free, then each must wait.
    let mut limited = false;
    for i in 0..8 {
        let r = b
            .get(&format!(
                "/v2/web/device?user_code=BBBB-BBB{}",
                ["C", "D", "F", "G", "H", "J", "K", "L"][i]
            ))
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            assert!(r.text.contains("Too many wrong codes"));
            break;
        }
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    assert!(limited, "guesses are rate-limited");
    // Even the right code waits now; after the wait it works.
    let r = b
        .get(&format!("/v2/web/device?user_code={user_code}"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    s.clock.advance(120);
    let r = b
        .get(&format!("/v2/web/device?user_code={user_code}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(">Allow</button>"));
    // A forged form (no CSRF token) decides nothing.
    let forged = b
        .post(
            "/v2/web/device",
            &[
                ("request", &user_code),
                ("decision", "allow"),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    poll(&s, &device, d["device_code"].as_str().unwrap())
        .await
        .oauth_error(400, "authorization_pending");
}

#[tokio::test]
async fn discovery_lists_the_device_endpoint_and_grant() {
    let s = TestServer::new().await;
    let d = s.get("/.well-known/openid-configuration", None).await;
    d.ok();
    assert_eq!(
        d.body["device_authorization_endpoint"],
        "http://tessera.test/v2/oauth2/device_authorization"
    );
    assert!(d.body["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(GRANT)));
    assert!(d.body.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn access_type_online_gets_no_refresh_token_and_a_consent_is_remembered_but_asked_again() {
    let s = TestServer::new().await;
    alice(&s).await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let mut b = Browser::new(&s);
    for round in 0..2 {
        let d = s
            .form(
                "/v2/oauth2/device_authorization",
                None,
                &format!(
                    "client_id={}&scope=openid%20email&access_type=online",
                    device.id
                ),
            )
            .await;
        d.ok();
        let user_code = d.body["user_code"].as_str().unwrap();
        let page = open_signed_in(&mut b, &format!("/v2/web/device?user_code={user_code}")).await;
        // RFC 8628 §5.4: the person confirms every device, even for an app allowed before.
        assert!(page.text.contains(">Allow</button>"), "round {round}");
        decide(&mut b, &page, "allow").await;
        let t = poll(&s, &device, d.body["device_code"].as_str().unwrap()).await;
        t.ok();
        assert!(t.body.get("refresh_token").is_none(), "{}", t.body);
    }
    // The consent was recorded once.
    let consents = s
        .state
        .store
        .consents_of(uuid::Uuid::parse_str(&alice_id(&s).await).unwrap())
        .await
        .unwrap();
    assert_eq!(
        consents
            .iter()
            .filter(|c| c.client_id.to_string() == device.id)
            .count(),
        2,
        "openid and email, once each"
    );
}

async fn alice_id(s: &TestServer) -> String {
    s.state
        .store
        .identities_by_usernames(&["alice@example.org".into()])
        .await
        .unwrap()[0]
        .id
        .to_string()
}

#[tokio::test]
async fn a_client_that_needs_another_identity_is_not_approved_by_this_one() {
    let s = TestServer::new().await;
    alice(&s).await;
    let device = s.client("Dev", ClientType::PublicInstalled).await;
    let id = uuid::Uuid::parse_str(&device.id).unwrap();
    let mut c = s.state.store.client(id).await.unwrap().unwrap();
    c.required_idp = Some(uuid::Uuid::from_u128(0x1d9));
    s.state.store.update_client(&c).await.unwrap();
    s.state
        .publish(vec![tessera_store::Change::ClientChanged(id)])
        .await
        .unwrap();
    let d = start(&s, &device, "openid").await.body;
    let mut b = Browser::new(&s);
    let user_code = d["user_code"].as_str().unwrap();
    let page = open_signed_in(&mut b, &format!("/v2/web/device?user_code={user_code}")).await;
    let r = decide(&mut b, &page, "allow").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("Another identity is needed"));
    poll(&s, &device, d["device_code"].as_str().unwrap())
        .await
        .oauth_error(400, "authorization_pending");
}
