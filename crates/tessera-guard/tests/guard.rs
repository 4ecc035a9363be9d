//! The guard against a real Tessera on 127.0.0.1:0, counting the calls that reach it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::routing::get;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_auth::service::admin::{self, Profile};
use tessera_auth::service::issue::{self, Grant};
use tessera_auth::{AppState, AuthConfig};
use tessera_core::client::ClientType;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::grant::{SubjectKind, TokenPlan};
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_guard::{Authenticated, Guard, GuardError};
use tessera_store::{ConsentParent, NewConsent};
use tower::ServiceExt;

struct Server {
    url: String,
    state: AppState,
    introspections: Arc<AtomicU64>,
    token_calls: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

struct Creds {
    id: String,
    secret: String,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(
        AuthConfig::new(&url),
        store,
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    )
    .await
    .unwrap();
    let introspections = Arc::new(AtomicU64::new(0));
    let token_calls = Arc::new(AtomicU64::new(0));
    let (i, t) = (introspections.clone(), token_calls.clone());
    let app = tessera_auth::router(state.clone()).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let (i, t) = (i.clone(), t.clone());
            async move {
                match req.uri().path() {
                    "/v2/oauth2/token/introspect" => i.fetch_add(1, Ordering::SeqCst),
                    "/v2/oauth2/token" => t.fetch_add(1, Ordering::SeqCst),
                    _ => 0,
                };
                next.run(req).await
            }
        },
    ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url,
        state,
        introspections,
        token_calls,
        _dir: dir,
    }
}

impl Server {
    async fn client(&self, name: &str) -> Creds {
        let (c, s) = admin::add_client(
            self.state.store.as_ref(),
            &SystemClock,
            &OsRandom,
            name,
            ClientType::Confidential,
            vec![],
        )
        .await
        .unwrap();
        Creds {
            id: c.id.to_string(),
            secret: s.unwrap().expose().to_owned(),
        }
    }

