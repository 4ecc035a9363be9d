//! Templates (compiled in, HTML-escaped by minijinja) and the error page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use std::sync::Arc;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("datasets.html", include_str!("../templates/datasets.html")),
    ("transfer.html", include_str!("../templates/transfer.html")),
    ("task.html", include_str!("../templates/task.html")),
    ("graph.html", include_str!("../templates/graph.html")),
    ("error.html", include_str!("../templates/error.html")),
];

pub(crate) const STYLE: &str = include_str!("../templates/style.css");

#[derive(Clone)]
pub(crate) struct Pages(Arc<Environment<'static>>);

impl Pages {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self(Arc::new(env)))
    }

    /// `name` rendered with `ctx`, or a plain 500 (a template bug, logged).
    pub(crate) fn render(&self, name: &str, ctx: impl Serialize) -> Response {
        match self
            .0
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from_serialize(&ctx)))
        {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "portal: a page did not render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be shown",
                )
                    .into_response()
            }
        }
    }

    /// The error page: `status`, a title and what the person can do.
    pub(crate) fn error(
        &self,
        status: StatusCode,
        title: &str,
        detail: &str,
        user: Option<&str>,
        csrf: Option<&str>,
    ) -> Response {
        let mut r = self.render(
            "error.html",
            serde_json::json!({"title": title, "detail": detail, "user": user, "csrf": csrf}),
        );
        *r.status_mut() = status;
        r
    }
}
