//! Changing a project (display name, contact email) and deleting it, after a confirmation.

use super::{
    acting, blame, done, field, person, project_path, refusal, refused_page, Flash, Refusal,
};
use super::{confirm, CONSOLE};
use crate::service::projects as service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::ProjectUpdate;

pub(super) async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = ProjectUpdate {
        display_name: Some(field(&f, "display_name").to_owned()),
        contact_email: Some(field(&f, "contact_email").to_owned()),
        ..ProjectUpdate::default()
    };
    match service::update(&state, &person.manager, &id, body).await {
        Ok(p) => done(&project_path(p.id), "project-saved"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let which = blame(&message, &["contact_email", "display_name"]);
                let flash = Flash::refused(message, "project", which, &f);
                super::project::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}

pub(super) async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("{}/delete", project_path(&id));
    let person = match person(&state, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let project = match service::administered(&state, &person.manager, &id).await {
        Ok(p) => p,
        Err(e) => return refused_page(&state, e),
    };
    confirm::page(
        &state,
        person,
        "project",
        &project.display_name,
        "A project can be deleted only once its apps and policies are gone.",
        &here,
        &project_path(project.id),
    )
}

pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match service::delete(&state, &person.manager, &id).await {
        Ok(_) => done(CONSOLE, "project-deleted"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "delete", None, &f);
                super::project::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
