//! `/v2/web/logout`: end the browser session, after asking. Two ways back to the application,
//! each only to a redirect URI the client has registered:
//! - OpenID Connect RP-Initiated Logout 1.0 (`end_session_endpoint` in discovery):
//!   `post_logout_redirect_uri` with `client_id` or an `id_token_hint` of ours, and `state`;
//!   the browser is sent there once signed out (at once, if nobody was signed in);
//! - Globus: `redirect_uri`, `redirect_name` and `client_id`; the page offers a link back.

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, STATIC_BASE};
use crate::service::{authorize, id_token, sessions};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use uuid::Uuid;

/// Where the user may go once signed out.
struct Return {
    client_id: Uuid,
    /// The registered URI as given.
    uri: String,
    /// RP-Initiated Logout: sent there at once, with `state`. Otherwise a link is offered.
    automatic: bool,
}

impl Return {
    /// Where to send the browser (RP-Initiated Logout §3: `state` comes back).
    fn location(&self, q: &HashMap<String, String>) -> String {
        match q.get("state") {
            Some(s) => authorize::with_params(&self.uri, &[("state", s)]),
            None => self.uri.clone(),
        }
    }

    /// The hidden fields that carry the request through the confirmation form.
    fn fields(&self, q: &HashMap<String, String>) -> Vec<(&'static str, String)> {
        let mut f = vec![("client_id", self.client_id.to_string())];
        if self.automatic {
            f.push(("post_logout_redirect_uri", self.uri.clone()));
            f.extend(q.get("state").map(|s| ("state", s.clone())));
        } else {
            f.push(("redirect_uri", self.uri.clone()));
            f.extend(q.get("redirect_name").map(|n| ("redirect_name", n.clone())));
        }
        f
    }
}

/// The way back the request names, if its client may use it. A `client_id` that is not a
/// client, or an `id_token_hint` that is not ours or names another client, gives none.
async fn return_to(state: &AppState, q: &HashMap<String, String>) -> Option<Return> {
    let named = match q.get("client_id") {
        Some(id) => Some(Uuid::parse_str(id).ok()?),
        None => None,
    };
    let hinted = match q.get("id_token_hint") {
        Some(hint) => Some(id_token::issued_to(state, hint)?),
        None => None,
    };
    let client_id = match (named, hinted) {
        (Some(n), Some(h)) if n != h => return None,
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return None,
    };
    let (uri, automatic) = match (q.get("post_logout_redirect_uri"), q.get("redirect_uri")) {
        (Some(uri), _) => (uri, true),
        (None, Some(uri)) => (uri, false),
        (None, None) => return None,
    };
    let client = state
        .clients
        .get(state.store.as_ref(), client_id)
        .await
        .ok()??;
    let native = authorize::native_like(state, &client.client).await.ok()?;
    tessera_core::redirect::allowed(
        &client.client,
        native,
        uri,
        &authorize::auth_code_page(state),
    )
    .then(|| Return {
        client_id,
        uri: uri.clone(),
        automatic,
    })
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let current = sessions::current(&state, cookies::get(&headers, cookies::SESSION).as_deref())
        .await
        .ok()
        .flatten();
    let back = return_to(&state, &q).await;
    if current.is_none() {
        if let Some(r) = back.as_ref().filter(|r| r.automatic) {
            // Nobody to sign out: straight back to the application.
            return see_other(&r.location(&q), vec![]);
        }
    }
    let (token, cookie) = csrf(&state, &headers);
    let page = state.pages.render(
        StatusCode::OK,
        "logout.html",
        minijinja::context! {
            static_base => STATIC_BASE, signed_in => current.is_some(),
            username => current.map(|(_, i)| i.username), action => "/v2/web/logout", csrf => token,
            carry => back.as_ref().map(|r| r.fields(&q)).unwrap_or_default(),
            redirect_uri => back.as_ref().map(|r| r.uri.clone()),
            redirect_name => q.get("redirect_name"),
        },
    );
    with_cookies(page, cookie)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, f.get("csrf").map(String::as_str)) {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again.",
        );
    }
    if let Err(e) =
        sessions::sign_out(&state, cookies::get(&headers, cookies::SESSION).as_deref()).await
    {
        tracing::error!(error = %e, "signing out failed");
        return state.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again.",
        );
    }
    tracing::info!(event = "sign_out", "signed out");
    let forget = cookies::set(&state, cookies::SESSION, "", Some(0));
    let back = return_to(&state, &f).await;
    if let Some(r) = back.as_ref().filter(|r| r.automatic) {
        return see_other(&r.location(&f), forget.into_iter().collect());
    }
    let page = state.pages.render(
        StatusCode::OK,
        "logout.html",
        minijinja::context! {
            static_base => STATIC_BASE, signed_in => false,
            redirect_uri => back.map(|r| r.uri), redirect_name => f.get("redirect_name"),
        },
    );
    with_cookies(page, forget)
}
