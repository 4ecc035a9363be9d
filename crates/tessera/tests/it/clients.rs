//! Deleting a project client on one PostgreSQL node: the other node refuses its tokens at once.

use crate::cluster::{Cluster, Db};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const MANAGE: &str = "urn:globus:auth:scope:auth.globus.org:manage_projects";

#[tokio::test]
async fn cluster_a_deleted_clients_token_is_refused_by_introspection_on_the_other_node() {
    let Some(db) =
        Db::fresh("cluster_a_deleted_clients_token_is_refused_by_introspection_on_the_other_node")
            .await
    else {
        return;
    };
    let c = Cluster::start(&db);
    let api_call = |method: reqwest::Method, url: String, bearer: String, body: Option<Value>| {
        let http = c.http.clone();
        async move {
            let mut r = http.request(method, url).bearer_auth(bearer);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let portal = (c.id.as_str(), c.secret.as_str());
    // The portal administers a project on node a and creates a client in it.
    let manage = c.access_token(&c.a, portal, MANAGE).await;
    let (_, p) = api_call(
        reqwest::Method::POST,
        format!("{}/v2/api/projects", c.a.url),
        manage.clone(),
        Some(json!({"project": {"display_name": "P", "contact_email": "dev@example.org"}})),
    )
    .await;
    let (_, created) = api_call(
        reqwest::Method::POST,
        format!("{}/v2/api/clients", c.a.url),
        manage.clone(),
        Some(json!({"client": {"name": "worker", "project": p["project"]["id"], "public_client": false}})),
    )
    .await;
    let worker_id = created["client"]["id"].as_str().unwrap().to_owned();
    let worker_secret = created["included"]["client_credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // The portal is also a resource server; the worker gets a token for its scope on node b.
    let scope: Value = c
        .http
        .post(format!("{}/v2/api/clients/{}/scopes", c.a.url, c.id))
        .basic_auth(&c.id, Some(&c.secret))
        .json(&json!({"scope": {"name": "Jobs", "description": "Jobs", "scope_suffix": "jobs"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scope = scope["scope"]["scope_string"].as_str().unwrap().to_owned();
    let token = c
        .access_token(&c.b, (&worker_id, &worker_secret), &scope)
        .await;
    // Node b has introspected it (and cached it).
    assert!(c.active(&c.b, &token).await);
    assert!(c.active(&c.b, &token).await);

    let start = Instant::now();
    let (status, deleted) = api_call(
        reqwest::Method::DELETE,
        format!("{}/v2/api/clients/{worker_id}", c.a.url),
        manage,
        None,
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["client"]["id"], worker_id.as_str());
    while c.active(&c.b, &token).await {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node b still calls the deleted client's token active"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eprintln!(
        "node b refused the token {:?} after the deletion began",
        start.elapsed()
    );
    assert!(!c.active(&c.a, &token).await);
    drop(c);
    db.drop_db().await;
}
