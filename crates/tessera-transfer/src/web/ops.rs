//! The file manager's forms. `POST /v2/web/files/mkdir` makes a folder in a pane;
//! `POST /v2/web/files/act` takes a pane's selection and shows what it would do (transfer
//! options, a deletion to confirm, a new name); `rename`, `delete` and `transfer` then do it
//! through the API's services, and come back to the panes (with a link to the task).

use super::files::{panes_of, render, Extras};
use super::forms::{form_person, status_of, why, Fields};
use super::pane::{child, Panes, Side};
use super::render::see_other;
use super::{caller, Host, Person, Web, STYLESHEET};
use crate::error::ApiError;
use crate::service::endpoints::load;
use crate::service::{operations, submit};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Serialize;
use std::collections::HashMap;
use tessera_proto::transfer::{DeleteItem, DeleteSubmission, TransferItem, TransferSubmission};

/// A form's panes and the pane it acts in.
struct Context {
    panes: Panes,
    side: Side,
}

fn context(f: &Fields) -> Option<Context> {
    let q: HashMap<String, String> = ["left", "right"]
        .iter()
        .map(|k| ((*k).to_owned(), f.get(k).to_owned()))
        .collect();
    Some(Context {
        panes: panes_of(&q),
        side: Side::parse(f.get("side"))?,
    })
}

/// The person and the form's context, or the response to send instead.
async fn start<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    f: &Fields,
) -> Result<(Person, Context), Response> {
    let panes = context(f).map(|c| c.panes).unwrap_or_default();
    let person = form_person(web, headers, Some(f.get("csrf")), &panes.url(&[])).await?;
    match context(f) {
        Some(c) if c.panes.get(c.side).endpoint.is_some() => Ok((person, c)),
        _ => Err(web.pages.error(
            StatusCode::BAD_REQUEST,
            "Nothing to act on",
            "Choose an endpoint first. Nothing was changed.",
        )),
    }
}

/// The panes again with why nothing was done.
async fn refused<H: Host>(
    web: &Web<H>,
    headers: &HeaderMap,
    person: &Person,
    panes: &Panes,
    what: &str,
    e: ApiError,
) -> Response {
    let Some(text) = why(&e) else {
        return web.pages.failed(what, &e.message);
    };
    let extras = Extras {
        status: Some(status_of(&e)),
        alert: Some(format!("Nothing was changed: {text}")),
        ..Extras::default()
    };
    render(web, headers, person, panes, extras).await
}

/// One file or folder name: no path separators, not `.` or `..`.
fn name(raw: &str) -> Result<&str, ApiError> {
    let n = raw.trim();
    if n.is_empty() || n == "." || n == ".." || n.contains('/') || n.contains('\0') {
        return Err(ApiError::bad_request(
            "a name must not be empty, '.', '..', or contain '/'",
        ));
    }
    Ok(n)
}

/// A selected entry: `d:` (a folder) or `f:` and its name.
struct Selected {
    name: String,
    is_dir: bool,
}

fn selection(f: &Fields) -> Result<Vec<Selected>, ApiError> {
    let items = f.all("item");
    if items.is_empty() {
        return Err(ApiError::bad_request("select at least one file or folder"));
    }
    items
        .iter()
        .map(|v| {
            let (kind, n) = v.split_once(':').unwrap_or(("f", v));
            Ok(Selected {
                name: name(n)?.to_owned(),
                is_dir: kind == "d",
            })
        })
        .collect()
}

pub(super) async fn mkdir<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let (person, cx) = match start(&web, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pane = cx.panes.get(cx.side);
    let result = async {
        let n = name(f.get("name"))?;
        let e = load(
            &web.transfer,
            &pane.endpoint.unwrap_or_default().to_string(),
        )
        .await?;
        let dir = crate::service::endpoints::resolve(&e, Some(&pane.path))?.to_api();
        operations::mkdir(&web.transfer, &caller(&person), &e, &child(&dir, n)).await
    }
    .await;
    match result {
        Ok(()) => see_other(&cx.panes.url(&[("done", "mkdir")])),
        Err(e) => refused(&web, &headers, &person, &cx.panes, "making a folder", e).await,
    }
}

#[derive(Serialize)]
struct Item {
    name: String,
    is_dir: bool,
    value: String,
}

pub(super) async fn act<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let (person, cx) = match start(&web, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let op = f.get("op");
    let items = match selection(&f) {
        Ok(items) if op == "rename" && items.len() != 1 => {
            let e = ApiError::bad_request("select exactly one file or folder to rename");
            return refused(&web, &headers, &person, &cx.panes, "renaming", e).await;
        }
        Ok(items) => items,
        Err(e) => return refused(&web, &headers, &person, &cx.panes, op, e).await,
    };
    let ((from, from_path), (to, to_path)) = (
        endpoint_name(&web, cx.panes.get(cx.side)).await,
        endpoint_name(&web, cx.panes.get(cx.side.other())).await,
    );
    if op == "transfer" && cx.panes.get(cx.side.other()).endpoint.is_none() {
        let e = ApiError::bad_request("choose a destination endpoint in the other pane first");
        return refused(&web, &headers, &person, &cx.panes, "a transfer", e).await;
    }
    let (title, action) = match op {
        "transfer" => ("Start a transfer", "/v2/web/files/transfer"),
        "delete" => ("Delete", "/v2/web/files/delete"),
        "rename" => ("Rename", "/v2/web/files/rename"),
        _ => {
            return web.pages.error(
                StatusCode::BAD_REQUEST,
                "Unknown action",
                "Nothing was changed.",
            )
        }
    };
    let items: Vec<Item> = items
        .into_iter()
        .map(|s| Item {
            value: format!("{}:{}", if s.is_dir { "d" } else { "f" }, s.name),
            name: s.name,
            is_dir: s.is_dir,
        })
        .collect();
    let (csrf, cookie) = web.host.csrf(&headers);
    let page = web.pages.render(
        StatusCode::OK,
        "confirm.html",
        minijinja::context! {
            static_base => web.pages.static_base, stylesheet => STYLESHEET, csrf,
            op, title, action, items, from, to,
            from_path, to_path,
            side => cx.side.name(), left => cx.panes.left.encode(),
            right => cx.panes.right.encode(), back => cx.panes.url(&[]),
        },
    );
    super::render::with_cookie(page, cookie)
}

