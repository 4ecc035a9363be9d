//! `/v2/web/console/projects/{id}`: a project — its details, admins, apps and policies, each
//! with the forms that change them.

use super::view::{AdminItem, AppItem, PolicyItem, ProjectItem};
use super::{person, project_path, refused_page, render, Flash, Person};
use crate::service::{identities, projects as service};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match person(&state, &headers, &project_path(&id)).await {
        Ok(p) => page(&state, p, &id, StatusCode::OK, Flash::done(&q)).await,
        Err(r) => r,
    }
}

/// The project page as `person` sees it; 404 or 403 pages when it is not theirs.
pub(super) async fn page(
    state: &AppState,
    person: Person,
    id: &str,
    status: StatusCode,
    flash: Flash,
) -> Response {
    let project = match service::administered(state, &person.manager, id).await {
        Ok(p) => p,
        Err(e) => return refused_page(state, e),
    };
    let loaded = async {
        let admins = identities::by_ids(state, &project.admin_ids).await?;
        let apps = state.store.clients_of_project(project.id).await?;
        let policies = state.store.policies_of_projects(&[project.id]).await?;
        Ok::<_, tessera_store::StoreError>((admins, apps, policies))
    };
    let (admins, apps, policies) = match loaded.await {
        Ok(l) => l,
        Err(e) => return state.pages.failed("the project page", &e),
    };
    let mine = &person.manager.identity_set;
    let admins: Vec<AdminItem> = admins.iter().map(|a| AdminItem::of(a, mine)).collect();
    let apps: Vec<AppItem> = apps.iter().map(AppItem::of).collect();
    let policies: Vec<PolicyItem> = policies.iter().map(PolicyItem::of).collect();
    let groups: Vec<String> = project
        .admin_group_ids
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(ToString::to_string)
        .collect();
    render(
        state,
        person,
        status,
        "console/project.html",
        minijinja::context! {
            project => ProjectItem::of(&project), admins, admin_groups => groups, apps,
            policies, flash, sole_admin => project.admin_ids.len() == 1,
        },
    )
}
