//! `GET /v2/web/files?left=EP:PATH&right=EP:PATH`: two panes, each an endpoint picker or a
//! directory listing (directories first) with checkboxes, breadcrumbs and actions.

use super::forms::{person_or_sign_in, status_of, why};
use super::pane::{child, PaneState, Panes, Side};
use super::picker::{picker, Picker};
use super::render::with_cookie;
use super::{caller, task_path, Host, Person, Web, STYLESHEET};
use crate::error::ApiError;
use crate::service::access::roles_of;
use crate::service::endpoints::{self as svc, load};
use crate::service::listing::{self, Order};
use crate::service::operations;
use crate::storage::{Entry, EntryKind};
use crate::timefmt;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Serialize)]
struct EntryView {
    name: String,
    is_dir: bool,
    size: String,
    modified: String,
    /// A directory's address (it opens in this pane).
    url: Option<String>,
    /// The checkbox's value: `d:` or `f:` and the name.
    value: String,
}

#[derive(Serialize)]
struct Crumb {
    name: String,
    url: String,
}

#[derive(Serialize, Default)]
struct PaneView {
    side: &'static str,
    title: &'static str,
    chosen: bool,
    endpoint_name: String,
    endpoint_detail: String,
    path: String,
    crumbs: Vec<Crumb>,
    entries: Vec<EntryView>,
    error: Option<String>,
    picker: Option<Picker>,
    change_url: String,
    up_url: Option<String>,
    writable: bool,
    share_url: Option<String>,
    manage_url: Option<String>,
    transfer_label: &'static str,
    can_transfer: bool,
}

/// What the page was asked to show, besides the panes.
#[derive(Default)]
pub(super) struct Extras {
    pub(super) status: Option<StatusCode>,
    pub(super) alert: Option<String>,
    pub(super) notice: Option<String>,
    pub(super) task: Option<Uuid>,
    pub(super) queries: (String, String),
}

pub(super) fn panes_of(q: &HashMap<String, String>) -> Panes {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    Panes {
        left: PaneState::parse(get("left")),
        right: PaneState::parse(get("right")),
    }
}

pub(super) async fn show<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let panes = panes_of(&q);
    let person = match person_or_sign_in(&web, &headers, &panes.url(&[])).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let extras = Extras {
        notice: notice(q.get("done").map(String::as_str)).map(str::to_owned),
        task: q.get("task").and_then(|t| Uuid::parse_str(t).ok()),
        queries: (get("lq"), get("rq")),
        ..Extras::default()
    };
    render(&web, &headers, &person, &panes, extras).await
}

/// A fixed notice after a successful form, by the `done` query parameter.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "mkdir" => "The folder was created.",
        "rename" => "Renamed.",
        "transfer" => "Transfer started.",
        "delete" => "Deletion started.",
        _ => return None,
    })
}

/// The file manager page for `panes`.
pub(super) async fn render<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    panes: &Panes,
    extras: Extras,
) -> Response {
    let mut status = extras.status.unwrap_or(StatusCode::OK);
    let mut views = Vec::new();
    for (side, query) in [
        (Side::Left, &extras.queries.0),
        (Side::Right, &extras.queries.1),
    ] {
        match pane(web, person, panes, side, query).await {
            Ok((view, pane_status)) => {
                if status == StatusCode::OK {
                    status = pane_status;
                }
                views.push(view);
            }
            Err(e) => return web.pages.failed("the file manager", &e.message),
        }
    }
    let (csrf, cookie) = web.host.csrf(headers);
    let task_url = extras.task.map(task_path);
    let page = web.pages.render(
        status,
        "files.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET,
            username => &person.username, csrf, panes => views,
            left => panes.left.encode(), right => panes.right.encode(),
            alert => extras.alert, notice => extras.notice, task_url,
        },
    );
    with_cookie(page, cookie)
}

