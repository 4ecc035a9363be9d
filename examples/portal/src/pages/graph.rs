//! `/graph`: asks the graph service for a plot of one CSV file of a dataset, with the person's
//! token for the graph's scope. The SVG is shown as an `<img>` (a data URL), so nothing in it
//! can run in the portal's pages.

use super::{dataset_name, signed_in};
use crate::pages::datasets::root;
use crate::state::Portal;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
pub(crate) struct GraphQuery {
    dataset: Option<String>,
    file: Option<String>,
}

/// The graph's answer: the SVG, or what to tell the person.
async fn plot(state: &Portal, token: &str, path: &str) -> Result<Vec<u8>, String> {
    let url = format!("{}/api/plot", state.config.graph_url.trim_end_matches('/'));
    let response = state
        .http
        .get(url)
        .query(&[("path", path)])
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e.without_url(), "portal: the graph service is unreachable");
            "The graph service could not be reached. Try again later.".to_owned()
        })?;
    let status = response.status();
    let is_svg = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("image/svg+xml"));
    let body = response
        .bytes()
        .await
        .map_err(|_| "The graph service's answer was cut off.".to_owned())?;
    if status.is_success() && is_svg {
        return Ok(body.to_vec());
    }
    // The graph's refusals are {code, message}; say what it said.
    let said = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
    Err(match (status.as_u16(), said) {
        (_, Some(m)) => format!("The graph service refused: {m}"),
        (401, None) => "The graph service did not accept your sign-in.".into(),
        (s, None) => format!("The graph service answered HTTP {s}."),
    })
}

pub(crate) async fn page(
    State(state): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<GraphQuery>,
) -> Response {
    let (session, user) = match signed_in(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (Some(dataset), Some(file)) = (
        dataset_name(q.dataset.as_deref()),
        dataset_name(q.file.as_deref()),
    ) else {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "Nothing to plot",
            "Choose a CSV file of a dataset from the list.",
            Some(&user.name),
            Some(&session.csrf),
        );
    };
    let Some(token) = user.token_for(&state.config.graph_scope) else {
        return state.pages.error(
            StatusCode::FORBIDDEN,
            "No graph access",
            "Your sign-in did not include the graph service. Sign out and sign in again.",
            Some(&user.name),
            Some(&session.csrf),
        );
    };
    let path = format!("{}{dataset}/{file}", root(&state));
    let (svg, problem, status) = match plot(&state, token, &path).await {
        Ok(svg) => (
            Some(base64::engine::general_purpose::STANDARD.encode(svg)),
            None,
            StatusCode::OK,
        ),
        Err(p) => (None, Some(p), StatusCode::BAD_GATEWAY),
    };
    let mut r = state.pages.render(
        "graph.html",
        json!({"user": user.name, "csrf": session.csrf, "dataset": dataset, "file": file,
               "svg": svg, "problem": problem}),
    );
    *r.status_mut() = status;
    r
}
