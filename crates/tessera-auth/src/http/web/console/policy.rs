//! A project's authentication policies: "New policy" on the project's page, the policy's own
//! page (`/v2/web/console/policies/{id}`) to change it, and deletion after a confirmation,
//! through the services of `/v2/api/policies`.

use super::view::PolicyItem;
use super::{acting, blame, checked, confirm, done, field, lines, person, policy_path, Refusal};
use super::{project_path, refusal, refused_page, render, Flash};
use crate::service::projects as service;
use crate::service::Failure;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::PolicyFields;

const FIELDS: [&str; 5] = [
    "authentication_assurance_timeout",
    "display_name",
    "description",
    "domain",
    "project",
];

/// The policy the form describes. Empty domain lists mean "any domain" (no constraint).
fn fields(f: &HashMap<String, String>) -> Result<PolicyFields, Failure> {
    let timeout = match field(f, "authentication_assurance_timeout") {
        "" => None,
        t => Some(t.parse::<i64>().map_err(|_| {
            Failure::BadRequest(
                "authentication_assurance_timeout must be a whole number of seconds".into(),
            )
        })?),
    };
    let domains = |name: &str| {
        let l = lines(&field(f, name).replace(',', "\n"));
        (!l.is_empty()).then_some(l)
    };
    Ok(PolicyFields {
        project_id: None,
        display_name: Some(field(f, "display_name").to_owned()),
        description: Some(field(f, "description").to_owned()),
        high_assurance: Some(checked(f, "high_assurance")),
        authentication_assurance_timeout: Some(timeout),
        required_mfa: Some(checked(f, "required_mfa")),
        domain_constraints_include: Some(domains("domain_constraints_include")),
        domain_constraints_exclude: Some(domains("domain_constraints_exclude")),
    })
}

fn which(message: &str) -> Option<&'static str> {
    blame(message, &FIELDS).map(|w| {
        if w == "domain" {
            "domain_constraints_include"
        } else {
            w
        }
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match fields(&f) {
        Ok(mut body) => {
            body.project_id = Some(id.clone());
            service::create_policy(&state, &person.manager, body).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => done(&project_path(p.project_id), "policy-created"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message.clone(), "new_policy", which(&message), &f);
                super::project::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match person(&state, &headers, &policy_path(&id)).await {
        Ok(p) => page(&state, p, &id, StatusCode::OK, Flash::done(&q)).await,
        Err(r) => r,
    }
}

async fn page(
    state: &AppState,
    person: super::Person,
    id: &str,
    status: StatusCode,
    flash: Flash,
) -> Response {
    let policy = match service::administered_policy(state, &person.manager, id).await {
        Ok(p) => p,
        Err(e) => return refused_page(state, e),
    };
    render(
        state,
        person,
        status,
        "console/policy.html",
        minijinja::context! { policy => PolicyItem::of(&policy), flash },
    )
}

pub(super) async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &policy_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match fields(&f) {
        Ok(body) => service::update_policy(&state, &person.manager, &id, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => done(&policy_path(p.id), "policy-saved"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message.clone(), "policy", which(&message), &f);
                page(&state, person, &id, status, flash).await
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
    let here = format!("{}/delete", policy_path(&id));
    let person = match person(&state, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let policy = match service::administered_policy(&state, &person.manager, &id).await {
        Ok(p) => p,
        Err(e) => return refused_page(&state, e),
    };
    confirm::page(
        &state,
        person,
        "policy",
        &policy.display_name,
        "A policy that apps still use cannot be deleted until they stop using it.",
        &here,
        &policy_path(policy.id),
    )
}

pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &policy_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match service::delete_policy(&state, &person.manager, &id).await {
        Ok(p) => done(&project_path(p.project_id), "policy-deleted"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "delete", None, &f);
                page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
