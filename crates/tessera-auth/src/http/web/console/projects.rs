//! `/v2/web/console`: the projects the signed-in person administers, and "New project".

use super::view::ProjectItem;
use super::{
    acting, blame, done, field, person, project_path, refusal, render, Flash, Person, Refusal,
    CONSOLE,
};
use crate::service::projects as service;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::ProjectCreate;

pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match person(&state, &headers, CONSOLE).await {
        Ok(p) => page(&state, p, StatusCode::OK, Flash::done(&q)).await,
        Err(r) => r,
    }
}

async fn page(state: &AppState, person: Person, status: StatusCode, flash: Flash) -> Response {
    let projects = match service::list(state, &person.manager).await {
        Ok(list) => list.iter().map(ProjectItem::of).collect::<Vec<_>>(),
        Err(e) => return state.pages.failed("the developer console", &e),
    };
    let email = person.identity.email.clone().unwrap_or_default();
    render(
        state,
        person,
        status,
        "console/projects.html",
        minijinja::context! { projects, flash, default_email => email },
    )
}

/// "New project": display name and contact email; the person becomes its admin.
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, CONSOLE).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = ProjectCreate {
        display_name: field(&f, "display_name").to_owned(),
        contact_email: field(&f, "contact_email").to_owned(),
        admin_ids: None,
        admin_group_ids: None,
    };
    match service::create(&state, &person.manager, body).await {
        Ok(p) => done(&project_path(p.id), "project-created"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let which = blame(&message, &["contact_email", "display_name"]);
                let flash = Flash::refused(message, "new_project", which, &f);
                page(&state, person, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
