//! `DELETE /v2/api/clients/{id}`: a client goes with its secrets, scopes, tokens and consents,
//! or is refused while another client's scope depends on its scopes.

use crate::harness::{Client, TestServer};
use crate::observe::{audit_log, user, user_tokens};
use axum::http::Method;
use serde_json::json;
use tessera_core::client::ClientType;
use tessera_core::token::lookup_hash;

const MANAGE: &str = "urn:globus:auth:scope:auth.globus.org:manage_projects";

/// A project of a new admin client, and a confidential client of that project.
async fn project_client(s: &TestServer, name: &str) -> (String, String, Client) {
    let admin = s
        .client(&format!("{name} admin"), ClientType::Confidential)
        .await;
    let bearer = format!("Bearer {}", s.token(&admin, MANAGE).await);
    let r = s
        .json(
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(json!({"project": {"display_name": name, "contact_email": "dev@example.org"}})),
        )
        .await;
    r.ok();
    let project = r.body["project"]["id"].as_str().unwrap().to_owned();
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(json!({"client": {"name": name, "project": project, "public_client": false}})),
        )
        .await;
    r.ok();
    let client = Client {
        id: r.body["client"]["id"].as_str().unwrap().to_owned(),
        secret: r.body["included"]["client_credential"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    (bearer, project, client)
}

/// A new scope of `owner` that depends on scope `on`.
async fn depending(
    s: &TestServer,
    owner: &Client,
    suffix: &str,
    on: &serde_json::Value,
) -> serde_json::Value {
    let r = s
        .json(
            Method::POST,
            &format!("/v2/api/clients/{}/scopes", owner.id),
            Some(&owner.basic()),
            Some(json!({"scope": {"name": suffix, "description": suffix, "scope_suffix": suffix,
                "dependent_scopes": [{"scope": on["id"], "optional": false, "requires_refresh_token": false}]}})),
        )
        .await;
    r.ok();
    r.body["scope"].clone()
}

/// Whether the stored record of `token` is revoked.
async fn revoked(s: &TestServer, token: &str) -> bool {
    s.state
        .store
        .token(&lookup_hash(token))
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

#[tokio::test]
async fn a_deleted_client_takes_its_secrets_scopes_tokens_and_consents_and_frees_its_project() {
    let s = TestServer::new().await;
    let (bearer, project, api) = project_client(&s, "research api").await;
    let scope = s.scope(&api, "data").await;
    let (scope_id, scope_string) = (
        scope["id"].as_str().unwrap().to_owned(),
        scope["scope_string"].as_str().unwrap().to_owned(),
    );
    let portal = s.client("portal", ClientType::Confidential).await;
    let rs = s.client("other api", ClientType::Confidential).await;
    let other_scope = s.scope(&rs, "x").await["scope_string"]
        .as_str()
        .unwrap()
        .to_owned();
    // A token the client holds, one another client holds for its scope (introspected: cached),
    // and a person's consent to an app for its scope.
    let held = s.token(&api, &other_scope).await;
    let for_it = s.token(&portal, &scope_string).await;
    assert_eq!(s.introspect(&api, &for_it).await["active"], true);
    let alice = user(&s, "alice@example.org").await;
    let notebook = s.client("notebook", ClientType::PublicInstalled).await;
    let grant = user_tokens(
        &s,
        &notebook,
        "alice@example.org",
        &format!("openid {scope_string}"),
    )
    .await;
    let alice_login = grant["access_token"].as_str().unwrap().to_owned();
    let alice_for_it = grant["other_tokens"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = &s;
    let consents = || {
        let auth = format!("Bearer {alice_login}");
        let path = format!("/v2/api/identities/{alice}/consents");
        async move { s.get(&path, Some(&auth)).await.body["consents"].clone() }
    };
    let before = consents().await;
    assert!(before
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["scope"] == scope_id.as_str()));
    let path = format!("/v2/api/clients/{}", api.id);
    // While it has a client the project stays.
    s.json(
        Method::DELETE,
        &format!("/v2/api/projects/{project}"),
        Some(&bearer),
        None,
    )
    .await
    .api_error(409, "CONFLICT");
    // Only its project's admins (or itself) may delete it.
    let (stranger, _, _) = project_client(s, "elsewhere").await;
    s.json(Method::DELETE, &path, Some(&stranger), None)
        .await
        .api_error(403, "FORBIDDEN");
    s.json(Method::DELETE, &path, Some(&portal.basic()), None)
        .await
        .api_error(403, "FORBIDDEN");
    s.json(
        Method::DELETE,
        "/v2/api/clients/not-a-uuid",
        Some(&bearer),
        None,
    )
    .await
    .api_error(404, "NOT_FOUND");

    let r = s.json(Method::DELETE, &path, Some(&bearer), None).await;
    r.ok();
    assert_eq!(r.body["client"]["id"], api.id.as_str());
    assert_eq!(r.body["client"]["project"], project.as_str());
    assert_eq!(r.body["client"]["scopes"], json!([scope_id]), "as it was");

    // Gone, with its secrets and scopes.
    s.get(&path, Some(&bearer))
        .await
        .api_error(404, "NOT_FOUND");
    s.json(Method::DELETE, &path, Some(&bearer), None)
        .await
        .api_error(404, "NOT_FOUND");
    s.form(
        "/v2/oauth2/token",
        Some(&api.basic()),
        "grant_type=client_credentials&scope=openid",
    )
    .await
    .oauth_error(401, "invalid_client");
    s.get(&format!("/v2/api/scopes/{scope_id}"), Some(&portal.basic()))
        .await
        .api_error(404, "NOT_FOUND");
    // Its tokens and the tokens for its scopes are revoked; others are not.
    assert!(revoked(s, &held).await && revoked(s, &for_it).await);
    assert!(revoked(s, &alice_for_it).await);
    assert!(!revoked(s, &alice_login).await);
    assert_eq!(s.introspect(&rs, &held).await["active"], false);
    assert_eq!(s.introspect(&portal, &for_it).await["active"], false);
    // The consent that named its scope is gone; alice's others stay.
    let after = consents().await;
    assert!(!after
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["scope"] == scope_id.as_str()));
    assert_eq!(
        after.as_array().unwrap().len(),
        before.as_array().unwrap().len() - 1
    );
    // The last client gone, the project can go.
    s.json(
        Method::DELETE,
        &format!("/v2/api/projects/{project}"),
        Some(&bearer),
        None,
    )
    .await
    .ok();
    let log = audit_log(s).await;
    let event = log
        .iter()
        .find(|r| r.event.event == "client_deleted")
        .unwrap();
    assert_eq!(
        event.event.subject.map(|u| u.to_string()),
        Some(api.id.clone())
    );
    assert_eq!(event.event.detail["tokens_revoked"], 3);
    assert_eq!(event.event.detail["consents_deleted"], 1);
}

#[tokio::test]
async fn another_clients_dependent_scope_blocks_deletion_with_a_409_naming_it() {
    let s = TestServer::new().await;
    let (bearer, _, api) = project_client(&s, "research api").await;
    let data = s.scope(&api, "data").await;
    // A dependency among its own scopes does not block.
    depending(&s, &api, "all", &data).await;
    let gateway = s.client("gateway", ClientType::Confidential).await;
    let gateway_scope = depending(&s, &gateway, "gw", &data).await;
    let held = s.token(&api, "openid").await;

    let path = format!("/v2/api/clients/{}", api.id);
    let r = s.json(Method::DELETE, &path, Some(&bearer), None).await;
    r.api_error(409, "CONFLICT");
    let detail = r.body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(gateway_scope["scope_string"].as_str().unwrap())
            && detail.contains(&gateway.id)
            && detail.contains(data["scope_string"].as_str().unwrap()),
        "{detail}"
    );
    // Nothing changed.
    s.get(&path, Some(&bearer)).await.ok();
    assert!(!revoked(&s, &held).await);
    s.get(
        &format!("/v2/api/scopes/{}", data["id"].as_str().unwrap()),
        Some(&api.basic()),
    )
    .await
    .ok();

    // Once the gateway drops the dependency, the client can go.
    s.json(
        Method::PUT,
        &format!("/v2/api/scopes/{}", gateway_scope["id"].as_str().unwrap()),
        Some(&gateway.basic()),
        Some(json!({"scope": {"dependent_scopes": []}})),
    )
    .await
    .ok();
    s.json(Method::DELETE, &path, Some(&bearer), None)
        .await
        .ok();
    assert!(revoked(&s, &held).await);
}

#[tokio::test]
async fn a_template_instance_deletes_itself_with_basic_as_globus_logout_does() {
    let s = TestServer::new().await;
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            None,
            Some(json!({"client": {"template_id": tessera_core::seed::CLI_TEMPLATES[0].1.to_string(), "name": "Globus CLI"}})),
        )
        .await;
    r.ok();
    let instance = Client {
        id: r.body["client"]["id"].as_str().unwrap().to_owned(),
        secret: r.body["included"]["client_credential"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let path = format!("/v2/api/clients/{}", instance.id);
    let r = s
        .json(Method::DELETE, &path, Some(&instance.basic()), None)
        .await;
    r.ok();
    assert_eq!(r.body["client"]["id"], instance.id.as_str());
    s.get(&path, Some(&instance.basic()))
        .await
        .api_error(401, "UNAUTHORIZED");
}
