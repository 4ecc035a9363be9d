//! A Tessera auth server on 127.0.0.1:0, the Transfer router over the same store, two client
//! identities with transfer tokens, and two endpoint directories.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tessera_auth::service::admin;
use tessera_auth::{AppState, AuthConfig};
use tessera_core::client::ClientType;
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::Storage;
use tessera_transfer::{engine, TransferState, TRANSFER_RESOURCE_SERVER, TRANSFER_SCOPE};
use tower::ServiceExt;

/// The `https` scopes written by the auth server's own function, as `tessera serve` does.
pub(crate) struct AuthScopes(pub(crate) AppState);

#[async_trait::async_trait]
impl tessera_transfer::https::HttpsScopes for AuthScopes {
    async fn register(&self, endpoint: uuid::Uuid) -> Result<(), String> {
        tessera_auth::service::scopes::put_service_scope(
            self.0.store.as_ref(),
            tessera_core::seed::derived_id("client", TRANSFER_RESOURCE_SERVER),
            TRANSFER_RESOURCE_SERVER,
            &tessera_transfer::https::scope_string(endpoint),
            "https",
            "https",
            0,
        )
        .await
        .map_err(|e| e.to_string())?;
        self.0
            .publish(vec![tessera_store::Change::ScopesChanged])
            .await
            .map_err(|e| e.to_string())
    }
    async fn remove(&self, endpoint: uuid::Uuid) -> Result<(), String> {
        tessera_auth::service::scopes::remove_service_scope(
            self.0.store.as_ref(),
            &tessera_transfer::https::scope_string(endpoint),
        )
        .await
        .map_err(|e| e.to_string())?;
        self.0
            .publish(vec![tessera_store::Change::ScopesChanged])
            .await
            .map_err(|e| e.to_string())
    }
}

pub(crate) struct World {
    pub(crate) app: Router,
    pub(crate) auth: AppState,
    pub(crate) state: TransferState,
    pub(crate) mover: Who,
    pub(crate) reader: Who,
    pub(crate) src: String,
    pub(crate) dst: String,
    pub(crate) src_dir: PathBuf,
    pub(crate) dst_dir: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) struct Who {
    pub(crate) id: String,
    pub(crate) token: String,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl World {
    pub(crate) async fn new(with_engine: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store =
            tessera_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
                .await
                .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let auth = AppState::new(
            AuthConfig::new(&url),
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
        )
        .await
        .unwrap();
        let server = tessera_auth::router(auth.clone());
        tokio::spawn(async move { axum::serve(listener, server).await });
        // The guard's credential on the seeded transfer.api.globus.org client.
        let rs = tessera_core::seed::derived_id("client", TRANSFER_RESOURCE_SERVER);
        let (cred, secret) =
            tessera_auth::service::credentials::mint(&OsRandom, rs, "test guard", 0);
        store.insert_credential(&cred).await.unwrap();
        let guard = tessera_guard::Guard::builder(&url, &rs.to_string(), secret.expose())
            .audience(TRANSFER_RESOURCE_SERVER)
            .build()
            .unwrap();
        let state = TransferState {
            store: store.clone(),
            guard,
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandom),
            open_storage: Arc::new(|root| {
                Ok(Arc::new(PosixStorage::open(root)?) as Arc<dyn Storage>)
            }),
            wake: Arc::new(tokio::sync::Notify::new()),
            connectors: None,
            https: tessera_transfer::HttpsConfig {
                public_url: url.clone(),
                link_key: tessera_transfer::https::link::LinkKey::new([9; 32]),
                scopes: Arc::new(AuthScopes(auth.clone())),
            },
        };
        if with_engine {
            let mut config = engine::EngineConfig::new("test-node".into());
            config.heartbeat = std::time::Duration::from_millis(200);
            config.progress_every = std::time::Duration::from_millis(50);
            engine::spawn(state.clone(), config);
        }
        let mover = Self::client(&auth, "mover").await;
        let reader = Self::client(&auth, "reader").await;
        let (src_dir, dst_dir) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::create_dir_all(&src_dir).unwrap();
        std::fs::create_dir_all(&dst_dir).unwrap();
        let add = |name: &'static str, path: PathBuf| {
            let (store, owner) = (store.clone(), mover.id.clone());
            async move {
                tessera_transfer::service::admin::add_endpoint(
                    store.as_ref(),
                    &SystemClock,
                    &OsRandom,
                    name,
                    &path,
                    &owner,
                )
                .await
                .unwrap()
                .id
                .to_string()
            }
        };
        let src = add("Source", src_dir.clone()).await;
        let dst = add("Destination", dst_dir.clone()).await;
        let app = tessera_transfer::http::router(state.clone());
        Self {
            app,
            auth,
            state,
            mover,
            reader,
            src,
            dst,
            src_dir,
            dst_dir,
            _dir: dir,
        }
    }

    /// Another confidential client with a transfer token.
    pub(crate) async fn who(&self, name: &str) -> Who {
        Self::client(&self.auth, name).await
    }

    async fn client(auth: &AppState, name: &str) -> Who {
        let (c, _) = admin::add_client(
            auth.store.as_ref(),
            &SystemClock,
            &OsRandom,
            name,
            ClientType::Confidential,
            vec![],
        )
        .await
        .unwrap();
        let token =
            tessera_auth::service::tokens::client_credentials(auth, &c, Some(TRANSFER_SCOPE))
                .await
                .unwrap()
                .top
                .access_token;
        Who {
            id: c.id.to_string(),
            token,
        }
    }

    pub(crate) async fn call(
        &self,
        who: Option<&Who>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(w) = who {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", w.token));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let json_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            json_type,
            "{status}: not JSON: {}",
            String::from_utf8_lossy(&bytes)
        );
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap(),
        }
    }

    pub(crate) async fn get(&self, who: &Who, uri: &str) -> Answer {
        self.call(Some(who), Method::GET, uri, None).await
    }

    pub(crate) async fn post(&self, who: &Who, uri: &str, body: Value) -> Answer {
        self.call(Some(who), Method::POST, uri, Some(body)).await
    }

    /// Submits mover's transfer of `items` from src to dst; the task id.
    pub(crate) async fn transfer(&self, items: Value, options: Value) -> String {
        let mut body = json!({
            "DATA_TYPE": "transfer", "submission_id": uuid::Uuid::new_v4().to_string(),
            "source_endpoint": self.src, "destination_endpoint": self.dst, "DATA": items,
        });
        for (k, v) in options.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.post(&self.mover, "/v0.10/transfer", body).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        r.body["task_id"].as_str().unwrap().to_owned()
    }

    /// Polls the task until it leaves ACTIVE (at most 30 s); its document.
    pub(crate) async fn wait(&self, task: &str) -> Value {
        for _ in 0..300 {
            let t = self
                .get(&self.mover, &format!("/v0.10/task/{task}"))
                .await
                .body;
            if t["status"] != "ACTIVE" {
                return t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("task {task} is still ACTIVE after 30 s");
    }
}

#[track_caller]
pub(crate) fn assert_error(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (status, Some(code)),
        "{}",
        a.body
    );
    assert!(
        a.body["message"].is_string() && a.body["request_id"].is_string(),
        "{}",
        a.body
    );
    assert!(
        a.body["resource"].as_str().unwrap().starts_with("/v0.10/"),
        "{}",
        a.body
    );
}
