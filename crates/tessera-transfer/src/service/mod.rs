//! The Transfer rules between the handlers and the store: endpoint lookup and permissions,
//! path resolution, endpoint search, `ls` selection, submissions.

pub mod admin;
pub mod endpoints;
pub mod listing;
pub mod search;
pub mod submit;
