//! The groups pages for people: "Your groups" (`/v2/web/groups`) and a group's page
//! (`/v2/web/groups/{id}`), server-rendered forms without JavaScript.
//!
//! Who is signed in is not this crate's business: the browser session belongs to the auth
//! server. The pages ask a [`Host`] (the `tessera` binary implements it over tessera-auth's
//! sessions and CSRF cookies) and then act as that person through the very service functions
//! the API uses ([`crate::service`]), with a [`Caller`] holding the person's identity set and
//! the `all` scope: the rules, visibility included, are the API's.

mod act;
mod group;
mod list;
mod render;
mod view;

use crate::caller::{Caller, SCOPE_ALL};
use crate::GroupsState;
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
    pub(crate) groups: GroupsState,
    pub(crate) host: H,
    pub(crate) pages: Arc<render::Pages>,
}

/// Where "Your groups" is; the front door links here.
pub const GROUPS_PAGE: &str = "/v2/web/groups";

/// The page routes, to be merged beside the API's. Fails when a template does not parse.
pub fn router<H: Host>(
    groups: GroupsState,
    host: H,
    layout: Layout,
) -> Result<Router, minijinja::Error> {
    let web = Web {
        groups,
        host,
        pages: Arc::new(render::Pages::new(layout, &render::TEMPLATES, "groups")?),
    };
    Ok(Router::new()
        .route(GROUPS_PAGE, get(list::show::<H>).post(list::create::<H>))
        .route("/v2/web/groups/{group_id}", get(group::show::<H>))
        .route("/v2/web/groups/{group_id}/members", post(act::members::<H>))
        .route("/v2/web/groups/{group_id}/invite", post(act::invite::<H>))
        .with_state(web))
}

/// The person as a caller of the service: their identity set, allowed everything a token with
/// the `all` scope allows.
fn caller(p: &Person) -> Caller {
    Caller {
        id: p.id,
        identities: p.identities.clone(),
        scopes: vec![SCOPE_ALL.to_owned()],
    }
}

/// The path of a group's page.
fn group_path(id: Uuid) -> String {
    format!("{GROUPS_PAGE}/{id}")
}
