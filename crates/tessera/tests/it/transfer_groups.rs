//! A Transfer access rule for a group on two PostgreSQL nodes: the group's members read, a
//! member removed through one node is refused by the other within a second (memberships are
//! read from the database at every decision), and a rule for a group that does not exist is
//! refused.

use crate::cluster::Db;
use crate::process::Server;
use crate::transfer_cluster::{endpoint, get, mover, token, SCOPE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const GROUPS: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

async fn send(method: reqwest::Method, url: String, bearer: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfer_cluster_a_group_rule_grants_members_and_a_removal_on_b_is_refused_on_a_within_a_second(
) {
    let Some(db) = Db::fresh("group access rules on two nodes").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("lab/sub")).unwrap();
    std::fs::write(root.path().join("lab/data.txt"), b"for the lab").unwrap();
    std::fs::write(root.path().join("private.txt"), b"not for the lab").unwrap();
    let a = Server::start_pg(&db.url, &[]);
    let b = Server::start_pg(&db.url, &[]);
    let (owner, reader) = (mover(&a, "owner"), mover(&a, "reader"));
    let ep = endpoint(&a, "labdata", root.path(), &owner.id);
    let owner_transfer = token(&a.url, &owner, SCOPE).await;
    let owner_groups = token(&a.url, &owner, GROUPS).await;
    let reader_transfer = token(&a.url, &reader, SCOPE).await;
    use reqwest::Method;

    let (s, g) = send(
        Method::POST,
        format!("{}/v2/groups", a.url),
        &owner_groups,
        json!({"name": "Lab"}),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();

    // A rule for a group nobody created: refused, nothing stored.
    let rule = |principal: String| {
        json!({"DATA_TYPE": "access", "principal_type": "group", "principal": principal,
               "path": "/lab/", "permissions": "r"})
    };
    let access = format!("{}/v0.10/endpoint/{ep}/access", a.url);
    let (s, e) = send(
        Method::POST,
        access.clone(),
        &owner_transfer,
        rule(uuid::Uuid::new_v4().to_string()),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (400, Some("InvalidPrincipal")),
        "{e}"
    );
    let (s, e) = send(
        Method::POST,
        access.clone(),
        &owner_transfer,
        rule("lab".into()),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    // The URN form other Globus services use is accepted and stored as the bare id.
    let (s, created) = send(
        Method::POST,
        access.clone(),
        &owner_transfer,
        rule(format!("urn:globus:groups:id:{gid}")),
    )
    .await;
    assert_eq!(
        (s, created["code"].as_str()),
        (201, Some("Created")),
        "{created}"
    );
    let (_, list) = get(
        &b.url,
        &owner_transfer,
        &format!("/endpoint/{ep}/access_list"),
    )
    .await;
    assert_eq!(list["DATA"][0]["principal"], gid.as_str());
    assert_eq!(list["DATA"][0]["principal_type"], "group");

    let ls = |node: &Server, path: &str| {
        let (url, t, path) = (node.url.clone(), reader_transfer.clone(), path.to_owned());
        let ep = ep.clone();
        async move {
            get(
                &url,
                &t,
                &format!("/operation/endpoint/{ep}/ls?path={path}"),
            )
            .await
        }
    };
    // Not a member yet: refused.
    assert_eq!(ls(&a, "/lab/").await.0, 403);

    let members = format!("{}/v2/groups/{gid}", a.url);
    let members_b = format!("{}/v2/groups/{gid}", b.url);
    let mut worst = Duration::ZERO;
    for trial in 0..5 {
        let (s, r) = send(
            Method::POST,
            members.clone(),
            &owner_groups,
            json!({"add": [{"identity_id": reader.id}]}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        // A member reads the group's folder through node A (at once), nothing else, and
        // may not write with an 'r' rule.
        let (s, listing) = ls(&a, "/lab/").await;
        assert_eq!(s, 200, "trial {trial}: {listing}");
        let names: Vec<&str> = listing["DATA"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["data.txt", "sub"]);
        assert_eq!(ls(&a, "/").await.0, 403);
        let (s, _) = send(
            Method::POST,
            format!("{}/v0.10/operation/endpoint/{ep}/mkdir", a.url),
            &reader_transfer,
            json!({"DATA_TYPE": "mkdir", "path": "/lab/new/"}),
        )
        .await;
        assert_eq!(s, 403);

        // Removed through node B: node A refuses within a second.
        let (s, r) = send(
            Method::POST,
            members_b.clone(),
            &owner_groups,
            json!({"remove": [{"identity_id": reader.id}]}),
        )
        .await;
        assert_eq!(
            (s, r["remove"][0]["status"].as_str()),
            (200, Some("removed")),
            "{r}"
        );
        let removed = Instant::now();
        loop {
            let (s, _) = ls(&a, "/lab/").await;
            if s == 403 {
                worst = worst.max(removed.elapsed());
                break;
            }
            assert_eq!(s, 200);
            assert!(
                removed.elapsed() < Duration::from_secs(1),
                "trial {trial}: node A still lets a removed member read"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert!(!root.path().join("lab/new").exists());
    eprintln!("group rule: a removal on node B was refused on node A after at most {worst:?}");
    drop((a, b));
    db.drop_db().await;
}
