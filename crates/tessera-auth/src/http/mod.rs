//! The HTTP surface: one file per endpoint, the router, and the layers around it.

pub mod api;
pub mod authorize;
pub mod device_authorization;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod health;
pub mod introspect;
pub mod openapi;
pub mod register;
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
use axum::routing::get;
use axum::Router;
use error::{no_store, ApiError, OAuthError};
use extract::{OAuthForm, Presented};
use serde::Serialize;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The documented routes: each handler routed and described by its `#[utoipa::path]`
/// (`routes!` does both, so a route cannot be added without its description).
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(discovery::openid_configuration))
        .routes(routes!(discovery::jwks))
        .routes(routes!(token::token))
        .routes(routes!(device_authorization::device_authorization))
        .routes(routes!(register::register))
        .routes(routes!(register::read, register::update, register::delete))
        .routes(routes!(introspect::introspect))
        .routes(routes!(validate::validate))
        .routes(routes!(revoke::revoke))
        .routes(routes!(userinfo::userinfo))
        .routes(routes!(authorize::authorize, authorize::authorize_form))
        .merge(api::routes())
}

/// `/openapi.json` itself, which is routed apart (it carries the rendered document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi::openapi_json))]
struct ServedDocument;

/// The OpenAPI document of the Auth routes (what `/openapi.json` serves when nothing else is
/// routed beside them).
pub fn openapi() -> OpenApi {
    let mut doc = documented().into_openapi();
    doc.merge(<ServedDocument as utoipa::OpenApi>::openapi());
    openapi::finish(doc)
}

/// The HTML pages for people (sign-in, consent, account): routed, not in the OpenAPI document.
pub fn pages() -> Router<AppState> {
    web::routes()
}

/// The whole Auth surface with its layers.
pub fn router(state: AppState) -> Router {
    router_with_docs(state, [])
}

/// [`router`], whose `/openapi.json` also describes the services routed beside Auth
/// (`others`: each service crate's own document, e.g. transfer's and groups').
pub fn router_with_docs(state: AppState, others: impl IntoIterator<Item = OpenApi>) -> Router {
    let limit = state.config.max_body_bytes;
    let mut doc = openapi();
    for other in others {
        doc.merge(other);
    }
    let rendered = std::sync::Arc::new(openapi::Rendered::new(&doc));
    let (documented, _) = documented().split_for_parts();
    Router::new()
        .merge(documented)
        .route(
            "/openapi.json",
            get(openapi::openapi_json).layer(axum::Extension(rendered)),
        )
        .merge(pages())
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
