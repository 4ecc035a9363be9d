//! The sign-in page (`/v2/web/login`).

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::http::extract::ClientAddr;
use crate::service::authorize::{self, Next};
use crate::service::sessions::{self, SignInError};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::secret::Secret;
use tessera_core::session::SESSION_LIFETIME_S;

/// Where the sign-in page is, for a pending request or none.
pub fn url(request: Option<&str>) -> String {
    match request {
        Some(r) => format!(
            "/v2/web/login?request={}",
            url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => "/v2/web/login".into(),
    }
}

async fn client_name(state: &AppState, request: &str) -> Option<String> {
    let pending = authorize::pending(state, request).await.ok()??;
    let client = state
        .clients
        .get(state.store.as_ref(), pending.client_id, state.clock.now())
        .await
        .ok()??;
    Some(client.client.name.clone())
}

/// The sign-in form; `link`: the "link another identity" variant.
#[allow(clippy::too_many_arguments)]
fn form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    request: &str,
    username: &str,
    error: Option<&str>,
    client_name: Option<String>,
    link: bool,
) -> Response {
    let (token, cookie) = csrf(state, headers);
    let page = state.pages.render(
        status,
        "login.html",
        minijinja::context! {
            action => "/v2/web/login", csrf => token, request, username, error, client_name, link,
            static_base => STATIC_BASE,
        },
    );
    with_cookies(page, cookie)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request = q.get("request").map(String::as_str).unwrap_or("");
    let name = if request.is_empty() {
        None
    } else {
        client_name(&state, request).await
    };
    if !request.is_empty() && name.is_none() {
        return expired(&state);
    }
    let link = q.get("link").is_some_and(|v| v == "1");
    form(
        &state,
        &headers,
        StatusCode::OK,
        request,
        "",
        None,
        name,
        link,
    )
}

/// What a failed sign-in tells the user; the same words whether the user exists or not.
fn refusal(e: &SignInError) -> (StatusCode, String) {
    match e {
        SignInError::Rejected => (
            StatusCode::OK,
            "Incorrect username or password. Please try again.".into(),
        ),
        SignInError::Throttled(s) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed attempts. Please try again in {s} seconds."),
        ),
        SignInError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is busy. Please try again in a moment.".into(),
        ),
        e => {
            tracing::error!(error = %e, "sign-in failed internally");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.".into(),
            )
        }
    }
}

/// "Link another identity": the signed-in user proves a second identity, which joins their set.
async fn link(
    state: &AppState,
    headers: &HeaderMap,
    addr: Option<&str>,
    username: &str,
    password: &Secret,
) -> Response {
    let again =
        |status, msg: &str| form(state, headers, status, "", username, Some(msg), None, true);
    let current =
        match sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref()).await {
            Ok(Some(c)) => c,
            Ok(None) => return see_other("/v2/web/login", vec![]),
            Err(e) => {
                let (status, msg) = refusal(&SignInError::Store(e));
                return again(status, &msg);
            }
        };
    let other = match sessions::verify(state, username, password, addr).await {
        Ok(i) => i,
        Err(e) => {
            let (status, msg) = refusal(&e);
            return again(status, &msg);
        }
    };
    if other.id == current.1.id {
        return again(
            StatusCode::OK,
            "That is the identity you are signed in with. Sign in with another one to link it.",
        );
    }
    if let Err(e) = state
        .store
        .link_identities(current.1.id, other.id, state.clock.now())
        .await
    {
        let (status, msg) = refusal(&SignInError::Store(e));
        return again(status, &msg);
    }
    crate::audit::identity_linked(state, current.1.id, other.id);
    tracing::info!(event = "identity_linked", identity = %current.1.id, linked = %other.id, "identity linked");
    see_other("/v2/web/account", vec![])
}

fn expired(state: &AppState) -> Response {
    state.pages.error(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired",
        "Go back to the application and start again.",
    )
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let request = field("request");
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return form(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            request,
            field("username"),
            Some("Your sign-in form expired. Please try again."),
            None,
            field("link") == "1",
        );
    }
    if field("link") == "1" {
        return link(
            &state,
            &headers,
            addr.as_deref(),
            field("username"),
            &Secret::new(field("password")),
        )
        .await;
    }
    let name = if request.is_empty() {
        None
    } else {
        client_name(&state, request).await
    };
    let password = Secret::new(field("password"));
    let username = field("username");
    let again = |status, msg: &str| {
        form(
            &state,
            &headers,
            status,
            request,
            username,
            Some(msg),
            name.clone(),
            false,
        )
    };
    let (session, secret, identity) =
        match sessions::sign_in(&state, username, &password, addr.as_deref()).await {
            Ok(s) => s,
            Err(e) => {
                let (status, msg) = refusal(&e);
                return again(status, &msg);
            }
        };
    // A fresh session id on every sign-in: an old cookie (session fixation) is worthless.
    if let Err(e) =
        sessions::sign_out(&state, cookies::get(&headers, cookies::SESSION).as_deref()).await
    {
        tracing::warn!(error = %e, "could not end the previous session");
    }
    let cookie = cookies::set(
        &state,
        cookies::SESSION,
        secret.expose(),
        Some(SESSION_LIFETIME_S),
    );
    let location = if request.is_empty() {
        "/v2/web/account".to_owned()
    } else {
        match authorize::pending(&state, request).await {
            Ok(Some(p)) => match authorize::next_step(&state, &p, Some(&(session, identity))).await
            {
                Ok(Next::SignIn) => url(Some(request)),
                Ok(Next::Consent) => super::consent::url(request),
                Ok(Next::Redirect(to)) => to,
                Err(e) => {
                    tracing::error!(error = %e, "continuing an authorization failed");
                    return state.pages.error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Please try again.",
                    );
                }
            },
            _ => return with_cookies(expired(&state), cookie),
        }
    };
    see_other(&location, cookie.into_iter().collect())
}
