//! One file per page or action.

pub(crate) mod datasets;
pub(crate) mod graph;
pub(crate) mod home;
pub(crate) mod signin;
pub(crate) mod signout;
pub(crate) mod task;
pub(crate) mod transfer;

use crate::session::{Session, User};
use crate::state::Portal;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tessera_client::ClientError;

/// The signed-in person and their session, or a redirect to sign in.
pub(crate) fn signed_in(
    state: &Portal,
    headers: &HeaderMap,
) -> Result<(Session, User), Box<Response>> {
    match state.sessions.of(headers) {
        Some((_, s)) => match s.user.clone() {
            Some(u) => Ok((s, u)),
            None => Err(Box::new(Redirect::to("/signin").into_response())),
        },
        None => Err(Box::new(Redirect::to("/signin").into_response())),
    }
}

/// The error page for a failed call to Tessera, as the person should read it.
pub(crate) fn api_failure(
    state: &Portal,
    session: &Session,
    user: &User,
    what: &str,
    e: &ClientError,
) -> Response {
    let (status, detail) = match e.status() {
        Some(401) => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in has expired or was revoked. Sign out and sign in again.".to_owned(),
        ),
        Some(403) => (
            StatusCode::FORBIDDEN,
            format!("You are not allowed to {what}."),
        ),
        Some(404) => (
            StatusCode::NOT_FOUND,
            format!("Could not {what}: not found."),
        ),
        Some(s) if s < 500 => (
            StatusCode::BAD_REQUEST,
            format!("Could not {what}: {}", message(e)),
        ),
        _ => {
            tracing::warn!(error = %e, "portal: could not {what}");
            (
                StatusCode::BAD_GATEWAY,
                format!("Could not {what}: Tessera did not answer. Try again later."),
            )
        }
    };
    state.pages.error(
        status,
        "Something went wrong",
        &detail,
        Some(&user.name),
        Some(&session.csrf),
    )
}

/// The server's own words for a refusal.
pub(crate) fn message(e: &ClientError) -> String {
    match e {
        ClientError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// A dataset name from a query or form: one path component of printable characters.
pub(crate) fn dataset_name(name: Option<&str>) -> Option<&str> {
    let n = name?.trim();
    (!n.is_empty()
        && n.len() <= 255
        && n != "."
        && n != ".."
        && !n.contains('/')
        && !n.chars().any(char::is_control))
    .then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_are_single_components() {
        assert_eq!(dataset_name(Some("ocean temps")), Some("ocean temps"));
        for bad in ["", " ", ".", "..", "a/b", "a\nb"] {
            assert_eq!(dataset_name(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(dataset_name(None), None);
    }
}
