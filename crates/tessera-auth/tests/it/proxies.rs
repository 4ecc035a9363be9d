//! The client's address behind reverse proxies: forwarding headers are believed only from a
//! `trusted_proxies` peer, for the sign-in throttle and the audit log alike.

use crate::browser::Browser;
use crate::harness::TestServer;
use crate::observe::audit_log;
use axum::http::StatusCode;
use std::net::SocketAddr;
use tessera_auth::client_addr::TrustedProxies;

/// The throttle lets this many failures through per address (`service::throttle`).
const FREE_ADDRESS_FAILURES: usize = 20;

async fn behind(proxies: &[&str]) -> TestServer {
    let proxies = TrustedProxies::parse(proxies).unwrap();
    TestServer::with_config(|c| c.trusted_proxies = proxies).await
}

/// A failed sign-in as a fresh username (so only the per-address throttle can bite) from `peer`
/// with the forwarding header `header: value`.
async fn fail(s: &TestServer, n: usize, peer: &str, header: (&'static str, String)) -> StatusCode {
    let mut b = Browser::new(s);
    b.peer = Some(peer.parse::<SocketAddr>().unwrap());
    b.headers.push(header);
    let page = b.get("/v2/web/login").await;
    b.sign_in(&page, &format!("guess{n}@example.org"), "not-the-password")
        .await
        .status
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_address_throttle() {
    let s = behind(&["10.0.0.0/8"]).await;
    let attacker = "198.51.100.4:40000";
    for n in 0..FREE_ADDRESS_FAILURES {
        // A new address claimed every time, in both headers.
        let header = if n % 2 == 0 {
            ("x-forwarded-for", format!("203.0.113.{n}"))
        } else {
            ("forwarded", format!("for=203.0.113.{n}"))
        };
        let status = fail(&s, n, attacker, header).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "attempt {n}");
    }
    let status = fail(&s, 99, attacker, ("x-forwarded-for", "203.0.113.99".into())).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the claimed addresses are ignored: all of it came from one peer"
    );
    let log = audit_log(&s).await;
    assert!(!log.is_empty());
    for r in &log {
        assert_eq!(
            r.event.remote_addr.as_deref(),
            Some("198.51.100.4"),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_throttle_and_audit_address() {
    let s = behind(&["10.0.0.0/8"]).await;
    let proxy = "10.0.0.1:50000";
    // The client prepends a claim of its own; the proxy appends the address it saw.
    let guesser = || ("x-forwarded-for", "192.0.2.200, 203.0.113.7".to_owned());
    for n in 0..FREE_ADDRESS_FAILURES {
        assert_ne!(
            fail(&s, n, proxy, guesser()).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        fail(&s, 98, proxy, guesser()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is throttled by the address the proxy saw"
    );
    for other in [
        ("x-forwarded-for", "203.0.113.8".to_owned()),
        (
            "forwarded",
            "for=\"[2001:db8::8]:4711\";proto=https".to_owned(),
        ),
    ] {
        assert_ne!(
            fail(&s, 99, proxy, other.clone()).await,
            StatusCode::TOO_MANY_REQUESTS,
            "another client behind the same proxy is not: {other:?}"
        );
    }
    // Garbage from the proxy: the proxy itself is the client, never an error.
    assert_ne!(
        fail(&s, 100, proxy, ("x-forwarded-for", "not an address".into())).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let addresses: Vec<_> = audit_log(&s)
        .await
        .into_iter()
        .filter(|r| r.event.event == "sign_in_failed")
        .map(|r| r.event.remote_addr.unwrap_or_default())
        .collect();
    assert_eq!(
        addresses.iter().filter(|a| *a == "203.0.113.7").count(),
        FREE_ADDRESS_FAILURES + 1
    );
    for want in ["203.0.113.8", "2001:db8::8", "10.0.0.1"] {
        assert!(
            addresses.iter().any(|a| a == want),
            "{want} in {addresses:?}"
        );
    }
    assert!(
        !addresses.iter().any(|a| a == "192.0.2.200"),
        "the client's own claim"
    );
}
