//! A scope of an app: "New scope" on the app's page, the scope's own page
//! (`/v2/web/console/scopes/{id}`) with its settings, and deletion after a confirmation. The
//! services are those of `/v2/api/clients/{id}/scopes` and `/v2/api/scopes/{id}`, acting for
//! the app once the person is known to administer its project.

use super::view::{AppItem, ScopeItem};
use super::{acting, app_path, blame, checked, confirm, done, field, person, refusal, Refusal};
use super::{refused_page, render, scope_path, Flash, Person};
use crate::service::scopes as service;
use crate::service::Failure;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_core::client::Client;
use tessera_core::scope::Scope;
use tessera_proto::api::{ScopeCreate, ScopeUpdate};

/// The fields a scope's form names, for placing a refusal beside one.
const FIELDS: [&str; 4] = ["scope_suffix", "suffix", "name", "description"];

fn which(message: &str) -> Option<&'static str> {
    blame(message, &FIELDS).map(|w| if w == "suffix" { "scope_suffix" } else { w })
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = match super::app::load(&state, &person, &id).await {
        Ok(c) => c,
        Err(e) => return refused_page(&state, e),
    };
    let body = ScopeCreate {
        name: field(&f, "name").to_owned(),
        description: field(&f, "description").to_owned(),
        scope_suffix: field(&f, "scope_suffix").to_owned(),
        advertised: Some(checked(&f, "advertised")),
        allows_refresh_token: Some(checked(&f, "allows_refresh_token")),
        required_domains: None,
        dependent_scopes: None,
        group_rule: None,
    };
    match service::create(&state, &client, body).await {
        Ok(s) => done(&scope_path(s.id), "scope-created"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message.clone(), "new_scope", which(&message), &f);
                super::app::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}

/// The scope `id` names and its app, if `person` administers the app's project.
pub(super) async fn load(
    state: &AppState,
    person: &Person,
    id: &str,
) -> Result<(Scope, Client), Failure> {
    let scope = service::get(state, id).await?;
    let client = super::app::load(state, person, &scope.client_id.to_string()).await?;
    Ok((scope, client))
}

pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match person(&state, &headers, &scope_path(&id)).await {
        Ok(p) => page(&state, p, &id, StatusCode::OK, Flash::done(&q)).await,
        Err(r) => r,
    }
}

/// A scope a dependent scope may be picked from.
#[derive(Serialize)]
struct Candidate {
    id: String,
    scope_string: String,
    name: String,
}

/// The scopes offered as dependents of `scope`: those of the person's own apps and every
/// advertised one, less itself and those it depends on already.
async fn candidates(
    state: &AppState,
    person: &Person,
    scope: &Scope,
) -> Result<Vec<Candidate>, Failure> {
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let mine: Vec<uuid::Uuid> = crate::service::project_clients::list(state, &person.manager)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let mut out: Vec<Candidate> = catalogue
        .scopes()
        .filter(|s| s.advertised || mine.contains(&s.client_id))
        .filter(|s| s.id != scope.id)
        .filter(|s| !scope.dependent_scopes.iter().any(|d| d.scope_id == s.id))
        .map(|s| Candidate {
            id: s.id.to_string(),
            scope_string: s.scope_string.clone(),
            name: s.name.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.scope_string.cmp(&b.scope_string));
    Ok(out)
}

/// The scope page as `person` sees it; 404 or 403 pages when it is not theirs.
pub(super) async fn page(
    state: &AppState,
    person: Person,
    id: &str,
    status: StatusCode,
    flash: Flash,
) -> Response {
    let (scope, client) = match load(state, &person, id).await {
        Ok(l) => l,
        Err(e) => return refused_page(state, e),
    };
    let ids: Vec<uuid::Uuid> = scope.dependent_scopes.iter().map(|d| d.scope_id).collect();
    let named = match state.store.scopes_by_ids(&ids).await {
        Ok(n) => n,
        Err(e) => return state.pages.failed("the scope page", &e),
    };
    let candidates = match candidates(state, &person, &scope).await {
        Ok(c) => c,
        Err(e) => return refused_page(state, e),
    };
    render(
        state,
        person,
        status,
        "console/scope.html",
        minijinja::context! {
            scope => ScopeItem::of(&scope, &named), app => AppItem::of(&client), candidates,
            flash,
        },
    )
}

pub(super) async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &scope_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (_, client) = match load(&state, &person, &id).await {
        Ok(l) => l,
        Err(e) => return refused_page(&state, e),
    };
    let body = ScopeUpdate {
        name: Some(field(&f, "name").to_owned()),
        description: Some(field(&f, "description").to_owned()),
        advertised: Some(checked(&f, "advertised")),
        allows_refresh_token: Some(checked(&f, "allows_refresh_token")),
        ..ScopeUpdate::default()
    };
    match service::update(&state, &client, &id, body).await {
        Ok(s) => done(&scope_path(s.id), "scope-saved"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message.clone(), "scope", which(&message), &f);
                page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}

pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("{}/delete", scope_path(&id));
    let person = match person(&state, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (scope, _) = match load(&state, &person, &id).await {
        Ok(l) => l,
        Err(e) => return refused_page(&state, e),
    };
    confirm::page(
        &state,
        person,
        "scope",
        &scope.scope_string,
        "Apps can no longer ask for it. A scope another scope depends on cannot be deleted until that dependency is removed.",
        &here,
        &scope_path(scope.id),
    )
}

pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &scope_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (_, client) = match load(&state, &person, &id).await {
        Ok(l) => l,
        Err(e) => return refused_page(&state, e),
    };
    match service::delete(&state, &client, &id).await {
        Ok(_) => done(&app_path(client.id), "scope-deleted"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "delete", None, &f);
                page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
