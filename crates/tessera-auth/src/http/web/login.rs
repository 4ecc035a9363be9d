//! The sign-in page (`/v2/web/login`).

use super::cookies::{self, csrf, csrf_ok};
use super::idp::Choices;
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::http::extract::ClientAddr;
use crate::service::authorize::{self, Effective, Next};
use crate::service::sessions::{self, SignInError};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_core::identity::Identity;
use tessera_core::redirect::local_path;
use tessera_core::secret::Secret;
use tessera_core::session::BrowserSession;
use tessera_store::Change;

/// The sign-in page for a person who should come back to `next`, a path on this site.
pub fn url_then(next: &str) -> String {
    format!(
        "/v2/web/login?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    )
}

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
        .get(state.store.as_ref(), pending.client_id)
        .await
        .ok()??;
    Some(client.client.name.clone())
}

/// Which sign-in form to show.
#[derive(Clone)]
enum Mode {
    /// An ordinary sign-in; without a request, it ends at `next` (a path on this site).
    SignIn { next: Option<String> },
    /// "Link another identity", from the account page.
    Link,
    /// The application needs an identity the signed-in person lacks: the one signed in with
    /// now is linked, and the authorization continues.
    LinkFor {
        requirement: String,
        signed_in_as: String,
    },
    /// The session does not meet what the application asks of it: sign in again (or with
    /// another identity, which is then linked, or with the second factor).
    StepUp {
        message: String,
        signed_in_as: String,
        /// MFA is needed and this identity has none set up.
        needs_mfa_setup: bool,
    },
}

/// The sign-in form in one of its modes.
#[allow(clippy::too_many_arguments)]
fn form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    request: &str,
    username: &str,
    error: Option<&str>,
    client_name: Option<String>,
    mode: Mode,
    choices: &Choices,
) -> Response {
    let (token, cookie) = csrf(state, headers);
    let link = matches!(mode, Mode::Link | Mode::LinkFor { .. });
    let (mut step_up, mut needs_mfa_setup) = (None, false);
    let (requirement, signed_in_as, next) = match mode {
        Mode::LinkFor {
            requirement,
            signed_in_as,
        } => (Some(requirement), Some(signed_in_as), None),
        Mode::SignIn { next } => (None, None, next),
        Mode::Link => (None, None, None),
        Mode::StepUp {
            message,
            signed_in_as,
            needs_mfa_setup: setup,
        } => {
            step_up = Some(message);
            needs_mfa_setup = setup;
            (None, Some(signed_in_as), None)
        }
    };
    let page = state.pages.render(
        status,
        "login.html",
        minijinja::context! {
            action => "/v2/web/login", csrf => token, request, username, error, client_name, link,
            requirement, signed_in_as, next, step_up, needs_mfa_setup,
            static_base => STATIC_BASE,
            idps => choices.buttons, password_form => choices.password,
        },
    );
    with_cookies(page, cookie)
}

