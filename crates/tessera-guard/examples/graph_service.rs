//! The seeds' "graph service": a protected API that, for the same user, calls a downstream
//! protected API (here Transfer-like) with a dependent token.
//!
//! ```sh
//! TESSERA_AUTH_URL=http://127.0.0.1:8421 TESSERA_CLIENT_ID=<graph id> TESSERA_CLIENT_SECRET=<secret> \
//! GRAPH_SCOPE=https://auth.globus.org/scopes/<graph id>/all \
//! DOWNSTREAM_URL=http://127.0.0.1:9000/data DOWNSTREAM_SCOPE=urn:globus:auth:scope:transfer.api.globus.org:all \
//! cargo run -p tessera-guard --example graph_service -- 127.0.0.1:8080
//! ```
//!
//! Routes: `GET /open` (no guard: the baseline `bench/guard.sh` compares against), `GET /graph`
//! (needs `GRAPH_SCOPE`), `GET /graph/downstream` (also calls `DOWNSTREAM_URL` with a dependent
//! token for `DOWNSTREAM_SCOPE`).

use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;
use tessera_guard::{Authenticated, Guard, GuardError};

#[derive(Clone)]
struct App {
    guard: Guard,
    scope: String,
    downstream: Option<(String, String)>,
    http: reqwest::Client,
}

impl FromRef<App> for Guard {
    fn from_ref(app: &App) -> Guard {
        app.guard.clone()
    }
}

async fn open() -> Json<Value> {
    Json(json!({"service": "graph", "open": true}))
}

async fn graph(State(app): State<App>, who: Authenticated) -> Result<Json<Value>, GuardError> {
    who.require(&[&app.scope])?;
    Ok(Json(
        json!({"service": "graph", "user": who.token.username, "sub": who.token.sub}),
    ))
}

async fn graph_downstream(
    State(app): State<App>,
    who: Authenticated,
) -> Result<Json<Value>, GuardError> {
    who.require(&[&app.scope])?;
    let Some((url, scope)) = &app.downstream else {
        return Err(GuardError::Unavailable(
            "no DOWNSTREAM_URL configured".into(),
        ));
    };
    let dependent = app.guard.dependent_token(&who.bearer, scope).await?;
    let answer = app
        .http
        .get(url)
        .bearer_auth(&dependent.access_token)
        .send()
        .await
        .map_err(|e| GuardError::Unavailable(e.without_url().to_string()))?;
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    Ok(Json(
        json!({"service": "graph", "user": who.token.username, "downstream": {"status": status, "body": body}}),
    ))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let ttl = std::env::var("GUARD_TTL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let guard = Guard::builder(
        &env("TESSERA_AUTH_URL")?,
        &env("TESSERA_CLIENT_ID")?,
        &env("TESSERA_CLIENT_SECRET")?,
    )
    .ttl(Duration::from_secs(ttl))
    .build()
    .map_err(|e| e.to_string())?;
    let downstream = match (
        std::env::var("DOWNSTREAM_URL"),
        std::env::var("DOWNSTREAM_SCOPE"),
    ) {
        (Ok(u), Ok(s)) => Some((u, s)),
        _ => None,
    };
    let app = App {
        guard,
        scope: env("GRAPH_SCOPE")?,
        downstream,
        http: reqwest::Client::new(),
    };
    let router = Router::new()
        .route("/open", get(open))
        .route("/graph", get(graph))
        .route("/graph/downstream", get(graph_downstream))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    axum::serve(listener, router)
        .await
        .map_err(|e| e.to_string())
}
