//! `/`, the front door: what this server is and where its API lives; for a signed-in visitor,
//! who they are, their linked identities and the apps they allowed (as on the account page).

use super::account::{overview, Overview};
use super::cookies::{self, csrf};
use super::pages::{with_cookies, STATIC_BASE};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

/// A place of the API, for developers. `path` is relative to the public URL.
struct Endpoint {
    name: &'static str,
    path: &'static str,
    /// A document a browser can show (the others answer only API calls).
    link: bool,
    note: &'static str,
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "OpenID Connect discovery",
        path: ".well-known/openid-configuration",
        link: true,
        note: "",
    },
    Endpoint {
        name: "Signing keys (JWKS)",
        path: "jwk.json",
        link: true,
        note: "",
    },
    Endpoint {
        name: "OAuth 2.0 and OpenID Connect",
        path: "v2/oauth2/",
        link: false,
        note: "authorize, token, token/introspect, token/revoke, userinfo",
    },
    Endpoint {
        name: "Globus Auth API",
        path: "v2/api/",
        link: false,
        note: "identities, clients and scopes, projects and policies",
    },
];

#[derive(Serialize)]
struct EndpointView {
    name: &'static str,
    url: String,
    link: bool,
    note: &'static str,
}

/// Where "Sign in" goes: the sign-in page, which comes back here.
const SIGN_IN: &str = "/v2/web/login?next=%2F";

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match sessions::current(
        &state,
        cookies::get(&headers, cookies::SESSION).as_deref(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return state.pages.failed("the front door", &e),
    };
    let overview: Option<Overview> = match &current {
        Some((_, identity)) => match overview(&state, identity).await {
            Ok(o) => Some(o),
            Err(e) => return state.pages.failed("the front door", &e),
        },
        None => None,
    };
    let endpoints: Vec<EndpointView> = ENDPOINTS
        .iter()
        .map(|e| EndpointView {
            name: e.name,
            url: state.config.url(e.path),
            link: e.link,
            note: e.note,
        })
        .collect();
    let (token, cookie) = csrf(&state, &headers);
    let identity = current.map(|(_, i)| i);
    let services: Vec<(&str, &str)> = state
        .config
        .front_door_links
        .iter()
        .map(|(label, path)| (label.as_str(), path.as_str()))
        .collect();
    let page = state.pages.render(
        StatusCode::OK,
        "home.html",
        minijinja::context! {
            static_base => STATIC_BASE, public_url => state.config.public_url, endpoints,
            username => identity.as_ref().map(|i| i.username.clone()),
            name => identity.and_then(|i| i.name), overview, csrf => token, back => "/",
            sign_in_url => SIGN_IN, account_url => "/v2/web/account",
            console_url => super::console::CONSOLE, logout_url => "/v2/web/logout", link_url => "/v2/web/login?link=1", services,
        },
    );
    with_cookies(page, cookie)
}