/// One pane, and the status its trouble gives the page (200 when none).
async fn pane<H: Host>(
    web: &Web<H>,
    person: &Person,
    panes: &Panes,
    side: Side,
    query: &str,
) -> Result<(PaneView, StatusCode), ApiError> {
    let here = panes.get(side);
    let other_chosen = panes.get(side.other()).endpoint.is_some();
    let mut view = PaneView {
        side: side.name(),
        title: match side {
            Side::Left => "Left",
            Side::Right => "Right",
        },
        change_url: panes.with(side, PaneState::default()).url(&[]),
        transfer_label: match side {
            Side::Left => "Start transfer →",
            Side::Right => "← Start transfer",
        },
        can_transfer: other_chosen,
        ..PaneView::default()
    };
    let Some(id) = here.endpoint else {
        view.picker = Some(picker(&web.transfer, person, panes, side, query).await?);
        return Ok((view, StatusCode::OK));
    };
    view.chosen = true;
    let state = &web.transfer;
    let c = caller(person);
    let trouble = |mut view: PaneView, e: ApiError| match why(&e) {
        Some(text) => {
            view.error = Some(text);
            Ok((view, status_of(&e)))
        }
        None => Err(e),
    };
    let e = match load(state, &id.to_string()).await {
        Ok(e) => e,
        Err(err) => {
            view.endpoint_name = "Unknown endpoint".into();
            return trouble(view, err);
        }
    };
    view.endpoint_name = e.display_name.clone();
    view.endpoint_detail = match e.host_endpoint_id {
        Some(_) => format!("shared by {}", e.owner_string),
        None => format!("owned by {}", e.owner_string),
    };
    let path = match svc::resolve(&e, Some(&here.path)) {
        Ok(p) => p,
        Err(err) => return trouble(view, err),
    };
    let mut shown = path.to_api();
    if !shown.ends_with('/') {
        shown.push('/');
    }
    view.path = shown.clone();
    let open = |p: &str| panes.with(side, PaneState::at(id, p)).url(&[]);
    view.crumbs.push(Crumb {
        name: "/".into(),
        url: open("/"),
    });
    let mut acc = String::from("/");
    for part in path.components() {
        acc = format!("{}/", child(&acc, part));
        view.crumbs.push(Crumb {
            name: part.clone(),
            url: open(&acc),
        });
    }
    view.up_url = path.parent().map(|p| {
        let mut up = p.to_api();
        if !up.ends_with('/') {
            up.push('/');
        }
        open(&up)
    });
    let entries = match operations::list(state, &c, &e, &path).await {
        Ok(entries) => entries,
        Err(err) => return trouble(view, err),
    };
    let order = Order::parse(Some("type ASC, name ASC"))?;
    let (entries, _) = listing::select(entries, true, &[], &order, 0, usize::MAX);
    view.entries = entries
        .iter()
        .map(|entry| entry_view(entry, &shown, &open))
        .collect();
    view.writable = svc::access(state, &c, &e, &path).await?.allows_write();
    if view.writable && e.host_endpoint_id.is_none() {
        view.share_url =
            serde_urlencoded::to_string([("endpoint", e.id.to_string()), ("path", shown.clone())])
                .ok()
                .map(|q| format!("/v2/web/files/share?{q}"));
    }
    let roles = roles_of(state, &c, &e).await?;
    if roles.contains(&"administrator") || roles.contains(&"access_manager") {
        view.manage_url = Some(format!("/v2/web/shares/{}", e.id));
    }
    Ok((view, StatusCode::OK))
}

fn entry_view(entry: &Entry, dir: &str, open: &impl Fn(&str) -> String) -> EntryView {
    let is_dir = entry.kind == EntryKind::Dir;
    EntryView {
        name: entry.name.clone(),
        is_dir,
        size: if is_dir {
            String::new()
        } else {
            size(entry.size)
        },
        modified: timefmt::spaced(unix(entry.modified)),
        url: is_dir.then(|| open(&format!("{}/", child(dir, &entry.name)))),
        value: format!("{}:{}", if is_dir { "d" } else { "f" }, entry.name),
    }
}

fn unix(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A size for people: bytes up to 1 KiB, then one decimal in KB, MB, GB, TB (powers of 1024).
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MB");
    }
}
