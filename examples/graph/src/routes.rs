//! `GET /api/plot?path=…`: the token checked by the guard, the file read with dependent tokens,
//! the plot returned. Errors are JSON `{code, message}` with a 4xx for the caller's mistakes.

use crate::plot::{parse_csv, render_svg};
use crate::Config;
use axum::extract::{FromRef, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use tessera_client::https::{https_scope, HttpsClient};
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::{ClientError, TransferClient};
use tessera_guard::{Authenticated, Guard, GuardError};
use tokio::sync::OnceCell;

#[derive(Clone)]
struct GraphState {
    guard: Guard,
    config: Arc<Config>,
    /// The endpoint's `https_server`, read once.
    https_server: Arc<OnceCell<String>>,
}

impl FromRef<GraphState> for Guard {
    fn from_ref(s: &GraphState) -> Guard {
        s.guard.clone()
    }
}

/// The graph's routes: `/api/plot` and `/healthz`.
pub fn router(config: Config) -> anyhow::Result<Router> {
    let guard = Guard::builder(
        &config.tessera_url,
        &config.client_id,
        &config.client_secret,
    )
    .build()?;
    let https_server = Arc::new(OnceCell::new());
    if let Some(s) = &config.https_server {
        let _ = https_server.set(s.clone());
    }
    let state = GraphState {
        guard,
        config: Arc::new(config),
        https_server,
    };
    Ok(Router::new()
        .route("/api/plot", get(plot))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state))
}

/// A refusal: status, a stable code and words for people.
#[derive(Debug)]
struct Failure(StatusCode, &'static str, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(serde_json::json!({"code": self.1, "message": self.2})),
        )
            .into_response()
    }
}

impl From<GuardError> for Failure {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Unavailable(why) => {
                tracing::warn!(error = %why, "graph: the auth server is unavailable");
                Self(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The authorization server could not be reached.".into(),
                )
            }
            GuardError::InsufficientScope(s) => Self(
                StatusCode::FORBIDDEN,
                "ConsentRequired",
                format!("No consent for {s}: sign in to the portal again."),
            ),
            _ => Self(
                StatusCode::UNAUTHORIZED,
                "InvalidToken",
                "The token is not valid.".into(),
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
struct PlotQuery {
    path: Option<String>,
}

/// An absolute path to a `.csv` file, without `..` or control characters.
fn checked(path: Option<&str>) -> Result<&str, Failure> {
    let bad = |why: &str| Failure(StatusCode::BAD_REQUEST, "BadPath", why.to_owned());
    let p = path.ok_or_else(|| bad("Give the file as ?path=/dir/file.csv."))?;
    if !p.starts_with('/') || p.len() > 1024 {
        return Err(bad("The path must be absolute (start with /)."));
    }
    if p.split('/').any(|c| c == "..") || p.chars().any(char::is_control) {
        return Err(bad("The path may not contain '..' or control characters."));
    }
    if !p.to_ascii_lowercase().ends_with(".csv") {
        return Err(bad("Only .csv files can be plotted."));
    }
    Ok(p)
}

fn from_client(e: ClientError, what: &str) -> Failure {
    match e.status() {
        Some(403) => Failure(
            StatusCode::FORBIDDEN,
            "PermissionDenied",
            format!("You may not read {what}."),
        ),
        Some(404) => Failure(StatusCode::NOT_FOUND, "NotFound", format!("No {what}.")),
        Some(401) => Failure(
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
            "The dependent token was refused.".into(),
        ),
        _ => {
            tracing::warn!(error = %e, "graph: reading {what} failed");
            Failure(
                StatusCode::BAD_GATEWAY,
                "Upstream",
                format!("Could not read {what}."),
            )
        }
    }
}

async fn https_server(state: &GraphState, bearer: &str) -> Result<String, Failure> {
    let server = state
        .https_server
        .get_or_try_init(|| async {
            let t = state.guard.dependent_token(bearer, TRANSFER_ALL).await?;
            let transfer = TransferClient::new(&state.config.tessera_url, &t.access_token)
                .map_err(|e| from_client(e, "the endpoint"))?;
            let ep = transfer
                .get_endpoint(&state.config.dataset_endpoint)
                .await
                .map_err(|e| from_client(e, "the dataset endpoint"))?;
            ep.https_server.ok_or_else(|| {
                Failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "NoHttps",
                    "The dataset endpoint has no HTTPS access.".into(),
                )
            })
        })
        .await?;
    Ok(server.clone())
}

async fn plot(
    State(state): State<GraphState>,
    caller: Authenticated,
    Query(q): Query<PlotQuery>,
) -> Result<Response, Failure> {
    caller.require(&[&state.config.scope()])?;
    let path = checked(q.path.as_deref())?;
    let server = https_server(&state, &caller.bearer).await?;
    let token = state
        .guard
        .dependent_token(&caller.bearer, &https_scope(&state.config.dataset_endpoint))
        .await?;
    let files = HttpsClient::new(&server, &token.access_token)
        .map_err(|e| from_client(e, "the dataset endpoint"))?;
    let bytes = files.get(path).await.map_err(|e| from_client(e, path))?;
    let text = String::from_utf8_lossy(&bytes);
    let table = parse_csv(&text).map_err(|e| {
        Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NotPlottable",
            format!("{path}: {e}"),
        )
    })?;
    let title = path.rsplit('/').next().unwrap_or(path);
    tracing::info!(user = %caller.token.username, path, "plotted");
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render_svg(&table, title),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert!(checked(Some("/datasets/a/b.csv")).is_ok());
        assert!(checked(Some("/datasets/a/B.CSV")).is_ok());
        assert!(checked(None).is_err());
        assert!(checked(Some("datasets/b.csv")).is_err());
        assert!(checked(Some("/datasets/../etc/b.csv")).is_err());
        assert!(checked(Some("/datasets/b.txt")).is_err());
        assert!(checked(Some("/datasets/b\n.csv")).is_err());
    }
}
