//! The browser pages: the front door, sign-in, consent, the auth-code page, logout, the
//! account page. Plain HTML forms rendered on the server; no JavaScript. Every form carries a
//! CSRF token; every page links home, forbids framing and is never cached.

pub mod account;
pub mod account_mfa;
pub mod auth_code;
pub mod consent;
pub mod console;
pub mod cookies;
pub mod device;
pub mod home;
pub mod idp;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod pages;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/v2/web/login", get(login::show).post(login::submit))
        .route("/v2/web/idp/{id}/start", post(idp::start))
        .route("/v2/web/idp/{id}/callback", get(idp::callback))
        .route("/v2/web/consent", get(consent::show).post(consent::submit))
        .route("/v2/web/auth-code", get(auth_code::show))
        .route("/v2/web/device", get(device::show).post(device::submit))
        .route("/v2/web/logout", get(logout::show).post(logout::submit))
        .route("/v2/web/mfa", get(mfa::show).post(mfa::submit))
        .route("/v2/web/account", get(account::show))
        .route(
            "/v2/web/account/mfa",
            get(account_mfa::show).post(account_mfa::enrol),
        )
        .route("/v2/web/account/mfa/remove", post(account_mfa::remove))
        .route(
            "/v2/web/account/apps/{client_id}/revoke",
            post(account::revoke),
        )
        .route(
            "/v2/web/account/identities/{identity_id}/unlink",
            post(account::unlink),
        )
        .merge(console::routes())
        .route("/v2/web/static/style.css", get(pages::stylesheet))
        .route("/v2/web/static/console.js", get(pages::console_script))
        // Browsers ask for it on every site; "no content" keeps their consoles clean.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
}
