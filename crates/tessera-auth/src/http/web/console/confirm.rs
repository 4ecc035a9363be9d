//! The confirmation page before a deletion: what goes, and one button that posts the form.

use super::{render, Person};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;

/// Asks `person` to confirm deleting `what` (its kind and name) by posting to `action`.
pub(super) fn page(
    state: &AppState,
    person: Person,
    what: &str,
    name: &str,
    consequence: &str,
    action: &str,
    back: &str,
) -> Response {
    render(
        state,
        person,
        StatusCode::OK,
        "console/confirm.html",
        minijinja::context! { what, name, consequence, action, back },
    )
}
