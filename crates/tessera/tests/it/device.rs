//! The device flow and dynamic registration through the real binary: an operator's initial
//! access token, a device client registered with it, a person approving on the verification
//! page, and (on two PostgreSQL nodes) polls racing to redeem one approval.

use crate::cluster::Db;
use crate::commands::{hidden, Browser};
use crate::process::{json, Server};
use serde_json::{json, Value};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PASSWORD: &str = "a long enough password";

async fn post_form(http: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http.post(url).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Signs in on the verification page with the code and allows the device.
async fn approve(base: &str, user_code: &str, username: &str) {
    let mut b = Browser::new(base);
    let (_, page) = b
        .open(&format!("/v2/web/device?user_code={user_code}"))
        .await;
    let (csrf, next) = (hidden(&page, "csrf"), hidden(&page, "next"));
    let (_, page) = b
        .submit(
            "/v2/web/login",
            &[
                ("csrf", &csrf),
                ("request", ""),
                ("next", &next),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(page.contains(">Allow</button>"), "{page}");
    assert!(page.contains(user_code), "{page}");
    let (csrf, request) = (hidden(&page, "csrf"), hidden(&page, "request"));
    let (_, done) = b
        .submit(
            "/v2/web/device",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert!(done.contains("Device connected"), "{done}");
}

/// Registers a public device client at `base` (with `initial` as Bearer when given).
async fn register_device_client(
    http: &reqwest::Client,
    base: &str,
    initial: Option<&str>,
) -> (u16, Value) {
    let mut r = http.post(format!("{base}/v2/oauth2/register")).json(
        &json!({"client_name": "DAQ host", "token_endpoint_auth_method": "none",
                      "grant_types": [GRANT, "refresh_token"]}),
    );
    if let Some(t) = initial {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_device_registered_with_an_initial_access_token_is_approved_in_a_browser() {
    let server = Server::start_flags(&["--registration", "token"]);
    let base = server.url.trim_end_matches('/').to_owned();
    server.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let http = reqwest::Client::new();
    let d: Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["registration_endpoint"],
        format!("{base}/v2/oauth2/register")
    );
    assert_eq!(
        d["device_authorization_endpoint"],
        format!("{base}/v2/oauth2/device_authorization")
    );

    // Without the operator's token: 401.
    let (status, body) = register_device_client(&http, &base, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let iat = json(&server.admin(
        &["admin", "registration-token", "create", "--uses", "1"],
        None,
    ));
    let iat = iat["initial_access_token"].as_str().unwrap().to_owned();
    assert!(iat.starts_with("tia_"));
    let (status, client) = register_device_client(&http, &base, Some(&iat)).await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();

    let (status, da) = post_form(
        &http,
        format!("{base}/v2/oauth2/device_authorization"),
        &[("client_id", &client_id), ("scope", "openid email")],
    )
    .await;
    assert_eq!(status, 200, "{da}");
    let device_code = da["device_code"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", GRANT),
        ("device_code", device_code.as_str()),
        ("client_id", client_id.as_str()),
    ];
    let poll = || post_form(&http, format!("{base}/v2/oauth2/token"), &form);
    let (status, pending) = poll().await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    approve(
        &base,
        da["user_code"].as_str().unwrap(),
        "alice@example.org",
    )
    .await;
    let (status, tokens) = poll().await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string());
    assert!(tokens["refresh_token"].is_string());
    let (status, again) = poll().await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The refresh token works as any other.
    let (status, refreshed) = post_form(
        &http,
        format!("{base}/v2/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
}

/// Two nodes on one PostgreSQL database, many polls at once on both after one approval:
/// exactly one gets tokens (`UPDATE … WHERE state = 'approved' RETURNING` claims the grant).
#[tokio::test]
async fn cluster_two_nodes_racing_redeem_an_approved_device_code_once() {
    let Some(db) = Db::fresh("cluster_two_nodes_racing_redeem_an_approved_device_code_once").await
    else {
        return;
    };
    let a = Server::start_pg(&db.url, &["--registration", "open"]);
    let b = Server::start_pg(&db.url, &["--registration", "open"]);
    a.admin(
        &[
            "admin",
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let (url_a, url_b) = (
        a.url.trim_end_matches('/').to_owned(),
        b.url.trim_end_matches('/').to_owned(),
    );
    let http = reqwest::Client::new();
    let (_, client) = register_device_client(&http, &url_a, None).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    for round in 0..3 {
        // Started on node b, approved on node a, redeemed by both at once.
        let (status, da) = post_form(
            &http,
            format!("{url_b}/v2/oauth2/device_authorization"),
            &[("client_id", &client_id), ("scope", "openid")],
        )
        .await;
        assert_eq!(status, 200, "{da}");
        approve(&url_a, da["user_code"].as_str().unwrap(), "bob@example.org").await;
        let device_code = da["device_code"].as_str().unwrap().to_owned();
        let polls = (0..16).map(|i| {
            let http = http.clone();
            let url = if i % 2 == 0 {
                url_a.clone()
            } else {
                url_b.clone()
            };
            let (code, id) = (device_code.clone(), client_id.clone());
            tokio::spawn(async move {
                post_form(
                    &http,
                    format!("{url}/v2/oauth2/token"),
                    &[
                        ("grant_type", GRANT),
                        ("device_code", &code),
                        ("client_id", &id),
                    ],
                )
                .await
            })
        });
        let mut won = 0;
        for p in polls.collect::<Vec<_>>() {
            let (status, body) = p.await.unwrap();
            match status {
                200 => won += 1,
                400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
                other => panic!("round {round}: status {other}: {body}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one poll redeems the grant");
    }
    drop((a, b));
    db.drop_db().await;
}
