//! The Globus Auth REST API (`/v2/api/*`): every answer in an envelope, every error in the
//! `errors[]` envelope.

mod audit;
mod clients;
mod consents;
mod credentials;
mod fqdns;
mod identities;
mod policies;
mod project_clients;
mod projects;
mod scopes;

use super::error::ApiError;
use super::extract::Presented;
use super::userinfo::AUTH_RESOURCE_SERVER;
use crate::cache::ClientEntry;
use crate::service::client_auth::{self, ClientAuthError, ClientClaim};
use crate::service::projects::{Manager, MANAGE_PROJECTS};
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tessera_core::grant::TokenRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The `/v2/api` routes, each documented by its handler's `#[utoipa::path]`.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(identities::identities))
        .routes(routes!(clients::create, clients::list))
        .routes(routes!(
            clients::get_client,
            clients::update,
            clients::delete
        ))
        .routes(routes!(fqdns::add))
        .routes(routes!(fqdns::remove))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::update, projects::delete))
        .routes(routes!(policies::list, policies::create))
        .routes(routes!(policies::get, policies::update, policies::delete))
        .routes(routes!(consents::list))
        .routes(routes!(consents::delete))
        .routes(routes!(scopes::list_for_client, scopes::create))
        .routes(routes!(credentials::list, credentials::create))
        .routes(routes!(credentials::delete))
        .routes(routes!(audit::list))
        .routes(routes!(scopes::search))
        .routes(routes!(scopes::get, scopes::update, scopes::delete))
}

/// Path parameters with errors in the REST envelope.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| ApiError::bad_request("invalid path parameter"))
    }
}

/// A confidential client authenticated with HTTP Basic: the caller of the developer API.
pub(crate) async fn basic_client(
    state: &AppState,
    presented: Presented,
) -> Result<Arc<ClientEntry>, ApiError> {
    let claim = match presented {
        Presented::Basic { client_id, secret } => ClientClaim::Secret { client_id, secret },
        Presented::None => return Err(ApiError::unauthorized("Call must be authenticated")),
        Presented::Malformed(why) => return Err(ApiError::unauthorized(why)),
        Presented::Bearer(_) => {
            return Err(ApiError::forbidden(
                "this call takes client credentials (HTTP Basic)",
            ))
        }
    };
    client_auth::authenticate(state, claim)
        .await
        .map_err(|e| match e {
            ClientAuthError::Store(e) => e.into(),
            _ => ApiError::unauthorized("client authentication failed"),
        })
}

/// A project manager: the caller of the projects and policies API, with a Bearer
/// `auth.globus.org` token carrying `manage_projects` (403 without it).
pub(crate) async fn manager(state: &AppState, presented: Presented) -> Result<Manager, ApiError> {
    match presented {
        Presented::Bearer(token) => {
            let record = tokens::active(state, token.expose())
                .await?
                .filter(|r| r.resource_server == AUTH_RESOURCE_SERVER)
                .ok_or_else(|| ApiError::unauthorized("the access token is not valid here"))?;
            Manager::from_token(state, &record).await?.ok_or_else(|| {
                ApiError::forbidden(format!(
                    "this call needs a token with the {MANAGE_PROJECTS} scope"
                ))
            })
        }
        Presented::None => Err(ApiError::unauthorized("Call must be authenticated")),
        Presented::Malformed(why) => Err(ApiError::unauthorized(why)),
        Presented::Basic { .. } => Err(ApiError::forbidden(format!(
            "this call takes a Bearer token with the {MANAGE_PROJECTS} scope"
        ))),
    }
}

/// Who calls a read API that takes either client credentials or a user's token.
pub(crate) enum Caller {
    Client(Arc<ClientEntry>),
    Token(Arc<TokenRecord>),
}

/// Basic client credentials, or a Bearer `auth.globus.org` token (spec §3.1: any such token;
/// `view_identities` is not required).
pub(crate) async fn caller(state: &AppState, presented: Presented) -> Result<Caller, ApiError> {
    match presented {
        Presented::Bearer(token) => {
            let record = tokens::active(state, token.expose())
                .await?
                .filter(|r| r.resource_server == AUTH_RESOURCE_SERVER)
                .ok_or_else(|| ApiError::unauthorized("the access token is not valid here"))?;
            Ok(Caller::Token(record))
        }
        other => basic_client(state, other).await.map(Caller::Client),
    }
}
