//! The developer console (`/v2/web/console`): a signed-in person's projects, their apps
//! (clients) with redirect URIs, secrets, FQDNs and scopes, and their policies and admins.
//! Server-rendered forms that work without JavaScript, one file per page or group of actions.
//!
//! Every action calls the very service function the `/v2/api` endpoint calls, with the person
//! as a [`Manager`] (their identity set and groups, as a `manage_projects` token of theirs
//! would carry): the permission rules are the API's. Every POST checks the CSRF token first.

mod admins;
mod app;
mod app_create;
mod app_edit;
mod confirm;
mod fqdns;
mod policy;
mod project;
mod project_edit;
mod projects;
mod redirect_uris;
mod scope;
mod scope_deps;
mod secrets;
mod view;

use super::cookies::{self, csrf, csrf_ok};
use super::pages::{see_other, with_cookies, CONSOLE_CSP, STATIC_BASE};
use crate::service::projects::Manager;
use crate::service::{sessions, Failure};
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use std::collections::HashMap;
use tessera_core::identity::Identity;

/// Where the console starts: the person's projects.
pub const CONSOLE: &str = "/v2/web/console";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(CONSOLE, get(projects::show).post(projects::create))
        .route("/v2/web/console/projects/{id}", get(project::show))
        .route(
            "/v2/web/console/projects/{id}/edit",
            post(project_edit::edit),
        )
        .route(
            "/v2/web/console/projects/{id}/delete",
            get(project_edit::confirm_delete).post(project_edit::delete),
        )
        .route("/v2/web/console/projects/{id}/admins", post(admins::add))
        .route(
            "/v2/web/console/projects/{id}/admins/remove",
            post(admins::remove),
        )
        .route(
            "/v2/web/console/projects/{id}/apps",
            post(app_create::create),
        )
        .route(
            "/v2/web/console/projects/{id}/policies",
            post(policy::create),
        )
        .route("/v2/web/console/policies/{id}", get(policy::show))
        .route("/v2/web/console/policies/{id}/edit", post(policy::edit))
        .route(
            "/v2/web/console/policies/{id}/delete",
            get(policy::confirm_delete).post(policy::delete),
        )
        .route("/v2/web/console/apps/{id}", get(app::show))
        .route("/v2/web/console/apps/{id}/edit", post(app_edit::edit))
        .route(
            "/v2/web/console/apps/{id}/delete",
            get(app_edit::confirm_delete).post(app_edit::delete),
        )
        .route(
            "/v2/web/console/apps/{id}/redirect-uris",
            post(redirect_uris::add),
        )
        .route(
            "/v2/web/console/apps/{id}/redirect-uris/remove",
            post(redirect_uris::remove),
        )
        .route("/v2/web/console/apps/{id}/secrets", post(secrets::create))
        .route(
            "/v2/web/console/apps/{id}/secrets/{secret}/delete",
            post(secrets::delete),
        )
        .route("/v2/web/console/apps/{id}/fqdns", post(fqdns::add))
        .route(
            "/v2/web/console/apps/{id}/fqdns/remove",
            post(fqdns::remove),
        )
        .route("/v2/web/console/apps/{id}/scopes", post(scope::create))
        .route("/v2/web/console/scopes/{id}", get(scope::show))
        .route("/v2/web/console/scopes/{id}/edit", post(scope::edit))
        .route(
            "/v2/web/console/scopes/{id}/delete",
            get(scope::confirm_delete).post(scope::delete),
        )
        .route(
            "/v2/web/console/scopes/{id}/dependents",
            post(scope_deps::add),
        )
        .route(
            "/v2/web/console/scopes/{id}/dependents/remove",
            post(scope_deps::remove),
        )
}

/// The signed-in person on a console page: who they are, as the services see them, and the
/// request's CSRF token for the forms.
pub(super) struct Person {
    pub(super) identity: Identity,
    pub(super) manager: Manager,
    pub(super) csrf: String,
    cookie: Option<HeaderValue>,
}