/// For a pending request and a signed-in person none of whose identities satisfies the
/// client: what to ask for. `None` when there is nothing to ask (or no one is signed in).
async fn missing_identity(state: &AppState, headers: &HeaderMap, request: &str) -> Option<Mode> {
    let pending = authorize::pending(state, request).await.ok()??;
    let (session, identity) =
        sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref())
            .await
            .ok()??;
    if let Ok(Some(short)) =
        crate::service::step_up::shortfall(state, &pending, &session, &identity).await
    {
        let needs_mfa_setup = short.mfa
            && !crate::service::mfa::enrolled(state, identity.id)
                .await
                .unwrap_or(false);
        return Some(Mode::StepUp {
            message: short.message,
            signed_in_as: identity.username,
            needs_mfa_setup,
        });
    }
    match authorize::effective(state, pending.client_id, &identity).await {
        Ok(Effective::Missing(requirement)) => Some(Mode::LinkFor {
            requirement,
            signed_in_as: identity.username,
        }),
        _ => None,
    }
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
    let mode = if q.get("link").is_some_and(|v| v == "1") {
        Mode::Link
    } else if request.is_empty() {
        Mode::SignIn {
            next: q.get("next").and_then(|n| local_path(n)).map(str::to_owned),
        }
    } else {
        missing_identity(&state, &headers, request)
            .await
            .unwrap_or(Mode::SignIn { next: None })
    };
    let choices = super::idp::choices(&state, request).await;
    form(
        &state,
        &headers,
        StatusCode::OK,
        request,
        "",
        None,
        name,
        mode,
        &choices,
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
pub(super) async fn link(
    state: &AppState,
    headers: &HeaderMap,
    username: &str,
    prove: impl std::future::Future<Output = Result<Identity, SignInError>>,
    proof: sessions::Proof,
) -> Response {
    let choices = super::idp::choices(state, "").await;
    let again = |status, msg: &str| {
        form(
            state,
            headers,
            status,
            "",
            username,
            Some(msg),
            None,
            Mode::Link,
            &choices,
        )
    };
    let current =
        match sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref()).await {
            Ok(Some(c)) => c,
            Ok(None) => return see_other("/v2/web/login", vec![]),
            Err(e) => {
                let (status, msg) = refusal(&SignInError::Store(e));
                return again(status, &msg);
            }
        };
    let other = match prove.await {
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
    // Nothing cached holds identity sets today; the feed carries it for whatever will. The
    // link is committed, so a failure to publish is logged (by `publish`) and not shown.
    let _ = state
        .publish(vec![
            Change::IdentitySetChanged(current.1.id),
            Change::IdentitySetChanged(other.id),
        ])
        .await;
    crate::audit::identity_linked(state, current.1.id, other.id);
    // The second identity proved itself in this session: `session_info` lists it too.
    if let Err(e) = sessions::record(state, &current.0, &other, proof).await {
        tracing::warn!(error = %e, "could not record the linked identity's authentication");
    }
    tracing::info!(event = "identity_linked", identity = %current.1.id, linked = %other.id, "identity linked");
    see_other("/v2/web/account", vec![])
}

/// Where the authorization of `request` goes next for the signed-in person.
async fn continue_to(
    state: &AppState,
    request: &str,
    current: (BrowserSession, Identity),
) -> Result<String, Response> {
    let pending = match authorize::pending(state, request).await {
        Ok(Some(p)) => p,
        _ => return Err(expired(state)),
    };
    match authorize::next_step(state, &pending, Some(&current)).await {
        Ok(Next::SignIn | Next::LinkIdentity(_) | Next::StepUp(_)) => Ok(url(Some(request))),
        Ok(Next::Consent) => Ok(super::consent::url(request)),
        Ok(Next::Redirect(to)) => Ok(to),
        Err(e) => {
            tracing::error!(error = %e, "continuing an authorization failed");
            Err(state.pages.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
            ))
        }
    }
}

