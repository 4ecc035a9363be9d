//! Storage connectors (issue 13): the agent that runs on a storage host (`tessera connector
//! run`), the service's side of it, and the direct data plane between two connectors.
//!
//! - `capability`: what the service allows one request to do, signed per connector.
//! - `wire`: the documents and routes both sides speak.
//! - `admin`: `tessera admin connector add|list|remove`.
//! - `service/`: inside `tessera serve`: the check-in route (`POST /connector/v1/poll`), and the
//!   [`tessera_transfer::connectors::ConnectorHub`] the Transfer service uses: a `Storage` over
//!   HTTP to a connector (`remote.rs`) and direct copies between two connectors (`direct.rs`).
//! - `agent/`: the connector itself: its HTTP server (file operations under capabilities,
//!   ranged reads, pull jobs), the pull (parallel ranged GETs from the source connector, written
//!   in order, resumed from a verified prefix) and the check-in loop with its report buffer.

pub mod admin;
pub mod agent;
pub mod capability;
pub mod service;
pub mod wire;