/// The person behind a page request; otherwise the response to send instead (the sign-in
/// page coming back to `here`, or an error page).
async fn person(state: &AppState, headers: &HeaderMap, here: &str) -> Result<Person, Response> {
    let session = sessions::current(state, cookies::get(headers, cookies::SESSION).as_deref())
        .await
        .map_err(|e| state.pages.failed("the developer console", &e))?;
    let Some((_, identity)) = session else {
        return Err(see_other(&super::login::url_then(here), vec![]));
    };
    let manager = Manager::person(state, identity.id)
        .await
        .map_err(|e| state.pages.failed("the developer console", &e))?;
    let (token, cookie) = csrf(state, headers);
    Ok(Person {
        identity,
        manager,
        csrf: token,
        cookie,
    })
}

/// The person behind a form POST, if its CSRF token matches; otherwise the response to send
/// instead. The token is checked before anything else, so a forged form changes nothing.
async fn acting(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    here: &str,
) -> Result<Person, Response> {
    if !csrf_ok(headers, form.get("csrf").map(String::as_str)) {
        return Err(state.pages.error(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Nothing was changed. Reload the page and try again.",
        ));
    }
    person(state, headers, here).await
}

/// What a page shows after an action: a banner (an error says what to fix, next to the field
/// it concerns), and what was typed into the form that failed, so nothing is lost.
#[derive(Default, Serialize)]
pub(super) struct Flash {
    /// A secret just created, shown this once.
    pub(super) secret: Option<NewSecret>,
    pub(super) alert: Option<String>,
    pub(super) notice: Option<&'static str>,
    /// The form that failed (`flash.form == "new_app"`), whose values are `values`.
    pub(super) form: Option<&'static str>,
    /// The field the alert concerns, shown beside it.
    pub(super) field: Option<&'static str>,
    pub(super) values: HashMap<String, String>,
}

impl Flash {
    /// The notice a successful action redirects with (`?done=`); unknown codes show nothing,
    /// so nothing from the address is echoed.
    pub(super) fn done(query: &HashMap<String, String>) -> Self {
        let notice = query.get("done").and_then(|d| {
            Some(match d.as_str() {
                "project-created" => "Project created.",
                "project-saved" => "Project saved.",
                "project-deleted" => "Project deleted.",
                "admin-added" => "Admin added.",
                "admin-removed" => "Admin removed.",
                "app-saved" => "App saved.",
                "app-deleted" => "App deleted.",
                "uri-added" => "Redirect URI added.",
                "uri-removed" => "Redirect URI removed.",
                "secret-deleted" => "Secret deleted.",
                "fqdn-added" => "FQDN verified and added.",
                "fqdn-removed" => "FQDN removed.",
                "scope-created" => "Scope created.",
                "scope-saved" => "Scope saved.",
                "scope-deleted" => "Scope deleted.",
                "dependent-added" => "Dependent scope added.",
                "dependent-removed" => "Dependent scope removed.",
                "policy-created" => "Policy created.",
                "policy-saved" => "Policy saved.",
                "policy-deleted" => "Policy deleted.",
                _ => return None,
            })
        });
        Self {
            notice,
            ..Self::default()
        }
    }

    /// A refused form: the service's message, beside `field` of `form`, with what was typed.
    pub(super) fn refused(
        message: String,
        form: &'static str,
        field: Option<&'static str>,
        values: &HashMap<String, String>,
    ) -> Self {
        let mut values = values.clone();
        values.remove("csrf");
        Self {
            secret: None,
            alert: Some(message),
            notice: None,
            form: Some(form),
            field,
            values,
        }
    }
}

