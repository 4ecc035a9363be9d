//! The dependent-token grant and RFC 8693 token exchange: only the audience of a token may
//! trade it, only for what the user consented beneath it, and the result is bound to the caller
//! and the user. Guards the escalation class of Zitadel GHSA-vrh8-c9cm-wh8v.

use crate::browser::{location_params, Browser, PASSWORD};
use crate::harness::{Client, TestServer};
use axum::http::Method;
use serde_json::{json, Value};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::secret::Secret;

const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const CALLBACK: &str = "https://portal.example.org/cb";

struct World<'a> {
    s: &'a TestServer,
    graph: Client,
    portal: Client,
    alice: String,
    portal_token: String,
}

async fn world(s: &TestServer) -> World<'_> {
    world_with(s, false).await
}

/// `graph_jwt`: graph chose JWT access tokens, so the portal's token is one.
async fn world_with(s: &TestServer, graph_jwt: bool) -> World<'_> {
    let alice = admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "alice@example.org",
        &Secret::new(PASSWORD),
        Profile::default(),
    )
    .await
    .unwrap()
    .id
    .to_string();
    let graph = s.client("graph", ClientType::Confidential).await;
    if graph_jwt {
        s.json(
            Method::PUT,
            &format!("/v2/api/clients/{}", graph.id),
            Some(&graph.basic()),
            Some(json!({"client": {"access_token_format": "jwt"}})),
        )
        .await
        .ok();
    }
    let transfer_id = s
        .get(
            &format!("/v2/api/scopes?scope_strings={TRANSFER}"),
            Some(&graph.basic()),
        )
        .await
        .body["scopes"][0]["id"]
        .clone();
    let body = json!({"scope": {"name": "Graph", "description": "Query the graph", "scope_suffix": "all",
        "dependent_scopes": [{"scope": transfer_id, "optional": false, "requires_refresh_token": false}]}});
    let r = s
        .json(
            Method::POST,
            &format!("/v2/api/clients/{}/scopes", graph.id),
            Some(&graph.basic()),
            Some(body),
        )
        .await;
    let graph_scope = r.body["scope"]["scope_string"].as_str().unwrap().to_owned();
    let (p, secret) = admin::add_client(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        "portal",
        ClientType::Confidential,
        vec![CALLBACK.into()],
    )
    .await
    .unwrap();
    let portal = Client {
        id: p.id.to_string(),
        secret: secret.unwrap().expose().to_owned(),
    };
    let mut b = Browser::new(s);
    let q = serde_urlencoded::to_string([
        ("client_id", portal.id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", graph_scope.as_str()),
        ("response_type", "code"),
    ])
    .unwrap();
    let r = b.authorize(&q, "alice@example.org").await;
    let tokens = s
        .redeem(&portal, &location_params(&r)["code"], CALLBACK)
        .await;
    tokens.ok();
    assert_eq!(
        tokens.body["scope"],
        graph_scope.as_str(),
        "root scope only"
    );
    let portal_token = tokens.body["access_token"].as_str().unwrap().to_owned();
    World {
        s,
        graph,
        portal,
        alice,
        portal_token,
    }
}

impl World<'_> {
    async fn dependent(
        &self,
        caller: &Client,
        token: &str,
        extra: &[(&str, &str)],
    ) -> crate::harness::Reply {
        let mut p = vec![
            ("grant_type", "urn:globus:auth:grant_type:dependent_token"),
            ("token", token),
        ];
        p.extend_from_slice(extra);
        self.s
            .form(
                "/v2/oauth2/token",
                Some(&caller.basic()),
                &serde_urlencoded::to_string(p).unwrap(),
            )
            .await
    }

    async fn exchange(
        &self,
        caller: &Client,
        token: &str,
        extra: &[(&str, &str)],
    ) -> crate::harness::Reply {
        let mut p = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
        ];
        p.extend_from_slice(extra);
        self.s
            .form(
                "/v2/oauth2/token",
                Some(&caller.basic()),
                &serde_urlencoded::to_string(p).unwrap(),
            )
            .await
    }
}

#[tokio::test]
async fn the_audience_gets_dependent_tokens_bound_to_itself_and_the_user() {
    let s = TestServer::new().await;
    let w = world(&s).await;
    let r = w.dependent(&w.graph, &w.portal_token, &[]).await;
    r.ok();
    let tokens = r.body.as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["resource_server"], "transfer.api.globus.org");
    assert_eq!(tokens[0]["scope"], TRANSFER);
    assert!(tokens[0].get("refresh_token").is_none());
    let dep = tokens[0]["access_token"].as_str().unwrap();
    let seen = s.introspect(&w.graph, dep).await;
    assert_eq!(
        (seen["client_id"].clone(), seen["sub"].clone()),
        (json!(w.graph.id), json!(w.alice))
    );

    let offline = w
        .dependent(&w.graph, &w.portal_token, &[("access_type", "offline")])
        .await;
    assert!(offline.body[0]["refresh_token"].is_string());
    let filtered = w
        .dependent(
            &w.graph,
            &w.portal_token,
            &[("scope", "urn:globus:auth:scope:groups.api.globus.org:all")],
        )
        .await;
    assert_eq!(filtered.body, json!([]), "nothing outside the consent tree");
}

