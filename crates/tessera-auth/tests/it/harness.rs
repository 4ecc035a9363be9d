//! A test server: state, router, clients, and request helpers with `#[track_caller]` asserts.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tessera_auth::service::admin;
use tessera_auth::{AppState, AuthConfig};
use tessera_core::client::ClientType;
use tessera_core::clock::FixedClock;
use tessera_core::random::SeededRandom;
use tower::ServiceExt;

pub(crate) const START: i64 = 1_800_000_000;

pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: String,
}

impl Client {
    pub(crate) fn basic(&self) -> String {
        basic(&self.id, &self.secret)
    }
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub(crate) struct TestServer {
    pub(crate) state: AppState,
    pub(crate) router: Router,
    pub(crate) clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl TestServer {
    pub(crate) async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// A server whose configuration `adjust` changes first.
    pub(crate) async fn with_config(adjust: impl FnOnce(&mut AuthConfig)) -> Self {
        let mut config = AuthConfig::new("http://tessera.test");
        adjust(&mut config);
        let dir = tempfile::tempdir().unwrap();
        let store =
            tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
                .await
                .unwrap();
        Self::with_store(config, store, 42, dir).await
    }

    /// A server on `store` (a node of a cluster when several share one PostgreSQL database;
    /// give each its own `seed`).
    pub(crate) async fn on(
        store: Arc<dyn tessera_store::Store>,
        seed: u64,
        dir: tempfile::TempDir,
    ) -> Self {
        Self::with_store(AuthConfig::new("http://tessera.test"), store, seed, dir).await
    }

    async fn with_store(
        config: AuthConfig,
        store: Arc<dyn tessera_store::Store>,
        seed: u64,
        dir: tempfile::TempDir,
    ) -> Self {
        let clock = Arc::new(FixedClock::new(START));
        let state = AppState::new(
            config,
            store,
            clock.clone(),
            Arc::new(SeededRandom::new(seed)),
        )
        .await
        .unwrap();
        let router = tessera_auth::router(state.clone());
        Self {
            state,
            router,
            clock,
            _dir: dir,
        }
    }

    pub(crate) async fn client(&self, name: &str, kind: ClientType) -> Client {
        let (c, secret) = admin::add_client(
            self.state.store.as_ref(),
            self.clock.as_ref(),
            self.state.rng.as_ref(),
            name,
            kind,
            vec![],
        )
        .await
        .unwrap();
        Client {
            id: c.id.to_string(),
            secret: secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
        }
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub(crate) async fn form(&self, path: &str, auth: Option<&str>, body: &str) -> Reply {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        self.json(Method::GET, path, auth, None).await
    }

    /// A client-credentials token for `scope`, which must succeed.
    pub(crate) async fn token(&self, client: &Client, scope: &str) -> String {
        let body =
            serde_urlencoded::to_string([("grant_type", "client_credentials"), ("scope", scope)])
                .unwrap();
        let r = self
            .form("/v2/oauth2/token", Some(&client.basic()), &body)
            .await;
        r.ok();
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a scope owned by `owner`; returns its scope string.
    pub(crate) async fn scope(&self, owner: &Client, suffix: &str) -> Value {
        let body = serde_json::json!({"scope": {"name": "Data", "description": "Data access", "scope_suffix": suffix}});
        let r = self
            .json(
                Method::POST,
                &format!("/v2/api/clients/{}/scopes", owner.id),
                Some(&owner.basic()),
                Some(body),
            )
            .await;
        r.ok();
        r.body["scope"].clone()
    }

    /// Redeems an authorization code as the confidential `client` (HTTP Basic).
    pub(crate) async fn redeem(&self, client: &Client, code: &str, redirect_uri: &str) -> Reply {
        let body = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .unwrap();
        self.form("/v2/oauth2/token", Some(&client.basic()), &body)
            .await
    }

    pub(crate) async fn introspect(&self, caller: &Client, token: &str) -> Value {
        let r = self
            .form(
                "/v2/oauth2/token/introspect",
                Some(&caller.basic()),
                &format!("token={token}"),
            )
            .await;
        r.ok();
        r.body
    }
}

impl Reply {
    #[track_caller]
    pub(crate) fn ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
    }

    /// An OAuth error: this status and `error` code, never cached.
    #[track_caller]
    pub(crate) fn oauth_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error"], error, "body: {}", self.body);
        assert!(
            self.body["error_description"].is_string(),
            "body: {}",
            self.body
        );
    }

    /// A Globus REST error: this status and `errors[0].code`.
    #[track_caller]
    pub(crate) fn api_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["errors"][0]["code"], code, "body: {}", self.body);
        assert_eq!(
            self.body["errors"][0]["status"],
            status.to_string(),
            "body: {}",
            self.body
        );
    }
}
