//! `/v2/web/groups`: the signed-in person's groups (active), invitations to accept or decline,
//! join requests still waiting, and a form to create a group.

use super::render::{see_other, with_cookie};
use super::view::MyGroups;
use super::{caller, group_path, Host, Person, Web, GROUPS_PAGE};
use crate::error::GroupsError;
use crate::service::groups::{self, CreateInput, PoliciesInput};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_core::group::Status;

/// The person behind a page request, or the response to send instead (the sign-in page).
pub(super) async fn person_or_sign_in<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    here: &str,
) -> Result<Person, Response> {
    match web.host.person(headers).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(see_other(&web.host.sign_in_url(here))),
        Err(e) => Err(web.pages.failed("a groups page", &e)),
    }
}

/// The person behind a form POST with a valid CSRF token, or the response to send instead.
pub(super) async fn form_person<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    here: &str,
) -> Result<Person, Response> {
    if !web
        .host
        .csrf_ok(headers, form.get("csrf").map(String::as_str))
    {
        return Err(web.pages.error(
            StatusCode::BAD_REQUEST,
            "This form has expired",
            "Reload the page and try again. Nothing was changed.",
        ));
    }
    person_or_sign_in(web, headers, here).await
}

/// What was typed into the creation form, shown again when it is refused.
#[derive(Serialize, Default)]
struct Draft {
    name: String,
    description: String,
    visibility: String,
    members_visibility: String,
    join_requests: bool,
}

/// A fixed notice after a successful form, by the `done` query parameter.
pub(super) fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "accept" => "You accepted the invitation.",
        "decline" => "You declined the invitation.",
        "leave" => "You left the group.",
        "join" => "You joined the group.",
        "request_join" => "You asked to join; an admin or manager of the group will decide.",
        "invite" => "Invitation sent.",
        "approve" => "Request approved.",
        "reject" => "Request rejected.",
        "remove" => "Membership removed.",
        "change_role" => "Role changed.",
        "delete" => "The group was deleted.",
        _ => return None,
    })
}

async fn render<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    status: StatusCode,
    alert: Option<String>,
    notice: Option<&str>,
    draft: Draft,
) -> Response {
    let docs = match groups::my_groups(
        &web.groups,
        &caller(person),
        &[Status::Active, Status::Invited, Status::Pending],
    )
    .await
    {
        Ok(d) => d,
        Err(e) => return web.pages.failed("the groups page", &e.detail),
    };
    let mine = MyGroups::from_docs(&docs);
    let (csrf, cookie) = web.host.csrf(headers);
    let page = web.pages.render(
        status,
        "groups.html",
        minijinja::context! {
            static_base => web.pages.static_base, username => &person.username, csrf,
            groups => mine, alert, notice, draft, action => GROUPS_PAGE,
        },
    );
    with_cookie(page, cookie)
}

pub(super) async fn show<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let person = match person_or_sign_in(&web, &headers, GROUPS_PAGE).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let draft = Draft {
        visibility: "private".into(),
        members_visibility: "managers".into(),
        ..Draft::default()
    };
    let notice = notice(q.get("done").map(String::as_str));
    render(&web, &headers, &person, StatusCode::OK, None, notice, draft).await
}

/// A checkbox is sent only when ticked.
fn ticked(form: &HashMap<String, String>, key: &str) -> bool {
    form.get(key).is_some_and(|v| !v.is_empty())
}

pub(super) async fn create<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let person = match form_person(&web, &headers, &form, GROUPS_PAGE).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let draft = Draft {
        name: field("name"),
        description: field("description"),
        visibility: field("visibility"),
        members_visibility: field("members_visibility"),
        join_requests: ticked(&form, "join_requests"),
    };
    let input = CreateInput {
        name: draft.name.clone(),
        description: Some(draft.description.clone()).filter(|d| !d.is_empty()),
        parent_id: None,
        terms_and_conditions: None,
        policies: Some(PoliciesInput {
            // Left out of the form: the defaults (private, managers).
            group_visibility: Some(draft.visibility.clone()).filter(|v| !v.is_empty()),
            group_members_visibility: Some(draft.members_visibility.clone())
                .filter(|v| !v.is_empty()),
            join_requests: Some(draft.join_requests),
            ..PoliciesInput::default()
        }),
    };
    match groups::create(&web.groups, &caller(&person), input).await {
        Ok(doc) => {
            let id = doc
                .get("id")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .unwrap_or_default();
            see_other(&group_path(id))
        }
        Err(e) => refused(&web, &headers, &person, e, draft).await,
    }
}

/// A refused creation: the page again, with why and what was typed.
async fn refused<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    e: GroupsError,
    draft: Draft,
) -> Response {
    if e.status.is_server_error() {
        return web.pages.failed("creating a group", &e.detail);
    }
    let why = format!("The group was not created: {}", sentence(&e.detail));
    render(web, headers, person, e.status, Some(why), None, draft).await
}

/// A service message as the end of a sentence: first letter up, a full stop.
pub(super) fn sentence(detail: &str) -> String {
    let mut s: String = detail.trim().to_owned();
    // A field name (`group_visibility`) keeps its spelling.
    let first_word = s.split_whitespace().next().unwrap_or("");
    if !first_word.contains('_') {
        if let Some(first) = s.get(..1) {
            s.replace_range(..1, &first.to_uppercase());
        }
    }
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn service_messages_read_as_sentences() {
        assert_eq!(
            sentence("a group name must not be empty"),
            "A group name must not be empty."
        );
        assert_eq!(
            sentence("group_visibility must be authenticated or private."),
            "group_visibility must be authenticated or private."
        );
        assert_eq!(sentence(""), ".");
    }
}
