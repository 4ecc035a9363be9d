//! Emergency key rotation (`tessera admin keys rotate --now`) on two PostgreSQL nodes: the new
//! keys sign at once, the old ones leave every node's JWKS within its key poll, and JWT access
//! tokens they signed are refused.

use crate::cluster::{Cluster, Db};
use crate::process::{json, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Key poll (5 s) plus slack for a loaded machine.
const SWITCH_LIMIT: Duration = Duration::from_secs(15);

async fn kids(c: &Cluster, node: &Server) -> Vec<String> {
    let jwks: Value = c
        .http
        .get(format!("{}/jwk.json", node.url))
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
        .collect()
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until `node`'s JWKS satisfies `ok`; how long that took.
async fn until_jwks(
    c: &Cluster,
    node: &Server,
    start: Instant,
    ok: impl Fn(&[String]) -> bool,
) -> Duration {
    loop {
        let k = kids(c, node).await;
        if ok(&k) {
            return start.elapsed();
        }
        assert!(start.elapsed() < SWITCH_LIMIT, "JWKS still {k:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn cluster_an_emergency_rotation_switches_every_node_and_old_jwts_are_refused() {
    let Some(db) =
        Db::fresh("cluster_an_emergency_rotation_switches_every_node_and_old_jwts_are_refused")
            .await
    else {
        return;
    };
    let c = Cluster::start(&db);
    // A resource server that takes JWT access tokens, and a scope of it for the portal.
    let api = json(&c.a.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "api",
            "--confidential",
            "--access-token-format",
            "jwt",
        ],
        None,
    ));
    let (api_id, api_secret) = (
        api["client_id"].as_str().unwrap().to_owned(),
        api["client_secret"].as_str().unwrap().to_owned(),
    );
    let scope: Value = c
        .http
        .post(format!("{}/v2/api/clients/{api_id}/scopes", c.a.url))
        .basic_auth(&api_id, Some(&api_secret))
        .json(&json!({"scope": {"name": "Data", "description": "Data", "scope_suffix": "data"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scope = scope["scope"]["scope_string"].as_str().unwrap().to_owned();
    let portal = (c.id.as_str(), c.secret.as_str());
    let api = (api_id.as_str(), api_secret.as_str());

    let before = kids(&c, &c.a).await;
    assert_eq!(before, kids(&c, &c.b).await);
    let (rsa, at) = (before[0].clone(), before[1].clone());
    let old = c.access_token(&c.b, portal, &scope).await;
    assert_eq!(kid_of(&old), at);
    assert!(c.active_for(&c.a, api, &old).await && c.active_for(&c.b, api, &old).await);

    // Access-token keys only: the ID-token key stays keys[0].
    let start = Instant::now();
    let out = json(&c.a.admin(
        &[
            "admin",
            "keys",
            "rotate",
            "--now",
            "--family",
            "access-token",
        ],
        None,
    ));
    assert_eq!(out["removed"], json!([at]));
    let new_at = out["added"][0].as_str().unwrap().to_owned();
    for node in [&c.a, &c.b] {
        let took = until_jwks(&c, node, start, |k| k == [rsa.clone(), new_at.clone()]).await;
        eprintln!("{}: access-token key switched after {took:?}", node.url);
        assert_eq!(
            kid_of(&c.access_token(node, portal, &scope).await),
            new_at,
            "the new key signs"
        );
        assert!(
            !c.active_for(node, api, &old).await,
            "a JWT of the removed key is refused"
        );
    }

    // The ID-token key: keys[0] changes on every node.
    let start = Instant::now();
    let out = json(&c.b.admin(
        &["admin", "keys", "rotate", "--now", "--family", "id-token"],
        None,
    ));
    assert_eq!(out["removed"], json!([rsa]));
    let new_rsa = out["added"][0].as_str().unwrap().to_owned();
    for node in [&c.a, &c.b] {
        until_jwks(&c, node, start, |k| k == [new_rsa.clone(), new_at.clone()]).await;
    }
    drop(c);
    db.drop_db().await;
}
