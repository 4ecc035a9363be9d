//! Sign-in: the authorization code grant (RFC 6749 §4.1) with `state` and PKCE S256 (RFC 7636)
//! through Tessera's own sign-in and consent pages. The portal is a confidential client, so
//! the code is exchanged with its secret (HTTP Basic) *and* the verifier.

use crate::config::scopes;
use crate::session::{same, set_cookie, Session, User};
use crate::state::Portal;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use tessera_client::tokens::{by_resource_server, system_clock};
use tessera_client::AccessTokenAuthorizer;

/// `GET /signin`: a fresh session holding the flow's `state` and verifier, then off to
/// Tessera's authorize endpoint.
pub(crate) async fn start(State(state): State<Portal>, headers: HeaderMap) -> Response {
    // A sign-in replaces whatever session this browser had.
    if let Some((old, _)) = state.sessions.of(&headers) {
        state.sessions.remove(&old);
    }
    let wanted = scopes(&state.config.graph_scope);
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let flow = state
        .auth
        .start_authorization_code_flow(&wanted, &state.redirect_uri, false);
    let url = flow.authorize_url();
    let mut session = Session::new();
    session.pending = Some(Arc::new(flow));
    let id = state.sessions.create(session);
    (
        [(
            header::SET_COOKIE,
            set_cookie(Some(&id), state.secure_cookies),
        )],
        Redirect::to(&url),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: checks `state` against this browser's session (RFC 6749 §10.12), trades
/// the code for tokens, reads userinfo, and starts a new session for the person.
pub(crate) async fn callback(
    State(state): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let refuse = |status, detail: &str| {
        state
            .pages
            .error(status, "Sign-in did not complete", detail, None, None)
    };
    let Some((id, session)) = state.sessions.of(&headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This browser has no sign-in under way (or it expired). Start again from Sign in.",
        );
    };
    let Some(flow) = session.pending.clone() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This browser has no sign-in under way. Start again from Sign in.",
        );
    };
    let state_ok = q.state.as_deref().is_some_and(|s| same(s, flow.state()));
    if !state_ok {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The answer from Tessera does not belong to the sign-in this browser started.",
        );
    }
    // The flow is used once, whatever happens next.
    state.sessions.remove(&id);
    if let Some(e) = q.error.as_deref() {
        let detail = match e {
            "access_denied" => "You did not allow the portal to act for you.".to_owned(),
            other => format!(
                "Tessera answered {other}: {}",
                q.error_description.as_deref().unwrap_or("no description")
            ),
        };
        return refuse(StatusCode::FORBIDDEN, &detail);
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty() && c.len() < 512) else {
        return refuse(StatusCode::BAD_REQUEST, "Tessera sent no code.");
    };
    let tokens = match flow.exchange(code).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "portal: code exchange failed");
            return refuse(
                StatusCode::BAD_GATEWAY,
                "Tessera did not accept the sign-in. Start again from Sign in.",
            );
        }
    };
    let tokens = by_resource_server(&tokens, system_clock()());
    let Some(auth_token) = tokens.get("auth.globus.org") else {
        return refuse(StatusCode::BAD_GATEWAY, "Tessera sent no token for Auth.");
    };
    let me = match state
        .auth
        .userinfo(&AccessTokenAuthorizer::new(auth_token.access_token.clone()))
        .await
    {
        Ok(me) => me,
        Err(e) => {
            tracing::warn!(error = %e, "portal: userinfo failed");
            return refuse(StatusCode::BAD_GATEWAY, "Could not read who you are.");
        }
    };
    let username = me
        .preferred_username
        .clone()
        .unwrap_or_else(|| me.sub.clone());
    let identities = me
        .identity_set
        .iter()
        .map(|i| {
            (
                i.username.clone().unwrap_or_else(|| i.sub.clone()),
                i.name.clone().unwrap_or_default(),
                i.identity_provider_display_name.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut fresh = Session::new();
    fresh.user = Some(User {
        name: me.name.clone().unwrap_or_else(|| username.clone()),
        username,
        email: me.email.clone(),
        identities,
        tokens,
    });
    let id = state.sessions.create(fresh);
    (
        [(
            header::SET_COOKIE,
            set_cookie(Some(&id), state.secure_cookies),
        )],
        Redirect::to("/"),
    )
        .into_response()
}
