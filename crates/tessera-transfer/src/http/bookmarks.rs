//! Bookmarks (spec §6), private to their owner (any identity of the caller's set).

use super::{docs, params, Caller};
use crate::error::ApiError;
use crate::service::endpoints::load;
use crate::storage::RelPath;
use crate::TransferState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tessera_proto::transfer::BookmarkDoc;
use tessera_store::transfer::BookmarkRecord;
use tessera_store::StoreError;
use uuid::Uuid;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![
        ("/bookmark_list", get(list)),
        ("/bookmark", post(create)),
        ("/bookmark/{id}", get(show).put(update).delete(remove)),
    ]
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("BookmarkNotFound", format!("No such bookmark '{id}'"))
}

fn name(raw: Option<&str>) -> Result<String, ApiError> {
    let n = raw.unwrap_or("");
    if n.trim().is_empty()
        || n.trim() != n
        || n.chars().count() > 128
        || n.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "name must be 1 to 128 printable characters without leading or trailing whitespace",
        ));
    }
    Ok(n.to_owned())
}

/// The caller's bookmark `id`; someone else's is as unknown as a missing one.
async fn find(
    state: &TransferState,
    caller: &Caller,
    id: &str,
) -> Result<BookmarkRecord, ApiError> {
    let wanted = Uuid::parse_str(id.trim()).map_err(|_| not_found(id))?;
    state
        .store
        .bookmarks_of(&caller.identities)
        .await?
        .into_iter()
        .find(|b| b.id == wanted)
        .ok_or_else(|| not_found(id))
}

#[utoipa::path(
    get,
    path = "/v0.10/bookmark_list",
    tag = "transfer_bookmarks",
    operation_id = "bookmark_list",
    summary = "The caller's bookmarks",
    responses((status = 200, description = "The documentlist", body = crate::http::openapi::DocumentList)),
    security(("bearer" = []))
)]
pub(crate) async fn list(State(state): State<TransferState>, caller: Caller) -> Answer {
    let data: Vec<Value> = state
        .store
        .bookmarks_of(&caller.identities)
        .await?
        .iter()
        .map(docs::bookmark)
        .collect();
    Ok(Json(json!({"DATA_TYPE": "bookmark_list", "DATA": data})))
}

#[utoipa::path(
    get,
    path = "/v0.10/bookmark/{id}",
    tag = "transfer_bookmarks",
    operation_id = "get_bookmark",
    summary = "One of the caller's bookmarks",
    params(("id" = String, Path, description = "The bookmark id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    Ok(Json(docs::bookmark(&find(&state, &caller, &id).await?)))
}

#[utoipa::path(
    post,
    path = "/v0.10/bookmark",
    tag = "transfer_bookmarks",
    operation_id = "create_bookmark",
    summary = "Create a bookmark (`endpoint_id`, `path`, `name`)",
    responses((status = 201, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<TransferState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let doc: BookmarkDoc = params::json(&body)?;
    let name = name(doc.name.as_deref())?;
    let endpoint = load(&state, doc.endpoint_id.as_deref().unwrap_or("")).await?;
    let raw = doc.path.as_deref().unwrap_or("");
    if !raw.starts_with('/') {
        return Err(ApiError::bad_request("path must be absolute"));
    }
    let mut path = RelPath::parse(raw)
        .map_err(|e| ApiError::bad_request(format!("Invalid path: {e}")))?
        .to_api();
    if !path.ends_with('/') {
        path.push('/');
    }
    let b = BookmarkRecord {
        id: state.rng.uuid_v4(),
        owner_id: caller.id,
        name,
        endpoint_id: endpoint.id,
        path,
        created_at: state.clock.now(),
    };
    match state.store.insert_bookmark(&b).await {
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "Exists",
                "You have a bookmark of that name",
            ))
        }
        other => other?,
    }
    Ok((StatusCode::CREATED, Json(docs::bookmark(&b))))
}

#[utoipa::path(
    put,
    path = "/v0.10/bookmark/{id}",
    tag = "transfer_bookmarks",
    operation_id = "update_bookmark",
    summary = "Rename a bookmark",
    params(("id" = String, Path, description = "The bookmark id")),
    responses((status = 200, description = "The document", body = crate::http::openapi::Document)),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let doc: BookmarkDoc = params::json(&body)?;
    let mut b = find(&state, &caller, &id).await?;
    if doc.name.is_some() {
        b.name = name(doc.name.as_deref())?;
    }
    match state.store.update_bookmark(&b).await {
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "Exists",
                "You have a bookmark of that name",
            ))
        }
        other => other?,
    };
    Ok(Json(docs::bookmark(&b)))
}

#[utoipa::path(
    delete,
    path = "/v0.10/bookmark/{id}",
    tag = "transfer_bookmarks",
    operation_id = "delete_bookmark",
    summary = "Delete a bookmark",
    params(("id" = String, Path, description = "The bookmark id")),
    responses((status = 200, description = "The resultdoc", body = crate::http::openapi::ResultDoc)),
    security(("bearer" = []))
)]
pub(crate) async fn remove(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let b = find(&state, &caller, &id).await?;
    state.store.delete_bookmark(b.id).await?;
    Ok(Json(docs::result(
        "result",
        "Deleted",
        "Bookmark deleted successfully",
        uri.path(),
    )))
}
