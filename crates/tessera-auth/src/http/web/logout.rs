//! `/v2/web/logout`: end the browser session; offer the way back to the application when it
//! named a redirect URI it has registered (`redirect_uri`, `redirect_name`, `client_id`).

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{with_cookies, STATIC_BASE};
use crate::service::{authorize, sessions};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use uuid::Uuid;

/// The return link, only for a redirect URI the named client may use.
async fn return_link(state: &AppState, q: &HashMap<String, String>) -> Option<String> {
    let uri = q.get("redirect_uri")?;
    let id = Uuid::parse_str(q.get("client_id")?).ok()?;
    let client = state.clients.get(state.store.as_ref(), id).await.ok()??;
    let native = authorize::native_like(state, &client.client).await.ok()?;
    tessera_core::redirect::allowed(
        &client.client,
        native,
        uri,
        &authorize::auth_code_page(state),
    )
    .then(|| uri.clone())
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let current = sessions::current(&state, cookies::get(&headers, cookies::SESSION).as_deref())
        .await
        .ok()
        .flatten();
    let redirect_uri = return_link(&state, &q).await;
    let (token, cookie) = csrf(&state, &headers);
    let page = state.pages.render(
        StatusCode::OK,
        "logout.html",
        minijinja::context! {
            static_base => STATIC_BASE, signed_in => current.is_some(),
            username => current.map(|(_, i)| i.username), action => "/v2/web/logout", csrf => token,
            redirect_uri, redirect_name => q.get("redirect_name"), client_id => q.get("client_id"),
        },
    );
    with_cookies(page, cookie)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again.",
        );
    }
    if let Err(e) =
        sessions::sign_out(&state, cookies::get(&headers, cookies::SESSION).as_deref()).await
    {
        tracing::error!(error = %e, "signing out failed");
        return state.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again.",
        );
    }
    tracing::info!(event = "sign_out", "signed out");
    let redirect_uri = return_link(&state, &f).await;
    let page = state.pages.render(
        StatusCode::OK,
        "logout.html",
        minijinja::context! {
            static_base => STATIC_BASE, signed_in => false, redirect_uri, redirect_name => f.get("redirect_name"),
        },
    );
    with_cookies(page, cookies::set(&state, cookies::SESSION, "", Some(0)))
}
