//! `/v2/web/account`: the apps the signed-in user has allowed, each with "Revoke".

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::service::{consents, sessions};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_core::clock::iso8601;
use uuid::Uuid;

#[derive(Serialize)]
struct ScopeItem {
    name: String,
    scope_string: String,
}

#[derive(Serialize)]
struct App {
    client_name: String,
    client_id: String,
    granted: String,
    scopes: Vec<ScopeItem>,
    revoke_action: String,
}

fn failed(state: &AppState, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "account page failed");
    state.pages.error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again.",
    )
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return see_other("/v2/web/login", vec![]),
        Err(e) => return failed(&state, &e),
    };
    let identity = current.1;
    let all = match state.store.consents_of(identity.id).await {
        Ok(a) => a,
        Err(e) => return failed(&state, &e),
    };
    let catalogue = match state
        .scopes
        .get(state.store.as_ref(), state.clock.now())
        .await
    {
        Ok(c) => c,
        Err(e) => return failed(&state, &e),
    };
    let mut apps: Vec<App> = Vec::new();
    for root in all.iter().filter(|c| c.dependency_path.len() == 1) {
        let scope = ScopeItem {
            name: catalogue
                .by_id(root.scope_id)
                .map_or_else(|| root.scope_string.clone(), |s| s.name.clone()),
            scope_string: root.scope_string.clone(),
        };
        if let Some(app) = apps
            .iter_mut()
            .find(|a| a.client_id == root.client_id.to_string())
        {
            app.scopes.push(scope);
            continue;
        }
        let name = match state
            .clients
            .get(state.store.as_ref(), root.client_id, state.clock.now())
            .await
        {
            Ok(Some(c)) => c.client.name.clone(),
            Ok(None) => root.client_id.to_string(),
            Err(e) => return failed(&state, &e),
        };
        apps.push(App {
            client_name: name,
            client_id: root.client_id.to_string(),
            granted: iso8601(root.created_at)[..10].to_owned(),
            scopes: vec![scope],
            revoke_action: format!("/v2/web/account/apps/{}/revoke", root.client_id),
        });
    }
    let (token, cookie) = csrf(&state, &headers);
    let page = state.pages.render(
        StatusCode::OK,
        "account.html",
        minijinja::context! {
            static_base => STATIC_BASE, username => identity.username, name => identity.name,
            csrf => token, logout_url => "/v2/web/logout", apps,
        },
    );
    with_cookies(page, cookie)
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again.",
        );
    }
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return see_other("/v2/web/login", vec![]),
        Err(e) => return failed(&state, &e),
    };
    let Ok(client) = Uuid::parse_str(&client_id) else {
        return state
            .pages
            .error(StatusCode::NOT_FOUND, "No such app", "Nothing was changed.");
    };
    if let Err(e) = consents::rescind_client(&state, current.1.id, client).await {
        return failed(&state, &e);
    }
    see_other("/v2/web/account", vec![])
}
