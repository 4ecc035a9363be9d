//! An app's redirect URIs: add one, remove one. Each saves the new list through the client
//! update the API uses, so every URI passes the API's validation; a refused URI comes back
//! beside its field, as typed.

use super::{acting, app_path, done, field, refusal, Flash, Person, Refusal};
use crate::service::project_clients::{self as service, Actor, ClientFields};
use crate::service::Failure;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;

async fn save(
    state: &AppState,
    person: &Person,
    id: &str,
    change: impl FnOnce(&mut Vec<String>),
) -> Result<(), Failure> {
    let actor = Actor::Manager(&person.manager);
    let client = service::managed(state, &actor, id).await?;
    let mut uris = client.redirect_uris.clone();
    change(&mut uris);
    let fields = ClientFields {
        redirect_uris: Some(uris),
        ..ClientFields::default()
    };
    service::update(state, &actor, id, fields).await?;
    Ok(())
}

pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // As typed: a URI with spaces is refused by the validation, not quietly trimmed.
    let uri = f.get("redirect_uri").cloned().unwrap_or_default();
    let result = if uri.trim().is_empty() {
        Err(Failure::BadRequest("Type a redirect URI to add.".into()))
    } else {
        save(&state, &person, &id, |uris| {
            if !uris.contains(&uri) {
                uris.push(uri.clone());
            }
        })
        .await
    };
    finish(&state, person, &id, &f, result, "uri-added").await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let uri = field(&f, "redirect_uri").to_owned();
    let result = save(&state, &person, &id, |uris| uris.retain(|u| *u != uri)).await;
    finish(&state, person, &id, &f, result, "uri-removed").await
}

async fn finish(
    state: &AppState,
    person: Person,
    id: &str,
    f: &HashMap<String, String>,
    result: Result<(), Failure>,
    code: &str,
) -> Response {
    match result {
        Ok(()) => done(&app_path(id), code),
        Err(e) => match refusal(state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "redirect_uri", Some("redirect_uri"), f);
                super::app::page(state, person, id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
