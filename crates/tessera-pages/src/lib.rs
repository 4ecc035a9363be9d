//! Pages that a service crate (the groups pages, the file manager) serves on the site: its own
//! templates inside the site's layout, which the host passes in (tessera-auth's `base.html` and
//! `error.html`), so the pages look like the others, with the site's page headers.

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

/// The site's page headers: our stylesheet only, no scripts, forms post to this site only, no
/// framing, never cached.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One crate's pages: its templates in the layout's environment.
pub struct Pages {
    env: Environment<'static>,
    pub static_base: &'static str,
    /// What the pages are, for the log ("groups", "transfer").
    what: &'static str,
}

impl Pages {
    /// The layout's templates and `own` (which may extend `base.html`), all parsed now.
    pub fn new(
        layout: Layout,
        own: &'static [(&'static str, &'static str)],
        what: &'static str,
    ) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in layout.templates.iter().chain(own.iter()) {
            env.add_template(name, source)?;
        }
        for name in ["base.html", "error.html"] {
            env.get_template(name)?;
        }
        Ok(Self {
            env,
            static_base: layout.static_base,
            what,
        })
    }

    pub fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => page(status, html),
            Err(e) => {
                tracing::error!(error = %e, template = name, pages = self.what, "rendering a page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
                )
            }
        }
    }

    pub fn error(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render(
            status,
            "error.html",
            minijinja::context! { title, message, static_base => self.static_base },
        )
    }

    /// An internal failure: logged, shown as a plain 500 page.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) -> Response {
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
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Adds the `Set-Cookie` of a new CSRF token, if there is one.
pub fn with_cookie(mut r: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}
