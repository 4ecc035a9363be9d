//! `/v2/web/account/mfa`: turning two-step verification (TOTP) on, with a QR code and recovery
//! codes shown once, and off again.

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::http::extract::ClientAddr;
use crate::service::mfa::{self, MfaError};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::identity::Identity;
use tessera_core::session::BrowserSession;

const HERE: &str = "/v2/web/account/mfa";

async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(BrowserSession, Identity), Response> {
    match sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref()).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(see_other(&super::login::url_then(HERE), vec![])),
        Err(e) => Err(state.pages.failed("the account page", &e)),
    }
}

/// The set-up page (a new secret each time it is shown), or the "it is on" page.
fn setup_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    identity: &Identity,
    error: Option<&str>,
) -> Response {
    let enrolment = match mfa::begin_enrolment(state, identity) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "starting a TOTP enrolment failed");
            return state.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            );
        }
    };
    let (token, cookie) = csrf(state, headers);
    let page = state.pages.render(
        status,
        "account_mfa.html",
        minijinja::context! {
            static_base => STATIC_BASE, csrf => token, username => identity.username,
            enrolled => false, error, qr_svg => enrolment.qr_svg,
            secret => enrolment.secret_base32, pending => enrolment.pending,
        },
    );
    with_cookies(page, cookie)
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (_, identity) = match signed_in(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match mfa::enrolled(&state, identity.id).await {
        Ok(false) => setup_page(&state, &headers, StatusCode::OK, &identity, None),
        Ok(true) => {
            let left = match state.store.recovery_codes_left(identity.id).await {
                Ok(n) => n,
                Err(e) => return state.pages.failed("the account page", &e),
            };
            let (token, cookie) = csrf(&state, &headers);
            let page = state.pages.render(
                StatusCode::OK,
                "account_mfa.html",
                minijinja::context! {
                    static_base => STATIC_BASE, csrf => token, username => identity.username,
                    enrolled => true, recovery_left => left,
                },
            );
            with_cookies(page, cookie)
        }
        Err(e) => state.pages.failed("the account page", &e),
    }
}

fn expired_form(state: &AppState) -> Response {
    state.pages.error(
        StatusCode::BAD_REQUEST,
        "This form has expired",
        "Reload the page and try again.",
    )
}

pub async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return expired_form(&state);
    }
    let (_, identity) = match signed_in(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    match mfa::confirm_enrolment(
        &state,
        &identity,
        field("pending"),
        field("code"),
        addr.as_deref(),
    )
    .await
    {
        Ok(codes) => {
            crate::audit::mfa_changed(&state, identity.id, true);
            let (token, cookie) = csrf(&state, &headers);
            let codes: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
            let page = state.pages.render(
                StatusCode::OK,
                "account_mfa.html",
                minijinja::context! {
                    static_base => STATIC_BASE, csrf => token, username => identity.username,
                    enrolled => true, recovery_codes => codes,
                },
            );
            with_cookies(page, cookie)
        }
        Err(MfaError::Wrong) => setup_page(
            &state,
            &headers,
            StatusCode::OK,
            &identity,
            Some("That code is not correct. Scan the new QR code below and enter the code the app shows."),
        ),
        Err(MfaError::Throttled(s)) => setup_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &identity,
            Some(&format!("Too many wrong codes. Please try again in {s} seconds.")),
        ),
        Err(MfaError::BadEnrolment) => setup_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &identity,
            Some("The set-up form was not valid. Scan the new QR code below."),
        ),
        Err(e) => {
            tracing::error!(error = %e, "TOTP enrolment failed");
            state.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            )
        }
    }
}

/// Turning the second factor off needs a session that used it: a stolen password-only session
/// cannot take it away.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return expired_form(&state);
    }
    let (session, identity) = match signed_in(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let used_mfa = match sessions::authentications(&state, &session, &identity).await {
        Ok(a) => a.iter().any(|a| a.identity_id == identity.id && a.mfa),
        Err(e) => return state.pages.failed("the account page", &e),
    };
    if !used_mfa {
        return state.pages.error(
            StatusCode::FORBIDDEN,
            "Sign in with two-step verification first",
            "To turn it off, sign out and sign in again with a code from your authenticator app.",
        );
    }
    match mfa::remove(&state, identity.id).await {
        Ok(_) => {
            crate::audit::mfa_changed(&state, identity.id, false);
            see_other("/v2/web/account", vec![])
        }
        Err(e) => state.pages.failed("the account page", &e),
    }
}
