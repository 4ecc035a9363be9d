//! Storage connectors (issue 13): the agent that runs on a storage host (`tessera connector
//! run`), the service's side of it, and the direct data plane between two connectors.
//!
//! - `capability`: what the service allows one request to do, signed per connector.
//! - `wire`: the documents and routes both sides speak.
//! - `stream` / `wire_batch`: the batch data plane for many small files (one multi-file job to
//!   the destination, one stream of files from the source).
//! - `pin`: TLS to a connector, trusting exactly the certificate it stated at check-in.
//! - `admin`: `tessera admin connector add|list|remove`.
//! - `service/`: inside `tessera serve`: the check-in route (`POST /connector/v1/poll`), and the
//!   [`tessera_transfer::connectors::ConnectorHub`] the Transfer service uses: a `Storage` over
//!   HTTP to a connector (`remote.rs`) and direct copies between two connectors (`direct.rs`).
//! - `agent/`: the connector itself: its HTTP server (file operations under capabilities,
//!   ranged reads, pull jobs), the pull (parallel ranged GETs from the source connector, written
//!   in order, resumed from a verified prefix; over TLS with `encrypt_data`), the check-in loop
//!   with its report buffer, and its certificate and listener (`tls.rs`).

pub mod admin;
pub mod agent;
pub mod capability;
pub mod pin;
pub mod service;
pub mod stream;
pub mod wire;
pub mod wire_batch;
