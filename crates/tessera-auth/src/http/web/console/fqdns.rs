//! An app's FQDNs: add one (verified by the DNS TXT check the API does), remove one.

use super::{acting, app_path, done, field, refusal, Flash, Refusal};
use crate::service::fqdns;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;

pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    act(state, headers, id, f, true).await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    act(state, headers, id, f, false).await
}

async fn act(
    state: AppState,
    headers: HeaderMap,
    id: String,
    f: HashMap<String, String>,
    adding: bool,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = match super::app::load(&state, &person, &id).await {
        Ok(c) => c,
        Err(e) => return super::refused_page(&state, e),
    };
    let fqdn = field(&f, "fqdn");
    let result = if adding {
        fqdns::add(&state, &client, fqdn).await
    } else {
        fqdns::remove(&state, &client, fqdn).await
    };
    match result {
        Ok(c) => done(
            &app_path(c.id),
            if adding { "fqdn-added" } else { "fqdn-removed" },
        ),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "fqdn", Some("fqdn"), &f);
                super::app::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
