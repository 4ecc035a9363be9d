//! Sharing a folder. `GET/POST /v2/web/files/share?endpoint=…&path=…` makes a shared endpoint
//! (a guest collection) on a folder of a host endpoint; `/v2/web/shares/{id}` shows an
//! endpoint's access rules to whoever may manage them, with a form that adds one for a person
//! (by username, among the identities this server knows) or for one of the manager's groups,
//! and a button that removes one. Everything goes through the API's services.

use super::forms::{form_person, person_or_sign_in, status_of, why, Fields};
use super::pane::{PaneState, Panes};
use super::render::{see_other, with_cookie};
use super::{caller, Host, Person, Web, STYLESHEET};
use crate::error::ApiError;
use crate::service::endpoints::load;
use crate::service::{access, shares};
use crate::timefmt;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_core::group::Status;
use tessera_core::identity::normalize_username;
use tessera_proto::transfer::{AccessDoc, EndpointUpdate};
use uuid::Uuid;

fn share_path(id: Uuid) -> String {
    format!("/v2/web/shares/{id}")
}

/// The form that names the new shared endpoint.
pub(super) async fn new<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (endpoint, path) = (get("endpoint"), get("path"));
    let here = serde_urlencoded::to_string([("endpoint", &endpoint), ("path", &path)])
        .map(|q| format!("/v2/web/files/share?{q}"))
        .unwrap_or_else(|_| super::FILES_PAGE.to_owned());
    let person = match person_or_sign_in(&web, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("Shared folder")
        .to_owned();
    new_page(
        &web,
        &headers,
        &person,
        StatusCode::OK,
        None,
        &endpoint,
        &path,
        &name,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn new_page<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    status: StatusCode,
    alert: Option<String>,
    endpoint: &str,
    path: &str,
    name: &str,
) -> Response {
    let host = match load(&web.transfer, endpoint).await {
        Ok(e) => e.display_name,
        Err(_) => {
            return web.pages.error(
                StatusCode::NOT_FOUND,
                "No such endpoint",
                "The folder to share is not on an endpoint this server knows.",
            )
        }
    };
    let back = Uuid::parse_str(endpoint)
        .map(|id| {
            Panes::default()
                .with(super::pane::Side::Left, PaneState::at(id, path))
                .url(&[])
        })
        .unwrap_or_else(|_| super::FILES_PAGE.to_owned());
    let (csrf, cookie) = web.host.csrf(headers);
    let page = web.pages.render(
        status,
        "share_new.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET, csrf, alert,
            username => &person.username, endpoint, path, name, host, back,
        },
    );
    with_cookie(page, cookie)
}

pub(super) async fn create<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let person = match form_person(&web, &headers, Some(f.get("csrf")), super::FILES_PAGE).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (endpoint, path, name) = (f.get("endpoint"), f.get("path"), f.get("name"));
    let request = EndpointUpdate {
        display_name: Some(name.to_owned()),
        host_endpoint: Some(endpoint.to_owned()),
        host_path: Some(path.to_owned()),
        other: serde_json::Map::new(),
    };
    match shares::create(&web.transfer, &caller(&person), request).await {
        Ok(e) => see_other(&format!("{}?done=created", share_path(e.id))),
        Err(e) => match why(&e) {
            Some(text) => {
                let alert = Some(format!("The folder was not shared: {text}"));
                new_page(
                    &web,
                    &headers,
                    &person,
                    status_of(&e),
                    alert,
                    endpoint,
                    path,
                    name,
                )
                .await
            }
            None => web.pages.failed("sharing a folder", &e.message),
        },
    }
}

#[derive(Serialize)]
struct RuleView {
    id: String,
    who: String,
    kind: &'static str,
    path: String,
    permissions: String,
    created: String,
}

#[derive(Serialize)]
struct GroupChoice {
    id: String,
    name: String,
}

/// What was typed in the add form, shown again when it is refused.
#[derive(Serialize, Default)]
struct Draft {
    kind: String,
    username: String,
    group: String,
    permissions: String,
    path: String,
}

