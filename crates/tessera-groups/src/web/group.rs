//! `/v2/web/groups/{id}`: a group as the signed-in person may see it: description, policies,
//! members with roles and statuses, and the forms of what they may do (the API's
//! `allowed_actions`): accept or decline an invitation, join or ask to, leave; for managers and
//! admins invite by username, approve or reject requests, remove, change roles.

use super::list::{notice, person_or_sign_in};
use super::render::with_cookie;
use super::view::GroupPage;
use super::{caller, group_path, Host, Person, Web, GROUPS_PAGE};
use crate::service::groups::{self, Includes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use uuid::Uuid;

/// What the page reads: everything the person may see, and what they may do.
const INCLUDE: Includes = Includes {
    memberships: true,
    my_memberships: true,
    child_ids: false,
    allowed_actions: true,
};

pub(super) async fn show<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // An id that is no UUID cannot name a group; the sign-in page would only come back here.
    let Ok(id) = Uuid::parse_str(&raw) else {
        return no_such_group(&web);
    };
    let person = match person_or_sign_in(&web, &headers, &group_path(id)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let done = notice(q.get("done").map(String::as_str));
    render(&web, &headers, &person, id, StatusCode::OK, None, done).await
}

pub(super) fn no_such_group<H: Host>(web: &Web<H>) -> Response {
    web.pages.error(
        StatusCode::NOT_FOUND,
        "No such group",
        "There is no group at this address.",
    )
}

/// The group's page, with an alert (a refused form) or a notice (a form that worked).
pub(super) async fn render<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    id: Uuid,
    status: StatusCode,
    alert: Option<String>,
    notice: Option<&str>,
) -> Response {
    let doc = match groups::get(&web.groups, &caller(person), id, INCLUDE).await {
        Ok(d) => d,
        Err(e) if e.status == StatusCode::NOT_FOUND => return no_such_group(web),
        Err(e) if e.status == StatusCode::FORBIDDEN => {
            return web.pages.error(
                StatusCode::FORBIDDEN,
                "This group is private",
                "Only its members and the people invited to it can see it.",
            )
        }
        Err(e) => return web.pages.failed("a group's page", &e.detail),
    };
    let group = GroupPage::from_doc(&doc);
    let (csrf, cookie) = web.host.csrf(headers);
    let path = group_path(id);
    let page = web.pages.render(
        status,
        "group.html",
        minijinja::context! {
            static_base => web.pages.static_base, username => &person.username, csrf, group,
            alert, notice, members_action => format!("{path}/members"),
            invite_action => format!("{path}/invite"), groups_url => GROUPS_PAGE,
        },
    );
    with_cookie(page, cookie)
}
