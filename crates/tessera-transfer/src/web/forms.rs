//! What every page handler does first: find the signed-in person (or send them to sign in),
//! check a form's CSRF token, and turn a service refusal into a sentence for the page.

use super::{Host, Person, Web};
use crate::error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The person behind a page request, or the response to send instead (the sign-in page,
/// coming back to `here`).
pub(super) async fn person_or_sign_in<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    here: &str,
) -> Result<Person, Response> {
    match web.host.person(headers).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(super::render::see_other(&web.host.sign_in_url(here))),
        Err(e) => Err(web.pages.failed("a transfer page", &e)),
    }
}

/// The person behind a form POST with a valid CSRF token, or the response to send instead.
pub(super) async fn form_person<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    csrf: Option<&str>,
    here: &str,
) -> Result<Person, Response> {
    if !web.host.csrf_ok(headers, csrf) {
        return Err(web.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again. Nothing was changed.",
        ));
    }
    person_or_sign_in(web, headers, here).await
}

/// A form's fields, repeated ones (`item`) kept.
pub(super) struct Fields(pub(super) Vec<(String, String)>);

impl Fields {
    /// The first value of `key`, trimmed; empty when absent.
    pub(super) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// A checkbox is sent only when ticked.
    pub(super) fn ticked(&self, key: &str) -> bool {
        !self.get(key).is_empty()
    }
}

/// A service refusal as the end of a sentence: first letter up, a full stop. `None` for an
/// internal failure (a 5xx other than the storage's own 502), which is not the person's to read.
pub(super) fn why(e: &ApiError) -> Option<String> {
    if e.status.is_server_error() && e.status != StatusCode::BAD_GATEWAY {
        return None;
    }
    let mut s = e.message.trim().to_owned();
    if let Some(first) = s.get(..1) {
        s.replace_range(..1, &first.to_uppercase());
    }
    if !s.ends_with('.') {
        s.push('.');
    }
    Some(s)
}

/// The status a page shows a refusal with: the API's, except that a storage failure (502) is
/// shown as a conflict: the page itself worked.
pub(super) fn status_of(e: &ApiError) -> StatusCode {
    if e.status == StatusCode::BAD_GATEWAY {
        StatusCode::CONFLICT
    } else {
        e.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_sentences_and_internal_failures_say_nothing() {
        let e = ApiError::bad_request("path is required");
        assert_eq!(why(&e).as_deref(), Some("Path is required."));
        assert_eq!(why(&ApiError::internal("db down")), None);
        let gone = ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ExternalError.X",
            "No space left: /a",
        );
        assert_eq!(why(&gone).as_deref(), Some("No space left: /a."));
        assert_eq!(status_of(&gone), StatusCode::CONFLICT);
    }
}
