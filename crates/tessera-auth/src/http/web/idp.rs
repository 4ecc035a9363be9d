//! Signing in with an upstream IdP: the "Sign in with NAME" buttons of the sign-in page, the
//! start (`POST /v2/web/idp/{id}/start`) and each IdP's own callback
//! (`GET /v2/web/idp/{id}/callback`). The checks are in `service::upstream::flow`; a proven
//! identity takes the password form's path (`login::signed_in`, `login::link…`).

use super::cookies::{self, csrf_ok};
use super::login;
use super::pages::{see_other, with_cookies};
use crate::service::authorize;
use crate::service::sessions::SignInError;
use crate::service::upstream::flow::{self, Callback, BINDING_COOKIE};
use crate::service::upstream::UpstreamError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::identity::LOCAL_IDP_ID;
use tessera_core::redirect::local_path;
use tessera_core::upstream::{LoginPurpose, LOGIN_LIFETIME_S};
use uuid::Uuid;

/// One "Sign in with NAME" button.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Button {
    pub id: String,
    pub name: String,
    /// The application preselected this IdP (`preselect_idp`): shown first, as the main action.
    pub preselected: bool,
}

/// What the sign-in page offers.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub buttons: Vec<Button>,
    pub password: bool,
}

/// The ways to sign in for `request` (its client's `required_idp` and `preselect_idp`) on
/// this server (its IdPs, and whether the password form is on).
pub async fn choices(state: &AppState, request: &str) -> Choices {
    let mut all: Vec<(Uuid, String)> = state
        .upstreams
        .names_or_empty(state.store.as_ref())
        .await
        .into_iter()
        .collect();
    all.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut password = state.config.password_login;
    let (mut required, mut preselect) = (None, None);
    if !request.is_empty() {
        if let Ok(Some(p)) = authorize::pending(state, request).await {
            if let Ok(Some(c)) = state.clients.get(state.store.as_ref(), p.client_id).await {
                required = c.client.required_idp;
                preselect = c.client.preselect_idp;
            }
        }
    }
    if let Some(r) = required {
        all.retain(|(id, _)| *id == r);
        password = password && r == LOCAL_IDP_ID;
    }
    let mut buttons: Vec<Button> = all
        .into_iter()
        .map(|(id, name)| Button {
            id: id.to_string(),
            name,
            preselected: Some(id) == preselect,
        })
        .collect();
    buttons.sort_by_key(|b| !b.preselected);
    Choices { buttons, password }
}

/// `POST /v2/web/idp/{id}/start`: from the sign-in form (its CSRF token, `request`, `next`,
/// `link`), off to the upstream.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "Your sign-in form expired",
            "Go back, reload the page and try again.",
        );
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return unknown(&state);
    };
    let request = Some(field("request").to_owned()).filter(|r| !r.is_empty());
    let next = local_path(field("next")).map(str::to_owned);
    let purpose = if field("link") == "1" {
        LoginPurpose::Link
    } else {
        LoginPurpose::SignIn
    };
    match flow::start(&state, id, purpose, request, next).await {
        Ok(started) => see_other(
            &started.location,
            cookies::set(
                &state,
                BINDING_COOKIE,
                &started.binding,
                Some(LOGIN_LIFETIME_S),
            )
            .into_iter()
            .collect(),
        ),
        Err(UpstreamError::NotFound) => unknown(&state),
        Err(e) => failure(&state, &e, None),
    }
}

/// `GET /v2/web/idp/{id}/callback`: the upstream's answer.
pub async fn callback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return unknown(&state);
    };
    // The binding is spent whatever happens: a second callback in this browser is refused.
    let clear = cookies::set(&state, BINDING_COOKIE, "", Some(0));
    let cookie = cookies::get(&headers, BINDING_COOKIE);
    let proven = match flow::callback(&state, id, cookie.as_deref(), cb).await {
        Ok(p) => p,
        Err(e) => return with_cookies(failure(&state, &e, None), clear),
    };
    let login = proven.login;
    let request = login.request.clone().unwrap_or_default();
    let identity = proven.identity;
    let response = match login.purpose {
        LoginPurpose::Link if !request.is_empty() => {
            login::link_for_request(
                &state,
                &headers,
                &request,
                "",
                async { Ok::<_, SignInError>(identity) },
                proven.proof,
            )
            .await
        }
        LoginPurpose::Link => {
            login::link(
                &state,
                &headers,
                "",
                async { Ok::<_, SignInError>(identity) },
                proven.proof,
            )
            .await
        }
        LoginPurpose::SignIn => {
            tracing::info!(event = "upstream_sign_in", identity = %identity.id, idp = %id, mfa = proven.proof.mfa, "signed in through an upstream IdP");
            super::mfa::complete(
                &state,
                &headers,
                &identity,
                proven.proof,
                &request,
                login.next.as_deref(),
            )
            .await
        }
    };
    with_cookies(response, clear)
}

fn unknown(state: &AppState) -> Response {
    state.pages.error(
        StatusCode::NOT_FOUND,
        "Unknown identity provider",
        "This server does not sign in with that identity provider.",
    )
}

/// The page for a sign-in that did not work: what happened, in words, and never a 5xx for
/// what the browser or the upstream's response got wrong.
fn failure(state: &AppState, e: &UpstreamError, _idp: Option<&str>) -> Response {
    let again = "Go back to the application and sign in again.";
    let mut r = match e {
        UpstreamError::NotFound => return unknown(state),
        UpstreamError::Denied(why) => state.pages.error(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            &format!("{why} {again}"),
        ),
        UpstreamError::Refused(why) => {
            tracing::info!(event = "upstream_response_refused", reason = %why, "upstream sign-in response refused");
            state.pages.error(
                StatusCode::BAD_REQUEST,
                "This sign-in cannot be accepted",
                &format!("{why} {again}"),
            )
        }
        UpstreamError::Unusable(why) | UpstreamError::Invalid(why) => state.pages.error(
            StatusCode::FORBIDDEN,
            "This identity cannot sign in here",
            why,
        ),
        UpstreamError::Unavailable(why) => {
            tracing::warn!(error = %why, "upstream identity provider unavailable");
            state.pages.error(
                StatusCode::BAD_GATEWAY,
                "The identity provider is unavailable",
                "Please try again in a moment.",
            )
        }
        UpstreamError::Store(e) => {
            tracing::error!(error = %e, "upstream sign-in failed internally");
            state.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            )
        }
        UpstreamError::Internal(e) => {
            tracing::error!(error = %e, "upstream sign-in failed internally");
            state.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            )
        }
    };
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}
