//! `/transfer`: "Transfer to my endpoint". `GET` searches endpoints with the person's Transfer
//! token (their own endpoints when the search is empty); `POST` submits the copy with that same
//! token, so Transfer judges the person, not the portal, and the task is theirs.

use super::{api_failure, dataset_name, message, signed_in};
use crate::pages::datasets::root;
use crate::session::{Session, User};
use crate::state::Portal;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use tessera_client::transfer::TRANSFER_ALL;
use tessera_client::TransferClient;
use tessera_proto::transfer::{TransferItem, TransferSubmission};

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    dataset: Option<String>,
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubmitForm {
    csrf: Option<String>,
    dataset: Option<String>,
    endpoint: Option<String>,
    path: Option<String>,
}

/// The person's Transfer client.
fn transfer_as(state: &Portal, user: &User) -> Option<TransferClient> {
    let token = user.token_for(TRANSFER_ALL)?;
    TransferClient::new(&state.config.tessera_url, token).ok()
}

fn no_dataset(state: &Portal, session: &Session, user: &User) -> Response {
    state.pages.error(
        StatusCode::BAD_REQUEST,
        "No such dataset",
        "Choose a dataset from the list first.",
        Some(&user.name),
        Some(&session.csrf),
    )
}

/// Endpoints shown per search: the first page; a longer list asks for a narrower search.
const PAGE: u32 = 25;

/// What the form shows besides the endpoints found.
struct View<'a> {
    dataset: &'a str,
    /// The search text.
    q: &'a str,
    /// The endpoint picked before a refusal, kept checked.
    chosen: &'a str,
    path: &'a str,
    /// Why the last submission was refused.
    problem: Option<String>,
}

/// The search form and the endpoints found, with `problem` shown above them.
async fn form(state: &Portal, session: &Session, user: &User, view: View<'_>) -> Response {
    let View {
        dataset,
        q,
        chosen,
        path,
        problem,
    } = view;
    let Some(transfer) = transfer_as(state, user) else {
        return api_failure(
            state,
            session,
            user,
            "search endpoints",
            &tessera_client::ClientError::Usage("no Transfer token".into()),
        );
    };
    let q = q.trim();
    let scope = if q.is_empty() { "my-endpoints" } else { "all" };
    let found = match transfer.endpoint_search(q, scope, PAGE).next_page().await {
        Ok(page) => page.unwrap_or_default(),
        Err(e) => return api_failure(state, session, user, "search endpoints", &e),
    };
    let endpoints: Vec<_> = found
        .iter()
        .filter(|e| e.id != state.config.dataset_endpoint)
        .map(|e| {
            json!({"id": e.id,
                   "name": e.display_name.clone().unwrap_or_else(|| e.id.clone()),
                   "owner": e.owner_string.clone().unwrap_or_default()})
        })
        .collect();
    let more = found.len() >= PAGE as usize;
    let mut r = state.pages.render(
        "transfer.html",
        json!({"user": user.name, "csrf": session.csrf, "dataset": dataset, "q": q,
               "endpoints": endpoints, "chosen": chosen, "path": path, "problem": problem,
               "more": more}),
    );
    if problem.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

pub(crate) async fn page(
    State(state): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let (session, user) = match signed_in(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(dataset) = dataset_name(q.dataset.as_deref()) else {
        return no_dataset(&state, &session, &user);
    };
    let view = View {
        dataset,
        q: &q.q,
        chosen: "",
        path: "/~/",
        problem: None,
    };
    form(&state, &session, &user, view).await
}

/// Where the dataset lands: `<dir>/<dataset>/` with `dir` absolute (`/…` or `/~/…`).
fn destination(dir: &str, dataset: &str) -> Option<String> {
    let dir = dir.trim();
    if !(dir.starts_with('/') || dir == "~" || dir.starts_with("~/"))
        || dir.len() > 1024
        || dir.split('/').any(|c| c == "..")
        || dir.chars().any(char::is_control)
    {
        return None;
    }
    let dir = if dir.starts_with('~') {
        format!("/{dir}")
    } else {
        dir.to_owned()
    };
    Some(format!("{}/{dataset}/", dir.trim_end_matches('/')))
}

pub(crate) async fn submit(
    State(state): State<Portal>,
    headers: HeaderMap,
    Form(f): Form<SubmitForm>,
) -> Response {
    let (session, user) = match signed_in(&state, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if !session.csrf_ok(f.csrf.as_deref().unwrap_or("")) {
        return state.pages.error(
            StatusCode::FORBIDDEN,
            "Transfer not started",
            "This form is stale (or came from another site). Open the dataset list and try again.",
            Some(&user.name),
            Some(&session.csrf),
        );
    }
    let Some(dataset) = dataset_name(f.dataset.as_deref()) else {
        return no_dataset(&state, &session, &user);
    };
    let path = f.path.as_deref().unwrap_or("");
    let endpoint = f.endpoint.as_deref().unwrap_or("").trim();
    let again = |problem: &str| {
        let view = View {
            dataset,
            q: "",
            chosen: endpoint,
            path,
            problem: Some(problem.to_owned()),
        };
        form(&state, &session, &user, view)
    };
    if endpoint.is_empty() {
        return again("Choose the endpoint to copy the dataset to.").await;
    }
    let Some(dest) = destination(path, dataset) else {
        return again(
            "The destination directory must be an absolute path (/… or /~/…) without '..'.",
        )
        .await;
    };
    let Some(transfer) = transfer_as(&state, &user) else {
        return Redirect::to("/signin").into_response();
    };
    let submission_id = match transfer.submission_id().await {
        Ok(id) => id,
        Err(e) => return api_failure(&state, &session, &user, "start the transfer", &e),
    };
    let submission = TransferSubmission {
        submission_id: Some(submission_id),
        source_endpoint: Some(state.config.dataset_endpoint.clone()),
        destination_endpoint: Some(endpoint.to_owned()),
        data: vec![TransferItem {
            source_path: format!("{}{dataset}/", root(&state)),
            destination_path: dest.clone(),
            recursive: Some(true),
            ..TransferItem::default()
        }],
        label: Some(format!("Portal: {dataset}")),
        ..TransferSubmission::default()
    };
    match transfer.submit_transfer(&submission).await {
        Ok(accepted) => {
            let to = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("to", &dest)
                .finish();
            Redirect::to(&format!("/tasks/{}?{to}", accepted.task_id)).into_response()
        }
        Err(e)
            if e.status()
                .is_some_and(|s| (400..500).contains(&s) && s != 401) =>
        {
            again(&format!("Transfer refused the copy: {}", message(&e))).await
        }
        Err(e) => api_failure(&state, &session, &user, "start the transfer", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_absolute_and_end_in_the_dataset() {
        assert_eq!(destination("/~/", "ocean").as_deref(), Some("/~/ocean/"));
        assert_eq!(
            destination("/home/a", "ocean").as_deref(),
            Some("/home/a/ocean/")
        );
        assert_eq!(destination("~/in", "o").as_deref(), Some("/~/in/o/"));
        assert_eq!(destination("/", "o").as_deref(), Some("/o/"));
        for bad in ["", "relative", "/a/../b", "/a\u{7}b"] {
            assert_eq!(destination(bad, "o"), None, "{bad:?}");
        }
    }
}
