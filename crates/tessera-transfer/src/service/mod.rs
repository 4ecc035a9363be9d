//! The Transfer rules between the handlers and the store: endpoint lookup and permissions,
//! path resolution, endpoint search, `ls` selection, submissions; the endpoint managers' rules (manager.rs roles and scope,
//! manager_query.rs task list filters, pause.rs what holds a task).

pub mod admin;
pub mod endpoints;
pub mod listing;
pub mod manager;
pub mod manager_query;
pub mod pause;
pub mod search;
pub mod submit;
