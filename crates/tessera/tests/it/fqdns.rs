//! `tessera client fqdn add` against `tessera serve --dns-resolver` and a DNS server the test
//! runs on loopback.

use crate::dns_server::DnsServer;
use crate::process::{json, run, Server};

// Multi-threaded: the DNS server answers while the test blocks on a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_proves_its_fqdn_through_the_configured_resolver() {
    let dns = DnsServer::start().await;
    let resolver = dns.addr.to_string();
    let server = Server::start_flags(&["--dns-resolver", &resolver]);
    let api = json(&server.admin(
        &["admin", "client", "add", "--name", "api", "--confidential"],
        None,
    ));
    let portal = json(&server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "portal",
            "--confidential",
        ],
        None,
    ));
    let id = api["client_id"].as_str().unwrap().to_owned();
    let as_client = |c: &serde_json::Value| {
        vec![
            ("TESSERA_AUTH_URL", server.url.clone()),
            (
                "TESSERA_CLIENT_ID",
                c["client_id"].as_str().unwrap().to_owned(),
            ),
            (
                "TESSERA_CLIENT_SECRET",
                c["client_secret"].as_str().unwrap().to_owned(),
            ),
        ]
    };
    let with = |c: &serde_json::Value, args: &[&str]| {
        let vars = as_client(c);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, None, None, &pairs)
    };

    // No record yet: a clear refusal, exit 2.
    let refused = with(&api, &["client", "fqdn", "add", "api.example.org"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("HTTP 400: FQDN_NOT_VERIFIED") && said.contains("NXDOMAIN"),
        "{said}"
    );

    dns.txt("api.example.org", &[&id]);
    let client = json(&with(&api, &["client", "fqdn", "add", "api.example.org"]));
    assert_eq!(client["id"], id.as_str());
    assert_eq!(client["fqdns"], serde_json::json!(["api.example.org"]));
    assert!(dns.queries().iter().all(|q| q == "api.example.org"));

    let scope = json(&with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "all",
            "--name",
            "All",
            "--description",
            "Everything",
        ],
    ));
    assert_eq!(
        scope["scope_string"],
        "urn:globus:auth:scope:api.example.org:all"
    );
    let token = with(
        &portal,
        &["token", "get", "urn:globus:auth:scope:api.example.org:all"],
    );
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    // The resource server introspects it: the FQDN is its audience.
    let http = reqwest::Client::new();
    let seen: serde_json::Value = http
        .post(format!("{}/v2/oauth2/token/introspect", server.url))
        .basic_auth(&id, api["client_secret"].as_str())
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["active"], true, "{seen}");
    assert!(
        seen["aud"]
            .as_array()
            .unwrap()
            .contains(&"api.example.org".into()),
        "{seen}"
    );

    // The name in use stays while the scope exists.
    let kept = with(&api, &["client", "fqdn", "remove", "api.example.org"]);
    assert_eq!(kept.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&kept.stderr).contains("HTTP 409"));
}
