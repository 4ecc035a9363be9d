//! Rendering the file manager pages: this crate's templates inside the site's layout through
//! tessera-pages, like the groups pages; the stylesheet and live refresh are its own.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
pub use tessera_pages::Layout;
pub(crate) use tessera_pages::{see_other, with_cookie, Pages};

pub(crate) const TEMPLATES: [(&str, &str); 6] = [
    ("files.html", include_str!("../../templates/files.html")),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    (
        "activity.html",
        include_str!("../../templates/activity.html"),
    ),
    ("task.html", include_str!("../../templates/task.html")),
    (
        "share_new.html",
        include_str!("../../templates/share_new.html"),
    ),
    ("share.html", include_str!("../../templates/share.html")),
];

const CSS: &str = include_str!("../../templates/files.css");

/// `GET /v2/web/files.css`: the panes, tables and progress bars.
pub(crate) async fn stylesheet() -> Response {
    let mut r = CSS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Asks the browser to load the page again after `seconds` (live progress without scripts).
pub(crate) fn with_refresh(mut r: Response, seconds: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::REFRESH, v);
    }
    r
}
