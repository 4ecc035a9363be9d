//! Projects, policies and the clients of projects through `/v2/api` with `manage_projects`
//! Bearer tokens, and a policy enforced at authorization (the effective identity).

use crate::browser::{location_params, Browser, PASSWORD};
use crate::harness::{Client, TestServer};
use axum::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tessera_auth::service::admin::{self, Profile};
use tessera_core::client::ClientType;
use tessera_core::identity::LOCAL_IDP_ID;
use tessera_core::secret::Secret;

const MANAGE: &str = "urn:globus:auth:scope:auth.globus.org:manage_projects";

/// A confidential client and a `manage_projects` token of its own identity.
async fn manager(s: &TestServer, name: &str) -> (Client, String) {
    let c = s.client(name, ClientType::Confidential).await;
    let t = s.token(&c, MANAGE).await;
    (c, format!("Bearer {t}"))
}

async fn user(s: &TestServer, name: &str) -> String {
    admin::add_user(
        s.state.store.as_ref(),
        s.clock.as_ref(),
        s.state.rng.as_ref(),
        name,
        &Secret::new(PASSWORD),
        Profile {
            email: Some(name.to_owned()),
            ..Profile::default()
        },
    )
    .await
    .unwrap()
    .id
    .to_string()
}

async fn create_project(s: &TestServer, bearer: &str) -> Value {
    let r = s
        .json(
            Method::POST,
            "/v2/api/projects",
            Some(bearer),
            Some(
                json!({"project": {"display_name": "Portal", "contact_email": "dev@example.org"}}),
            ),
        )
        .await;
    r.ok();
    r.body["project"].clone()
}

async fn create_policy(s: &TestServer, bearer: &str, project: &str, include: &[&str]) -> Value {
    let r = s
        .json(
            Method::POST,
            "/v2/api/policies",
            Some(bearer),
            Some(json!({"policy": {
                "project_id": project, "display_name": "Partners", "description": "partner identities",
                "domain_constraints_include": include,
            }})),
        )
        .await;
    r.ok();
    r.body["policy"].clone()
}

