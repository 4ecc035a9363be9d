//! `bare-handler`: the floor Tessera is measured against in `bench/run.sh`.
//!
//! A minimal axum server with Tessera's two hot OAuth paths. Each handler does only the work
//! Tessera's handlers do first — read the body and parse the form into pairs — and then answers
//! a fixed JSON body shaped and sized like Tessera's answer. Whatever Tessera's throughput falls
//! short of this server's, measured in the same run on the same machine, is the cost of
//! authentication, the store and signing, not of HTTP, axum or the load generator.
//!
//! Usage: `bare-handler --listen 127.0.0.1:8081` (port 0 picks a free port). The first line on
//! stdout is `listening on http://ADDR` once the socket is bound.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// The two canned answers, serialised once at start-up.
#[derive(Clone)]
struct Bodies {
    introspect: Bytes,
    token: Bytes,
}

fn bodies() -> Result<Bodies, serde_json::Error> {
    // Shaped like Tessera's active introspection answer (RFC 7662 plus Globus fields).
    let introspect = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": "https://auth.example.org/scopes/6b3e1f0c-8a4d-4c2e-9f1a-2d7b5c9e0a13/data",
        "client_id": "0d5c6a3e-7f21-4b8e-a9c4-3e2f1d0b7a65",
        "sub": "0d5c6a3e-7f21-4b8e-a9c4-3e2f1d0b7a65",
        "username": "0d5c6a3e-7f21-4b8e-a9c4-3e2f1d0b7a65@clients.auth.example.org",
        "name": null,
        "email": null,
        "aud": ["6b3e1f0c-8a4d-4c2e-9f1a-2d7b5c9e0a13"],
        "iss": "http://127.0.0.1:8080",
        "exp": 1_900_000_000_i64,
        "iat": 1_899_827_200_i64,
        "nbf": 1_899_827_200_i64,
    });
    // Shaped like Tessera's client-credentials answer: one token, no refresh, no id_token.
    let token = json!({
        "access_token": "AgqM3xW7rTfE2pLk9vNbYc4Hs8JdQa1ZuG6oRi0XwVe5mKnBtCyDl",
        "expires_in": 172_800,
        "resource_server": "6b3e1f0c-8a4d-4c2e-9f1a-2d7b5c9e0a13",
        "token_type": "Bearer",
        "scope": "https://auth.example.org/scopes/6b3e1f0c-8a4d-4c2e-9f1a-2d7b5c9e0a13/data",
        "other_tokens": [],
    });
    Ok(Bodies {
        introspect: Bytes::from(serde_json::to_vec(&introspect)?),
        token: Bytes::from(serde_json::to_vec(&token)?),
    })
}

/// Parse the form as Tessera's `OAuthForm` does first (into owned pairs, refusing repeats).
fn answer(form: &[u8], body: &Bytes) -> Response {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(form) {
        if pairs.iter().any(|(seen, _)| *seen == k) {
            return (
                StatusCode::BAD_REQUEST,
                "a parameter was given more than once",
            )
                .into_response();
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    std::hint::black_box(pairs);
    let mut r = (StatusCode::OK, body.clone()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Tessera's OAuth answers are never cached (RFC 6749 §5.1); same header bytes.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn router(bodies: Bodies) -> Router {
    let bodies = Arc::new(bodies);
    let b1 = Arc::clone(&bodies);
    let b2 = bodies;
    Router::new()
        .route("/healthz", get(|| async { StatusCode::OK }))
        .route(
            "/v2/oauth2/token/introspect",
            post(move |form: Bytes| async move { answer(&form, &b1.introspect) }),
        )
        .route(
            "/v2/oauth2/token",
            post(move |form: Bytes| async move { answer(&form, &b2.token) }),
        )
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut listen: Option<String> = None;
    while let Some(arg) = args.next() {
        if arg == "--listen" {
            listen = Some(args.next().ok_or("--listen needs an address")?);
        } else if let Some(v) = arg.strip_prefix("--listen=") {
            listen = Some(v.to_owned());
        } else if arg == "-h" || arg == "--help" {
            return Err("usage: bare-handler --listen ADDR".to_owned());
        } else {
            return Err(format!(
                "unexpected argument {arg:?}; usage: bare-handler --listen ADDR"
            ));
        }
    }
    let listen = listen.unwrap_or_else(|| "127.0.0.1:0".to_owned());
    listen
        .parse()
        .map_err(|e| format!("bad --listen address {listen:?}: {e}"))
}

async fn run(addr: SocketAddr) -> Result<(), String> {
    let bodies = bodies().map_err(|e| format!("building the answers: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding {addr}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("reading the bound address: {e}"))?;
    println!("listening on http://{local}");
    axum::serve(listener, router(bodies))
        .with_graceful_shutdown(async {
            // If Ctrl-C cannot be watched, serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|e| format!("serving: {e}"))
}

fn main() -> ExitCode {
    let addr = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The same runtime Tessera uses: multi-threaded, one worker per core.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