/// A pane's endpoint by name (its id when it cannot be read) and its folder as an absolute
/// path; empty for no endpoint.
async fn endpoint_name<H: Host>(web: &Web<H>, pane: &super::pane::PaneState) -> (String, String) {
    let Some(id) = pane.endpoint else {
        return (String::new(), String::new());
    };
    match load(&web.transfer, &id.to_string()).await {
        Ok(e) => {
            let path = crate::service::endpoints::resolve(&e, Some(&pane.path))
                .map(|p| p.to_api())
                .unwrap_or_else(|_| pane.path.clone());
            (e.display_name, path)
        }
        Err(_) => (id.to_string(), pane.path.clone()),
    }
}

pub(super) async fn rename<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let (person, cx) = match start(&web, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pane = cx.panes.get(cx.side);
    let result = async {
        let old = selection(&f)?
            .into_iter()
            .next()
            .map(|s| s.name)
            .unwrap_or_default();
        let new = name(f.get("new_name"))?;
        let e = load(
            &web.transfer,
            &pane.endpoint.unwrap_or_default().to_string(),
        )
        .await?;
        let dir = crate::service::endpoints::resolve(&e, Some(&pane.path))?.to_api();
        operations::rename(
            &web.transfer,
            &caller(&person),
            &e,
            &child(&dir, &old),
            &child(&dir, new),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => see_other(&cx.panes.url(&[("done", "rename")])),
        Err(e) => refused(&web, &headers, &person, &cx.panes, "renaming", e).await,
    }
}

pub(super) async fn delete<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let (person, cx) = match start(&web, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pane = cx.panes.get(cx.side);
    let result = async {
        let items = selection(&f)?;
        let e = load(
            &web.transfer,
            &pane.endpoint.unwrap_or_default().to_string(),
        )
        .await?;
        let dir = crate::service::endpoints::resolve(&e, Some(&pane.path))?.to_api();
        let s = DeleteSubmission {
            submission_id: Some(web.transfer.rng.uuid_v4().to_string()),
            endpoint: Some(e.id.to_string()),
            data: items
                .iter()
                .map(|i| DeleteItem {
                    path: child(&dir, &i.name),
                })
                .collect(),
            label: Some(format!("Delete from {}", e.display_name))
                .map(|l| l.chars().take(128).collect::<String>().trim().to_owned()),
            recursive: Some(true),
            ..DeleteSubmission::default()
        };
        submit::delete(&web.transfer, &caller(&person), s).await
    }
    .await;
    match result {
        Ok((_, task)) => {
            let id = task.id.to_string();
            see_other(&cx.panes.url(&[("done", "delete"), ("task", &id)]))
        }
        Err(e) => refused(&web, &headers, &person, &cx.panes, "deleting", e).await,
    }
}

pub(super) async fn transfer<H: Host>(
    State(web): State<Web<H>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(form);
    let (person, cx) = match start(&web, &headers, &f).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (from, to) = (cx.panes.get(cx.side), cx.panes.get(cx.side.other()));
    let result = async {
        let items = selection(&f)?;
        let Some(dst_id) = to.endpoint else {
            return Err(ApiError::bad_request(
                "choose a destination endpoint in the other pane first",
            ));
        };
        let src = load(
            &web.transfer,
            &from.endpoint.unwrap_or_default().to_string(),
        )
        .await?;
        let dst = load(&web.transfer, &dst_id.to_string()).await?;
        let src_dir = crate::service::endpoints::resolve(&src, Some(&from.path))?.to_api();
        let dst_dir = crate::service::endpoints::resolve(&dst, Some(&to.path))?.to_api();
        let sync_level = match f.get("sync_level") {
            "" => None,
            level => Some(
                level
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request("sync_level must be 0, 1, 2 or 3"))?,
            ),
        };
        let label = Some(f.get("label").to_owned()).filter(|l| !l.is_empty());
        let s = TransferSubmission {
            submission_id: Some(web.transfer.rng.uuid_v4().to_string()),
            source_endpoint: Some(src.id.to_string()),
            destination_endpoint: Some(dst.id.to_string()),
            data: items
                .iter()
                .map(|i| TransferItem {
                    data_type: Some("transfer_item".into()),
                    source_path: child(&src_dir, &i.name),
                    destination_path: child(&dst_dir, &i.name),
                    recursive: Some(i.is_dir),
                    ..TransferItem::default()
                })
                .collect(),
            label,
            sync_level,
            verify_checksum: Some(f.ticked("verify_checksum")),
            preserve_timestamp: Some(f.ticked("preserve_timestamp")),
            delete_destination_extra: Some(f.ticked("delete_destination_extra")),
            ..TransferSubmission::default()
        };
        submit::transfer(&web.transfer, &caller(&person), s).await
    }
    .await;
    match result {
        Ok((_, task)) => {
            let id = task.id.to_string();
            see_other(&cx.panes.url(&[("done", "transfer"), ("task", &id)]))
        }
        Err(e) => refused(&web, &headers, &person, &cx.panes, "a transfer", e).await,
    }
}
