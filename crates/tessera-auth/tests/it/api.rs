//! The REST API: identities, clients, scopes, credentials.

use crate::harness::{basic, TestServer};
use axum::http::Method;
use serde_json::json;
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::secret::Secret;

#[tokio::test]
async fn identities_by_ids_and_usernames() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let alice = admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "Alice@Example.org",
        &Secret::new("long enough password"),
        Profile {
            name: Some("Alice".into()),
            ..Profile::default()
        },
    )
    .await
    .unwrap();
    let token = s.token(&portal, "openid").await;
    let bearer = format!("Bearer {token}");

    let r = s
        .get(
            "/v2/api/identities?usernames=alice@example.ORG,nobody@example.org",
            Some(&bearer),
        )
        .await;
    r.ok();
    assert_eq!(r.body["identities"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["identities"][0]["id"], alice.id.to_string());
    assert_eq!(r.body["identities"][0]["username"], "Alice@Example.org");

    let client_name = format!("{}@clients.auth.globus.org", portal.id);
    let r = s
        .get(
            &format!("/v2/api/identities?ids={},{}", alice.id, portal.id),
            Some(&portal.basic()),
        )
        .await;
    let names: Vec<_> = r.body["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["username"].clone())
        .collect();
    assert_eq!(names, [json!("Alice@Example.org"), json!(client_name)]);
    assert_eq!(r.body["identities"][1]["identity_type"], "client");

    let r = s
        .get(
            &format!("/v2/api/identities?usernames={client_name}"),
            Some(&bearer),
        )
        .await;
    assert_eq!(r.body["identities"][0]["id"], portal.id.as_str());
    let r = s.get("/v2/api/identities", Some(&bearer)).await;
    assert_eq!(
        r.body["identities"][0]["id"],
        portal.id.as_str(),
        "no query: the caller itself"
    );
}

#[tokio::test]
async fn identities_bad_inputs() {
    let s = TestServer::new().await;
    let portal = s.client("portal", ClientType::Confidential).await;
    let bearer = format!("Bearer {}", s.token(&portal, "openid").await);
    let transfer = format!(
        "Bearer {}",
        s.token(&portal, "urn:globus:auth:scope:transfer.api.globus.org:all")
            .await
    );
    let many = vec!["00000000-0000-4000-8000-000000000000"; 201].join(",");
    let table: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "no authentication",
            "/v2/api/identities?ids=x".into(),
            None,
            401,
            "UNAUTHORIZED",
        ),
        (
            "junk bearer",
            "/v2/api/identities".into(),
            Some("Bearer junk".into()),
            401,
            "UNAUTHORIZED",
        ),
        (
            "a token for another resource server",
            "/v2/api/identities".into(),
            Some(transfer),
            401,
            "UNAUTHORIZED",
        ),
        (
            "wrong secret",
            "/v2/api/identities".into(),
            Some(basic(&portal.id, "bad")),
            401,
            "UNAUTHORIZED",
        ),
        (
            "ids and usernames",
            "/v2/api/identities?ids=a&usernames=b".into(),
            Some(bearer.clone()),
            400,
            "BAD_REQUEST",
        ),
        (
            "malformed uuid",
            "/v2/api/identities?ids=not-a-uuid".into(),
            Some(bearer.clone()),
            400,
            "BAD_REQUEST",
        ),
        (
            "too many",
            format!("/v2/api/identities?ids={many}"),
            Some(bearer.clone()),
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown path",
            "/v2/api/nope".into(),
            Some(bearer.clone()),
            404,
            "NOT_FOUND",
        ),
    ];
    for (what, path, auth, status, code) in table {
        let r = s.get(&path, auth.as_deref()).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{what}: {}", r.body);
    }
}

