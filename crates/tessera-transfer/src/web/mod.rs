//! The file manager and activity pages for people: two panes of endpoints
//! (`/v2/web/files`), a person's tasks with live progress (`/v2/web/activity`), and sharing a
//! folder (`/v2/web/shares/{id}`), server-rendered forms that work without JavaScript.
//!
//! Who is signed in is not this crate's business: the browser session belongs to the auth
//! server. The pages ask a [`Host`] (the `tessera` binary implements it over tessera-auth's
//! sessions and CSRF cookies) and then act as that person through the very service functions
//! the API uses ([`crate::service`]), with a [`Caller`] holding the person's identity set: the
//! permission rules are the API's.

mod activity;
mod files;
mod forms;
mod ops;
mod pane;
mod picker;
mod render;
mod share;

use crate::http::Caller;
use crate::TransferState;
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

pub use render::Layout;

/// The signed-in person, as the host knows them.
#[derive(Debug, Clone)]
pub struct Person {
    /// The identity they signed in with.
    pub id: Uuid,
    pub username: String,
    /// `id` and every identity linked with it.
    pub identities: Vec<Uuid>,
}

/// What the pages need from whoever owns the browser session.
pub trait Host: Clone + Send + Sync + 'static {
    /// The person signed in on this browser, or `None`. An `Err` is an internal failure.
    fn person(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<Person>, String>> + Send;
    /// The request's CSRF token, and the cookie to set when it is new.
    fn csrf(&self, headers: &HeaderMap) -> (String, Option<HeaderValue>);
    /// Whether a submitted form's CSRF token matches the request's cookie.
    fn csrf_ok(&self, headers: &HeaderMap, submitted: Option<&str>) -> bool;
    /// The sign-in page, coming back to `next` (a path on this site) afterwards.
    fn sign_in_url(&self, next: &str) -> String;
}

/// What the page handlers share.
#[derive(Clone)]
pub(crate) struct Web<H> {
    pub(crate) transfer: TransferState,
    pub(crate) host: H,
    pub(crate) pages: Arc<render::Pages>,
}

/// The file manager; the front door links here.
pub const FILES_PAGE: &str = "/v2/web/files";
/// The person's tasks; the front door links here.
pub const ACTIVITY_PAGE: &str = "/v2/web/activity";
/// The pages' own stylesheet (panes and tables), beside the site's.
const STYLESHEET: &str = "/v2/web/files.css";

/// The page routes, to be merged beside the API's. Fails when a template does not parse.
pub fn router<H: Host>(
    transfer: TransferState,
    host: H,
    layout: Layout,
) -> Result<Router, minijinja::Error> {
    let web = Web {
        transfer,
        host,
        pages: Arc::new(render::Pages::new(layout, &render::TEMPLATES, "transfer")?),
    };
    Ok(Router::new()
        .route(STYLESHEET, get(render::stylesheet))
        .route(FILES_PAGE, get(files::show::<H>))
        .route("/v2/web/files/mkdir", post(ops::mkdir::<H>))
        .route("/v2/web/files/act", post(ops::act::<H>))
        .route("/v2/web/files/rename", post(ops::rename::<H>))
        .route("/v2/web/files/delete", post(ops::delete::<H>))
        .route("/v2/web/files/transfer", post(ops::transfer::<H>))
        .route(
            "/v2/web/files/share",
            get(share::new::<H>).post(share::create::<H>),
        )
        .route("/v2/web/shares/{id}", get(share::show::<H>))
        .route("/v2/web/shares/{id}/access", post(share::add::<H>))
        .route(
            "/v2/web/shares/{id}/access/{rule}/delete",
            post(share::remove::<H>),
        )
        .route(ACTIVITY_PAGE, get(activity::list::<H>))
        .route("/v2/web/activity/{id}", get(activity::show::<H>))
        .route("/v2/web/activity/{id}/cancel", post(activity::cancel::<H>))
        .with_state(web))
}

/// The person as a caller of the service: their identity set, as a token of theirs with the
/// Transfer scope would be.
fn caller(p: &Person) -> Caller {
    Caller {
        id: p.id,
        username: p.username.clone(),
        identities: p.identities.clone(),
    }
}

/// The path of a task's page.
fn task_path(id: Uuid) -> String {
    format!("{ACTIVITY_PAGE}/{id}")
}
