//! Rendering the file manager pages: this crate's templates inside the site's layout, which the host
//! passes in (tessera-auth's `base.html` and `error.html`), so the pages look like the others.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value};

/// The site's layout: templates named `base.html` (which ours extend) and `error.html`
/// (`title`, `message`), and where the stylesheet is served.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub templates: &'static [(&'static str, &'static str)],
    pub static_base: &'static str,
}

const TEMPLATES: [(&str, &str); 6] = [
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

/// The site's page headers: our stylesheet only, no scripts, forms post to this site only, no
/// framing, never cached.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) struct Pages {
    env: Environment<'static>,
    pub(crate) static_base: &'static str,
}

impl Pages {
    pub(crate) fn new(layout: Layout) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in layout.templates.iter().chain(TEMPLATES.iter()) {
            env.add_template(name, source)?;
        }
        for name in ["base.html", "error.html"] {
            env.get_template(name)?;
        }
        Ok(Self {
            env,
            static_base: layout.static_base,
        })
    }

    pub(crate) fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => page(status, html),
            Err(e) => {
                tracing::error!(error = %e, template = name, "rendering a transfer page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
                )
            }
        }
    }

    pub(crate) fn error(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render(
            status,
            "error.html",
            minijinja::context! { title, message, static_base => self.static_base },
        )
    }

    /// An internal failure: logged, shown as a plain 500 page.
    pub(crate) fn failed(&self, what: &str, error: &dyn std::fmt::Display) -> Response {
        tracing::error!(%error, "{what} failed");
        self.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again.",
        )
    }
}

fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// 303 See Other to a path of this site (after a POST the browser must GET).
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Adds the `Set-Cookie` of a new CSRF token, if there is one.
pub(crate) fn with_cookie(mut r: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}
