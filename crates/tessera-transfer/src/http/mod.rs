//! The `/v0.10/...` routes (also under a doubled `/v0.10/v0.10/...`, spec §1.1), the caller
//! extractor and the error envelope. Handlers are thin: parse, one service call, render.

mod access;
mod bookmarks;
pub mod docs;
mod endpoint_manager;
mod endpoints;
mod https_link;
pub mod openapi;
mod operations;
mod params;
mod tasks;

use crate::error::ApiError;
use crate::{TransferState, TRANSFER_SCOPE};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
pub use params::Params;
use tessera_guard::GuardError;
use uuid::Uuid;

/// Who is calling: the token's identity and every identity linked with it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's identity (for a client acting as itself, the client id).
    pub id: Uuid,
    pub username: String,
    /// `id` and the identities linked with it.
    pub identities: Vec<Uuid>,
}

impl Caller {
    pub fn is(&self, id: Uuid) -> bool {
        self.identities.contains(&id)
    }
}

impl FromRequestParts<TransferState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &TransferState,
    ) -> Result<Self, ApiError> {
        let authenticated = tessera_guard::Authenticated::from_request_parts(parts, state)
            .await
            .map_err(|e| match e {
                GuardError::MissingToken => {
                    ApiError::unauthorized("A bearer token is required (Authorization: Bearer ...)")
                }
                GuardError::InvalidToken => {
                    ApiError::unauthorized("The access token is not valid for this service")
                }
                GuardError::InsufficientScope(_)
                | GuardError::Forbidden
                | GuardError::AuthorizationRequired(_) => {
                    ApiError::forbidden("PermissionDenied", "The token does not allow this")
                }
                GuardError::Unavailable(detail) => ApiError::internal(detail),
            })?;
        authenticated.require(&[TRANSFER_SCOPE]).map_err(|_| {
            ApiError::forbidden(
                "PermissionDenied",
                format!("The token lacks the scope {TRANSFER_SCOPE}"),
            )
        })?;
        let info = &authenticated.token;
        let id = Uuid::parse_str(&info.sub)
            .map_err(|_| ApiError::unauthorized("The token has no identity"))?;
        let mut identities = vec![id];
        for other in &info.identity_set {
            if let Ok(u) = Uuid::parse_str(other) {
                if !identities.contains(&u) {
                    identities.push(u);
                }
            }
        }
        Ok(Self {
            id,
            username: info.username.clone(),
            identities,
        })
    }
}

/// Renders an [`ApiError`] that a handler returned in the Globus envelope, with the request's
/// path as `resource`; any other non-JSON refusal (an unknown route, a wrong method) gets one too.
async fn envelope(
    state: axum::extract::State<TransferState>,
    request: Request,
    next: Next,
) -> Response {
    let resource = request.uri().path().to_owned();
    let response = next.run(request).await;
    let error = response.extensions().get::<ApiError>().cloned();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let error = match error {
        Some(e) => e,
        None if response.status().is_success() || is_json => return response,
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "ClientError.BadRequest",
            "Method not allowed on this resource",
        ),
        None if response.status().is_client_error() => ApiError::new(
            response.status(),
            "ClientError.NotFound",
            "No such resource",
        ),
        None => return response,
    };
    let body = tessera_proto::transfer::GlobusError {
        code: error.code.into_owned(),
        message: error.message,
        request_id: state.rng.uuid_v4().simple().to_string(),
        resource,
    };
    let mut r = (error.status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A route under `/v0.10` and under the doubled `/v0.10/v0.10` a base URL ending in `/v0.10/`
/// makes the SDK send (spec §1.1).
fn both(
    router: Router<TransferState>,
    path: &str,
    method: MethodRouter<TransferState>,
) -> Router<TransferState> {
    router
        .route(&format!("/v0.10{path}"), method.clone())
        .route(&format!("/v0.10/v0.10{path}"), method)
}

fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    endpoints::routes()
        .into_iter()
        .chain(operations::routes())
        .chain(tasks::routes())
        .chain(access::routes())
        .chain(bookmarks::routes())
        .chain(https_link::routes())
        .chain(endpoint_manager::routes())
        .collect()
}

/// Every route's path below `/v0.10` (the OpenAPI test checks each is documented).
pub fn route_paths() -> Vec<&'static str> {
    routes().into_iter().map(|(path, _)| path).collect()
}

/// The Transfer API and the HTTPS access to endpoints (`/https/...`). Merge it into the
/// listener's router.
pub fn router(state: TransferState) -> Router {
    let mut r = Router::new();
    for (path, method) in routes() {
        r = both(r, path, method);
    }
    let api = r.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        envelope,
    ));
    let files = crate::https::router(std::sync::Arc::new(crate::https::local::LocalAccess::new(
        state.clone(),
    )));
    api.with_state(state).merge(files)
}
