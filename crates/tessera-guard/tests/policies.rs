//! Authentication policies judged when a token is used: a resource server guarded with a
//! 30-minute high-assurance + MFA policy, against a real Tessera on 127.0.0.1:0 whose clock the
//! test moves. The refusal is a 403 with the `authorization_parameters` of a Globus Auth
//! Requirements Error; `TESSERA_GARE_OUT` names a file the body is written to, for the Python
//! SDK test (tests/python/gare.py).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tessera_auth::service::admin::{self, Profile};
use tessera_auth::service::issue::{self, Grant};
use tessera_auth::service::sessions::{self, Proof};
use tessera_auth::{AppState, AuthConfig};
use tessera_core::auth_policy::AuthPolicy;
use tessera_core::client::ClientType;
use tessera_core::clock::FixedClock;
use tessera_core::grant::{SubjectKind, TokenPlan};
use tessera_core::project::Project;
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_guard::{Authenticated, Guard, GuardError};
use uuid::Uuid;

const START: i64 = 1_800_000_000;

async fn data(auth: Authenticated) -> Result<&'static str, GuardError> {
    auth.require_policies()?;
    Ok("the data")
}

#[tokio::test]
async fn an_old_or_single_factor_session_gets_authorization_parameters_and_a_fresh_mfa_one_gets_in()
{
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let clock = Arc::new(FixedClock::new(START));
    let state = AppState::new(
        AuthConfig::new(&url),
        store,
        clock.clone(),
        Arc::new(OsRandom),
    )
    .await
    .unwrap();
    let app = tessera_auth::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let s = state.store.as_ref();
    let alice = admin::add_user(
        s,
        clock.as_ref(),
        &OsRandom,
        "alice@uni.edu",
        &Secret::new("a long enough password"),
        Profile::default(),
    )
    .await
    .unwrap();
    let project = Project {
        id: Uuid::new_v4(),
        display_name: "Lab".into(),
        contact_email: "lab@uni.edu".into(),
        admin_ids: vec![alice.id],
        admin_group_ids: None,
        created_at: START,
    };
    s.insert_project(&project).await.unwrap();
    let policy = AuthPolicy {
        id: Uuid::new_v4(),
        project_id: project.id,
        display_name: "Sensitive data".into(),
        description: "30 minutes, MFA, uni.edu".into(),
        high_assurance: true,
        authentication_assurance_timeout: Some(1800),
        required_mfa: true,
        domain_constraints_include: Some(vec!["uni.edu".into()]),
        domain_constraints_exclude: None,
        created_at: START,
    };
    s.insert_policy(&policy).await.unwrap();
    let (api, api_secret) = admin::add_client(
        s,
        clock.as_ref(),
        &OsRandom,
        "api",
        ClientType::Confidential,
        vec![],
    )
    .await
    .unwrap();
    let (portal, _) = admin::add_client(
        s,
        clock.as_ref(),
        &OsRandom,
        "portal",
        ClientType::Confidential,
        vec![],
    )
    .await
    .unwrap();

    // Alice signs in with her password only; a token of that session reaches the API.
    let (session, _) = sessions::open(&state, &alice, Proof::password())
        .await
        .unwrap();
    let token = async |session_id: Uuid| {
        let grant = Grant {
            client_id: portal.id,
            subject: alice.id,
            subject_kind: SubjectKind::Identity,
            family_id: None,
            session_id: Some(session_id),
            auth_time: Some(START),
            offline: false,
            parent: None,
            effective_identity: None,
        };
        let plan = TokenPlan {
            resource_server: api.id.to_string(),
            scopes: vec![],
        };
        let minted = issue::mint(&state, &grant, &[plan]).await.unwrap();
        let t: String = minted.infos[0].access_token.clone();
        issue::store(&state, minted.records).await.unwrap();
        t
    };
    let at = token(session.id).await;

    let guard = Guard::builder(&url, &api.id.to_string(), api_secret.unwrap().expose())
        .ttl(Duration::ZERO)
        .authentication_policies([policy.id.to_string()])
        .session_required_mfa(true)
        .session_message("Sensitive data: sign in with MFA within the last 30 minutes.")
        .build()
        .unwrap();
    let rs = Router::new().route("/data", get(data)).with_state(guard);
    let rs_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rs_url = format!("http://{}", rs_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(rs_listener, rs).await });
    let http = reqwest::Client::new();
    let call = async |t: &str| {
        let r = http
            .get(format!("{rs_url}/data"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    };

    // Password only: refused with what to do about it.
    let (status, body) = call(&at).await;
    assert_eq!(status, 403, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "AuthorizationRequired");
    let p = &v["authorization_parameters"];
    assert_eq!(
        p["session_required_policies"],
        serde_json::json!([policy.id.to_string()])
    );
    assert_eq!(p["session_required_mfa"], true);
    assert_eq!(p["prompt"], "login");
    assert!(p["session_message"]
        .as_str()
        .unwrap()
        .contains("30 minutes"));
    if let Ok(out) = std::env::var("TESSERA_GARE_OUT") {
        std::fs::write(out, &body).unwrap();
    }

    // She proves her second factor in the same session: the same token now gets in.
    sessions::record(&state, &session, &alice, Proof { mfa: true })
        .await
        .unwrap();
    assert_eq!(call(&at).await, (200, "the data".into()));

    // 30 minutes later the sign-in is too old: refused again, judged at use.
    clock.advance(1801);
    assert_eq!(call(&at).await.0, 403);

    // Signing in again with MFA (prompt=login + MFA) in a new session: its tokens get in.
    let (fresh, _) = sessions::open_after(&state, &alice, Proof { mfa: true }, Some(&session))
        .await
        .unwrap();
    assert_eq!(call(&token(fresh.id).await).await, (200, "the data".into()));

    // The policy changes (another domain): the next use is refused.
    let mut changed = policy.clone();
    changed.domain_constraints_include = Some(vec!["other.org".into()]);
    assert!(s.update_policy(&changed).await.unwrap());
    assert_eq!(call(&token(fresh.id).await).await.0, 403);
}
