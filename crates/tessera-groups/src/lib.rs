//! The Groups service: the Globus Groups API v2 (`/v2/groups/...`) on Tessera's listener.
//!
//! It is an ordinary resource server of the auth server beside it: callers present tokens for
//! `groups.api.globus.org`, which [`tessera_guard::Guard`] validates over HTTP with that resource
//! server's own client credentials (`tessera serve` provisions them at start), exactly as a
//! third-party service would. Groups and memberships live in `tessera-store`
//! (`GroupRepository`); the rules of who may change which membership are pure, in
//! `tessera_core::group`. Nothing here caches memberships: every request reads them, so a
//! removal takes effect on every node at the next request (the store also announces membership
//! changes on the change feed, `Change::MembershipChanged`, for whoever caches them).

pub mod caller;
pub mod error;
mod http;
pub mod service;
pub mod view;
pub mod web;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::Router;
use std::sync::Arc;
use tessera_core::clock::Clock;
use tessera_core::random::SecureRandom;
use tessera_guard::Guard;
use tessera_store::Store;
use tower_http::catch_panic::CatchPanicLayer;

/// Largest request body the Groups API reads (a batch of 500 items fits many times over).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What every Groups handler needs. Cheap to clone.
#[derive(Clone)]
pub struct GroupsState {
    pub store: Arc<dyn Store>,
    pub guard: Guard,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn SecureRandom>,
}

/// The Groups API routes, to be merged beside Auth's on one listener.
pub fn router(state: GroupsState) -> Router {
    let (routes, _) = http::documented().split_for_parts();
    routes
        .layer(CatchPanicLayer::custom(|_| {
            error::GroupsError::internal(&"a handler panicked").into_response()
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The OpenAPI document of the Groups routes (merged into `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::documented().into_openapi()
}
