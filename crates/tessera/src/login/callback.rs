//! The one-shot listener on 127.0.0.1 that the browser is redirected to with the code (RFC
//! 8252 §7.3: a loopback redirect on a port the system picked).

use anyhow::{bail, Context, Result};
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

type Answer = HashMap<String, String>;

pub(crate) struct Listener {
    listener: tokio::net::TcpListener,
    port: u16,
}

impl Listener {
    pub(crate) async fn bind() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1 for the sign-in (try --no-local-server)")?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Serves until a redirect carrying `state` arrives (others get an error page and are
    /// ignored); its code, or the error the server sent.
    pub(crate) async fn code(self, state: &str, timeout: Duration) -> Result<String> {
        let (tx, mut rx) = mpsc::channel::<Answer>(4);
        let expected = state.to_owned();
        let app = Router::new()
            .route("/", get(callback))
            .with_state((tx, expected.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app).await;
        });
        let answer = tokio::time::timeout(timeout, rx.recv()).await;
        // Let the browser's page finish sending before the listener goes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.abort();
        let answer = match answer {
            Ok(Some(a)) => a,
            Ok(None) => bail!("the sign-in listener stopped"),
            Err(_) => bail!("no sign-in within {} s", timeout.as_secs()),
        };
        if let Some(code) = answer.get("code") {
            return Ok(code.clone());
        }
        let error = answer
            .get("error_description")
            .or_else(|| answer.get("error"))
            .map_or("no code in the redirect", String::as_str);
        bail!("the sign-in failed: {error}")
    }
}

async fn callback(
    State((tx, expected)): State<(mpsc::Sender<Answer>, String)>,
    Query(q): Query<Answer>,
) -> Html<&'static str> {
    if q.get("state") != Some(&expected) {
        return Html(PAGE_WRONG);
    }
    let ok = q.contains_key("code");
    let _ = tx.send(q).await;
    Html(if ok { PAGE_DONE } else { PAGE_FAILED })
}

const PAGE_DONE: &str = "<!doctype html><meta charset=utf-8><title>Tessera login</title>\
<p>You are logged in. You may close this window and return to the terminal.</p>";
const PAGE_FAILED: &str = "<!doctype html><meta charset=utf-8><title>Tessera login</title>\
<p>The sign-in did not complete; the terminal says why.</p>";
const PAGE_WRONG: &str = "<!doctype html><meta charset=utf-8><title>Tessera login</title>\
<p>This is not the sign-in the terminal is waiting for.</p>";
