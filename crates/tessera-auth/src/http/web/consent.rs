//! The consent page (`/v2/web/consent`): the client, what it asks for, Allow or Deny.

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::service::authorize::{self, Next};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;

pub fn url(request: &str) -> String {
    format!(
        "/v2/web/consent?request={}",
        url::form_urlencoded::byte_serialize(request.as_bytes()).collect::<String>()
    )
}

fn expired(state: &AppState) -> Response {
    state.pages.error(
        StatusCode::BAD_REQUEST,
        "This request has expired",
        "Go back to the application and start again.",
    )
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request = q.get("request").map(String::as_str).unwrap_or("");
    let pending = match authorize::pending(&state, request).await {
        Ok(Some(p)) => p,
        Ok(None) => return expired(&state),
        Err(e) => return state.pages.failed("the consent page", &e),
    };
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return state.pages.failed("the consent page", &e),
    };
    match authorize::next_step(&state, &pending, current.as_ref()).await {
        Ok(Next::Consent) => {}
        Ok(Next::SignIn | Next::LinkIdentity(_) | Next::StepUp(_)) => {
            return see_other(&super::login::url(Some(request)), vec![])
        }
        Ok(Next::Redirect(to)) => return see_other(&to, vec![]),
        Err(e) => return state.pages.failed("the consent page", &e),
    }
    let Some((_, identity)) = current else {
        return see_other(&super::login::url(Some(request)), vec![]);
    };
    let view = match authorize::consent_view(&state, &pending).await {
        Ok(Some(v)) => v,
        Ok(None) => return expired(&state),
        Err(e) => return state.pages.failed("the consent page", &e),
    };
    let (token, cookie) = csrf(&state, &headers);
    let c = &view.client.client;
    let page = state.pages.render(
        StatusCode::OK,
        "consent.html",
        minijinja::context! {
            action => "/v2/web/consent", csrf => token, request, static_base => STATIC_BASE,
            client_name => c.name, client_id => c.id.to_string(),
            terms_url => c.links.terms_and_conditions, privacy_url => c.links.privacy_policy,
            username => identity.username, scopes => view.scopes,
        },
    );
    with_cookies(page, cookie)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let request = f.get("request").map(String::as_str).unwrap_or("");
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Go back to the application and start again.",
        );
    }
    let pending = match authorize::pending(&state, request).await {
        Ok(Some(p)) => p,
        Ok(None) => return expired(&state),
        Err(e) => return state.pages.failed("the consent page", &e),
    };
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return see_other(&super::login::url(Some(request)), vec![]),
        Err(e) => return state.pages.failed("the consent page", &e),
    };
    if pending.force_login && current.0.auth_time < pending.created_at {
        return see_other(&super::login::url(Some(request)), vec![]);
    }
    let outcome = match f.get("decision").map(String::as_str) {
        Some("allow") => authorize::approve(&state, &pending, &current.0, &current.1).await,
        Some("deny") => authorize::deny(&state, &pending).await,
        _ => {
            return state.pages.error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "Choose Allow or Deny.",
            )
        }
    };
    match outcome {
        Ok(to) => see_other(&to, vec![]),
        Err(e) => state.pages.failed("the consent page", &e),
    }
}
