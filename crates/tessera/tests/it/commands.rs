//! The operator and client commands against a running server.

use crate::process::{json, run, Server};

#[tokio::test]
async fn admin_and_seed_commands_follow_the_contract() {
    let server = Server::start();
    let alice = json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
            "--name",
            "Alice",
            "--organization",
            "Uni",
        ],
        Some("a long enough password\n"),
    ));
    assert_eq!(alice["username"], "alice@example.org");
    assert_eq!(alice["organization"], "Uni");

    // Bad bootstrap input: clear message, exit 2, nothing created.
    let dup = server.admin(
        &[
            "admin",
            "user",
            "add",
            "ALICE@example.org",
            "--password-stdin",
        ],
        Some("another password\n"),
    );
    assert_eq!(dup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists already"));
    let short = server.admin(
        &[
            "admin",
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert_eq!(short.status.code(), Some(2));
    let bad_uri = server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "x",
            "--native",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    );
    assert_eq!(bad_uri.status.code(), Some(2));
    let native = json(&server.admin(
        &["admin", "client", "add", "--name", "cli", "--native"],
        None,
    ));
    assert!(
        native.get("client_secret").is_none(),
        "native clients have no secret"
    );

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
    let env = |c: &serde_json::Value| as_client(c);
    let with = |c: &serde_json::Value, args: &[&str]| {
        let vars = env(c);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(args, None, None, &pairs)
    };

    let base = json(&with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "base",
            "--name",
            "Base",
            "--description",
            "Base access",
        ],
    ));
    let scope = json(&with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "data",
            "--name",
            "Data",
            "--description",
            "Data access",
            "--dependent-scope",
            base["scope_string"].as_str().unwrap(),
        ],
    ));
    assert!(
        scope.get("scope").is_none(),
        "the bare scope, not an envelope"
    );
    assert_eq!(scope["dependent_scopes"][0]["scope"], base["id"]);
    let missing = with(
        &api,
        &[
            "scope",
            "create",
            "--suffix",
            "x",
            "--name",
            "X",
            "--description",
            "X",
            "--dependent-scope",
            "urn:nope",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));

    let scope_string = scope["scope_string"].as_str().unwrap();
    let got = with(&portal, &["token", "get", scope_string]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let token = String::from_utf8(got.stdout).unwrap().trim().to_owned();

    let check = with(&api, &["token", "check", &token]);
    assert_eq!(check.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        format!(
            "{}@clients.auth.globus.org",
            portal["client_id"].as_str().unwrap()
        )
    );
    let domain = with(
        &api,
        &["token", "check", &token, "--require-domain", "example.org"],
    );
    assert_eq!(domain.status.code(), Some(1));
    assert!(!domain.stderr.is_empty() && domain.stdout.is_empty());

    assert!(with(&portal, &["token", "revoke", &token]).status.success());
    let after = with(&api, &["token", "check", &token]);
    assert_eq!(after.status.code(), Some(1));

    let unset = run(&["token", "get", "openid"], None, None, &[]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("TESSERA_AUTH_URL"));
}