#[tokio::test]
async fn token_exchange_escalation_only_the_audience_and_only_what_was_consented() {
    let s = TestServer::new().await;
    let w = world(&s).await;
    // The holder is not the audience: it cannot trade its own token for more.
    w.dependent(&w.portal, &w.portal_token, &[])
        .await
        .oauth_error(400, "invalid_grant");
    w.exchange(&w.portal, &w.portal_token, &[])
        .await
        .oauth_error(400, "invalid_grant");
    // A third client holding a stolen token gains nothing either.
    let thief = s.client("thief", ClientType::Confidential).await;
    w.dependent(&thief, &w.portal_token, &[])
        .await
        .oauth_error(400, "invalid_grant");
    // The audience cannot ask for scopes the user never consented beneath the token.
    w.exchange(
        &w.graph,
        &w.portal_token,
        &[("scope", "urn:globus:auth:scope:groups.api.globus.org:all")],
    )
    .await
    .oauth_error(400, "invalid_scope");
    // Nor present a token of its own (a client identity) to impersonate anyone.
    let own = s.token(&w.graph, "openid").await;
    w.dependent(&w.graph, &own, &[])
        .await
        .oauth_error(400, "invalid_grant");
    // A dependent token cannot be traded again by its holder for the transfer service's scopes.
    let dep = w.dependent(&w.graph, &w.portal_token, &[]).await.body[0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    w.dependent(&w.graph, &dep, &[])
        .await
        .oauth_error(400, "invalid_grant");
    w.exchange(&w.graph, &w.portal_token, &[("subject_token_type", "x")])
        .await
        .oauth_error(400, "invalid_request");

    let ok = w.exchange(&w.graph, &w.portal_token, &[]).await;
    ok.ok();
    assert_eq!(
        ok.body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(ok.body["scope"], TRANSFER);
    let seen: Value = s
        .introspect(&w.graph, ok.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (seen["client_id"].clone(), seen["sub"].clone()),
        (json!(w.graph.id), json!(w.alice))
    );
}

#[tokio::test]
async fn rescinding_the_root_consent_revokes_every_dependent_token() {
    let s = TestServer::new().await;
    let w = world(&s).await;
    let dep = w
        .dependent(&w.graph, &w.portal_token, &[("access_type", "offline")])
        .await
        .body[0]
        .clone();
    let consents = s
        .state
        .store
        .consents_of(uuid::Uuid::parse_str(&w.alice).unwrap())
        .await
        .unwrap();
    let root = consents
        .iter()
        .find(|c| c.dependency_path.len() == 1)
        .unwrap();
    assert_eq!(consents.len(), 2, "portal -> graph scope -> transfer");
    tessera_auth::service::consents::rescind(&s.state, root.identity_id, root.id)
        .await
        .unwrap();
    for t in [
        w.portal_token.as_str(),
        dep["access_token"].as_str().unwrap(),
    ] {
        assert_eq!(s.introspect(&w.graph, t).await, json!({"active": false}));
    }
    let rt = dep["refresh_token"].as_str().unwrap();
    let r = s
        .form(
            "/v2/oauth2/token",
            Some(&w.graph.basic()),
            &format!("grant_type=refresh_token&refresh_token={rt}"),
        )
        .await;
    r.oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_jwt_access_token_is_exchanged_for_dependent_tokens_and_revocation_ends_that() {
    let s = TestServer::new().await;
    let w = world_with(&s, true).await;
    let claims = crate::jwt::claims_of(&w.portal_token);
    assert_eq!(claims["sub"], w.alice.as_str());
    assert_eq!(
        claims["username"], "alice@example.org",
        "a person's username"
    );
    assert_eq!(claims["aud"], w.graph.id.as_str());
    let r = w.dependent(&w.graph, &w.portal_token, &[]).await;
    r.ok();
    assert_eq!(r.body[0]["resource_server"], "transfer.api.globus.org");
    let dep = r.body[0]["access_token"].as_str().unwrap().to_owned();
    assert!(!dep.contains('.'), "transfer keeps opaque tokens");
    let r = s
        .form(
            "/v2/oauth2/token/revoke",
            Some(&w.portal.basic()),
            &format!("token={}", w.portal_token),
        )
        .await;
    r.ok();
    w.dependent(&w.graph, &w.portal_token, &[])
        .await
        .oauth_error(400, "invalid_grant");
}