pub(super) async fn show<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return no_such_share(&web);
    };
    let person = match person_or_sign_in(&web, &headers, &share_path(uuid)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let notice = match q.get("done").map(String::as_str) {
        Some("created") => Some("The folder is shared. Add who may use it below."),
        Some("added") => Some("Access granted."),
        Some("removed") => Some("Access removed."),
        _ => None,
    };
    let draft = Draft {
        kind: "identity".into(),
        permissions: "r".into(),
        path: "/".into(),
        ..Draft::default()
    };
    page(
        &web,
        &headers,
        &person,
        uuid,
        StatusCode::OK,
        None,
        notice,
        draft,
    )
    .await
}

fn no_such_share<H: Host>(web: &Web<H>) -> Response {
    web.pages.error(
        StatusCode::NOT_FOUND,
        "No such endpoint",
        "There is no endpoint at this address whose sharing you manage.",
    )
}

#[allow(clippy::too_many_arguments)]
async fn page<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    id: Uuid,
    status: StatusCode,
    alert: Option<String>,
    notice: Option<&str>,
    draft: Draft,
) -> Response {
    let state = &web.transfer;
    let c = caller(person);
    let e = match load(state, &id.to_string()).await {
        Ok(e) => e,
        Err(_) => return no_such_share(web),
    };
    // Someone who may not manage the rules learns nothing more than "no such endpoint".
    match access::require_manager(state, &c, &e).await {
        Ok(()) => {}
        Err(err) if err.status == StatusCode::FORBIDDEN => {
            return web.pages.error(
                StatusCode::FORBIDDEN,
                "Not yours to manage",
                "Only the endpoint's owner and its access managers can see who may use it.",
            )
        }
        Err(err) => return web.pages.failed("a sharing page", &err.message),
    }
    let result = async {
        let rules = state.store.access_rules(e.id).await?;
        let ids: Vec<Uuid> = rules
            .iter()
            .filter(|r| r.principal_type == "identity")
            .filter_map(|r| Uuid::parse_str(&r.principal).ok())
            .collect();
        let names: HashMap<Uuid, String> = state
            .store
            .identities_by_ids(&ids)
            .await?
            .into_iter()
            .map(|i| (i.id, i.username))
            .collect();
        let mut views = Vec::with_capacity(rules.len());
        for r in &rules {
            let principal = Uuid::parse_str(&r.principal).ok();
            let (who, kind) = match r.principal_type.as_str() {
                "identity" => (
                    principal
                        .and_then(|p| names.get(&p).cloned())
                        .unwrap_or_else(|| r.principal.clone()),
                    "person",
                ),
                "group" => {
                    let group = match principal {
                        Some(g) => state.store.group(g).await?,
                        None => None,
                    };
                    (
                        group.map(|g| g.name).unwrap_or_else(|| r.principal.clone()),
                        "group",
                    )
                }
                "all_authenticated_users" => ("Everyone signed in".into(), "everyone"),
                _ => ("Anyone".into(), "anyone"),
            };
            views.push(RuleView {
                id: r.id.to_string(),
                who,
                kind,
                path: r.path.clone(),
                permissions: if r.permissions == "rw" {
                    "read and write".into()
                } else {
                    "read".into()
                },
                created: timefmt::spaced(r.create_time),
            });
        }
        let mut groups = Vec::new();
        let mut seen = Vec::new();
        for m in state
            .store
            .memberships_of_identities(&person.identities)
            .await?
        {
            if m.status != Status::Active || seen.contains(&m.group_id) {
                continue;
            }
            seen.push(m.group_id);
            if let Some(g) = state.store.group(m.group_id).await? {
                groups.push(GroupChoice {
                    id: g.id.to_string(),
                    name: g.name,
                });
            }
        }
        Ok::<_, ApiError>((views, groups))
    }
    .await;
    let (rules, groups) = match result {
        Ok(x) => x,
        Err(err) => return web.pages.failed("a sharing page", &err.message),
    };
    let open = Panes::default()
        .with(super::pane::Side::Left, PaneState::at(e.id, "/"))
        .url(&[]);
    let (csrf, cookie) = web.host.csrf(headers);
    let page = web.pages.render(
        status,
        "share.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET, csrf, alert, notice,
            username => &person.username, name => &e.display_name,
            is_share => e.host_endpoint_id.is_some(), host_path => &e.host_path,
            id => e.id.to_string(), url => share_path(e.id), open, rules, groups, draft,
        },
    );
    with_cookie(page, cookie)
}

