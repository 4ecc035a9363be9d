//! The Transfer rules between the handlers and the store: endpoint lookup and permissions,
//! path resolution, endpoint search, `ls` selection, file operations, submissions, tasks,
//! shared endpoints and access rules. The API's handlers and the pages (`crate::web`) both call
//! these, as the caller, so nothing is decided twice. The endpoint managers' rules: manager.rs
//! roles and scope, manager_query.rs task list filters, pause.rs what holds a task,
//! pause_ops.rs which operations a pause rule stops.

pub mod access;
pub mod admin;
pub mod endpoints;
pub mod listing;
pub mod manager;
pub mod manager_query;
pub mod operations;
pub mod pause;
pub mod pause_ops;
pub mod search;
pub mod shares;
pub mod submit;
pub mod tasks;
