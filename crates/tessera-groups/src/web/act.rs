//! The forms of a group's page: `POST /v2/web/groups/{id}/members` (one batch action on one
//! identity: accept, decline, join, request_join, leave, approve, reject, remove, change_role)
//! and `POST /v2/web/groups/{id}/invite` (invite by username). Each is one item of the API's
//! batch ([`crate::service::batch::run`]); a refusal shows the page again with the reason.

use super::group::{no_such_group, render};
use super::list::{form_person, sentence};
use super::render::see_other;
use super::{caller, group_path, Host, Person, Web, GROUPS_PAGE};
use crate::error::GroupsError;
use crate::service::batch;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tessera_core::identity::normalize_username;
use uuid::Uuid;

/// After these the group may no longer be the person's to see: back to their list.
const LEAVING: [&str; 2] = ["leave", "decline"];

pub(super) async fn members<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&raw) else {
        return no_such_group(&web);
    };
    let person = match form_person(&web, &headers, &form, &group_path(id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let action = form.get("action").map(String::as_str).unwrap_or("");
    let mut item = Map::new();
    item.insert(
        "identity_id".into(),
        json!(form.get("identity_id").map(String::as_str).unwrap_or("")),
    );
    if let Some(role) = form.get("role").filter(|r| !r.is_empty()) {
        item.insert("role".into(), json!(role));
    }
    run(&web, &headers, &person, id, action, Value::Object(item)).await
}

pub(super) async fn invite<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&raw) else {
        return no_such_group(&web);
    };
    let person = match form_person(&web, &headers, &form, &group_path(id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let username = form.get("username").map(|u| u.trim()).unwrap_or("");
    let refuse = |why: String| {
        render(
            &web,
            &headers,
            &person,
            id,
            StatusCode::BAD_REQUEST,
            Some(why),
            None,
        )
    };
    if username.is_empty() {
        return refuse("Nobody was invited: type the username of the person to invite.".into())
            .await;
    }
    if username.chars().count() > 256 {
        return refuse("Nobody was invited: no user has that username.".into()).await;
    }
    let found = match web
        .groups
        .store
        .identities_by_usernames(&[normalize_username(username)])
        .await
    {
        Ok(f) => f,
        Err(e) => return web.pages.failed("inviting by username", &e),
    };
    let Some(identity) = found.into_iter().next() else {
        return refuse(format!(
            "Nobody was invited: no user has the username “{username}”."
        ))
        .await;
    };
    let role = form
        .get("role")
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .unwrap_or("member");
    let item = json!({"identity_id": identity.id, "role": role});
    run(&web, &headers, &person, id, "invite", item).await
}

/// One item of `action` through the API's batch; then the page again (or the list).
async fn run<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    id: Uuid,
    action: &str,
    item: Value,
) -> Response {
    let body = json!({ action: [item] });
    match batch::run(&web.groups, &caller(person), id, &body).await {
        Ok(answer) => match item_error(&answer, action) {
            None if LEAVING.contains(&action) => see_other(&format!("{GROUPS_PAGE}?done={action}")),
            None => see_other(&format!("{}?done={action}", group_path(id))),
            Some(why) => {
                let why = format!("Nothing was changed: {}", sentence(&why));
                render(
                    web,
                    headers,
                    person,
                    id,
                    StatusCode::CONFLICT,
                    Some(why),
                    None,
                )
                .await
            }
        },
        Err(e) => refused(web, headers, person, id, e).await,
    }
}

/// The detail of the batch's only item, if it failed.
fn item_error(answer: &Value, action: &str) -> Option<String> {
    let e = answer.get("errors")?.get(action)?.get(0)?;
    Some(
        e.get("detail")
            .and_then(Value::as_str)
            .unwrap_or("the action was refused")
            .to_owned(),
    )
}

async fn refused<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    id: Uuid,
    e: GroupsError,
) -> Response {
    if e.status == StatusCode::NOT_FOUND {
        return no_such_group(web);
    }
    if e.status.is_server_error() {
        return web.pages.failed("a group's form", &e.detail);
    }
    let why = format!("Nothing was changed: {}", sentence(&e.detail));
    render(web, headers, person, id, e.status, Some(why), None).await
}