pub(super) async fn add<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return no_such_share(&web);
    };
    let f = Fields(form);
    let person = match form_person(&web, &headers, Some(f.get("csrf")), &share_path(uuid)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let draft = Draft {
        kind: f.get("kind").to_owned(),
        username: f.get("username").to_owned(),
        group: f.get("group").to_owned(),
        permissions: f.get("permissions").to_owned(),
        path: f.get("path").to_owned(),
    };
    let state = &web.transfer;
    let result = async {
        let e = load(state, &id).await?;
        let principal = match draft.kind.as_str() {
            "identity" => Some(principal_of(&web, &draft.username).await?),
            "group" => Some(draft.group.clone()),
            _ => None,
        };
        let doc = AccessDoc {
            principal_type: Some(draft.kind.clone()),
            principal,
            path: Some(if draft.path.is_empty() {
                "/".into()
            } else {
                draft.path.clone()
            }),
            permissions: Some(draft.permissions.clone()),
            ..AccessDoc::default()
        };
        access::create(state, &caller(&person), &e, &doc).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("{}?done=added", share_path(uuid))),
        Err(e) if e.status == StatusCode::NOT_FOUND && e.code == "EndpointNotFound" => {
            no_such_share(&web)
        }
        Err(e) => match why(&e) {
            Some(text) => {
                let alert = Some(format!("Nobody was added: {text}"));
                page(
                    &web,
                    &headers,
                    &person,
                    uuid,
                    status_of(&e),
                    alert,
                    None,
                    draft,
                )
                .await
            }
            None => web.pages.failed("adding an access rule", &e.message),
        },
    }
}

/// The identity id of a username this server knows, or a refusal naming what was typed.
async fn principal_of<H: Host>(web: &Web<H>, username: &str) -> Result<String, ApiError> {
    if username.is_empty() {
        return Err(ApiError::bad_request("type the username of the person"));
    }
    if username.chars().count() > 256 {
        return Err(ApiError::bad_request("no user has that username"));
    }
    let found = web
        .transfer
        .store
        .identities_by_usernames(&[normalize_username(username)])
        .await?;
    match found.into_iter().next() {
        Some(i) => Ok(i.id.to_string()),
        None => Err(ApiError::bad_request(format!(
            "no user has the username “{username}”"
        ))),
    }
}

pub(super) async fn remove<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path((id, rule)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return no_such_share(&web);
    };
    let f = Fields(form);
    let person = match form_person(&web, &headers, Some(f.get("csrf")), &share_path(uuid)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let e = load(&web.transfer, &id).await?;
        access::remove(&web.transfer, &caller(&person), &e, &rule).await
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("{}?done=removed", share_path(uuid))),
        Err(e) if e.status == StatusCode::NOT_FOUND && e.code == "EndpointNotFound" => {
            no_such_share(&web)
        }
        Err(e) => match why(&e) {
            Some(text) => {
                let alert = Some(format!("Nothing was removed: {text}"));
                let draft = Draft {
                    kind: "identity".into(),
                    permissions: "r".into(),
                    path: "/".into(),
                    ..Draft::default()
                };
                page(
                    &web,
                    &headers,
                    &person,
                    uuid,
                    status_of(&e),
                    alert,
                    None,
                    draft,
                )
                .await
            }
            None => web.pages.failed("removing an access rule", &e.message),
        },
    }
}