#[tokio::test]
async fn projects_are_seen_and_changed_by_their_admins_only() {
    let s = TestServer::new().await;
    let (a, bearer_a) = manager(&s, "alice's tool").await;
    let (b, bearer_b) = manager(&s, "bob's tool").await;

    let p = create_project(&s, &bearer_a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["display_name"], "Portal");
    assert_eq!(p["project_name"], "Portal");
    assert_eq!(p["contact_email"], "dev@example.org");
    assert_eq!(p["admin_ids"], json!([a.id]), "the creator is an admin");
    assert_eq!(p["admin_group_ids"], Value::Null);
    assert_eq!(
        p["admins"]["identities"][0]["username"],
        format!("{}@clients.auth.globus.org", a.id)
    );
    assert_eq!(p["admins"]["groups"], json!([]));

    let list = |who: &'static str| {
        let bearer = if who == "a" { &bearer_a } else { &bearer_b };
        let s = &s;
        async move { s.get("/v2/api/projects", Some(bearer)).await }
    };
    assert_eq!(
        list("a").await.body["projects"].as_array().unwrap().len(),
        1
    );
    assert_eq!(list("b").await.body, json!({"projects": []}));
    let path = format!("/v2/api/projects/{id}");
    s.get(&path, Some(&bearer_b))
        .await
        .api_error(403, "FORBIDDEN");
    s.json(
        Method::PUT,
        &path,
        Some(&bearer_b),
        Some(json!({"project": {"display_name": "Mine"}})),
    )
    .await
    .api_error(403, "FORBIDDEN");
    s.json(Method::DELETE, &path, Some(&bearer_b), None)
        .await
        .api_error(403, "FORBIDDEN");

    // An admin renames it and adds bob, who then sees it.
    let r = s
        .json(
            Method::PUT,
            &path,
            Some(&bearer_a),
            Some(json!({"project": {"display_name": "Portal 2", "admin_ids": [a.id, b.id]}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["project"]["display_name"], "Portal 2");
    assert_eq!(r.body["project"]["admin_ids"], json!([a.id, b.id]));
    s.get(&path, Some(&bearer_b)).await.ok();

    // A confidential client in the project comes with its secret, which works.
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer_b),
            Some(json!({"client": {
                "name": "portal", "project": id, "public_client": false,
                "redirect_uris": ["https://portal.example.org/callback"],
                "links": {"privacy_policy": "https://portal.example.org/privacy", "terms_and_conditions": null},
            }})),
        )
        .await;
    r.ok();
    let portal = Client {
        id: r.body["client"]["id"].as_str().unwrap().to_owned(),
        secret: r.body["included"]["client_credential"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert_eq!(r.body["client"]["project"], id);
    assert_eq!(r.body["client"]["client_type"], "confidential_client");
    assert_eq!(r.body["client"]["userinfo_from_effective_identity"], true);
    assert_eq!(r.body["included"]["client_credential"]["client"], portal.id);
    s.token(&portal, "openid").await;
    // A native one has no secret.
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer_a),
            Some(json!({"client": {"name": "app", "project": id, "client_type": "public_installed_client"}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["public_client"], true);
    assert!(r.body.get("included").is_none());

    let r = s.get("/v2/api/clients", Some(&bearer_a)).await;
    r.ok();
    assert_eq!(r.body["clients"].as_array().unwrap().len(), 2);
    // Without manage_projects a Bearer token lists nothing.
    let plain = format!("Bearer {}", s.token(&a, "openid").await);
    s.get("/v2/api/clients", Some(&plain))
        .await
        .api_error(403, "FORBIDDEN");

    // Admins and the client itself change it; a stranger does not.
    let cpath = format!("/v2/api/clients/{}", portal.id);
    let r = s
        .json(
            Method::PUT,
            &cpath,
            Some(&bearer_a),
            Some(json!({"client": {"name": "Portal"}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["name"], "Portal");
    let r = s
        .json(
            Method::PUT,
            &cpath,
            Some(&portal.basic()),
            Some(json!({"client": {"visibility": "public"}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["visibility"], "public");
    assert_eq!(r.body["client"]["name"], "Portal");
    let (_, bearer_c) = manager(&s, "carol's tool").await;
    s.get(&cpath, Some(&bearer_c))
        .await
        .api_error(403, "FORBIDDEN");
    s.get(&cpath, Some(&bearer_a)).await.ok();

    // A policy of the project; the client adopts it; neither goes while in use.
    let pol = create_policy(&s, &bearer_a, &id, &["example.org"]).await;
    let pol_id = pol["id"].as_str().unwrap().to_owned();
    assert_eq!(pol["project_id"], id);
    assert_eq!(pol["domain_constraints_include"], json!(["example.org"]));
    assert_eq!(pol["domain_constraints_exclude"], Value::Null);
    assert_eq!(pol["high_assurance"], false);
    let r = s
        .json(
            Method::PUT,
            &cpath,
            Some(&bearer_a),
            Some(json!({"client": {"authentication_policy": pol_id}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["client"]["authentication_policy"], pol_id);
    let ppath = format!("/v2/api/policies/{pol_id}");
    s.json(Method::DELETE, &ppath, Some(&bearer_a), None)
        .await
        .api_error(409, "CONFLICT");
    s.json(Method::DELETE, &path, Some(&bearer_a), None)
        .await
        .api_error(409, "CONFLICT");
    let r = s
        .json(
            Method::PUT,
            &ppath,
            Some(&bearer_a),
            Some(json!({"policy": {"domain_constraints_include": null, "domain_constraints_exclude": ["other.org"]}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["policy"]["domain_constraints_include"], Value::Null);
    assert_eq!(
        r.body["policy"]["domain_constraints_exclude"],
        json!(["other.org"])
    );
    assert_eq!(r.body["policy"]["display_name"], "Partners");
    let r = s.get("/v2/api/policies", Some(&bearer_b)).await;
    assert_eq!(r.body["policies"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.get("/v2/api/policies", Some(&bearer_c)).await.body,
        json!({"policies": []})
    );
    s.get(&ppath, Some(&bearer_c))
        .await
        .api_error(403, "FORBIDDEN");
    s.json(
        Method::PUT,
        &cpath,
        Some(&bearer_a),
        Some(json!({"client": {"authentication_policy": null}})),
    )
    .await
    .ok();
    let r = s.json(Method::DELETE, &ppath, Some(&bearer_a), None).await;
    r.ok();
    assert_eq!(r.body["policy"]["id"], pol_id);
    s.get(&ppath, Some(&bearer_a))
        .await
        .api_error(404, "NOT_FOUND");

    // An empty project can be deleted; the answer is the deleted project.
    let empty = create_project(&s, &bearer_c).await;
    let epath = format!("/v2/api/projects/{}", empty["id"].as_str().unwrap());
    let r = s.json(Method::DELETE, &epath, Some(&bearer_c), None).await;
    r.ok();
    assert_eq!(r.body["project"]["id"], empty["id"]);
    s.get(&epath, Some(&bearer_c))
        .await
        .api_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn project_and_policy_bad_inputs() {
    let s = TestServer::new().await;
    let (a, bearer) = manager(&s, "tool").await;
    let (_, stranger) = manager(&s, "stranger").await;
    let plain = format!("Bearer {}", s.token(&a, "openid").await);
    let project = create_project(&s, &bearer).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = create_project(&s, &stranger).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let their_policy = create_policy(&s, &stranger, &theirs, &["example.org"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = "6f1ab0f4-3d43-4b8f-9d7e-3b1b5a0c9e11";
    let project_path = format!("/v2/api/projects/{project}");

    struct Case<'a> {
        name: &'a str,
        method: Method,
        path: String,
        auth: Option<String>,
        body: Option<String>,
        status: u16,
        code: &'a str,
    }
    let case =
        |name, method, path: &str, auth: Option<&str>, body: Option<Value>, status, code| Case {
            name,
            method,
            path: path.to_owned(),
            auth: auth.map(str::to_owned),
            body: body.map(|b| b.to_string()),
            status,
            code,
        };
    let policy = |fields: Value| json!({ "policy": fields });
    let mut cases = vec![
        case(
            "no auth",
            Method::GET,
            "/v2/api/projects",
            None,
            None,
            401,
            "UNAUTHORIZED",
        ),
        case(
            "basic",
            Method::GET,
            "/v2/api/projects",
            Some(&a.basic()),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "missing scope",
            Method::GET,
            "/v2/api/projects",
            Some(&plain),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "missing scope, policies",
            Method::GET,
            "/v2/api/policies",
            Some(&plain),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "bogus token",
            Method::GET,
            "/v2/api/projects",
            Some("Bearer nope"),
            None,
            401,
            "UNAUTHORIZED",
        ),
        case(
            "malformed id",
            Method::GET,
            "/v2/api/projects/not-a-uuid",
            Some(&bearer),
            None,
            404,
            "NOT_FOUND",
        ),
        case(
            "unknown project",
            Method::GET,
            &format!("/v2/api/projects/{unknown}"),
            Some(&bearer),
            None,
            404,
            "NOT_FOUND",
        ),
        case(
            "non-admin",
            Method::GET,
            &format!("/v2/api/projects/{theirs}"),
            Some(&bearer),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "non-admin delete",
            Method::DELETE,
            &format!("/v2/api/projects/{theirs}"),
            Some(&bearer),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "unknown field",
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(
                json!({"project": {"display_name": "x", "contact_email": "a@b.org", "colour": 1}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "missing email",
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(json!({"project": {"display_name": "x"}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "bad email",
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(json!({"project": {"display_name": "x", "contact_email": "nobody"}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "empty name",
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(json!({"project": {"display_name": " ", "contact_email": "a@b.org"}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "malformed admin",
            Method::POST,
            "/v2/api/projects",
            Some(&bearer),
            Some(
                json!({"project": {"display_name": "x", "contact_email": "a@b.org", "admin_ids": ["zz"]}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "unknown admin",
            Method::PUT,
            &project_path,
            Some(&bearer),
            Some(json!({"project": {"admin_ids": [unknown]}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "no admins",
            Method::PUT,
            &project_path,
            Some(&bearer),
            Some(json!({"project": {"admin_ids": []}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "policy without project",
            Method::POST,
            "/v2/api/policies",
            Some(&bearer),
            Some(policy(json!({"display_name": "p"}))),
            400,
            "BAD_REQUEST",
        ),
        case(
            "policy malformed project",
            Method::POST,
            "/v2/api/policies",
            Some(&bearer),
            Some(policy(json!({"project_id": "nope", "display_name": "p"}))),
            400,
            "BAD_REQUEST",
        ),
        case(
            "policy unknown project",
            Method::POST,
            "/v2/api/policies",
            Some(&bearer),
            Some(policy(json!({"project_id": unknown, "display_name": "p"}))),
            404,
            "NOT_FOUND",
        ),
        case(
            "policy in their project",
            Method::POST,
            "/v2/api/policies",
            Some(&bearer),
            Some(policy(json!({"project_id": theirs, "display_name": "p"}))),
            403,
            "FORBIDDEN",
        ),
        case(
            "their policy",
            Method::GET,
            &format!("/v2/api/policies/{their_policy}"),
            Some(&bearer),
            None,
            403,
            "FORBIDDEN",
        ),
        case(
            "malformed policy id",
            Method::DELETE,
            "/v2/api/policies/12",
            Some(&bearer),
            None,
            404,
            "NOT_FOUND",
        ),
        case(
            "negative timeout",
            Method::POST,
            "/v2/api/policies",
            Some(&bearer),
            Some(policy(
                json!({"project_id": project, "display_name": "p", "authentication_assurance_timeout": -1}),
            )),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client in unknown project",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(json!({"client": {"name": "c", "project": unknown, "public_client": true}})),
            404,
            "NOT_FOUND",
        ),
        case(
            "client in their project",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(json!({"client": {"name": "c", "project": theirs, "public_client": true}})),
            403,
            "FORBIDDEN",
        ),
        case(
            "client without type",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(json!({"client": {"name": "c", "project": project}})),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client contradicting type",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(
                json!({"client": {"name": "c", "project": project, "public_client": true, "client_type": "confidential_client"}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client with unknown idp",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(
                json!({"client": {"name": "c", "project": project, "public_client": true, "required_idp": unknown}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client with a policy of another project",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(
                json!({"client": {"name": "c", "project": project, "public_client": true, "authentication_policy": their_policy}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client with an http redirect",
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(
                json!({"client": {"name": "c", "project": project, "public_client": false, "redirect_uris": ["http://portal.example.org/cb"]}}),
            ),
            400,
            "BAD_REQUEST",
        ),
        case(
            "client without auth",
            Method::POST,
            "/v2/api/clients",
            None,
            Some(json!({"client": {"name": "c", "project": project, "public_client": true}})),
            401,
            "UNAUTHORIZED",
        ),
    ];
    for bad in [
        "Example.org",
        "localhost",
        "a..org",
        "-x.org",
        "x_y.org",
        "*.org",
        "",
    ] {
        cases.push(Case {
            name: "bad domain",
            method: Method::POST,
            path: "/v2/api/policies".into(),
            auth: Some(bearer.clone()),
            body: Some(policy(json!({"project_id": project, "display_name": "p", "domain_constraints_include": [bad]})).to_string()),
            status: 400,
            code: "BAD_REQUEST",
        });
    }
    cases.push(Case {
        name: "bad JSON",
        method: Method::POST,
        path: "/v2/api/projects".into(),
        auth: Some(bearer.clone()),
        body: Some("{\"project\": {".into()),
        status: 400,
        code: "BAD_REQUEST",
    });
    cases.push(Case {
        name: "bad JSON policy",
        method: Method::PUT,
        path: format!("/v2/api/policies/{their_policy}"),
        auth: Some(stranger.clone()),
        body: Some("[]".into()),
        status: 400,
        code: "BAD_REQUEST",
    });
    for c in cases {
        let mut b = axum::http::Request::builder().method(c.method).uri(&c.path);
        if let Some(a) = &c.auth {
            b = b.header("authorization", a);
        }
        let body = match c.body {
            Some(t) => {
                b = b.header("content-type", "application/json");
                axum::body::Body::from(t)
            }
            None => axum::body::Body::empty(),
        };
        let r = s.send(b.body(body).unwrap()).await;
        assert_eq!(r.status.as_u16(), c.status, "{}: {}", c.name, r.body);
        assert_eq!(
            r.body["errors"][0]["code"], c.code,
            "{}: {}",
            c.name, r.body
        );
    }
    // Nothing was created by the refused calls.
    let r = s.get("/v2/api/projects", Some(&bearer)).await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.get("/v2/api/policies", Some(&bearer)).await.body,
        json!({"policies": []})
    );
    assert_eq!(
        s.get("/v2/api/clients", Some(&bearer)).await.body,
        json!({"clients": []})
    );
}

/// Submits the "sign in with a matching identity" form (it carries `link=1`).
async fn link_sign_in(
    b: &mut Browser<'_>,
    page: &crate::harness::Reply,
    username: &str,
    password: &str,
) -> crate::harness::Reply {
    let csrf = Browser::hidden(page, "csrf");
    let request = Browser::hidden(page, "request");
    let link = Browser::hidden(page, "link");
    let r = b
        .post(
            "/v2/web/login",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("link", &link),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    b.follow(r).await
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_policy_asks_for_a_matching_identity_links_it_and_it_becomes_the_effective_identity() {
    let s = TestServer::new().await;
    let home = user(&s, "alice@example.org").await;
    let partner = user(&s, "alice@other.org").await;
    let (_, bearer) = manager(&s, "developer").await;
    let project = create_project(&s, &bearer).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = create_policy(&s, &bearer, &project, &["other.org"]).await;
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    let elsewhere = create_policy(&s, &bearer, &project, &["example.net"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer),
            Some(json!({"client": {
                "name": "Partner portal", "project": project, "public_client": false,
                "redirect_uris": ["https://portal.example.org/callback"],
                "authentication_policy": policy_id, "required_idp": LOCAL_IDP_ID.to_string(),
            }})),
        )
        .await;
    r.ok();
    let portal = Client {
        id: r.body["client"]["id"].as_str().unwrap().to_owned(),
        secret: r.body["included"]["client_credential"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    };

    let mut b = Browser::new(&s);
    let q = serde_urlencoded::to_string([
        ("client_id", portal.id.as_str()),
        ("redirect_uri", "https://portal.example.org/callback"),
        (
            "scope",
            "openid profile email urn:globus:auth:scope:auth.globus.org:view_identity_set",
        ),
        ("response_type", "code"),
        ("state", "s1"),
    ])
    .unwrap();
    let r = b.get(&format!("/v2/oauth2/authorize?{q}")).await;
    let page = b.follow(r).await;
    let asked = b.sign_in(&page, "alice@example.org", PASSWORD).await;
    assert!(
        asked
            .text
            .contains("Sign in with an identity from other.org"),
        "{}",
        asked.text
    );
    assert!(asked.text.contains("alice@example.org"), "who is signed in");
    assert_eq!(Browser::hidden(&asked, "link"), "1");

    // A non-matching identity is refused and nothing changes.
    let outsider = user(&s, "alice@example.com").await;
    let refused = link_sign_in(&mut b, &asked, "alice@example.com", PASSWORD).await;
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);
    assert!(
        refused
            .text
            .contains("alice@example.com is not an identity from other.org"),
        "{}",
        refused.text
    );
    let set = s
        .state
        .store
        .identity_set(home.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(set.len(), 1, "nothing was linked");
    let wrong = link_sign_in(&mut b, &refused, "alice@other.org", "not the password").await;
    assert!(wrong.text.contains("Incorrect username or password"));

    // The matching identity is linked and the flow continues to consent.
    let consent = link_sign_in(&mut b, &wrong, "alice@other.org", PASSWORD).await;
    assert!(consent.text.contains(">Allow</button>"), "{}", consent.text);
    let set: Vec<String> = s
        .state
        .store
        .identity_set(home.parse().unwrap())
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    assert!(set.contains(&partner) && set.contains(&home) && !set.contains(&outsider));
    let done = b.decide(&consent, "allow").await;
    let params = location_params(&done);
    assert_eq!(params["state"], "s1");
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("redirect_uri", "https://portal.example.org/callback"),
    ])
    .unwrap();
    let tokens = s
        .form("/v2/oauth2/token", Some(&portal.basic()), &body)
        .await;
    tokens.ok();
    let at = tokens.body["access_token"].as_str().unwrap().to_owned();

    // Introspection, the ID token and userinfo describe the effective identity.
    let r = s
        .form(
            "/v2/oauth2/token/introspect",
            Some(&portal.basic()),
            &format!(
                "token={at}&include=identity_set,session_info&authentication_policies={policy_id},{elsewhere}"
            ),
        )
        .await;
    r.ok();
    assert_eq!(r.body["username"], "alice@other.org");
    assert_eq!(r.body["sub"], partner);
    assert_eq!(r.body["email"], "alice@other.org");
    let mut ids: Vec<String> = r.body["identity_set"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![home.clone(), partner.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert!(
        r.body["session_info"]["authentications"][&home].is_object(),
        "the session is the one signed in with: {}",
        r.body
    );
    assert_eq!(r.body["policy_evaluations"][&policy_id]["evaluation"], true);
    assert_eq!(
        r.body["policy_evaluations"][&elsewhere]["evaluation"],
        false
    );
    let claims = jwt_claims(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], partner);
    assert_eq!(claims["preferred_username"], "alice@other.org");
    assert_eq!(claims["identity_set"].as_array().unwrap().len(), 2);
    let info = s
        .get("/v2/oauth2/userinfo", Some(&format!("Bearer {at}")))
        .await;
    info.ok();
    assert_eq!(info.body["sub"], partner);

    // The consent records it.
    let userinfo_token = format!("Bearer {at}");
    let r = s
        .get(
            &format!("/v2/api/identities/{home}/consents"),
            Some(&userinfo_token),
        )
        .await;
    r.ok();
    assert!(r.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["effective_identity"] == partner.as_str()));

    // A client that does not want the effective identity gets the one signed in with.
    s.json(
        Method::PUT,
        &format!("/v2/api/clients/{}", portal.id),
        Some(&bearer),
        Some(json!({"client": {"userinfo_from_effective_identity": false}})),
    )
    .await
    .ok();
    let r = s.introspect(&portal, &at).await;
    assert_eq!(r["username"], "alice@example.org");
    assert_eq!(r["sub"], home);

    // Signed in already with a satisfying set, the next authorization needs nothing more.
    let r = b.get(&format!("/v2/oauth2/authorize?{q}")).await;
    let again = b.follow(r).await;
    assert!(location_params(&again).contains_key("code"));

    // A malformed policy id is an OAuth error.
    s.form(
        "/v2/oauth2/token/introspect",
        Some(&portal.basic()),
        &format!("token={at}&authentication_policies=nope"),
    )
    .await
    .oauth_error(400, "invalid_request");
}

/// A group membership of `identity`, written straight to the groups store.
fn membership(
    group: uuid::Uuid,
    identity: &str,
    status: tessera_core::group::Status,
) -> tessera_core::group::Membership {
    tessera_core::group::Membership {
        group_id: group,
        identity_id: uuid::Uuid::parse_str(identity).unwrap(),
        role: tessera_core::group::Role::Member,
        status,
        status_reason: None,
        invite_email_address: None,
        invite_time: None,
        updated: 0,
    }
}

#[tokio::test]
async fn active_members_of_an_admin_group_administer_the_project_until_they_leave() {
    use tessera_core::group::{Group, Policies, Status};
    let s = TestServer::new().await;
    let (_a, bearer_a) = manager(&s, "alice's tool").await;
    let (b, bearer_b) = manager(&s, "bob's tool").await;
    let (c, bearer_c) = manager(&s, "carol's tool").await;
    let lab = uuid::Uuid::from_u128(0x1ab);
    let group = Group {
        id: lab,
        name: "Lab".into(),
        description: None,
        parent_id: None,
        terms_and_conditions: None,
        policies: Policies::default(),
        subscription_id: None,
        subscription_admin_verified_id: None,
        created_at: 0,
        updated_at: 0,
    };
    let store = s.state.store.as_ref();
    let mut owner = membership(
        lab,
        &uuid::Uuid::from_u128(0x0a).to_string(),
        Status::Active,
    );
    owner.role = tessera_core::group::Role::Admin;
    store.insert_group(&group, &owner).await.unwrap();
    // Bob is an active member; Carol is only invited, which is not membership.
    let member = membership(lab, &b.id, Status::Active);
    let invited = membership(lab, &c.id, Status::Invited);
    store
        .write_memberships(lab, &[(None, member), (None, invited)], 1)
        .await
        .unwrap();

    let p = create_project(&s, &bearer_a).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/api/projects/{id}");
    s.get(&path, Some(&bearer_b))
        .await
        .api_error(403, "FORBIDDEN");
    let r = s
        .json(
            Method::PUT,
            &path,
            Some(&bearer_a),
            Some(json!({"project": {"admin_group_ids": [lab]}})),
        )
        .await;
    r.ok();
    assert_eq!(r.body["project"]["admin_group_ids"], json!([lab]));

    // Bob, an active member: sees, lists, changes it, and manages its policies and clients.
    s.get(&path, Some(&bearer_b)).await.ok();
    let listed = s.get("/v2/api/projects", Some(&bearer_b)).await;
    assert_eq!(listed.body["projects"][0]["id"], json!(id));
    s.json(
        Method::PUT,
        &path,
        Some(&bearer_b),
        Some(json!({"project": {"display_name": "Lab portal"}})),
    )
    .await
    .ok();
    let policy = create_policy(&s, &bearer_b, &id, &["example.org"]).await;
    let r = s
        .json(
            Method::POST,
            "/v2/api/clients",
            Some(&bearer_b),
            Some(json!({"client": {
                "name": "lab portal", "project": id, "public_client": false,
                "redirect_uris": ["https://lab.example.org/callback"],
            }})),
        )
        .await;
    r.ok();
    let client_path = format!(
        "/v2/api/clients/{}",
        r.body["client"]["id"].as_str().unwrap()
    );
    s.get(&client_path, Some(&bearer_b)).await.ok();

    // Carol, invited only, may not.
    s.get(&path, Some(&bearer_c))
        .await
        .api_error(403, "FORBIDDEN");
    assert_eq!(
        s.get("/v2/api/projects", Some(&bearer_c)).await.body,
        json!({"projects": []})
    );

    // Bob leaves the group: the same token loses the project, its policy and its client at once.
    let before = membership(lab, &b.id, Status::Active);
    let mut after = before.clone();
    after.status = Status::Left;
    store
        .write_memberships(lab, &[(Some(before), after)], 2)
        .await
        .unwrap();
    s.get(&path, Some(&bearer_b))
        .await
        .api_error(403, "FORBIDDEN");
    let policy_path = format!("/v2/api/policies/{}", policy["id"].as_str().unwrap());
    s.get(&policy_path, Some(&bearer_b))
        .await
        .api_error(403, "FORBIDDEN");
    s.get(&client_path, Some(&bearer_b))
        .await
        .api_error(403, "FORBIDDEN");
    assert_eq!(
        s.get("/v2/api/projects", Some(&bearer_b)).await.body,
        json!({"projects": []})
    );
}