/// A client secret as it is shown the one time it exists in clear.
#[derive(Serialize)]
pub(super) struct NewSecret {
    pub(super) name: String,
    pub(super) client_id: String,
    pub(super) value: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl NewSecret {
    pub(super) fn of(
        cred: &tessera_core::client::ClientCredential,
        secret: &tessera_core::secret::Secret,
    ) -> Self {
        Self {
            name: cred.name.clone(),
            client_id: cred.client_id.to_string(),
            value: secret.expose().to_owned(),
        }
    }
}

/// How a service's refusal is shown: a mistake in the form comes back as the page with the
/// message ([`Refusal::Form`]); anything else is a page of its own: 404 for what does not
/// exist, 403 for what is not the person's, 500 otherwise.
enum Refusal {
    /// The status to answer with and what to fix.
    Form(StatusCode, String),
    Page(Response),
}

fn refusal(state: &AppState, failure: Failure) -> Refusal {
    match failure {
        Failure::BadRequest(m) | Failure::Unverified(m) => {
            Refusal::Form(StatusCode::BAD_REQUEST, m)
        }
        Failure::Conflict(m) => Refusal::Form(StatusCode::CONFLICT, m),
        Failure::Unavailable(m) => Refusal::Form(StatusCode::SERVICE_UNAVAILABLE, m),
        Failure::NotFound(_) => Refusal::Page(not_found(state)),
        Failure::Forbidden(_) => Refusal::Page(state.pages.error(
            StatusCode::FORBIDDEN,
            "Not yours to manage",
            "Only the admins of a project may see or change it and its apps. Nothing was changed.",
        )),
        Failure::Store(e) => Refusal::Page(state.pages.failed("the developer console", &e)),
    }
}

/// A refusal as a page of its own, for what a page or action is about (its project, app...).
fn refused_page(state: &AppState, failure: Failure) -> Response {
    match refusal(state, failure) {
        Refusal::Page(r) => r,
        Refusal::Form(status, message) => state.pages.error(status, "That did not work", &message),
    }
}

fn not_found(state: &AppState) -> Response {
    state.pages.error(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such project, app, scope or policy. Nothing was changed.",
    )
}

/// A console page for `person`, with the CSRF cookie when it is new.
fn render(
    state: &AppState,
    person: Person,
    status: StatusCode,
    template: &str,
    ctx: minijinja::Value,
) -> Response {
    let common = minijinja::context! {
        static_base => STATIC_BASE, csrf => person.csrf, username => person.identity.username,
        console_url => CONSOLE,
    };
    let mut page = state
        .pages
        .render(status, template, minijinja::context! { ..ctx, ..common });
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    with_cookies(page, person.cookie)
}

/// 303 to `path` with a notice code (see [`Flash::done`]).
fn done(path: &str, code: &str) -> Response {
    see_other(&format!("{path}?done={code}"), vec![])
}

/// Which of `fields` a service's message is about (its messages name the field they refuse).
fn blame(message: &str, fields: &[&'static str]) -> Option<&'static str> {
    fields.iter().copied().find(|f| message.contains(f))
}

/// A form field, trimmed; absent is empty.
fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map_or("", |v| v.trim())
}

/// A checkbox: present (any value) is on.
fn checked(f: &HashMap<String, String>, name: &str) -> bool {
    f.contains_key(name)
}

/// Lines of a textarea, trimmed, blank ones dropped.
fn lines(raw: &str) -> Vec<String> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn project_path(id: impl std::fmt::Display) -> String {
    format!("{CONSOLE}/projects/{id}")
}

fn app_path(id: impl std::fmt::Display) -> String {
    format!("{CONSOLE}/apps/{id}")
}

fn scope_path(id: impl std::fmt::Display) -> String {
    format!("{CONSOLE}/scopes/{id}")
}

fn policy_path(id: impl std::fmt::Display) -> String {
    format!("{CONSOLE}/policies/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_come_from_a_fixed_list() {
        let q = |d: &str| HashMap::from([("done".to_owned(), d.to_owned())]);
        assert_eq!(Flash::done(&q("app-saved")).notice, Some("App saved."));
        assert_eq!(Flash::done(&q("<script>")).notice, None);
        assert_eq!(Flash::done(&HashMap::new()).notice, None);
    }

    #[test]
    fn textarea_lines_are_trimmed_and_blank_ones_dropped() {
        assert_eq!(
            lines(" https://a.example/cb \r\n\n  \nhttp://localhost/x"),
            vec!["https://a.example/cb", "http://localhost/x"]
        );
    }
}
