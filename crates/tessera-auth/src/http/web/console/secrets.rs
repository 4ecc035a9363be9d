//! An app's client secrets: create one (shown once, on the page that answers the form) and
//! delete one, through the services `/v2/api/clients/{id}/credentials` uses.

use super::{acting, app_path, done, field, refusal, Flash, NewSecret, Refusal};
use crate::service::credentials;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use std::collections::HashMap;

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = match super::app::load(&state, &person, &id).await {
        Ok(c) => c,
        Err(e) => return super::refused_page(&state, e),
    };
    match credentials::create(&state, &client, field(&f, "name")).await {
        Ok((cred, secret)) => {
            crate::audit::client_secret_created(&state, person.identity.id, &cred);
            let flash = Flash {
                secret: Some(NewSecret::of(&cred, &secret)),
                notice: Some("Secret created."),
                ..Flash::default()
            };
            // Answered with the page itself, never a redirect: the secret is in no address
            // and no later page.
            super::app::page(&state, person, &id, StatusCode::OK, flash).await
        }
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let flash = Flash::refused(message, "secret", Some("secret_name"), &f);
                super::app::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}

pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, secret)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let person = match acting(&state, &headers, &f, &app_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = match super::app::load(&state, &person, &id).await {
        Ok(c) => c,
        Err(e) => return super::refused_page(&state, e),
    };
    match credentials::delete(&state, &client, &secret).await {
        Ok(deleted) => {
            crate::audit::client_secret_deleted(&state, person.identity.id, &deleted);
            done(&app_path(client.id), "secret-deleted")
        }
        Err(e) => super::refused_page(&state, e),
    }
}
