//! `/datasets`: the catalogue. Listed with the portal's own client-credentials token, not the
//! person's: the catalogue is the portal's (its client owns the endpoint), so it looks the same
//! to everyone and needs no access rule per person. What a person may *copy or plot* is still
//! decided for them: transfers run with their own token and the graph reads with a token
//! dependent on theirs, both judged by the endpoint's access rules.

use super::signed_in;
use crate::state::Portal;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Serialize)]
pub(crate) struct Dataset {
    pub(crate) name: String,
    transfer_href: String,
    files: Vec<File>,
}

#[derive(Debug, Serialize)]
struct File {
    name: String,
    size: u64,
    csv: bool,
    graph_href: String,
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The directory of the datasets, ending in `/`.
pub(crate) fn root(state: &Portal) -> String {
    let p = state.config.dataset_path.trim_end_matches('/');
    format!("{p}/")
}

/// The datasets (folders under the dataset path) and their files, sorted by name.
pub(crate) async fn catalogue(state: &Portal) -> Result<Vec<Dataset>, tessera_client::ClientError> {
    let endpoint = &state.config.dataset_endpoint;
    let root = root(state);
    let listing = state.catalogue.ls(endpoint, &root).await?;
    let mut out = Vec::new();
    for dir in listing.data.iter().filter(|f| f.kind == "dir") {
        let files = state
            .catalogue
            .ls(endpoint, &format!("{root}{}/", dir.name))
            .await?;
        out.push(Dataset {
            name: dir.name.clone(),
            transfer_href: format!("/transfer?{}", query(&[("dataset", &dir.name)])),
            files: files
                .data
                .iter()
                .filter(|f| f.kind == "file")
                .map(|f| File {
                    name: f.name.clone(),
                    size: f.size,
                    csv: f.name.to_ascii_lowercase().ends_with(".csv"),
                    graph_href: format!(
                        "/graph?{}",
                        query(&[("dataset", &dir.name), ("file", &f.name)])
                    ),
                })
                .collect(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub(crate) async fn page(State(state): State<Portal>, headers: HeaderMap) -> Response {
    let (session, user) = match signed_in(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match catalogue(&state).await {
        Ok(datasets) => state.pages.render(
            "datasets.html",
            json!({"user": user.name, "csrf": session.csrf, "datasets": datasets,
                   "endpoint": state.config.dataset_endpoint, "path": root(&state)}),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "portal: the catalogue could not be listed");
            state.pages.error(
                StatusCode::BAD_GATEWAY,
                "Datasets unavailable",
                "The list of datasets could not be read from the dataset endpoint. Try again later.",
                Some(&user.name),
                Some(&session.csrf),
            )
        }
    }
}
