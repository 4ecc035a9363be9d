//! Client FQDNs verified through a real DNS server on loopback (spec §1.1, §4).

use crate::dns_server::{silent, DnsServer, Zone};
use crate::harness::{Client, Reply, TestServer};
use axum::http::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tessera_core::client::ClientType;

async fn server(dns: &DnsServer) -> TestServer {
    let addr = dns.addr;
    TestServer::with_config(|c| c.dns_resolver = Some(addr)).await
}

async fn add(s: &TestServer, target: &Client, caller: Option<&Client>, body: Value) -> Reply {
    s.json(
        Method::POST,
        &format!("/v2/api/clients/{}/fqdns", target.id),
        caller.map(Client::basic).as_deref(),
        Some(body),
    )
    .await
}

async fn fqdns_of(s: &TestServer, c: &Client) -> Value {
    let r = s
        .get(&format!("/v2/api/clients/{}", c.id), Some(&c.basic()))
        .await;
    r.ok();
    r.body["client"]["fqdns"].clone()
}

/// A client-credentials token response for `scope`.
async fn cc_token(s: &TestServer, c: &Client, scope: &str) -> Value {
    let body =
        serde_urlencoded::to_string([("grant_type", "client_credentials"), ("scope", scope)])
            .unwrap();
    let r = s.form("/v2/oauth2/token", Some(&c.basic()), &body).await;
    r.ok();
    r.body
}

