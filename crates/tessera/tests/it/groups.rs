//! The Groups API v2 on the `tessera serve` listener: errors and hostile input (SQLite), and a
//! removal seen by a second node at once (two nodes on PostgreSQL).

use crate::cluster::{Cluster, Db};
use crate::process::{json, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ALL: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
const VIEW: &str = "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships";

struct Robot {
    id: String,
    secret: String,
}

fn robot(server: &Server, name: &str) -> Robot {
    let out = json(&server.admin(
        &["admin", "client", "add", "--name", name, "--confidential"],
        None,
    ));
    Robot {
        id: out["client_id"].as_str().unwrap().to_owned(),
        secret: out["client_secret"].as_str().unwrap().to_owned(),
    }
}

async fn token(http: &reqwest::Client, server: &Server, who: &Robot, scope: &str) -> String {
    let r = http
        .post(format!("{}/v2/oauth2/token", server.url))
        .basic_auth(&who.id, Some(&who.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// `(status, body)` of a Groups call; `body` is a JSON string sent as it is.
async fn call(
    http: &reqwest::Client,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = http.request(method, format!("{}{path}", server.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn ids(groups: &Value) -> Vec<String> {
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn groups_refuse_bad_tokens_and_hostile_input_and_change_nothing() {
    use reqwest::Method;
    let server = Server::start();
    let http = reqwest::Client::new();
    let (one, two) = (robot(&server, "one"), robot(&server, "two"));
    let t1 = token(&http, &server, &one, ALL).await;
    let t2 = token(&http, &server, &two, ALL).await;
    let view = token(&http, &server, &two, VIEW).await;
    let auth_token = token(&http, &server, &one, "openid").await;

    // Tokens: none, junk, another resource server's.
    for (t, code) in [
        (None, "AUTHENTICATION_ERROR"),
        (Some("junk.junk"), "INVALID_TOKEN"),
        (Some("nonsense"), "INVALID_TOKEN"),
        (Some(auth_token.as_str()), "INVALID_TOKEN"),
    ] {
        let (s, b) = call(&http, &server, Method::GET, "/v2/groups/my_groups", t, None).await;
        assert_eq!((s, b["code"].as_str()), (401, Some(code)), "{b}");
        assert!(b.get("authorization_parameters").is_none());
    }

    let (s, g) = call(
        &http,
        &server,
        Method::POST,
        "/v2/groups",
        Some(&t1),
        Some(r#"{"name": "Lab"}"#),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/groups/{gid}");

    // Visibility: private to non-members; unknown and malformed ids are 404.
    let (s, b) = call(&http, &server, Method::GET, &path, Some(&t2), None).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("FORBIDDEN")));
    for bad in [
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".into(),
        "..%2F..%2Fetc".into(),
    ] {
        let (s, b) = call(
            &http,
            &server,
            Method::GET,
            &format!("/v2/groups/{bad}"),
            Some(&t1),
            None,
        )
        .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{bad}: {b}"
        );
    }

    // A view-only token reads but does not write.
    let (s, _) = call(
        &http,
        &server,
        Method::GET,
        "/v2/groups/my_groups",
        Some(&view),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &http,
        &server,
        Method::POST,
        "/v2/groups",
        Some(&view),
        Some(r#"{"name": "x"}"#),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("FORBIDDEN")));
    assert!(b["provided_scopes"].is_array());

    // Hostile or malformed bodies: 4xx with a code, never 5xx, and nothing changes.
    let add_two = format!(r#"{{"add": [{{"identity_id": "{}"}}]}}"#, two.id);
    let huge_name = format!(r#"{{"name": "{}"}}"#, "x".repeat(300));
    let cases: Vec<(Method, String, String)> = vec![
        (Method::POST, path.clone(), r#"{"add": ["#.into()),
        (Method::POST, path.clone(), "[]".into()),
        (Method::POST, path.clone(), r#"{"promote": []}"#.into()),
        (
            Method::POST,
            path.clone(),
            format!(
                r#"{{"add": [{{"identity_id": "{}", "role": "owner"}}]}}"#,
                two.id
            ),
        ),
        (
            Method::POST,
            path.clone(),
            r#"{"add": [{"identity_id": "'; DROP TABLE groups; --"}]}"#.into(),
        ),
        (Method::POST, "/v2/groups".into(), huge_name),
        (
            Method::POST,
            "/v2/groups".into(),
            r#"{"name": "  "}"#.into(),
        ),
        (
            Method::POST,
            "/v2/groups".into(),
            format!(
                r#"{{"name": "s", "parent_id": "{}"}}"#,
                uuid::Uuid::new_v4()
            ),
        ),
        (
            Method::PUT,
            format!("{path}/policies"),
            r#"{"group_visibility": "everyone"}"#.into(),
        ),
        (
            Method::PUT,
            format!("{path}/policies"),
            r#"{"signup_fields": ["shoe_size"]}"#.into(),
        ),
        (
            Method::PUT,
            format!("{path}/policies"),
            r#"{"authentication_assurance_timeout": -5}"#.into(),
        ),
    ];
    for (m, p, body) in cases {
        let (s, b) = call(&http, &server, m.clone(), &p, Some(&t1), Some(&body)).await;
        assert!((400..500).contains(&s), "{m} {p} {body}: {s} {b}");
        assert!(b["code"].is_string(), "{m} {p} {body}: {b}");
    }
    // Past the body limit: refused (413), or the connection closed before the body was sent.
    // On a client of its own: the server closes that connection after refusing the body, and a
    // pooled connection closed under it would fail the next call of `http` (IncompleteMessage).
    let big = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .bearer_auth(&t1)
        .header("content-type", "application/json")
        .body("x".repeat(2 << 20))
        .send()
        .await;
    if let Ok(r) = big {
        assert!(r.status().is_client_error(), "a 2 MB body: {}", r.status());
    }

    // A non-member may do nothing to the group; the same identity twice is ambiguous.
    let (s, _) = call(
        &http,
        &server,
        Method::POST,
        &path,
        Some(&t2),
        Some(&add_two),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(&http, &server, Method::DELETE, &path, Some(&t2), None).await;
    assert_eq!(s, 403);
    let twice = format!(
        r#"{{"add": [{{"identity_id": "{0}"}}], "invite": [{{"identity_id": "{0}"}}]}}"#,
        two.id
    );
    let (s, b) = call(&http, &server, Method::POST, &path, Some(&t1), Some(&twice)).await;
    assert_eq!(s, 400);
    assert_eq!(b["ambiguous_identities"], json!([two.id]));
    let (_, g) = call(
        &http,
        &server,
        Method::GET,
        &format!("{path}?include=memberships"),
        Some(&t1),
        None,
    )
    .await;
    assert_eq!(g["memberships"].as_array().unwrap().len(), 1, "{g}");
    assert_eq!(g["name"], "Lab");

    // Added, then removed: two's my_groups follows at once.
    let (s, b) = call(
        &http,
        &server,
        Method::POST,
        &path,
        Some(&t1),
        Some(&add_two),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["add"][0]["username"],
        format!("{}@clients.auth.globus.org", two.id)
    );
    let (_, mine) = call(
        &http,
        &server,
        Method::GET,
        "/v2/groups/my_groups",
        Some(&t2),
        None,
    )
    .await;
    assert_eq!(ids(&mine), vec![gid.clone()]);
    let remove = format!(r#"{{"remove": [{{"identity_id": "{}"}}]}}"#, two.id);
    let (s, b) = call(
        &http,
        &server,
        Method::POST,
        &path,
        Some(&t1),
        Some(&remove),
    )
    .await;
    assert_eq!(
        (s, b["remove"][0]["status"].as_str()),
        (200, Some("removed"))
    );
    let (_, mine) = call(
        &http,
        &server,
        Method::GET,
        "/v2/groups/my_groups",
        Some(&t2),
        None,
    )
    .await;
    assert!(ids(&mine).is_empty());
    // Unknown identities are a per-item error.
    let ghost = format!(
        r#"{{"add": [{{"identity_id": "{}"}}]}}"#,
        uuid::Uuid::new_v4()
    );
    let (s, b) = call(&http, &server, Method::POST, &path, Some(&t1), Some(&ghost)).await;
    assert_eq!(
        (s, b["errors"]["add"][0]["code"].as_str()),
        (200, Some("IDENTITY_NOT_FOUND"))
    );
}

#[tokio::test]
async fn cluster_a_removed_member_loses_the_group_on_the_other_node_within_a_second() {
    use reqwest::Method;
    let Some(db) = Db::fresh("cluster_a_removed_member_loses_the_group").await else {
        return;
    };
    let cluster = Cluster::start(&db);
    let http = reqwest::Client::new();
    let (one, two) = (robot(&cluster.a, "one"), robot(&cluster.a, "two"));
    let t1 = token(&http, &cluster.a, &one, ALL).await;
    let t2 = token(&http, &cluster.b, &two, VIEW).await;
    let (s, g) = call(
        &http,
        &cluster.a,
        Method::POST,
        "/v2/groups",
        Some(&t1),
        Some(r#"{"name": "Lab"}"#),
    )
    .await;
    assert_eq!(s, 201);
    let gid = g["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/groups/{gid}");
    for _ in 0..5 {
        let add = format!(r#"{{"add": [{{"identity_id": "{}"}}]}}"#, two.id);
        let (s, _) = call(
            &http,
            &cluster.a,
            Method::POST,
            &path,
            Some(&t1),
            Some(&add),
        )
        .await;
        assert_eq!(s, 200);
        let (_, mine) = call(
            &http,
            &cluster.b,
            Method::GET,
            "/v2/groups/my_groups",
            Some(&t2),
            None,
        )
        .await;
        assert_eq!(ids(&mine), vec![gid.clone()], "node b sees the membership");
        let remove = format!(r#"{{"remove": [{{"identity_id": "{}"}}]}}"#, two.id);
        let (s, _) = call(
            &http,
            &cluster.a,
            Method::POST,
            &path,
            Some(&t1),
            Some(&remove),
        )
        .await;
        assert_eq!(s, 200);
        let started = Instant::now();
        loop {
            let (_, mine) = call(
                &http,
                &cluster.b,
                Method::GET,
                "/v2/groups/my_groups",
                Some(&t2),
                None,
            )
            .await;
            if ids(&mine).is_empty() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "node b still lists the group"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Removed members are added back by an admin (not "left").
    }
    // The membership changes were announced on the feed (migration 0013's triggers).
    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'group_memberships'::regclass AND NOT tgisinternal",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(announced, 4);
    drop(cluster);
    db.drop_db().await;
}

#[tokio::test]
async fn tessera_group_commands_create_add_list_and_remove() {
    let server = Server::start();
    let (one, two) = (robot(&server, "one"), robot(&server, "two"));
    let as_client = |who: &Robot, args: &[&str]| {
        let mut a = vec!["group"];
        a.extend_from_slice(args);
        crate::process::run(
            &a,
            None,
            None,
            &[
                ("TESSERA_AUTH_URL", server.url.as_str()),
                ("TESSERA_CLIENT_ID", who.id.as_str()),
                ("TESSERA_CLIENT_SECRET", who.secret.as_str()),
            ],
        )
    };
    let created = json(&as_client(
        &one,
        &["create", "Lab", "--description", "people"],
    ));
    let gid = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["my_memberships"][0]["role"], "admin");
    let added = as_client(&one, &["member", "add", &gid, &two.id]);
    assert!(added.status.success(), "{added:?}");
    assert_eq!(json(&added)["add"][0]["status"], "active");
    assert_eq!(ids(&json(&as_client(&two, &["list"]))), vec![gid.clone()]);
    // A member may not remove: the server's 403 is an error exit with its code.
    let refused = as_client(&two, &["member", "remove", &gid, &one.id]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("FORBIDDEN"));
    // Leaving as oneself (no identity given), then the list is empty.
    let left = as_client(&two, &["member", "leave", &gid]);
    assert_eq!(json(&left)["leave"][0]["status"], "left");
    assert!(ids(&json(&as_client(&two, &["list"]))).is_empty());
    // The last admin cannot leave: a per-item error, exit 1.
    let last = as_client(&one, &["member", "leave", &gid]);
    assert_eq!(last.status.code(), Some(1));
    let last: Value = serde_json::from_slice(&last.stdout).unwrap();
    assert_eq!(last["errors"]["leave"][0]["code"], "LAST_ADMIN");
    let shown = json(&as_client(&one, &["show", &gid]));
    assert_eq!(shown["memberships"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn allowed_actions_name_the_callers_identities_that_may_act() {
    use reqwest::Method;
    let server = Server::start();
    let http = reqwest::Client::new();
    let (one, two) = (robot(&server, "one"), robot(&server, "two"));
    let t1 = token(&http, &server, &one, ALL).await;
    let t2 = token(&http, &server, &two, ALL).await;
    let (_, g) = call(
        &http,
        &server,
        Method::POST,
        "/v2/groups",
        Some(&t1),
        Some(r#"{"name": "Open", "policies": {"group_visibility": "authenticated", "join_requests": true}}"#),
    )
    .await;
    let path = format!("/v2/groups/{}", g["id"].as_str().unwrap());
    let allowed = |doc: &Value, action: &str| -> Vec<String> {
        doc["allowed_actions"][action]
            .as_array()
            .unwrap_or_else(|| panic!("no allowed_actions.{action}: {doc}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let all_actions = [
        "add",
        "invite",
        "accept",
        "decline",
        "join",
        "request_join",
        "approve",
        "reject",
        "remove",
        "leave",
        "change_role",
    ];

    // Not asked for: not there. Asked for (comma list or repeated): every action, always.
    let (_, plain) = call(&http, &server, Method::GET, &path, Some(&t1), None).await;
    assert!(plain.get("allowed_actions").is_none());
    for q in [
        "?include=allowed_actions",
        "?include=my_memberships,allowed_actions",
        "?include=policies&include=allowed_actions",
    ] {
        let (s, doc) = call(
            &http,
            &server,
            Method::GET,
            &format!("{path}{q}"),
            Some(&t1),
            None,
        )
        .await;
        assert_eq!(s, 200, "{q}: {doc}");
        let keys: Vec<&String> = doc["allowed_actions"].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), all_actions.len(), "{q}: {doc}");
    }

    // The admin (and last admin) manages but may not leave; the stranger may ask to join.
    let (_, doc) = call(
        &http,
        &server,
        Method::GET,
        &format!("{path}?include=allowed_actions"),
        Some(&t1),
        None,
    )
    .await;
    for a in [
        "add",
        "invite",
        "approve",
        "reject",
        "remove",
        "change_role",
    ] {
        assert_eq!(allowed(&doc, a), vec![one.id.clone()], "{a}: {doc}");
    }
    for a in ["leave", "join", "request_join", "accept", "decline"] {
        assert!(allowed(&doc, a).is_empty(), "{a}: {doc}");
    }
    let (_, doc) = call(
        &http,
        &server,
        Method::GET,
        &format!("{path}?include=allowed_actions"),
        Some(&t2),
        None,
    )
    .await;
    assert_eq!(allowed(&doc, "request_join"), vec![two.id.clone()]);
    assert_eq!(allowed(&doc, "join"), vec![two.id.clone()]);
    for a in [
        "add",
        "invite",
        "approve",
        "remove",
        "change_role",
        "leave",
        "accept",
    ] {
        assert!(allowed(&doc, a).is_empty(), "{a}: {doc}");
    }

    // What is offered works: two asks to join, then may neither ask again nor leave.
    let body = format!(r#"{{"request_join": [{{"identity_id": "{}"}}]}}"#, two.id);
    let (s, b) = call(&http, &server, Method::POST, &path, Some(&t2), Some(&body)).await;
    assert_eq!(
        (s, b["request_join"][0]["status"].as_str()),
        (200, Some("pending")),
        "{b}"
    );
    let (_, doc) = call(
        &http,
        &server,
        Method::GET,
        &format!("{path}?include=allowed_actions"),
        Some(&t2),
        None,
    )
    .await;
    assert!(allowed(&doc, "request_join").is_empty(), "{doc}");
    assert!(allowed(&doc, "leave").is_empty(), "{doc}");

    // An unknown include is still refused.
    let (s, b) = call(
        &http,
        &server,
        Method::GET,
        &format!("{path}?include=everything"),
        Some(&t1),
        None,
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("INVALID_INCLUDE")));
}
