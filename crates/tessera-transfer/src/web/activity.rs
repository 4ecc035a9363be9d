//! `GET /v2/web/activity`: the person's tasks, newest first, with progress; a task's page
//! (`/v2/web/activity/{id}`) with its details and events; `POST …/cancel` (CSRF) cancels it.
//! While a task shown is active the page asks the browser to load it again every two seconds
//! (`Refresh`), so progress is live without scripts.

use super::files::size;
use super::forms::{form_person, person_or_sign_in, why, Fields};
use super::render::{see_other, with_cookie, with_refresh};
use super::{caller, task_path, Host, Web, ACTIVITY_PAGE, FILES_PAGE, STYLESHEET};
use crate::service::tasks;
use crate::timefmt;
use crate::TransferState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_store::transfer::{TaskQuery, TaskRecord};

/// Seconds between reloads while a task shown is active.
const REFRESH_SECONDS: u32 = 2;

#[derive(Serialize)]
struct TaskView {
    id: String,
    url: String,
    kind: String,
    status: String,
    /// `succeeded`, `failed`, `active`: the badge's class.
    tone: &'static str,
    label: String,
    source: String,
    destination: String,
    files_done: i64,
    files: i64,
    percent: i64,
    bytes: String,
    requested: String,
    completed: String,
    fatal: String,
    active: bool,
}

async fn view(state: &TransferState, t: &TaskRecord) -> Result<TaskView, crate::error::ApiError> {
    let name = |e: Option<tessera_store::transfer::EndpointRecord>| {
        e.map(|e| e.display_name)
            .unwrap_or_else(|| "(removed)".into())
    };
    let source = name(state.store.endpoint(t.source_endpoint_id).await?);
    let destination = match t.destination_endpoint_id {
        Some(d) => name(state.store.endpoint(d).await?),
        None => String::new(),
    };
    let done = t.files_transferred + t.files_skipped;
    let percent = match (t.status.as_str(), t.files) {
        ("SUCCEEDED", _) => 100,
        (_, 0) => 0,
        (_, n) => (done * 100 / n).clamp(0, 100),
    };
    let fatal = t
        .fatal_error
        .as_ref()
        .map(|f| {
            let code = f.get("code").and_then(|v| v.as_str()).unwrap_or("");
            let d = f.get("description").and_then(|v| v.as_str()).unwrap_or("");
            format!("{code}: {d}")
        })
        .unwrap_or_default();
    Ok(TaskView {
        id: t.id.to_string(),
        url: task_path(t.id),
        kind: t.kind.clone(),
        status: t.status.clone(),
        tone: match t.status.as_str() {
            "SUCCEEDED" => "succeeded",
            "FAILED" => "failed",
            _ => "active",
        },
        label: t.label.clone().unwrap_or_default(),
        source,
        destination,
        files_done: done,
        files: t.files,
        percent,
        bytes: size(u64::try_from(t.bytes_transferred).unwrap_or(0)),
        requested: timefmt::spaced(t.request_time),
        completed: t.completion_time.map(timefmt::spaced).unwrap_or_default(),
        fatal,
        active: t.status == "ACTIVE",
    })
}

pub(super) async fn list<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let person = match person_or_sign_in(&web, &headers, ACTIVITY_PAGE).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let query = TaskQuery {
        owner_ids: person.identities.clone(),
        newest_first: true,
        limit: 50,
        ..TaskQuery::default()
    };
    let result = async {
        let (records, total) = web.transfer.store.tasks(&query).await?;
        let mut out = Vec::with_capacity(records.len());
        for t in &records {
            out.push(view(&web.transfer, t).await?);
        }
        Ok::<_, crate::error::ApiError>((out, total))
    }
    .await;
    let (views, total) = match result {
        Ok(x) => x,
        Err(e) => return web.pages.failed("the activity page", &e.message),
    };
    let live = views.iter().any(|t| t.active);
    let notice = match q.get("done").map(String::as_str) {
        Some("cancel") => Some("The task was canceled."),
        _ => None,
    };
    let page = web.pages.render(
        StatusCode::OK,
        "activity.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET,
            username => &person.username, tasks => views, total, live, notice,
            files_url => FILES_PAGE,
        },
    );
    if live {
        with_refresh(page, REFRESH_SECONDS)
    } else {
        page
    }
}

fn no_such_task<H: Host>(web: &Web<H>) -> Response {
    web.pages.error(
        StatusCode::NOT_FOUND,
        "No such task",
        "There is no task at this address, or it is not yours.",
    )
}

pub(super) async fn show<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = format!("{ACTIVITY_PAGE}/{}", urlencoded(&id));
    let person = match person_or_sign_in(&web, &headers, &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = match tasks::find(&web.transfer, &caller(&person), &id).await {
        Ok(t) => t,
        Err(e) if e.status == StatusCode::NOT_FOUND => return no_such_task(&web),
        Err(e) => return web.pages.failed("a task page", &e.message),
    };
    let result = async {
        let v = view(&web.transfer, &t).await?;
        let (events, _) = web.transfer.store.events(t.id, None, 100, 0).await?;
        Ok::<_, crate::error::ApiError>((v, events))
    }
    .await;
    let (task, events) = match result {
        Ok(x) => x,
        Err(e) => return web.pages.failed("a task page", &e.message),
    };
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            minijinja::context! {
                time => timefmt::spaced(e.time), code => &e.code,
                description => &e.description, details => &e.details, is_error => e.is_error,
            }
        })
        .collect();
    let (csrf, cookie) = web.host.csrf(&headers);
    let live = task.active;
    let page = web.pages.render(
        StatusCode::OK,
        "task.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET, csrf,
            task, events, activity_url => ACTIVITY_PAGE,
        },
    );
    let page = with_cookie(page, cookie);
    if live {
        with_refresh(page, REFRESH_SECONDS)
    } else {
        page
    }
}

pub(super) async fn cancel<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let here = format!("{ACTIVITY_PAGE}/{}", urlencoded(&id));
    let person = match form_person(&web, &headers, Some(f.get("csrf")), &here).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match tasks::cancel(&web.transfer, &caller(&person), &id).await {
        Ok(_) => see_other(&here),
        Err(e) if e.status == StatusCode::NOT_FOUND => no_such_task(&web),
        Err(e) => match why(&e) {
            Some(text) => web
                .pages
                .error(e.status, "The task was not canceled", &text),
            None => web.pages.failed("canceling a task", &e.message),
        },
    }
}

/// A path segment as typed in the address, made safe to put back in one.
fn urlencoded(segment: &str) -> String {
    segment
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}
