//! Rendering pages from the templates in `crates/tessera-auth/templates/` (compiled in).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value};

const TEMPLATES: [(&str, &str); 20] = [
    ("base.html", include_str!("../../../templates/base.html")),
    ("login.html", include_str!("../../../templates/login.html")),
    (
        "consent.html",
        include_str!("../../../templates/consent.html"),
    ),
    (
        "auth_code.html",
        include_str!("../../../templates/auth_code.html"),
    ),
    ("error.html", include_str!("../../../templates/error.html")),
    (
        "logout.html",
        include_str!("../../../templates/logout.html"),
    ),
    (
        "account.html",
        include_str!("../../../templates/account.html"),
    ),
    (
        "account_parts.html",
        include_str!("../../../templates/account_parts.html"),
    ),
    ("home.html", include_str!("../../../templates/home.html")),
    ("mfa.html", include_str!("../../../templates/mfa.html")),
    (
        "account_mfa.html",
        include_str!("../../../templates/account_mfa.html"),
    ),
    (
        "device.html",
        include_str!("../../../templates/device.html"),
    ),
    (
        "console/projects.html",
        include_str!("../../../templates/console/projects.html"),
    ),
    (
        "console/project.html",
        include_str!("../../../templates/console/project.html"),
    ),
    (
        "console/app.html",
        include_str!("../../../templates/console/app.html"),
    ),
    (
        "console/scope.html",
        include_str!("../../../templates/console/scope.html"),
    ),
    (
        "console/policy.html",
        include_str!("../../../templates/console/policy.html"),
    ),
    (
        "console/parts.html",
        include_str!("../../../templates/console/parts.html"),
    ),
    (
        "console/policy_fields.html",
        include_str!("../../../templates/console/policy_fields.html"),
    ),
    (
        "console/confirm.html",
        include_str!("../../../templates/console/confirm.html"),
    ),
];

/// The site's layout, for the pages of other services (tessera-groups' pages extend it, so
/// every page looks the same): `base.html` and `error.html`.
pub const LAYOUT: [(&str, &str); 2] = [
    ("base.html", include_str!("../../../templates/base.html")),
    ("error.html", include_str!("../../../templates/error.html")),
];

const STYLE: &str = include_str!("../../../templates/style.css");
pub const STATIC_BASE: &str = "/v2/web/static";

/// Only our own stylesheet; no scripts at all; forms may post anywhere (a consent answer
/// redirects to the client), and nobody may frame us.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action *; frame-ancestors 'none'; base-uri 'none'";

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        // Every template must at least parse and render its layout: fail at start, not on a user.
        Ok(Self { env })
    }

    /// A page response. A template error is logged and answered with a bare 500.
    pub fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        let rendered = self.env.get_template(name).and_then(|t| t.render(ctx));
        match rendered {
            Ok(html) => page(status, html),
            Err(e) => {
                tracing::error!(error = %e, template = name, "rendering a page failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
                )
            }
        }
    }

    /// An internal failure on a page: logged with what failed, shown as a plain 500 page.
    pub fn failed(&self, what: &str, error: &dyn std::fmt::Display) -> Response {
        tracing::error!(%error, "{what} failed");
        self.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again.",
        )
    }

    pub fn error(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render(
            status,
            "error.html",
            minijinja::context! { title, message, static_base => STATIC_BASE },
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

const CONSOLE_SCRIPT: &str = include_str!("../../../templates/console/console.js");

/// The console's CSP: the pages' own, with this site's scripts allowed (the copy button).
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The developer console's script (`console.js`): progressive enhancement only.
pub async fn console_script() -> Response {
    let mut r = CONSOLE_SCRIPT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

pub async fn stylesheet() -> Response {
    let mut r = STYLE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// 303 See Other to `location` (after a POST the browser must GET), optionally setting cookies.
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(mut r: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    for c in cookies {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}