#[tokio::test]
async fn a_verified_fqdn_names_the_resource_server_and_the_new_scopes() {
    let dns = DnsServer::start().await;
    let s = server(&dns).await;
    let api = s.client("api", ClientType::Confidential).await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let old = s.scope(&api, "old").await;
    let old_string = old["scope_string"].as_str().unwrap().to_owned();
    assert_eq!(
        old_string,
        format!("https://auth.globus.org/scopes/{}/old", api.id)
    );
    // A token issued before the FQDN: its audience is the client id.
    let before = cc_token(&s, &portal, &old_string).await;
    assert_eq!(before["resource_server"], api.id.as_str());

    dns.txt("api.example.org", &["v=spf1 -all", &api.id]);
    let r = add(&s, &api, Some(&api), json!({"fqdn": "API.Example.org."})).await;
    r.ok();
    assert_eq!(r.body["client"]["id"], api.id.as_str());
    assert_eq!(r.body["client"]["fqdns"], json!(["api.example.org"]));
    assert_eq!(r.body["client"]["scopes"], json!([old["id"]]));
    assert_eq!(dns.queries(), ["api.example.org"]);
    // Asking again changes nothing and asks DNS nothing.
    add(&s, &api, Some(&api), json!({"fqdn": "api.example.org"}))
        .await
        .ok();
    assert_eq!(dns.queries().len(), 1);

    // New scopes get the URN form; tokens for them name the FQDN.
    let all = s.scope(&api, "all").await;
    assert_eq!(
        all["scope_string"],
        "urn:globus:auth:scope:api.example.org:all"
    );
    let t = cc_token(&s, &portal, "urn:globus:auth:scope:api.example.org:all").await;
    assert_eq!(t["resource_server"], "api.example.org");
    assert_eq!(t["scope"], "urn:globus:auth:scope:api.example.org:all");
    let seen = s
        .introspect(&api, t["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["active"], true);
    let aud = seen["aud"].as_array().unwrap();
    assert!(aud.contains(&json!("api.example.org")), "{seen}");
    assert!(aud.contains(&json!(api.id)), "{seen}");

    // The scope from before keeps its string, moves to the FQDN resource server, and is also
    // known by the FQDN forms; tokens carry its own string.
    let t = cc_token(&s, &portal, &old_string).await;
    assert_eq!(t["resource_server"], "api.example.org");
    for alias in [
        "urn:globus:auth:scope:api.example.org:old",
        "https://auth.globus.org/scopes/api.example.org/old",
    ] {
        let t = cc_token(&s, &portal, alias).await;
        assert_eq!(t["scope"], old_string.as_str(), "{alias}");
    }
    let t = cc_token(
        &s,
        &portal,
        "https://auth.globus.org/scopes/api.example.org/all",
    )
    .await;
    assert_eq!(t["scope"], "urn:globus:auth:scope:api.example.org:all");
    let found = s
        .get(
            "/v2/api/scopes?scope_strings=urn:globus:auth:scope:api.example.org:old",
            Some(&portal.basic()),
        )
        .await;
    assert_eq!(found.body["scopes"][0]["scope_string"], old_string.as_str());
    // A suffix the client used before the FQDN cannot be created again in the URN form.
    let dup = json!({"scope": {"name": "N", "description": "D", "scope_suffix": "old"}});
    s.json(
        Method::POST,
        &format!("/v2/api/clients/{}/scopes", api.id),
        Some(&api.basic()),
        Some(dup),
    )
    .await
    .api_error(409, "CONFLICT");
    // The token issued before still reaches its audience.
    let seen = s
        .introspect(&api, before["access_token"].as_str().unwrap())
        .await;
    assert_eq!(seen["active"], true, "{seen}");

    // Found by FQDN: singular, even on the list path (spec §4).
    let r = s
        .get("/v2/api/clients?fqdn=api.example.org", Some(&api.basic()))
        .await;
    r.ok();
    assert_eq!(r.body["client"]["id"], api.id.as_str());
    s.get(
        "/v2/api/clients?fqdn=api.example.org",
        Some(&portal.basic()),
    )
    .await
    .api_error(403, "FORBIDDEN");
    s.get(
        "/v2/api/clients?fqdn=nobody.example.org",
        Some(&api.basic()),
    )
    .await
    .api_error(404, "NOT_FOUND");
    let r = s.get("/v2/api/clients", Some(&api.basic())).await;
    r.ok();
    assert_eq!(r.body["clients"][0]["id"], api.id.as_str());
}

#[tokio::test]
async fn unproven_or_taken_fqdns_are_refused_with_clear_errors() {
    let dns = DnsServer::start().await;
    let s = server(&dns).await;
    let api = s.client("api", ClientType::Confidential).await;
    let other = s.client("other", ClientType::Confidential).await;
    dns.txt("empty.example.org", &[]);
    dns.txt("wrong.example.org", &["v=spf1 -all", &other.id]);
    dns.txt("taken.example.org", &[&api.id, &other.id]);
    dns.txt("transfer.api.globus.org", &[&api.id]);
    dns.set("broken.example.org", Zone::ServFail);
    add(
        &s,
        &other,
        Some(&other),
        json!({"fqdn": "taken.example.org"}),
    )
    .await
    .ok();

    // (what, caller, body, status, code, words in the detail)
    type Case<'a> = (&'a str, Option<&'a Client>, Value, u16, &'a str, &'a str);
    let table: Vec<Case> = vec![
        (
            "no TXT record",
            Some(&api),
            json!({"fqdn": "empty.example.org"}),
            400,
            "FQDN_NOT_VERIFIED",
            "has no TXT record",
        ),
        (
            "NXDOMAIN",
            Some(&api),
            json!({"fqdn": "nowhere.example.org"}),
            400,
            "FQDN_NOT_VERIFIED",
            "NXDOMAIN",
        ),
        (
            "another client's id",
            Some(&api),
            json!({"fqdn": "wrong.example.org"}),
            400,
            "FQDN_NOT_VERIFIED",
            "none of the 2 TXT records",
        ),
        (
            "owned by another client",
            Some(&api),
            json!({"fqdn": "taken.example.org"}),
            409,
            "CONFLICT",
            "registered to another client",
        ),
        (
            "a seeded resource server",
            Some(&api),
            json!({"fqdn": "transfer.api.globus.org"}),
            409,
            "CONFLICT",
            "resource-server name",
        ),
        (
            "SERVFAIL",
            Some(&api),
            json!({"fqdn": "broken.example.org"}),
            503,
            "SERVICE_UNAVAILABLE",
            "try again",
        ),
        (
            "bad syntax",
            Some(&api),
            json!({"fqdn": "not a domain"}),
            400,
            "BAD_REQUEST",
            "not a valid FQDN",
        ),
        (
            "an IP address",
            Some(&api),
            json!({"fqdn": "10.0.0.1"}),
            400,
            "BAD_REQUEST",
            "not a valid FQDN",
        ),
        (
            "malformed body",
            Some(&api),
            json!({"name": "api.example.org"}),
            400,
            "BAD_REQUEST",
            "",
        ),
        (
            "fqdn not a string",
            Some(&api),
            json!({"fqdn": 7}),
            400,
            "BAD_REQUEST",
            "",
        ),
        (
            "no credentials",
            None,
            json!({"fqdn": "taken.example.org"}),
            401,
            "UNAUTHORIZED",
            "",
        ),
    ];
    for (what, caller, body, status, code, detail) in table {
        let r = add(&s, &api, caller, body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{what}: {}", r.body);
        let said = r.body["errors"][0]["detail"].as_str().unwrap_or("");
        assert!(said.contains(detail), "{what}: {said}");
        if status == 503 {
            assert_eq!(r.headers["retry-after"], "5", "{what}");
        }
    }
    // Another client may not register names for api.
    dns.txt("api.example.org", &[&api.id]);
    add(&s, &api, Some(&other), json!({"fqdn": "api.example.org"}))
        .await
        .api_error(403, "FORBIDDEN");
    // Bad syntax and refusals before the lookup never reach DNS (taken.example.org was
    // asked once, when `other` proved it).
    let asked = dns.queries();
    for (name, times) in [
        ("not a domain", 0),
        ("10.0.0.1", 0),
        ("taken.example.org", 1),
        ("transfer.api.globus.org", 0),
    ] {
        assert_eq!(
            asked.iter().filter(|q| *q == name).count(),
            times,
            "{name}: {asked:?}"
        );
    }
    assert_eq!(fqdns_of(&s, &api).await, json!([]));

    // Nothing is cached: the record added after a refusal counts at once.
    dns.txt("empty.example.org", &[&api.id]);
    let r = add(&s, &api, Some(&api), json!({"fqdn": "empty.example.org"})).await;
    r.ok();
    assert_eq!(fqdns_of(&s, &api).await, json!(["empty.example.org"]));
}

#[tokio::test]
async fn a_dns_timeout_is_a_503_with_a_message() {
    let (_socket, addr) = silent().await;
    let s = TestServer::with_config(|c| {
        c.dns_resolver = Some(addr);
        c.dns_timeout = Duration::from_millis(200);
    })
    .await;
    let api = s.client("api", ClientType::Confidential).await;
    let started = Instant::now();
    let r = add(&s, &api, Some(&api), json!({"fqdn": "api.example.org"})).await;
    r.api_error(503, "SERVICE_UNAVAILABLE");
    let said = r.body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        said.contains("DNS lookup of api.example.org timed out"),
        "{said}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fqdns_of(&s, &api).await, json!([]));
}

async fn del(s: &TestServer, target: &Client, name: &str, caller: &Client) -> Reply {
    let path = format!("/v2/api/clients/{}/fqdns/{name}", target.id);
    s.json(Method::DELETE, &path, Some(&caller.basic()), None)
        .await
}

#[tokio::test]
async fn the_fqdn_in_use_stays_while_the_client_owns_scopes() {
    let dns = DnsServer::start().await;
    let s = server(&dns).await;
    let api = s.client("api", ClientType::Confidential).await;
    let other = s.client("other", ClientType::Confidential).await;
    dns.txt("a.example.org", &[&api.id]);
    dns.txt("b.example.org", &[&api.id]);
    for name in ["a.example.org", "b.example.org"] {
        add(&s, &api, Some(&api), json!({"fqdn": name})).await.ok();
    }
    assert_eq!(
        fqdns_of(&s, &api).await,
        json!(["a.example.org", "b.example.org"])
    );
    let scope = s.scope(&api, "all").await;
    assert_eq!(
        scope["scope_string"],
        "urn:globus:auth:scope:a.example.org:all"
    );
    del(&s, &api, "a.example.org", &api)
        .await
        .api_error(409, "CONFLICT");
    del(&s, &api, "b.example.org", &other)
        .await
        .api_error(403, "FORBIDDEN");
    del(&s, &api, "c.example.org", &api)
        .await
        .api_error(404, "NOT_FOUND");
    let r = del(&s, &api, "b.example.org", &api).await;
    r.ok();
    assert_eq!(r.body["client"]["fqdns"], json!(["a.example.org"]));
    // Without scopes the last name can go, and the id names the resource server again.
    s.json(
        Method::DELETE,
        &format!("/v2/api/scopes/{}", scope["id"].as_str().unwrap()),
        Some(&api.basic()),
        None,
    )
    .await
    .ok();
    let r = del(&s, &api, "a.example.org", &api).await;
    r.ok();
    assert_eq!(r.body["client"]["fqdns"], json!([]));
    let again = s.scope(&api, "all").await;
    assert_eq!(
        again["scope_string"],
        format!("https://auth.globus.org/scopes/{}/all", api.id)
    );
    // A freed name may be proven by another client.
    dns.txt("a.example.org", &[&other.id]);
    add(&s, &other, Some(&other), json!({"fqdn": "a.example.org"}))
        .await
        .ok();
}
