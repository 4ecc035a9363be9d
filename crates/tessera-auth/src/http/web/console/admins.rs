//! A project's admins: add one by username or identity id, remove one (never the last), and
//! the same for admin groups (by group id). Each is a `PUT /v2/api/projects/{id}` of the new
//! lists, through the same service function.

use super::{acting, done, field, project_path, refusal, Flash, Person, Refusal, CONSOLE};
use crate::service::{identities, projects as service, Failure};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::ProjectUpdate;
use uuid::Uuid;

/// The identity `raw` names: an identity id, or a username.
async fn identity_of(state: &AppState, raw: &str) -> Result<Uuid, Failure> {
    if raw.is_empty() {
        return Err(Failure::BadRequest(
            "admin: give a username or an identity id".into(),
        ));
    }
    if let Ok(id) = Uuid::parse_str(raw) {
        return Ok(id);
    }
    identities::by_usernames(state, &[raw.to_owned()])
        .await?
        .first()
        .map(|i| i.id)
        .ok_or_else(|| Failure::BadRequest(format!("admin: nobody has the username {raw:?}")))
}

/// Applies `change` to the project's lists of admin ids and admin group ids, then saves them.
async fn change(
    state: &AppState,
    person: &Person,
    id: &str,
    change: impl FnOnce(&mut Vec<String>, &mut Vec<String>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let project = service::administered(state, &person.manager, id).await?;
    let mut admins: Vec<String> = project.admin_ids.iter().map(Uuid::to_string).collect();
    let mut groups: Vec<String> = project
        .admin_group_ids
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(Uuid::to_string)
        .collect();
    change(&mut admins, &mut groups)?;
    let body = ProjectUpdate {
        admin_ids: Some(admins),
        admin_group_ids: Some(groups),
        ..ProjectUpdate::default()
    };
    service::update(state, &person.manager, id, body).await?;
    Ok(())
}

/// Adds an admin (`admin`: username or identity id) or an admin group (`group_id`).
pub(super) async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = if f.contains_key("group_id") {
        let group = field(&f, "group_id").to_owned();
        change(&state, &person, &id, |_, groups| {
            if Uuid::parse_str(&group).is_err() {
                return Err(Failure::BadRequest(format!(
                    "group_id: {group:?} is not a group id"
                )));
            }
            if !groups.contains(&group) {
                groups.push(group);
            }
            Ok(())
        })
        .await
    } else {
        match identity_of(&state, field(&f, "admin")).await {
            Ok(new) => {
                change(&state, &person, &id, |admins, _| {
                    if !admins.contains(&new.to_string()) {
                        admins.push(new.to_string());
                    }
                    Ok(())
                })
                .await
            }
            Err(e) => Err(e),
        }
    };
    finish(&state, person, &id, &f, result, "admin-added").await
}

/// Removes an admin (`identity_id`) or an admin group (`group_id`).
pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let identity = field(&f, "identity_id").to_owned();
    let group = field(&f, "group_id").to_owned();
    let result = change(&state, &person, &id, |admins, groups| {
        admins.retain(|a| *a != identity);
        groups.retain(|g| *g != group);
        Ok(())
    })
    .await;
    // Whoever removes themselves no longer sees the project: back to their list.
    let left = Uuid::parse_str(&identity).is_ok_and(|i| person.manager.identity_set.contains(&i));
    if result.is_ok() && left {
        return done(CONSOLE, "admin-removed");
    }
    finish(&state, person, &id, &f, result, "admin-removed").await
}

async fn finish(
    state: &AppState,
    person: Person,
    id: &str,
    f: &HashMap<String, String>,
    result: Result<(), Failure>,
    code: &str,
) -> Response {
    match result {
        Ok(()) => done(&project_path(id), code),
        Err(e) => match refusal(state, e) {
            Refusal::Form(status, message) => {
                let which = if f.contains_key("group_id") {
                    Some("group_id")
                } else {
                    Some("admin")
                };
                let flash = Flash::refused(message, "admins", which, f);
                super::project::page(state, person, id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
