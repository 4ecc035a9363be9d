//! File operations (spec §3): ls, mkdir, rename, stat. Storage calls are blocking and run on
//! the blocking pool.

use super::{docs, params, Caller, Params};
use crate::error::{ApiError, Op};
use crate::service::endpoints::{self as svc, load};
use crate::service::listing::{self, Filter, Order};
use crate::service::operations::{self as ops, blocking};
use crate::service::pause_ops::{refuse_if_paused, Paused};
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;
use tessera_proto::transfer::{FileList, MkdirRequest, RenameRequest};

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/operation/endpoint/{id}/ls", get(ls)),
        ("/operation/endpoint/{id}/stat", get(stat)),
        ("/operation/endpoint/{id}/mkdir", post(mkdir)),
        ("/operation/endpoint/{id}/rename", post(rename)),
    ]
}

#[utoipa::path(
    get,
    path = "/v0.10/operation/endpoint/{id}/ls",
    tag = "transfer_operations",
    operation_id = "operation_ls",
    summary = "List a directory (`file_list`); filters `name:`, `type:` (repeatable), orderby",
    params(("id" = String, Path, description = "The endpoint id"), ("path" = Option<String>, Query, description = "A path in the endpoint's namespace"), ("show_hidden" = Option<String>, Query, description = "Show dot files (default true)"), ("limit" = Option<String>, Query, description = "Page size"), ("offset" = Option<String>, Query, description = "Offset of the page"), ("orderby" = Option<String>, Query, description = "e.g. `request_time DESC`"), ("filter" = Option<String>, Query, description = "Filter clauses (see the summary)")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn ls(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Answer {
    let e = load(&state, &id).await?;
    let path = svc::resolve(&e, params.get("path"))?;
    let show_hidden = params.bool("show_hidden")?.unwrap_or(true);
    let filters = params
        .all("filter")
        .into_iter()
        .map(Filter::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let order = Order::parse(params.get("orderby"))?;
    let limit = params.int("limit", 100_000, 100_000)?;
    let offset = params.int("offset", 0, i64::MAX)?;
    let entries = ops::list(&state, &caller, &e, &path).await?;
    let (page, total) = listing::select(
        entries,
        show_hidden,
        &filters,
        &order,
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    let mut shown = path.to_api();
    if !shown.ends_with('/') {
        shown.push('/');
    }
    let data: Vec<_> = page.iter().map(docs::file).collect();
    let list = FileList {
        data_type: "file_list".into(),
        endpoint: e.id.to_string(),
        path: shown,
        absolute_path: None,
        rename_supported: true,
        symlink_supported: false,
        length: data.len(),
        total,
        data,
    };
    Ok(Json(
        serde_json::to_value(list).map_err(ApiError::internal)?,
    ))
}

#[utoipa::path(
    get,
    path = "/v0.10/operation/endpoint/{id}/stat",
    tag = "transfer_operations",
    operation_id = "operation_stat",
    summary = "One file document",
    params(("id" = String, Path, description = "The endpoint id"), ("path" = Option<String>, Query, description = "A path in the endpoint's namespace")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn stat(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Answer {
    let e = load(&state, &id).await?;
    let path = svc::resolve(&e, params.get("path"))?;
    svc::require(
        &state,
        &caller,
        &e,
        &path,
        false,
        "EndpointPermissionDenied",
    )
    .await?;
    // stat is a listing of one entry: pause_ls stops it too.
    refuse_if_paused(&state, &e, &caller.identities, Paused::Ls).await?;
    let storage = svc::open(&state, &e).await?;
    let target = path.clone();
    let mut entry = blocking(Op::Stat, move || storage.stat(&target)).await?;
    entry.name = path.name().unwrap_or("/").to_owned();
    Ok(Json(
        serde_json::to_value(docs::file(&entry)).map_err(ApiError::internal)?,
    ))
}

#[utoipa::path(
    post,
    path = "/v0.10/operation/endpoint/{id}/mkdir",
    tag = "transfer_operations",
    operation_id = "operation_mkdir",
    summary = "Make a directory (`{\"DATA_TYPE\":\"mkdir\",\"path\"}`)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn mkdir(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let request: MkdirRequest = params::json(&body)?;
    let e = load(&state, &id).await?;
    let raw = request
        .path
        .ok_or_else(|| ApiError::bad_request("path is required"))?;
    ops::mkdir(&state, &caller, &e, &raw).await?;
    Ok(Json(docs::result(
        "mkdir_result",
        "DirectoryCreated",
        "The directory was created successfully",
        uri.path(),
    )))
}

#[utoipa::path(
    post,
    path = "/v0.10/operation/endpoint/{id}/rename",
    tag = "transfer_operations",
    operation_id = "operation_rename",
    summary = "Rename a path (`{\"DATA_TYPE\":\"rename\",\"old_path\",\"new_path\"}`)",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn rename(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Answer {
    let request: RenameRequest = params::json(&body)?;
    let e = load(&state, &id).await?;
    let (Some(old), Some(new)) = (request.old_path, request.new_path) else {
        return Err(ApiError::bad_request("old_path and new_path are required"));
    };
    ops::rename(&state, &caller, &e, &old, &new).await?;
    Ok(Json(docs::result(
        "result",
        "FileRenamed",
        "File or directory renamed successfully",
        uri.path(),
    )))
}
