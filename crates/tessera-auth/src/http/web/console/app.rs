//! `/v2/web/console/apps/{id}`: an app (client) — its settings, redirect URIs, secrets, FQDNs
//! and scopes, each with the forms that change them.

use super::view::{AppItem, PolicyItem, ScopeItem, SecretItem};
use super::{app_path, person, refused_page, render, Flash, Person};
use crate::service::project_clients::{managed, Actor};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use tessera_core::client::Client;
use tessera_store::StoreError;

pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match person(&state, &headers, &app_path(&id)).await {
        Ok(p) => page(&state, p, &id, StatusCode::OK, Flash::done(&q)).await,
        Err(r) => r,
    }
}

/// The app `id` names, if `person` administers its project.
pub(super) async fn load(
    state: &AppState,
    person: &Person,
    id: &str,
) -> Result<Client, crate::service::Failure> {
    managed(state, &Actor::Manager(&person.manager), id).await
}

/// The app page as `person` sees it; 404 or 403 pages when it is not theirs.
pub(super) async fn page(
    state: &AppState,
    person: Person,
    id: &str,
    status: StatusCode,
    flash: Flash,
) -> Response {
    let client = match load(state, &person, id).await {
        Ok(c) => c,
        Err(e) => return refused_page(state, e),
    };
    let loaded = async {
        let secrets = state.store.credentials(client.id).await?;
        let scopes = state.store.scopes_of_client(client.id).await?;
        let dependent_ids: Vec<uuid::Uuid> = scopes
            .iter()
            .flat_map(|s| s.dependent_scopes.iter().map(|d| d.scope_id))
            .collect();
        let named = state.store.scopes_by_ids(&dependent_ids).await?;
        let policies = match client.project {
            Some(p) => state.store.policies_of_projects(&[p]).await?,
            None => Vec::new(),
        };
        Ok::<_, StoreError>((secrets, scopes, named, policies))
    };
    let (secrets, scopes, named, policies) = match loaded.await {
        Ok(l) => l,
        Err(e) => return state.pages.failed("the app page", &e),
    };
    let secrets: Vec<SecretItem> = secrets.iter().map(SecretItem::of).collect();
    let scopes: Vec<ScopeItem> = scopes.iter().map(|s| ScopeItem::of(s, &named)).collect();
    let policies: Vec<PolicyItem> = policies.iter().map(PolicyItem::of).collect();
    render(
        state,
        person,
        status,
        "console/app.html",
        minijinja::context! {
            app => AppItem::of(&client), secrets, scopes, policies, flash,
            resource_server => client.resource_server(),
        },
    )
}
