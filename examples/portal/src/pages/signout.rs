//! `POST /signout`: every token the portal holds for the person is revoked (RFC 7009, as the
//! portal's confidential client), the session is forgotten and the cookie deleted.

use crate::session::set_cookie;
use crate::state::Portal;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct SignoutForm {
    csrf: Option<String>,
}

pub(crate) async fn signout(
    State(state): State<Portal>,
    headers: HeaderMap,
    Form(form): Form<SignoutForm>,
) -> Response {
    let Some((id, session)) = state.sessions.of(&headers) else {
        return Redirect::to("/").into_response();
    };
    if !session.csrf_ok(form.csrf.as_deref().unwrap_or("")) {
        return state.pages.error(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "This form is stale (or came from another site). Use Sign out on the portal's page.",
            session.user.as_ref().map(|u| u.name.as_str()),
            Some(&session.csrf),
        );
    }
    state.sessions.remove(&id);
    if let Some(user) = &session.user {
        for t in user.tokens.values() {
            for token in std::iter::once(&t.access_token).chain(t.refresh_token.as_ref()) {
                if let Err(e) = state.auth.revoke(token).await {
                    tracing::warn!(error = %e, resource_server = %t.resource_server, "portal: revocation failed");
                }
            }
        }
    }
    (
        [(header::SET_COOKIE, set_cookie(None, state.secure_cookies))],
        Redirect::to("/?signed_out=1"),
    )
        .into_response()
}
