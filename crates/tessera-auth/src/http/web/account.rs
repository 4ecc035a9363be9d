//! `/v2/web/account`: the signed-in user's linked identities and the apps they have allowed,
//! each with "Revoke". The front door shows the same for a signed-in visitor.

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
use tessera_core::identity::Identity;
use tessera_core::redirect::local_path;
use tessera_store::{Change, StoreError};
use uuid::Uuid;

#[derive(Serialize)]
struct ScopeItem {
    name: String,
    scope_string: String,
}

#[derive(Serialize)]
struct LinkedIdentity {
    username: String,
    current: bool,
    /// None for the identity the user is signed in with: it cannot be unlinked from here.
    unlink_action: Option<String>,
}

#[derive(Serialize)]
struct App {
    client_name: String,
    client_id: String,
    granted: String,
    scopes: Vec<ScopeItem>,
    revoke_action: String,
}

/// What the account page (and the front door, signed in) shows of a person: their linked
/// identities, and the apps they allowed with what each may do.
#[derive(Serialize)]
pub(super) struct Overview {
    identities: Vec<LinkedIdentity>,
    apps: Vec<App>,
}

pub(super) async fn overview(
    state: &AppState,
    identity: &Identity,
) -> Result<Overview, StoreError> {
    let all = state.store.consents_of(identity.id).await?;
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
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
            .get(state.store.as_ref(), root.client_id)
            .await?
        {
            Some(c) => c.client.name.clone(),
            None => root.client_id.to_string(),
        };
        apps.push(App {
            client_name: name,
            client_id: root.client_id.to_string(),
            granted: iso8601(root.created_at)[..10].to_owned(),
            scopes: vec![scope],
            revoke_action: format!("/v2/web/account/apps/{}/revoke", root.client_id),
        });
    }
    let set = state.store.identity_set(identity.id).await?;
    let identities = set
        .iter()
        .map(|i| LinkedIdentity {
            username: i.username.clone(),
            current: i.id == identity.id,
            unlink_action: (i.id != identity.id)
                .then(|| format!("/v2/web/account/identities/{}/unlink", i.id)),
        })
        .collect();
    Ok(Overview { identities, apps })
}

/// Where this page is, for a sign-in that should come back to it.
const HERE: &str = "/v2/web/account";

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return see_other(&super::login::url_then(HERE), vec![]),
        Err(e) => return state.pages.failed("the account page", &e),
    };
    let identity = current.1;
    let overview = match overview(&state, &identity).await {
        Ok(o) => o,
        Err(e) => return state.pages.failed("the account page", &e),
    };
    let (token, cookie) = csrf(&state, &headers);
    let page = state.pages.render(
        StatusCode::OK,
        "account.html",
        minijinja::context! {
            static_base => STATIC_BASE, username => identity.username, name => identity.name,
            console_url => super::console::CONSOLE, csrf => token, logout_url => "/v2/web/logout", overview, back => HERE,
            link_url => "/v2/web/login?link=1",
        },
    );
    with_cookies(page, cookie)
}

/// Where a form on the account page or the front door returns to: its `next`, if that is a
/// path on this site, else this page.
fn back(f: &HashMap<String, String>) -> &str {
    f.get("next").and_then(|n| local_path(n)).unwrap_or(HERE)
}

/// The signed-in user behind a form POST with a valid CSRF token; otherwise the response to
/// send instead (an error page, or the sign-in page).
async fn form_user(
    state: &AppState,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<Identity, Response> {
    if !csrf_ok(headers, f.get("csrf").map(String::as_str)) {
        return Err(state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again.",
        ));
    }
    match sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref()).await {
        Ok(Some((_, identity))) => Ok(identity),
        Ok(None) => Err(see_other(&super::login::url_then(back(f)), vec![])),
        Err(e) => Err(state.pages.failed("the account page", &e)),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let identity = match form_user(&state, &headers, &f).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Ok(client) = Uuid::parse_str(&client_id) else {
        return state
            .pages
            .error(StatusCode::NOT_FOUND, "No such app", "Nothing was changed.");
    };
    if let Err(e) = consents::rescind_client(&state, identity.id, client).await {
        return state.pages.failed("the account page", &e);
    }
    see_other(back(&f), vec![])
}

/// Takes a linked identity out of the signed-in user's set (never the one signed in with).
pub async fn unlink(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identity_id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let identity = match form_user(&state, &headers, &f).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let set = match state.store.identity_set(identity.id).await {
        Ok(s) => s,
        Err(e) => return state.pages.failed("the account page", &e),
    };
    let target = Uuid::parse_str(&identity_id)
        .ok()
        .filter(|t| *t != identity.id && set.iter().any(|i| i.id == *t));
    let Some(target) = target else {
        return state.pages.error(
            StatusCode::NOT_FOUND,
            "No such linked identity",
            "Nothing was changed.",
        );
    };
    if let Err(e) = state.store.unlink_identity(target).await {
        return state.pages.failed("the account page", &e);
    }
    let _ = state
        .publish(vec![Change::IdentitySetChanged(target)])
        .await;
    crate::audit::identity_unlinked(&state, identity.id, target);
    tracing::info!(event = "identity_unlinked", identity = %identity.id, unlinked = %target, "identity unlinked");
    see_other(back(&f), vec![])
}