#[tokio::test]
async fn a_client_manages_its_own_scopes_only() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let other = s.client("other", ClientType::Confidential).await;
    let scope = s.scope(&api, "data").await;
    assert_eq!(
        scope["scope_string"],
        format!("https://auth.globus.org/scopes/{}/data", api.id)
    );
    assert_eq!(
        (
            scope["advertised"].clone(),
            scope["allows_refresh_token"].clone()
        ),
        (json!(false), json!(true))
    );
    let id = scope["id"].as_str().unwrap().to_owned();

    let list = s
        .get(
            &format!("/v2/api/clients/{}/scopes", api.id),
            Some(&api.basic()),
        )
        .await;
    assert_eq!(list.body["scopes"][0]["id"], id.as_str());
    let client = s
        .get(&format!("/v2/api/clients/{}", api.id), Some(&api.basic()))
        .await;
    assert_eq!(client.body["client"]["scopes"], json!([id]));
    assert_eq!(client.body["client"]["client_type"], "confidential_client");

    let by_string = s
        .get(
            &format!(
                "/v2/api/scopes?scope_strings={}",
                scope["scope_string"].as_str().unwrap()
            ),
            Some(&other.basic()),
        )
        .await;
    assert_eq!(by_string.body["scopes"][0]["id"], id.as_str());
    s.get(&format!("/v2/api/scopes/{id}"), Some(&other.basic()))
        .await
        .ok();

    // Others may read but not change it.
    s.get(&format!("/v2/api/clients/{}", api.id), Some(&other.basic()))
        .await
        .api_error(403, "FORBIDDEN");
    let put = json!({"scope": {"name": "Stolen"}});
    s.json(
        Method::PUT,
        &format!("/v2/api/scopes/{id}"),
        Some(&other.basic()),
        Some(put.clone()),
    )
    .await
    .api_error(403, "FORBIDDEN");
    s.json(
        Method::DELETE,
        &format!("/v2/api/scopes/{id}"),
        Some(&other.basic()),
        None,
    )
    .await
    .api_error(403, "FORBIDDEN");

    let r = s
        .json(
            Method::PUT,
            &format!("/v2/api/scopes/{id}"),
            Some(&api.basic()),
            Some(json!({"scope": {"name": "Renamed", "advertised": true}})),
        )
        .await;
    r.ok();
    assert_eq!(
        (
            r.body["scope"]["name"].clone(),
            r.body["scope"]["advertised"].clone()
        ),
        (json!("Renamed"), json!(true))
    );

    // A scope another depends on cannot go first.
    let parent = json!({"scope": {"name": "P", "description": "D", "scope_suffix": "parent", "dependent_scopes": [{"scope": id, "optional": false, "requires_refresh_token": false}]}});
    let p = s
        .json(
            Method::POST,
            &format!("/v2/api/clients/{}/scopes", api.id),
            Some(&api.basic()),
            Some(parent),
        )
        .await;
    p.ok();
    s.json(
        Method::DELETE,
        &format!("/v2/api/scopes/{id}"),
        Some(&api.basic()),
        None,
    )
    .await
    .api_error(409, "CONFLICT");
    let pid = p.body["scope"]["id"].as_str().unwrap();
    s.json(
        Method::DELETE,
        &format!("/v2/api/scopes/{pid}"),
        Some(&api.basic()),
        None,
    )
    .await
    .ok();
    s.json(
        Method::DELETE,
        &format!("/v2/api/scopes/{id}"),
        Some(&api.basic()),
        None,
    )
    .await
    .ok();
    s.get(&format!("/v2/api/scopes/{id}"), Some(&api.basic()))
        .await
        .api_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn scope_creation_bad_inputs_change_nothing() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let other = s.client("other", ClientType::Confidential).await;
    s.scope(&api, "taken").await;
    let path = format!("/v2/api/clients/{}/scopes", api.id);
    let good =
        |suffix: &str| json!({"scope": {"name": "N", "description": "D", "scope_suffix": suffix}});
    let table: Vec<(&str, Option<String>, serde_json::Value, u16, &str)> = vec![
        (
            "duplicate suffix",
            Some(api.basic()),
            good("taken"),
            409,
            "CONFLICT",
        ),
        (
            "suffix with a slash",
            Some(api.basic()),
            good("a/b"),
            400,
            "BAD_REQUEST",
        ),
        (
            "empty name",
            Some(api.basic()),
            json!({"scope": {"name": " ", "description": "D", "scope_suffix": "s1"}}),
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown field",
            Some(api.basic()),
            json!({"scope": {"name": "N", "description": "D", "scope_suffix": "s2", "x": 1}}),
            400,
            "BAD_REQUEST",
        ),
        (
            "no envelope",
            Some(api.basic()),
            json!({"name": "N", "description": "D", "scope_suffix": "s3"}),
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown dependent",
            Some(api.basic()),
            json!({"scope": {"name": "N", "description": "D", "scope_suffix": "s4", "dependent_scopes": [{"scope": "00000000-0000-4000-8000-000000000000", "optional": false, "requires_refresh_token": false}]}}),
            400,
            "BAD_REQUEST",
        ),
        (
            "bad required domain",
            Some(api.basic()),
            json!({"scope": {"name": "N", "description": "D", "scope_suffix": "s5", "required_domains": ["not a domain"]}}),
            400,
            "BAD_REQUEST",
        ),
        (
            "someone else's client",
            Some(other.basic()),
            good("s6"),
            403,
            "FORBIDDEN",
        ),
        ("no authentication", None, good("s7"), 401, "UNAUTHORIZED"),
        (
            "a bearer token",
            Some("Bearer x".into()),
            good("s8"),
            403,
            "FORBIDDEN",
        ),
    ];
    for (what, auth, body, status, code) in table {
        let r = s
            .json(Method::POST, &path, auth.as_deref(), Some(body))
            .await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{what}: {}", r.body);
    }
    let list = s.get(&path, Some(&api.basic())).await;
    assert_eq!(
        list.body["scopes"].as_array().unwrap().len(),
        1,
        "nothing was created: {}",
        list.body
    );
    let r = s.json(Method::POST, &path, Some(&api.basic()), None).await;
    r.api_error(400, "BAD_REQUEST");
}

