//! Handler tests: the real router on a real SQLite file, driven with `oneshot` (no sockets),
//! with an injected clock so expiry is tested without sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod client_auth;
mod client_deletion;
mod cluster;
mod console;
mod dependent;
mod device;
mod discovery;
mod dns_server;
mod flows;
mod fqdns;
mod group_scopes;
mod harness;
mod home;
mod jwt;
mod linking;
mod logout;
mod oauth;
mod observe;
mod openapi;
mod projects;
mod proxies;
mod registration;
mod secrets;
mod session_mfa;
mod upstream;
