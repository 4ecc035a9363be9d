//! "New app" on a project's page: a confidential or public client with a name and redirect
//! URIs, created as `POST /v2/api/clients` creates it. A confidential app's first secret is
//! shown once, on the app's page that answers the form.

use super::{acting, blame, field, lines, project_path, refusal, Flash, NewSecret, Refusal};
use crate::service::project_clients::{self as service, ClientFields};
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
    let person = match acting(&state, &headers, &f, &project_path(&id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let public = match field(&f, "app_type") {
        "public" => Some(true),
        "confidential" => Some(false),
        _ => None,
    };
    let fields = ClientFields {
        name: Some(field(&f, "name").to_owned()),
        project: Some(id.clone()),
        public_client: public,
        visibility: Some(field(&f, "visibility").to_owned()).filter(|v| !v.is_empty()),
        redirect_uris: Some(lines(field(&f, "redirect_uris"))),
        ..ClientFields::default()
    };
    match service::create(&state, &person.manager, fields).await {
        Ok((client, credential)) => {
            let flash = Flash {
                secret: credential.map(|(cred, secret)| NewSecret::of(&cred, &secret)),
                notice: Some("App created."),
                ..Flash::default()
            };
            super::app::page(
                &state,
                person,
                &client.id.to_string(),
                StatusCode::OK,
                flash,
            )
            .await
        }
        Err(e) => match refusal(&state, e) {
            Refusal::Form(status, message) => {
                let which = blame(
                    &message,
                    &["redirect URI", "name", "public_client", "visibility"],
                )
                .map(|w| match w {
                    "redirect URI" => "redirect_uris",
                    "public_client" => "app_type",
                    other => other,
                });
                let flash = Flash::refused(message, "new_app", which, &f);
                super::project::page(&state, person, &id, status, flash).await
            }
            Refusal::Page(r) => r,
        },
    }
}
