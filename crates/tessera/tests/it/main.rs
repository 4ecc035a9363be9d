//! End-to-end tests: the real `tessera` binary on 127.0.0.1:0, driven over HTTP and through
//! its own subcommands, as an operator and a client would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clients;
mod cluster;
mod commands;
mod config;
mod connector_access;
mod connector_batch;
mod connector_failover;
mod connector_hosts;
mod connectors;
mod crash;
mod device;
#[path = "../../../tessera-auth/tests/it/dns_server.rs"]
mod dns_server;
mod fqdns;
mod group_pages;
mod groups;
mod https;
mod keys;
mod login;
mod observe;
mod process;
mod readme;
mod scope_rules;
mod sdk;
mod serve;
mod transfer;
mod transfer_cli;
mod transfer_cluster;
mod transfer_groups;
mod transfer_pages;
mod transfer_recheck;
mod upstream;
