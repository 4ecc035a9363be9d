//! `/v2/web/auth-code` (spec §2.2): shows the code for the user to paste into a native app.

use super::pages::STATIC_BASE;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // An error from the authorization server lands here too (RFC 6749 §4.1.2.1).
    if let Some(error) = q.get("error") {
        let message = q
            .get("error_description")
            .cloned()
            .unwrap_or_else(|| error.clone());
        return state.pages.error(
            StatusCode::OK,
            "The application was not authorized",
            &message,
        );
    }
    let code = q.get("code").cloned().unwrap_or_default();
    state.pages.render(
        StatusCode::OK,
        "auth_code.html",
        minijinja::context! { code, static_base => STATIC_BASE },
    )
}
