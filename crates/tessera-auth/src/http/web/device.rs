//! The device verification page (`/v2/web/device`, RFC 8628 §3.3): a signed-in person enters
//! the code their device shows (or arrives with it, from `verification_uri_complete`), sees
//! what the device's client asks for on the consent page, and allows or denies it.
//!
//! The code is entered only after sign-in, so every guess has an identity and an address to be
//! counted against; wrong codes slow both down (RFC 8628 §5.1). The consent page is shown even
//! when the person consented before: RFC 8628 §5.4 asks that a person confirm every device, so
//! a code phished from someone else is not approved unseen.

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::http::extract::ClientAddr;
use crate::service::authorize;
use crate::service::device::{self, Decided};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::grant::device_code::{DeviceGrant, UserCode};
use tessera_core::identity::Identity;
use tessera_core::session::BrowserSession;

const PAGE: &str = "the device page";

/// Where a person who is not signed in goes: the sign-in page, then back here with the code.
fn sign_in_first(typed: Option<&str>) -> Response {
    let here = match typed.and_then(UserCode::parse) {
        Some(code) => format!("/v2/web/device?user_code={}", code.display()),
        None => "/v2/web/device".to_owned(),
    };
    see_other(&super::login::url_then(&here), vec![])
}

/// The code form, with an error when the last code was wrong.
fn code_form(
    state: &AppState,
    status: StatusCode,
    identity: &Identity,
    typed: Option<&str>,
    error: Option<&str>,
) -> Response {
    state.pages.render(
        status,
        "device.html",
        minijinja::context! {
            static_base => STATIC_BASE, username => identity.username, error,
            typed => typed.filter(|t| t.len() <= 20),
        },
    )
}

fn throttle_key(identity: &Identity) -> String {
    format!("device:{}", identity.id)
}

/// The grant `typed` names, counting a wrong code as a guess. `Err`: the page to answer with.
async fn find(
    state: &AppState,
    identity: &Identity,
    addr: Option<&str>,
    typed: &str,
) -> Result<DeviceGrant, Response> {
    let now = state.clock.now();
    let key = throttle_key(identity);
    let wait = state.device_guesses.wait(&key, addr, now);
    if wait > 0 {
        return Err(code_form(
            state,
            StatusCode::TOO_MANY_REQUESTS,
            identity,
            Some(typed),
            Some(&format!(
                "Too many wrong codes. Try again in {wait} seconds."
            )),
        ));
    }
    let found = match UserCode::parse(typed) {
        Some(code) => match device::awaiting(state, &code).await {
            Ok(g) => g,
            Err(e) => return Err(state.pages.failed(PAGE, &e)),
        },
        None => None,
    };
    match found {
        Some(g) => {
            state.device_guesses.succeeded(&key);
            Ok(g)
        }
        None => {
            state.device_guesses.failed(&key, addr, now);
            tracing::info!(event = "device_code_wrong", identity = %identity.id, "a wrong or expired user code was entered");
            Err(code_form(
                state,
                StatusCode::BAD_REQUEST,
                identity,
                Some(typed),
                Some("That code is not valid, or it has expired. Check the code on your device and try again."),
            ))
        }
    }
}

async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(BrowserSession, Identity)>, Response> {
    sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref())
        .await
        .map_err(|e| state.pages.failed(PAGE, &e))
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let typed = q
        .get("user_code")
        .map(String::as_str)
        .filter(|t| !t.is_empty());
    let (_, identity) = match signed_in(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return sign_in_first(typed),
        Err(page) => return page,
    };
    let Some(typed) = typed else {
        return code_form(&state, StatusCode::OK, &identity, None, None);
    };
    let grant = match find(&state, &identity, addr.as_deref(), typed).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let view = match authorize::consent_view_of(&state, grant.client_id, &grant.scope).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return code_form(
                &state,
                StatusCode::BAD_REQUEST,
                &identity,
                Some(typed),
                Some("That code is not valid, or it has expired."),
            )
        }
        Err(e) => return state.pages.failed(PAGE, &e),
    };
    let (token, cookie) = csrf(&state, &headers);
    let c = &view.client.client;
    let page = state.pages.render(
        StatusCode::OK,
        "consent.html",
        minijinja::context! {
            action => "/v2/web/device", csrf => token, request => grant.user_code.display(),
            user_code => grant.user_code.display(), static_base => STATIC_BASE,
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
    ClientAddr(addr): ClientAddr,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let typed = f.get("request").map(String::as_str).unwrap_or("");
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Enter the code from your device again.",
        );
    }
    let allow = match f.get("decision").map(String::as_str) {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return state.pages.error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "Choose Allow or Deny.",
            )
        }
    };
    let (session, identity) = match signed_in(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return sign_in_first(Some(typed)),
        Err(page) => return page,
    };
    let grant = match find(&state, &identity, addr.as_deref(), typed).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let client_name = state
        .clients
        .get(state.store.as_ref(), grant.client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.client.name.clone())
        .unwrap_or_default();
    let outcome = match device::decide(&state, &grant, &session, &identity, allow).await {
        Ok(Decided::Approved) => "approved",
        Ok(Decided::Denied) => "denied",
        Ok(Decided::Gone) => {
            return code_form(
                &state,
                StatusCode::BAD_REQUEST,
                &identity,
                None,
                Some("That code was used or has expired in the meantime. Start again on your device."),
            )
        }
        Ok(Decided::NeedsIdentity(what)) => {
            return state.pages.error(
                StatusCode::FORBIDDEN,
                "Another identity is needed",
                &format!(
                    "{client_name} needs {what}. Link such an identity from your account page, then enter the code again."
                ),
            )
        }
        Err(e) => return state.pages.failed(PAGE, &e),
    };
    state.pages.render(
        StatusCode::OK,
        "device.html",
        minijinja::context! {
            static_base => STATIC_BASE, outcome, client_name, username => identity.username,
        },
    )
}