/// The application of `request` needs an identity the signed-in person lacks: they sign in
/// with one that satisfies it, which is linked to their set (as from the account page), and
/// the authorization continues. An identity that does not satisfy it is refused and nothing
/// changes.
pub(super) async fn link_for_request(
    state: &AppState,
    headers: &HeaderMap,
    request: &str,
    username: &str,
    prove: impl std::future::Future<Output = Result<Identity, SignInError>>,
    proof: sessions::Proof,
) -> Response {
    let Ok(Some(pending)) = authorize::pending(state, request).await else {
        return expired(state);
    };
    let name = client_name(state, request).await;
    let current =
        match sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref()).await {
            Ok(Some(c)) => c,
            // Signed out meanwhile: an ordinary sign-in for the request.
            _ => return see_other(&url(Some(request)), vec![]),
        };
    let requirement = match authorize::effective(state, pending.client_id, &current.1).await {
        Ok(Effective::Missing(r)) => r,
        Ok(_) => {
            return match continue_to(state, request, current).await {
                Ok(to) => see_other(&to, vec![]),
                Err(page) => page,
            }
        }
        Err(e) => {
            let (status, msg) = refusal(&SignInError::Store(e));
            return state.pages.error(status, "Something went wrong", &msg);
        }
    };
    let mode = Mode::LinkFor {
        requirement: requirement.clone(),
        signed_in_as: current.1.username.clone(),
    };
    let choices = super::idp::choices(state, request).await;
    let again = |status, msg: &str| {
        form(
            state,
            headers,
            status,
            request,
            username,
            Some(msg),
            name.clone(),
            mode.clone(),
            &choices,
        )
    };
    let other = match prove.await {
        Ok(i) => i,
        Err(e) => {
            let (status, msg) = refusal(&e);
            return again(status, &msg);
        }
    };
    let satisfied = match state
        .clients
        .get(state.store.as_ref(), pending.client_id)
        .await
    {
        Ok(Some(c)) => match authorize::client_requirement(state, &c.client).await {
            Ok(Some(req)) => req.as_requirement().satisfied_by(&other),
            Ok(None) => true,
            Err(e) => {
                let (status, msg) = refusal(&SignInError::Store(e));
                return again(status, &msg);
            }
        },
        _ => return expired(state),
    };
    if !satisfied {
        tracing::info!(event = "identity_link_refused", identity = %current.1.id, "identity does not satisfy the client's policy; not linked");
        return again(
            StatusCode::OK,
            &format!(
                "{} is not {requirement}. Sign in with {requirement}.",
                other.username
            ),
        );
    }
    if other.id != current.1.id {
        if let Err(e) = state
            .store
            .link_identities(current.1.id, other.id, state.clock.now())
            .await
        {
            let (status, msg) = refusal(&SignInError::Store(e));
            return again(status, &msg);
        }
        tracing::info!(event = "identity_linked", identity = %current.1.id, linked = %other.id, client = %pending.client_id, "identity linked for a client's policy");
    }
    if let Err(e) = sessions::record(state, &current.0, &other, proof).await {
        let (status, msg) = refusal(&SignInError::Store(e));
        return again(status, &msg);
    }
    match continue_to(state, request, current).await {
        Ok(to) => see_other(&to, vec![]),
        Err(page) => page,
    }
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
    // Where a sign-in for no application ends: `next`, if it is a path on this site.
    let next = local_path(field("next")).map(str::to_owned);
    let choices = super::idp::choices(&state, request).await;
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return form(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            request,
            field("username"),
            Some("Your sign-in form expired. Please try again."),
            None,
            if field("link") == "1" {
                Mode::Link
            } else {
                Mode::SignIn { next: next.clone() }
            },
            &choices,
        );
    }
    if !choices.password {
        return state.pages.error(
            StatusCode::FORBIDDEN,
            "Password sign-in is off",
            "Sign in with one of the identity providers on the sign-in page.",
        );
    }
    if field("link") == "1" && !request.is_empty() {
        let password = Secret::new(field("password"));
        return link_for_request(
            &state,
            &headers,
            request,
            field("username"),
            sessions::verify(&state, field("username"), &password, addr.as_deref()),
            sessions::Proof::password(),
        )
        .await;
    }
    if field("link") == "1" {
        let password = Secret::new(field("password"));
        return link(
            &state,
            &headers,
            field("username"),
            sessions::verify(&state, field("username"), &password, addr.as_deref()),
            sessions::Proof::password(),
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
            Mode::SignIn { next: next.clone() },
            &choices,
        )
    };
    let identity = match sessions::verify(&state, username, &password, addr.as_deref()).await {
        Ok(i) => i,
        Err(e) => {
            let (status, msg) = refusal(&e);
            return again(status, &msg);
        }
    };
    match crate::service::mfa::enrolled(&state, identity.id).await {
        Ok(true) => return super::mfa::ask(&state, &identity, request, next.as_deref()).await,
        Ok(false) => {}
        Err(e) => {
            let (status, msg) = refusal(&SignInError::Store(e));
            return again(status, &msg);
        }
    }
    super::mfa::complete(
        &state,
        &headers,
        &identity,
        sessions::Proof::password(),
        request,
        next.as_deref(),
    )
    .await
}
