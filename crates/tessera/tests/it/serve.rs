//! The server over real HTTP.

use crate::process::{json, Server};

#[tokio::test]
async fn a_client_gets_checks_and_revokes_a_token_over_http_then_sigterm_stops_it() {
    let mut server = Server::start();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

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
    let (id, secret) = (
        portal["client_id"].as_str().unwrap(),
        portal["client_secret"].as_str().unwrap(),
    );

    let r: serde_json::Value = http
        .post(format!("{}/v2/oauth2/token", server.url))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid profile"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"].as_str().unwrap();
    assert!(token.starts_with("tat_"));

    let introspect = |t: String| {
        let http = http.clone();
        let url = format!("{}/v2/oauth2/token/introspect", server.url);
        let (id, secret) = (id.to_owned(), secret.to_owned());
        async move {
            http.post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", t)])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(introspect(token.to_owned()).await["active"], true);
    let revoked = http
        .post(format!("{}/v2/oauth2/token/revoke", server.url))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(token.to_owned()).await,
        serde_json::json!({"active": false})
    );

    assert!(server.terminate().success(), "SIGTERM is a clean stop");
}

async fn cc_token(http: &reqwest::Client, url: &str, id: &str, secret: &str) -> String {
    let r: serde_json::Value = http
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tokens_and_keys_survive_a_restart_and_a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(dir.path());
    let http = reqwest::Client::new();
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
    let (id, secret) = (
        portal["client_id"].as_str().unwrap(),
        portal["client_secret"].as_str().unwrap(),
    );
    let jwks = |url: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/jwk.json"))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let keys_before = jwks(server.url.clone()).await;
    let token = cc_token(&http, &server.url, id, secret).await;

    // A second server on the same directory must refuse to start, and say why.
    let second = crate::process::run(
        &["serve", "--listen", "127.0.0.1:0"],
        Some(dir.path()),
        None,
        &[],
    );
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another `tessera serve`"));

    assert!(server.terminate().success());
    let server = Server::start_in(dir.path());
    assert_eq!(
        jwks(server.url.clone()).await,
        keys_before,
        "the signing key is kept, not regenerated"
    );
    let r: serde_json::Value = http
        .post(format!("{}/v2/oauth2/token/introspect", server.url))
        .basic_auth(id, Some(secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["active"], true,
        "an acknowledged token survives a restart"
    );
}

#[tokio::test]
async fn the_master_key_is_made_private_and_an_operator_rotation_reaches_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(dir.path());
    let key_file = dir.path().join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner reads the master key");
    }
    let http = reqwest::Client::new();
    let kids = |url: String| {
        let http = http.clone();
        async move {
            let jwks: serde_json::Value = http
                .get(format!("{url}/jwk.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let before = kids(server.url.clone()).await;
    assert_eq!(before.len(), 2, "an RSA key and an access-token key");

    let listed = json(&server.admin(&["admin", "keys", "list"], None));
    assert_eq!(listed["keys"][0]["state"], "current");
    let rotated = json(&server.admin(&["admin", "keys", "rotate"], None));
    let added: Vec<String> = rotated["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(added.len(), 2);
    assert!(rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["state"] == "next"));
    // The server picks the rotation up by polling; the new keys come after the current ones.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let now = kids(server.url.clone()).await;
        if now.len() == 4 {
            assert_eq!(
                now[0], before[0],
                "the signing key stays keys[0] until the next signs"
            );
            assert_eq!(now[1], added[0]);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rotation never showed: {now:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(server.terminate().success());
}
