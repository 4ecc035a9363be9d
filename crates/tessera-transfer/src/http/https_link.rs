//! `POST /endpoint/{id}/https_link`: a signed URL of one file's HTTPS access, for a browser that
//! holds no token (a portal's download link). The caller needs read permission on the path now,
//! and the identity the link is made for is judged again at every use.

use super::{params, Caller};
use crate::error::ApiError;
use crate::https::link::{self, Signed, MAX_EXPIRES_IN};
use crate::service::endpoints::{self as svc, load};
use crate::TransferState;
use axum::extract::{Path, State};
use axum::routing::{post, MethodRouter};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

/// Used when the request names no lifetime.
const DEFAULT_EXPIRES_IN: i64 = 300;

pub(super) fn routes() -> Vec<(&'static str, MethodRouter<TransferState>)> {
    vec![("/endpoint/{id}/https_link", post(create))]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    #[serde(default)]
    #[allow(dead_code)]
    #[serde(rename = "DATA_TYPE")]
    data_type: Option<String>,
    path: String,
    expires_in: Option<i64>,
}

async fn create(
    State(state): State<TransferState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: LinkRequest = params::json(&body)?;
    let expires_in = request.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
    if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
        return Err(ApiError::bad_request(format!(
            "expires_in must be 1 to {MAX_EXPIRES_IN} seconds"
        )));
    }
    let e = load(&state, &id).await?;
    let path = svc::resolve(&e, Some(&request.path))?;
    if path.is_root() {
        return Err(ApiError::bad_request("A link names a file, not the root"));
    }
    // The link is made for the first of the caller's identities that may read the path, so
    // the decision at use (for that one identity) is the one made here.
    let mut by = None;
    for identity in &caller.identities {
        let access = svc::access_of(&state, std::slice::from_ref(identity), &e, &path).await?;
        if access.allows_read() {
            by = Some(*identity);
            break;
        }
    }
    let Some(by) = by else {
        return Err(ApiError::forbidden(
            "EndpointPermissionDenied",
            format!(
                "You do not have read permission on {} of endpoint {}",
                path.to_api(),
                e.id
            ),
        ));
    };
    let exp = state.clock.now() + expires_in;
    let signed = Signed {
        sig: state.https.link_key.sign(e.id, &path, exp, by),
        exp,
        by,
    };
    let url = format!(
        "{}/{}?{}",
        crate::https::server_url(&state.https.public_url, e.id),
        link::url_path(&path),
        signed.to_query()
    );
    Ok(Json(json!({
        "DATA_TYPE": "https_link",
        "url": url,
        "path": path.to_api(),
        "expires_in": expires_in,
        "expires_at": crate::timefmt::iso(exp),
        "identity_id": by.to_string(),
    })))
}
