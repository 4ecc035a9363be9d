//! `/v2/oauth2/authorize` (RFC 6749 §4.1.1, spec §2.1): validate, then send the browser to
//! sign in, to the consent page, or straight back with a code. GET with a query, or POST with
//! the same parameters as a form (OIDC Core §3.1.2.1).

use super::web::cookies;
use super::web::pages::see_other;
use crate::service::authorize::{self, AuthorizeError, AuthorizeParams, Next};
use crate::service::sessions;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

#[utoipa::path(
    get,
    path = "/v2/oauth2/authorize",
    tag = "oauth2",
    summary = "Authorization endpoint (RFC 6749 §4.1.1, PKCE RFC 7636): sends the browser to sign in and consent, then back with a code",
    params(
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query),
        ("response_type" = String, Query, description = "`code`"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("access_type" = Option<String>, Query, description = "`offline` for refresh tokens"),
        ("prompt" = Option<String>, Query, description = "`login` to sign in again"),
        ("nonce" = Option<String>, Query),
    ),
    responses(
        (status = 303, description = "To the sign-in or consent page, or back to `redirect_uri` with `code` (or an error)"),
        (status = 400, description = "An HTML page: unknown client or a redirect URI it does not allow", content_type = "text/html"),
    )
)]
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    run(&state, &headers, query.as_deref().unwrap_or("").as_bytes()).await
}

#[utoipa::path(
    post,
    path = "/v2/oauth2/authorize",
    tag = "oauth2",
    summary = "The authorization endpoint with its parameters as a form (OIDC Core §3.1.2.1)",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The same parameters as the GET query"),
    responses(
        (status = 303, description = "As for GET"),
        (status = 400, description = "An HTML page: unknown client or a redirect URI it does not allow", content_type = "text/html"),
    )
)]
pub async fn authorize_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&state, &headers, &body).await
}

async fn run(state: &AppState, headers: &HeaderMap, encoded: &[u8]) -> Response {
    let params: AuthorizeParams = match serde_urlencoded::from_bytes(encoded) {
        Ok(p) => p,
        Err(_) => {
            return state.pages.error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The authorization request is malformed.",
            );
        }
    };
    let current = sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref())
        .await
        .ok()
        .flatten();
    let signed_in_at = current.as_ref().map(|(session, _)| session.auth_time);
    let (pending, interaction) = match authorize::start(state, params, signed_in_at).await {
        Ok(p) => p,
        Err(AuthorizeError::Page { title, message }) => {
            return state.pages.error(StatusCode::BAD_REQUEST, title, &message)
        }
        Err(AuthorizeError::Redirect { location, .. }) => return see_other(&location, vec![]),
        Err(AuthorizeError::Store(e)) => return state.pages.failed("authorize", &e),
    };
    let next = match authorize::next_step(state, &pending, current.as_ref()).await {
        Ok(next) => next,
        Err(e) => return state.pages.failed("authorize", &e),
    };
    if interaction.silent {
        return match authorize::without_interaction(state, &pending, next).await {
            Ok(to) => see_other(&to, vec![]),
            Err(e) => state.pages.failed("authorize", &e),
        };
    }
    let id = pending.id.to_string();
    match next {
        Next::SignIn | Next::LinkIdentity(_) | Next::StepUp(_) => {
            see_other(&super::web::login::url(Some(&id)), vec![])
        }
        Next::Consent => see_other(&super::web::consent::url(&id), vec![]),
        Next::Redirect(to) => see_other(&to, vec![]),
    }
}
