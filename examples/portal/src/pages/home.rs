//! `/`: who is signed in (name, username, linked identities), or an invitation to sign in.

use crate::render::STYLE;
use crate::state::Portal;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
pub(crate) struct HomeQuery {
    signed_out: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Portal>,
    headers: HeaderMap,
    Query(q): Query<HomeQuery>,
) -> Response {
    let session = state.sessions.of(&headers).map(|(_, s)| s);
    let user = session.as_ref().and_then(|s| s.user.as_ref());
    let me = user.map(|u| {
        json!({"name": u.name, "username": u.username, "email": u.email,
               "identities": u.identities})
    });
    state.pages.render(
        "home.html",
        json!({
            "me": me,
            "user": user.map(|u| &u.name),
            "csrf": session.as_ref().map(|s| &s.csrf),
            "signed_out": q.signed_out.is_some() && user.is_none(),
            "tessera_logout": format!("{}/v2/web/logout", state.config.tessera_url.trim_end_matches('/')),
        }),
    )
}

pub(crate) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}
