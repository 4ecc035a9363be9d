//! The Transfer API driven with `oneshot`, authenticated by a real guard against a real
//! Tessera authorization server on 127.0.0.1:0, on real directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod endpoint_manager;
mod harness;
mod hostile;
mod https;
mod pause_ops;
mod progress;
mod tasks;
