//! A scope's dependent scopes: add one (picked from the list, or named by its scope string),
//! with its `optional` and `requires_refresh_token` flags; remove one. Each saves the new list
//! through the scope update the API uses, with the API's checks.

use super::{acting, checked, done, field, refusal, refused_page, scope_path, Flash, Refusal};
use crate::service::scopes as service;
use crate::service::Failure;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::{DependentScopeObject, ScopeUpdate};

/// The scope id the form names: `dependent` (an id from the list) or `scope_string`.
async fn picked(state: &AppState, f: &HashMap<String, String>) -> Result<String, Failure> {
    let typed = field(f, "scope_string");
    if !typed.is_empty() {
        let catalogue = state.scopes.get(state.store.as_ref()).await?;
        return catalogue
            .by_string(typed)
            .map(|s| s.id.to_string())
            .ok_or_else(|| Failure::BadRequest(format!("dependent scope: no scope {typed:?}")));
    }
    match field(f, "dependent") {
        "" => Err(Failure::BadRequest(
            "dependent scope: pick a scope from the list or type its scope string".into(),
        )),
        id => Ok(id.to_owned()),
    }
}

pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    act(state, headers, id, f, true).await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    act(state, headers, id, f, false).await
}

async fn act(
    state: AppState,
    headers: HeaderMap,
    id: String,
    f: HashMap<String, String>,
    adding: bool,
) -> Response {
    let person = match acting(&state, &headers, &f, &scope_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (scope, client) = match super::scope::load(&state, &person, &id).await {
        Ok(l) => l,
        Err(e) => return refused_page(&state, e),
    };
    let mut list: Vec<DependentScopeObject> = scope
        .dependent_scopes
        .iter()
        .map(|d| DependentScopeObject {
            scope: d.scope_id.to_string(),
            optional: d.optional,
            requires_refresh_token: d.requires_refresh_token,
        })
        .collect();
    let result = if adding {
        match picked(&state, &f).await {
            Ok(target) => {
                list.push(DependentScopeObject {
                    scope: target,
                    optional: checked(&f, "optional"),
                    requires_refresh_token: checked(&f, "requires_refresh_token"),
                });
                Ok(list)
            }
            Err(e) => Err(e),
        }
    } else {
        let target = field(&f, "dependent");
        list.retain(|d| d.scope != target);
        Ok(list)
    };
    let result = match result {
        Ok(list) => {
            let body = ScopeUpdate {
                dependent_scopes: Some(list),
                ..ScopeUpdate::default()
            };
            service::update(&state, &client, &id, body).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => done(
            &scope_path(s.id),
            if adding {
                "dependent-added"
            } else {
                "dependent-removed"
            },
        ),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "dependent", Some("dependent"), &f);
                super::scope::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
