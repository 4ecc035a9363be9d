//! `/v2/web/mfa`: the second step of a sign-in for an identity with two-step verification, and
//! the end every sign-in shares (open the session, carrying the previous one's authentications
//! for the same person, and continue to the application or `next`).

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::http::extract::ClientAddr;
use crate::service::authorize::{self, Next};
use crate::service::mfa::{self, MfaError, CHALLENGE_LIFETIME_S};
use crate::service::sessions::{self, Proof};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::identity::Identity;
use tessera_core::redirect::local_path;
use tessera_core::session::SESSION_LIFETIME_S;

/// The cookie that carries a sign-in waiting for its second factor.
pub const MFA_COOKIE: &str = "tessera_mfa";

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    request: &str,
    next: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (token, cookie) = csrf(state, headers);
    let page = state.pages.render(
        status,
        "mfa.html",
        minijinja::context! {
            csrf => token, request, next, error, static_base => STATIC_BASE,
        },
    );
    with_cookies(page, cookie)
}

/// A password was proven for `identity`, which has two-step verification: remember that for a
/// few minutes and ask for the code.
pub async fn ask(
    state: &AppState,
    identity: &Identity,
    request: &str,
    next: Option<&str>,
) -> Response {
    let secret = match mfa::challenge(state, identity.id).await {
        Ok(s) => s,
        Err(e) => return state.pages.failed("the sign-in", &e),
    };
    let cookie = cookies::set(
        state,
        MFA_COOKIE,
        secret.expose(),
        Some(CHALLENGE_LIFETIME_S),
    );
    let mut to = format!(
        "/v2/web/mfa?request={}",
        url::form_urlencoded::byte_serialize(request.as_bytes()).collect::<String>()
    );
    if let Some(n) = next {
        to.push_str("&next=");
        to.extend(url::form_urlencoded::byte_serialize(n.as_bytes()));
    }
    see_other(&to, cookie.into_iter().collect())
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request = q.get("request").map(String::as_str).unwrap_or("");
    let next = q.get("next").and_then(|n| local_path(n));
    match mfa::challenged(&state, cookies::get(&headers, MFA_COOKIE).as_deref()).await {
        Ok(Some(_)) => page(&state, &headers, StatusCode::OK, request, next, None),
        Ok(None) => see_other(&restart(request, next), vec![]),
        Err(e) => state.pages.failed("the sign-in", &e),
    }
}

/// Back to the password form: the challenge expired or never was.
fn restart(request: &str, next: Option<&str>) -> String {
    if request.is_empty() {
        super::login::url_then(next.unwrap_or("/"))
    } else {
        super::login::url(Some(request))
    }
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let request = field("request");
    let next = local_path(field("next"));
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            request,
            next,
            Some("Your sign-in form expired. Please try again."),
        );
    }
    let cookie = cookies::get(&headers, MFA_COOKIE);
    let identity = match mfa::challenged(&state, cookie.as_deref()).await {
        Ok(Some(i)) => i,
        Ok(None) => return see_other(&restart(request, next), vec![]),
        Err(e) => return state.pages.failed("the sign-in", &e),
    };
    let again = |status, msg: &str| page(&state, &headers, status, request, next, Some(msg));
    match mfa::check(&state, identity.id, field("code"), addr.as_deref()).await {
        Ok(()) => {}
        Err(MfaError::Wrong) => {
            return again(
                StatusCode::OK,
                "That code is not correct. Enter the current code from your authenticator app, or a recovery code.",
            )
        }
        Err(MfaError::Reused) => {
            return again(
                StatusCode::OK,
                "That code was used already. Wait for the next code and enter it.",
            )
        }
        Err(MfaError::Throttled(s)) => {
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many wrong codes. Please try again in {s} seconds."),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "checking a second factor failed");
            return again(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.",
            );
        }
    }
    // Once: a second tab posting the same challenge must not open a second session.
    match mfa::end_challenge(&state, cookie.as_deref().unwrap_or("")).await {
        Ok(true) => {}
        Ok(false) => return see_other(&restart(request, next), vec![]),
        Err(e) => return state.pages.failed("the sign-in", &e),
    }
    let clear = cookies::set(&state, MFA_COOKIE, "", Some(0));
    let r = complete(
        &state,
        &headers,
        &identity,
        Proof { mfa: true },
        request,
        next,
    )
    .await;
    with_cookies(r, clear)
}

/// Opens the session for a proven identity (updating the browser's previous session when it
/// is the same person's) and sends the browser on: to the application of `request`, or to
/// `next`.
pub async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    identity: &Identity,
    proof: Proof,
    request: &str,
    next: Option<&str>,
) -> Response {
    let old_cookie = cookies::get(headers, cookies::SESSION);
    let previous = match sessions::current(state, old_cookie.as_deref()).await {
        Ok(p) => p.map(|(s, _)| s),
        Err(e) => return state.pages.failed("the sign-in", &e),
    };
    let (session, secret) =
        match sessions::open_after(state, identity, proof, previous.as_ref()).await {
            Ok(s) => s,
            Err(e) => return state.pages.failed("the sign-in", &e),
        };
    // A fresh session id on every sign-in: an old cookie (session fixation) is worthless.
    if let Err(e) = sessions::sign_out(state, old_cookie.as_deref()).await {
        tracing::warn!(error = %e, "could not end the previous session");
    }
    let cookie = cookies::set(
        state,
        cookies::SESSION,
        secret.expose(),
        Some(SESSION_LIFETIME_S),
    );
    if request.is_empty() {
        return see_other(next.unwrap_or("/"), cookie.into_iter().collect());
    }
    let location = match authorize::pending(state, request).await {
        Ok(Some(p)) => {
            match authorize::next_step(state, &p, Some(&(session, identity.clone()))).await {
                Ok(Next::SignIn | Next::LinkIdentity(_) | Next::StepUp(_)) => {
                    super::login::url(Some(request))
                }
                Ok(Next::Consent) => super::consent::url(request),
                Ok(Next::Redirect(to)) => to,
                Err(e) => {
                    tracing::error!(error = %e, "continuing an authorization failed");
                    return with_cookies(
                        state.pages.error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Something went wrong",
                            "Please try again.",
                        ),
                        cookie,
                    );
                }
            }
        }
        _ => {
            return with_cookies(
                state.pages.error(
                    StatusCode::BAD_REQUEST,
                    "This sign-in request has expired",
                    "Go back to the application and start again.",
                ),
                cookie,
            )
        }
    };
    see_other(&location, cookie.into_iter().collect())
}
