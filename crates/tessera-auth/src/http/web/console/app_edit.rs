//! Changing an app's settings (name, visibility, links, authentication policy) and deleting
//! it after a confirmation, as `PUT` and `DELETE /v2/api/clients/{id}` do.

use super::{
    acting, app_path, blame, confirm, done, field, person, refusal, refused_page, Flash, Refusal,
};
use crate::service::project_clients::{self as service, Actor, ClientFields};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;
use tessera_proto::api::ClientLinks;

pub(super) async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let link = |name: &str| Some(field(&f, name).to_owned()).filter(|l| !l.is_empty());
    let fields = ClientFields {
        name: Some(field(&f, "name").to_owned()),
        visibility: Some(field(&f, "visibility").to_owned()).filter(|v| !v.is_empty()),
        links: Some(ClientLinks {
            privacy_policy: link("privacy_policy"),
            terms_and_conditions: link("terms_and_conditions"),
        }),
        authentication_policy: f
            .contains_key("authentication_policy")
            .then(|| link("authentication_policy")),
        ..ClientFields::default()
    };
    match service::update(&state, &Actor::Manager(&person.manager), &id, fields).await {
        Ok(c) => done(&app_path(c.id), "app-saved"),
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let which = blame(&message, &["authentication_policy", "visibility", "name"]);
                let flash = Flash::refused(message, "app", which, &f);
                super::app::page(&state, person, &id, status, flash).await
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
    let here = format!("{}/delete", app_path(&id));
    let person = match person(&state, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = match super::app::load(&state, &person, &id).await {
        Ok(c) => c,
        Err(e) => return refused_page(&state, e),
    };
    confirm::page(
        &state,
        person,
        "app",
        &client.name,
        "Its secrets, scopes and FQDNs go with it; every token it holds or that was issued for its scopes is revoked, and people's consents to it are deleted.",
        &here,
        &app_path(client.id),
    )
}

pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match service::delete(&state, &Actor::Manager(&person.manager), &id).await {
        Ok((client, _)) => match client.project {
            Some(p) => done(&super::project_path(p), "app-deleted"),
            None => done(super::CONSOLE, "app-deleted"),
        },
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "delete", None, &f);
                super::app::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