    /// A client-credentials token of `holder` for `scope`, straight from the service layer.
    async fn cc_token(&self, holder: &Creds, scope: &str) -> String {
        let c = self
            .state
            .store
            .client(holder.id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        tessera_auth::service::tokens::client_credentials(&self.state, &c, Some(scope))
            .await
            .unwrap()
            .top
            .access_token
    }

    async fn scope(&self, owner: &Creds, suffix: &str) -> String {
        let c = self
            .state
            .store
            .client(owner.id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let body = tessera_proto::api::ScopeCreate {
            name: "S".into(),
            description: "D".into(),
            scope_suffix: suffix.into(),
            ..Default::default()
        };
        tessera_auth::service::scopes::create(&self.state, &c, body)
            .await
            .unwrap()
            .scope_string
    }

    fn guard(&self, api: &Creds, ttl: Duration) -> Guard {
        Guard::builder(&self.url, &api.id, &api.secret)
            .ttl(ttl)
            .negative_ttl(ttl)
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn cache_hits_make_no_call_and_concurrent_misses_make_one() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    let scope = s.scope(&api, "data").await;
    let token = s.cc_token(&portal, &scope).await;
    let guard = s.guard(&api, Duration::from_secs(30));

    let info = guard.validate(&token).await.unwrap();
    assert_eq!(info.client_id, portal.id);
    assert_eq!(info.scopes, vec![scope.clone()]);
    assert_eq!(s.introspections.load(Ordering::SeqCst), 1);
    for _ in 0..100 {
        guard.validate(&token).await.unwrap();
    }
    assert_eq!(
        s.introspections.load(Ordering::SeqCst),
        1,
        "cache hits make no call"
    );

    let fresh = s.cc_token(&portal, &scope).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (g, t) = (guard.clone(), fresh.clone());
        tasks.push(tokio::spawn(async move { g.validate(&t).await.is_ok() }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(
        s.introspections.load(Ordering::SeqCst),
        2,
        "50 concurrent misses make one call"
    );
    assert_eq!(guard.introspections(), 2);
}

#[tokio::test]
async fn a_revoked_token_stops_working_within_the_ttl_and_junk_is_negatively_cached() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    let scope = s.scope(&api, "data").await;
    let token = s.cc_token(&portal, &scope).await;
    let ttl = Duration::from_millis(400);
    let guard = s.guard(&api, ttl);
    guard.validate(&token).await.unwrap();
    let c = s
        .state
        .store
        .client(portal.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    tessera_auth::service::tokens::revoke(&s.state, &c, &token)
        .await
        .unwrap();
    // Within the TTL the cached answer may still stand; after it, never.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(matches!(
        guard.validate(&token).await,
        Err(GuardError::InvalidToken)
    ));

    let before = s.introspections.load(Ordering::SeqCst);
    for _ in 0..10 {
        assert!(matches!(
            guard.validate("junk-token").await,
            Err(GuardError::InvalidToken)
        ));
    }
    assert_eq!(
        s.introspections.load(Ordering::SeqCst),
        before + 1,
        "unknown tokens are remembered too"
    );
    // A token for another resource server is not active for this one.
    let other = s.cc_token(&portal, "openid").await;
    assert!(matches!(
        guard.validate(&other).await,
        Err(GuardError::InvalidToken)
    ));
}

#[tokio::test]
async fn the_extractor_answers_rfc6750_errors_and_checks_scopes() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    let scope = s.scope(&api, "read").await;
    let token = s.cc_token(&portal, &scope).await;
    let guard = s.guard(&api, Duration::from_secs(10));
    let needed = scope.clone();
    let app =
        Router::new()
            .route(
                "/data",
                get(move |who: Authenticated| {
                    let needed = needed.clone();
                    async move {
                        who.require(&[&needed])?;
                        Ok::<_, GuardError>(who.token.username.clone())
                    }
                }),
            )
            .route(
                "/admin",
                get(|who: Authenticated| async move {
                    who.require(&["urn:example:admin"]).map(|()| "ok")
                }),
            )
            .route(
                "/owner",
                get(|who: Authenticated| async move {
                    who.require_identity(&["00000000-0000-4000-8000-000000000000"])
                        .map(|()| "ok")
                }),
            )
            .route(
                "/mine",
                get(|who: Authenticated| async move {
                    let me = who.token.client_id.clone();
                    who.require_identity(&[me.as_str()]).map(|()| "ok")
                }),
            )
            .with_state(guard);
    let call = |path: &str, auth: Option<String>| {
        let mut b = axum::http::Request::builder().uri(path);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        app.clone().oneshot(b.body(Body::empty()).unwrap())
    };
    let r = call("/data", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tessera\""
    );
    let r = call("/data", Some("Bearer junk".into())).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let r = call("/data", Some(format!("Bearer {token}")))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = call("/admin", Some(format!("bearer {token}")))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[tokio::test]
async fn dependent_tokens_are_fetched_once_and_cached_until_they_expire() {
    let s = server().await;
    let (graph, portal) = (s.client("graph").await, s.client("portal").await);
    let graph_scope = s.scope(&graph, "all").await;
    let alice = admin::add_user(
        s.state.store.as_ref(),
        &SystemClock,
        &OsRandom,
        "alice@example.org",
        &Secret::new("long enough password"),
        Profile::default(),
    )
    .await
    .unwrap();
    let catalogue = s.state.scopes.get(s.state.store.as_ref()).await.unwrap();
    let transfer = catalogue
        .by_string("urn:globus:auth:scope:transfer.api.globus.org:all")
        .unwrap()
        .clone();
    let graph_s = s
        .state
        .store
        .scopes_by_strings(std::slice::from_ref(&graph_scope))
        .await
        .unwrap()
        .remove(0);
    // Alice consented: portal -> graph scope -> transfer (held by graph).
    let nodes = vec![
        NewConsent {
            client_id: portal.id.parse().unwrap(),
            scope_id: graph_s.id,
            scope_string: graph_scope.clone(),
            parent: ConsentParent::Root,
            allows_refresh: true,
        },
        NewConsent {
            client_id: graph.id.parse().unwrap(),
            scope_id: transfer.id,
            scope_string: transfer.scope_string.clone(),
            parent: ConsentParent::New(0),
            allows_refresh: true,
        },
    ];
    s.state
        .store
        .insert_consents(alice.id, &nodes, SystemClock.now())
        .await
        .unwrap();
    let grant = Grant {
        client_id: portal.id.parse().unwrap(),
        subject: alice.id,
        subject_kind: SubjectKind::Identity,
        family_id: None,
        session_id: None,
        auth_time: None,
        offline: false,
        parent: None,
        effective_identity: None,
    };
    let plan = TokenPlan {
        resource_server: graph.id.clone(),
        scopes: vec![graph_scope],
    };
    let minted = issue::mint(&s.state, &grant, &[plan]).await.unwrap();
    let user_token = minted.infos[0].access_token.clone();
    issue::store(&s.state, minted.records).await.unwrap();

    let guard = s.guard(&graph, Duration::from_secs(10));
    let who = guard.validate(&user_token).await.unwrap();
    assert_eq!(who.sub, alice.id.to_string());
    let first = guard
        .dependent_token(&user_token, &transfer.scope_string)
        .await
        .unwrap();
    let again = guard
        .dependent_token(&user_token, &transfer.scope_string)
        .await
        .unwrap();
    assert_eq!(first.access_token, again.access_token);
    assert_eq!(first.resource_server, "transfer.api.globus.org");
    assert_eq!(
        s.token_calls.load(Ordering::SeqCst),
        1,
        "the second call came from the cache"
    );
    assert!(matches!(
        guard
            .dependent_token(
                &user_token,
                "urn:globus:auth:scope:groups.api.globus.org:all"
            )
            .await,
        Err(GuardError::InsufficientScope(_))
    ));
}

impl Server {
    /// `rs` chooses JWT access tokens for its scopes.
    async fn choose_jwt(&self, rs: &Creds) {
        let id = rs.id.parse().unwrap();
        assert!(self
            .state
            .store
            .set_access_token_format(id, tessera_core::client::AccessTokenFormat::Jwt)
            .await
            .unwrap());
        self.state.clients.invalidate(id);
    }

    /// A JWT signed with the server's own access-token key, claims as given.
    fn forge(&self, claims: serde_json::Value) -> String {
        self.state
            .keys
            .sign_access_token(SystemClock.now(), &claims)
            .unwrap()
    }
}

fn tamper(jwt: &str) -> String {
    let mut b = jwt.as_bytes().to_vec();
    let i = b.len() - 3;
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn jwt_access_tokens_are_validated_offline_and_bad_ones_refused() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    s.choose_jwt(&api).await;
    let scope = s.scope(&api, "data").await;
    let token = s.cc_token(&portal, &scope).await;
    assert_eq!(token.matches('.').count(), 2, "a JWT");
    let guard = s.guard(&api, Duration::from_secs(30));

    let info = guard.validate(&token).await.unwrap();
    assert_eq!(info.client_id, portal.id);
    assert_eq!(info.sub, portal.id);
    assert_eq!(info.scopes, vec![scope.clone()]);
    for _ in 0..20 {
        guard.validate(&token).await.unwrap();
    }
    assert_eq!(
        s.introspections.load(Ordering::SeqCst),
        0,
        "never introspected"
    );
    assert_eq!(guard.jwks_fetches(), 1, "the JWKS is fetched once");

    let now = SystemClock.now();
    let claims = |aud: &str, iss: &str, iat: i64, exp: i64| {
        serde_json::json!({"iss": iss, "sub": portal.id, "aud": aud, "client_id": portal.id,
            "scope": scope, "iat": iat, "exp": exp, "jti": "x"})
    };
    let bad = [
        ("tampered", tamper(&token)),
        (
            "expired",
            s.forge(claims(&api.id, &s.url, now - 7200, now - 3600)),
        ),
        ("not yet valid", {
            let mut c = claims(&api.id, &s.url, now, now + 7200);
            c["nbf"] = serde_json::json!(now + 3600);
            s.forge(c)
        }),
        (
            "for another resource server",
            s.forge(claims("someone-else", &s.url, now, now + 3600)),
        ),
        (
            "from another issuer",
            s.forge(claims(&api.id, "https://evil.example", now, now + 3600)),
        ),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (why, t) in &bad {
        assert!(
            matches!(guard.validate(t).await, Err(GuardError::InvalidToken)),
            "{why}"
        );
    }
    // Within the leeway an expired token still passes (clock skew), past it not.
    assert!(guard
        .validate(&s.forge(claims(&api.id, &s.url, now - 100, now - 10)))
        .await
        .is_ok());

    // Through the extractor: RFC 6750 answers.
    let app = Router::new()
        .route(
            "/data",
            get(|who: Authenticated| async move { who.token.client_id.clone() }),
        )
        .with_state(guard.clone());
    let call = |t: String| {
        app.clone().oneshot(
            axum::http::Request::builder()
                .uri("/data")
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    assert_eq!(call(token.clone()).await.unwrap().status(), StatusCode::OK);
    let r = call(bad[1].1.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(s.introspections.load(Ordering::SeqCst), 0);

    // Opaque tokens of other resource servers still go to introspection.
    let other = s.client("other").await;
    let opaque_scope = s.scope(&other, "x").await;
    let opaque = s.cc_token(&portal, &opaque_scope).await;
    let other_guard = s.guard(&other, Duration::from_secs(30));
    other_guard.validate(&opaque).await.unwrap();
    assert_eq!(s.introspections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_its_unknown_kid_and_made_up_kids_are_rate_limited() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    s.choose_jwt(&api).await;
    let scope = s.scope(&api, "data").await;
    let old = s.cc_token(&portal, &scope).await;
    let guard = s.guard(&api, Duration::from_secs(30));
    guard.validate(&old).await.unwrap();
    assert_eq!(guard.jwks_fetches(), 1);

    let policy = tessera_auth::keys::KeyPolicy {
        rotation_interval: 3600,
        publish_ahead: 1,
        retain: 3600,
    };
    let added = s
        .state
        .keys
        .rotate_now(
            s.state.store.as_ref(),
            SystemClock.now(),
            policy,
            &tessera_auth::keys::KeyFamily::ALL,
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new = s.cc_token(&portal, &scope).await;
    let kid = |t: &str| {
        let h = t.split('.').next().unwrap();
        let h: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h).unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    assert_eq!(kid(&new), added[1], "the new key signs");
    assert_ne!(kid(&old), kid(&new));
    // The guard's cached JWKS predates the key: one fetch, then both tokens verify.
    guard.validate(&new).await.unwrap();
    guard.validate(&old).await.unwrap();
    assert_eq!(guard.jwks_fetches(), 2);

    // A made-up kid cannot make the guard hammer the JWKS endpoint.
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"alg":"ES256","typ":"at+jwt","kid":"made-up"}"#,
    );
    let rest = new.split_once('.').unwrap().1;
    for _ in 0..5 {
        assert!(matches!(
            guard.validate(&format!("{header}.{rest}")).await,
            Err(GuardError::InvalidToken)
        ));
    }
    assert_eq!(guard.jwks_fetches(), 2, "rate-limited");
    assert_eq!(s.introspections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_key_replaced_at_once_is_refused_from_the_guards_next_jwks_fetch() {
    let s = server().await;
    let (api, portal) = (s.client("api").await, s.client("portal").await);
    s.choose_jwt(&api).await;
    let scope = s.scope(&api, "data").await;
    let old = s.cc_token(&portal, &scope).await;
    let guard = s.guard(&api, Duration::from_secs(30));
    guard.validate(&old).await.unwrap();
    assert_eq!(guard.jwks_fetches(), 1);

    let replaced = s
        .state
        .keys
        .replace_now(
            s.state.store.as_ref(),
            SystemClock.now(),
            &[tessera_auth::keys::KeyFamily::AccessToken],
        )
        .await
        .unwrap();
    assert_eq!(replaced.added.len(), 1);
    // Until the guard fetches the JWKS again, its cached copy still holds the old key.
    guard.validate(&old).await.unwrap();
    assert_eq!(guard.jwks_fetches(), 1);
    // The first token of the new key has a kid the guard does not know: it fetches, and from
    // then on the old key is gone.
    let new = s.cc_token(&portal, &scope).await;
    guard.validate(&new).await.unwrap();
    assert_eq!(guard.jwks_fetches(), 2);
    assert!(matches!(
        guard.validate(&old).await,
        Err(GuardError::InvalidToken)
    ));
    // Without a new token, the JWKS's age (`jwks_max_age`) brings the same refetch.
    let late = Guard::builder(&s.url, &api.id, &api.secret)
        .jwks_max_age(Duration::from_millis(200))
        .build()
        .unwrap();
    let newer = s.cc_token(&portal, &scope).await;
    late.validate(&newer).await.unwrap();
    s.state
        .keys
        .replace_now(
            s.state.store.as_ref(),
            SystemClock.now(),
            &[tessera_auth::keys::KeyFamily::AccessToken],
        )
        .await
        .unwrap();
    late.validate(&newer).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        late.validate(&newer).await,
        Err(GuardError::InvalidToken)
    ));
}
