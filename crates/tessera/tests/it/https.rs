//! HTTPS access to an endpoint through the real binary: the endpoint registered with
//! `tessera admin endpoint add` (another process) gets its `https` scope, a client obtains a
//! token for it over HTTP, and reads, writes and deletes files with plain HTTP requests; a
//! signed link reads without a token; `admin endpoint remove` takes the scope away.

use crate::process::{json, Server};
use reqwest::StatusCode;

async fn token(url: &str, id: &str, secret: &str, scope: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/v2/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

async fn access_token(url: &str, id: &str, secret: &str, scope: &str) -> String {
    let r: serde_json::Value = token(url, id, secret, scope).await.json().await.unwrap();
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

#[tokio::test]
async fn files_over_https_with_a_token_for_the_endpoints_scope_and_a_signed_link() {
    let root = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..(8u32 << 20)).map(|i| (i % 249) as u8).collect();
    std::fs::create_dir(root.path().join("data")).unwrap();
    std::fs::write(root.path().join("data/big.bin"), &content).unwrap();
    let server = Server::start();
    let client = |name: &str| {
        let c = json(&server.admin(
            &["admin", "client", "add", "--name", name, "--confidential"],
            None,
        ));
        (
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        )
    };
    let (owner, owner_secret) = client("owner");
    let (other, other_secret) = client("other");
    let endpoint = json(&server.admin(
        &[
            "admin",
            "endpoint",
            "add",
            "--name",
            "files",
            "--path",
            &root.path().display().to_string(),
            "--owner",
            &owner,
        ],
        None,
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scope = format!("https://auth.globus.org/scopes/{endpoint}/https");
    let url = &server.url;
    let http = reqwest::Client::new();

    // The endpoint document names the base; a token for the scope made by another process.
    let transfer = access_token(
        url,
        &owner,
        &owner_secret,
        "urn:globus:auth:scope:transfer.api.globus.org:all",
    )
    .await;
    let doc: serde_json::Value = http
        .get(format!("{url}/v0.10/endpoint/{endpoint}"))
        .bearer_auth(&transfer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = doc["https_server"].as_str().unwrap().to_owned();
    assert_eq!(base, format!("{url}/https/{endpoint}"));
    let t = access_token(url, &owner, &owner_secret, &scope).await;

    let r = http
        .get(format!("{base}/data/big.bin"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(content.len() as u64));
    assert!(r.bytes().await.unwrap() == content);
    let r = http
        .get(format!("{base}/data/big.bin"))
        .bearer_auth(&t)
        .header("range", "bytes=1000000-1000099")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert!(r.bytes().await.unwrap() == content[1_000_000..1_000_100]);

    let put = http
        .put(format!("{base}/data/up.txt"))
        .bearer_auth(&t)
        .body("uploaded")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(
        std::fs::read(root.path().join("data/up.txt")).unwrap(),
        b"uploaded"
    );
    let del = http
        .delete(format!("{base}/data/up.txt"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    assert!(!root.path().join("data/up.txt").exists());

    // Another client: a token for the scope, but no permission; a Transfer token: wrong scope.
    let theirs = access_token(url, &other, &other_secret, &scope).await;
    let r = http
        .get(format!("{base}/data/big.bin"))
        .bearer_auth(&theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .get(format!("{base}/data/big.bin"))
        .bearer_auth(&transfer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .get(format!("{base}/data/big.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    // A signed link: no token needed, for one file.
    let link: serde_json::Value = http
        .post(format!("{url}/v0.10/endpoint/{endpoint}/https_link"))
        .bearer_auth(&transfer)
        .json(&serde_json::json!({"path": "/data/big.bin", "expires_in": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = link["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{link}"))
        .to_owned();
    assert!(
        link.starts_with(&format!("{base}/data/big.bin?sig=")),
        "{link}"
    );
    let r = http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), content.len());
    let r = http
        .get(link.replace("big.bin", "up.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The scope is Transfer's; removing the endpoint removes it (read from the database: a
    // serving SQLite node hears of another process's write only at its next scope change, and
    // a token for a removed endpoint's scope reaches nothing).
    let scopes = |url: String| {
        let (http, owner, owner_secret) = (http.clone(), owner.clone(), owner_secret.clone());
        async move {
            let r: serde_json::Value = http
                .get(url)
                .basic_auth(owner, Some(owner_secret))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["scopes"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| panic!("{r}"))
        }
    };
    let query = format!("{url}/v2/api/scopes?scope_strings={scope}");
    let found = scopes(query.clone()).await;
    assert_eq!(found.len(), 1);
    let transfer_rs = tessera_core::seed::derived_id("client", "transfer.api.globus.org");
    assert_eq!(found[0]["client"], transfer_rs.to_string().as_str());
    server.admin(&["admin", "endpoint", "remove", &endpoint], None);
    assert!(scopes(query).await.is_empty());
    let r = http
        .get(format!("{base}/data/big.bin"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