#[tokio::test]
async fn credentials_rotate_without_downtime() {
    let s = TestServer::new().await;
    let api = s.client("api", ClientType::Confidential).await;
    let path = format!("/v2/api/clients/{}/credentials", api.id);
    // Warm the client cache with the old secret.
    s.token(&api, "openid").await;

    let created = s
        .json(
            Method::POST,
            &path,
            Some(&api.basic()),
            Some(json!({"credential": {"name": "second"}})),
        )
        .await;
    created.ok();
    let new_secret = created.body["credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = crate::harness::Client {
        id: api.id.clone(),
        secret: new_secret,
    };
    s.token(&new, "openid").await; // works at once: the cache was invalidated
    s.token(&api, "openid").await; // and the old one still works

    let list = s.get(&path, Some(&new.basic())).await;
    let creds = list.body["credentials"].as_array().unwrap().clone();
    assert_eq!(creds.len(), 2);
    assert!(
        creds.iter().all(|c| c["secret"].is_null()),
        "secrets are shown once only"
    );
    let old_id = creds.iter().find(|c| c["name"] == "initial").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let deleted = s
        .json(
            Method::DELETE,
            &format!("{path}/{old_id}"),
            Some(&new.basic()),
            None,
        )
        .await;
    deleted.ok();
    assert!(deleted.body["credential"]["secret"].is_null());
    let r = s
        .form(
            "/v2/oauth2/token",
            Some(&api.basic()),
            "grant_type=client_credentials&scope=openid",
        )
        .await;
    r.oauth_error(401, "invalid_client");
    s.json(
        Method::DELETE,
        &format!("{path}/{old_id}"),
        Some(&new.basic()),
        None,
    )
    .await
    .api_error(404, "NOT_FOUND");
    s.json(
        Method::DELETE,
        &format!("{path}/junk"),
        Some(&new.basic()),
        None,
    )
    .await
    .api_error(404, "NOT_FOUND");
}
