//! The HTTP surface: one file per endpoint, the router, and the layers around it.

pub mod api;
pub mod authorize;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod health;
pub mod introspect;
pub mod revoke;
pub mod token;
pub mod userinfo;
pub mod validate;
pub mod web;

use crate::cache::ClientEntry;
use crate::service::client_auth::{self, ClientAuthError, ClientClaim, PresentedSecret};
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use error::{no_store, ApiError, OAuthError};
use extract::{OAuthForm, Presented};
use serde::Serialize;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The whole Auth surface with its layers.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        // Browsers ask for it on every site; "no content" keeps their consoles clean.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/jwk.json", get(discovery::jwks))
        .route("/v2/oauth2/token", post(token::token))
        .route("/v2/oauth2/token/introspect", post(introspect::introspect))
        .route("/v2/oauth2/token/validate", post(validate::validate))
        .route("/v2/oauth2/token/revoke", post(revoke::revoke))
        .route("/v2/oauth2/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route(
            "/v2/oauth2/authorize",
            get(authorize::authorize).post(authorize::authorize_form),
        )
        .merge(api::routes())
        .merge(web::routes())
        .fallback(not_found)
        // One `layer` call: axum boxes the route once per call and clones every box on every
        // request, so six separate layers cost six allocations and clones per request.
        // Outermost first.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
                .layer(
                    // Spans carry the method and path only: queries and headers may hold secrets.
                    // Debug level: formatting a span's fields for the log costs about a sixth of
                    // an introspection's CPU, so at the default level there is none; a failed
                    // request is logged with its route by `metrics::track` instead.
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
                    }),
                )
                .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(CatchPanicLayer::custom(|_| ApiError::internal(&"a handler panicked").into_response()))
                .layer(DefaultBodyLimit::max(limit)),
        )
        .with_state(state)
}

/// The operator's surface, for the metrics listener (`metrics_listen`): Prometheus metrics and
/// the health checks, none of it reachable from the public listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(crate::metrics::metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

/// A JSON success answer of an OAuth endpoint: never cached (RFC 6749 §5.1).
pub(crate) fn oauth_json<T: Serialize>(body: &T) -> Response {
    // Serialized into a buffer of a typical answer's size (axum's `Json` starts at 128 bytes
    // and grows it several times for a token answer).
    let mut buf = Vec::with_capacity(1024);
    if let Err(e) = serde_json::to_writer(&mut buf, body) {
        return OAuthError::internal(&e).into_response();
    }
    oauth_json_bytes(buf.into())
}

/// [`oauth_json`] of an answer serialized already.
pub(crate) fn oauth_json_bytes(body: bytes::Bytes) -> Response {
    let mut r = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    no_store(&mut r);
    r
}

/// How the client of an OAuth request identified itself: Basic, or `client_id` (and
/// `client_secret`) in the form — not both (RFC 6749 §2.3).
pub(crate) fn client_claim(
    presented: Presented,
    form: &OAuthForm,
) -> Result<ClientClaim, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    match presented {
        Presented::Basic { client_id, secret } => {
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            if form_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            Ok(ClientClaim::Secret { client_id, secret })
        }
        Presented::Bearer(_) | Presented::Malformed(_) => Err(OAuthError::invalid_client()),
        Presented::None => Ok(match (form_id, form_secret) {
            (Some(id), Some(secret)) => ClientClaim::Secret {
                client_id: id.to_owned(),
                secret: PresentedSecret::new(tessera_core::secret::Secret::new(secret)),
            },
            (Some(id), None) => ClientClaim::PublicId(id.to_owned()),
            _ => ClientClaim::None,
        }),
    }
}

pub(crate) async fn authenticate_oauth(
    state: &AppState,
    presented: Presented,
    form: &OAuthForm,
) -> Result<Arc<ClientEntry>, OAuthError> {
    let claim = client_claim(presented, form)?;
    client_auth::authenticate(state, claim)
        .await
        .map_err(|e| match e {
            ClientAuthError::Failed | ClientAuthError::Missing => OAuthError::invalid_client(),
            ClientAuthError::Store(e) => e.into(),
        })
}
