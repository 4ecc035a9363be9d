//! The project side of `/v2/api/clients` (spec §4): creating clients in a project, listing a
//! project admin's clients, and changing or deleting a client, with a Bearer `manage_projects`
//! token (or, for changes and deletion, HTTP Basic as the client itself or its parent).
//! `clients.rs` dispatches here.

use super::{basic_client, manager};
use crate::cache::ClientEntry;
use crate::http::error::ApiError;
use crate::http::extract::Presented;
use crate::service::credentials;
use crate::service::project_clients::{self as service, Actor, ClientFields};
use crate::service::projects::Manager;
use crate::state::AppState;
use crate::view::client_object;
use serde_json::{json, Value};
use std::sync::Arc;
use tessera_core::client::Client;

pub(super) async fn object(state: &AppState, c: &Client) -> Result<Value, ApiError> {
    let scope_ids = state
        .store
        .scopes_of_client(c.id)
        .await?
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    Ok(serde_json::to_value(client_object(c, scope_ids)).unwrap_or(Value::Null))
}

fn fields(body: Value) -> Result<ClientFields, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("invalid client: {e}")))
}

/// `POST /v2/api/clients` with `project`.
pub(super) async fn create(
    state: &AppState,
    presented: Presented,
    body: Value,
) -> Result<Value, ApiError> {
    let m = manager(state, presented).await?;
    let (client, credential) = service::create(state, &m, fields(body)?).await?;
    let mut out = json!({"client": object(state, &client).await?});
    if let Some((cred, secret)) = credential {
        out["included"] =
            json!({"client_credential": credentials::to_object(&cred, Some(&secret))});
    }
    Ok(out)
}

/// `GET /v2/api/clients`: a project admin's clients, or a Basic caller itself.
pub(super) async fn list(state: &AppState, presented: Presented) -> Result<Value, ApiError> {
    let clients = match presented {
        Presented::Bearer(_) => {
            let m = manager(state, presented).await?;
            service::list(state, &m).await?
        }
        other => vec![basic_client(state, other).await?.client.clone()],
    };
    let mut out = Vec::with_capacity(clients.len());
    for c in &clients {
        out.push(object(state, c).await?);
    }
    Ok(json!({ "clients": out }))
}

/// Who acts on an existing client: a Bearer project admin, or a Basic client (itself or its
/// parent).
enum Acting {
    Manager(Manager),
    Client(Arc<ClientEntry>),
}

impl Acting {
    async fn of(state: &AppState, presented: Presented) -> Result<Self, ApiError> {
        Ok(match presented {
            Presented::Bearer(_) => Self::Manager(manager(state, presented).await?),
            other => Self::Client(basic_client(state, other).await?),
        })
    }

    fn actor(&self) -> Actor<'_> {
        match self {
            Self::Manager(m) => Actor::Manager(m),
            Self::Client(c) => Actor::Client(&c.client),
        }
    }
}

/// The client `id` names, for a Bearer project admin or a Basic caller that manages it.
pub(super) async fn managed(
    state: &AppState,
    presented: Presented,
    id: &str,
) -> Result<Client, ApiError> {
    let acting = Acting::of(state, presented).await?;
    Ok(service::managed(state, &acting.actor(), id).await?)
}

/// `DELETE /v2/api/clients/{id}`: `{"client": …}` as it was.
pub(super) async fn delete(
    state: &AppState,
    presented: Presented,
    id: &str,
) -> Result<Value, ApiError> {
    let acting = Acting::of(state, presented).await?;
    let (client, scopes) = service::delete(state, &acting.actor(), id).await?;
    let scope_ids = scopes.iter().map(|s| s.id.to_string()).collect();
    Ok(json!({"client": client_object(&client, scope_ids)}))
}

/// `PUT /v2/api/clients/{id}`.
pub(super) async fn update(
    state: &AppState,
    presented: Presented,
    id: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let f = fields(body)?;
    let acting = Acting::of(state, presented).await?;
    let client = service::update(state, &acting.actor(), id, f).await?;
    Ok(json!({"client": object(state, &client).await?}))
}
