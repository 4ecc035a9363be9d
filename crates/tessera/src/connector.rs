//! `tessera connector run` (the agent on a storage host) and `tessera admin connector …`.

use crate::admin::open;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use tessera::cli::{AdminConnector, ConnectorRunArgs};
use tessera_connector::admin;
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;

pub(crate) async fn run(args: ConnectorRunArgs) -> Result<()> {
    let id = uuid::Uuid::parse_str(args.id.trim())
        .context("TESSERA_CONNECTOR_ID must be the connector's id (a UUID)")?;
    if !args.secret.starts_with(admin::SECRET_PREFIX) {
        anyhow::bail!("TESSERA_CONNECTOR_SECRET is not a connector secret");
    }
    let config = tessera_connector::agent::Config {
        id,
        secret: Secret::new(args.secret),
        server: args.server,
        listen: args.listen,
        public_url: args.public_url,
        state_dir: args.state_dir,
    };
    tessera_connector::agent::run(config, None)
        .await
        .context("running the connector")
}

pub(crate) async fn admin(command: AdminConnector) -> Result<Value> {
    match command {
        AdminConnector::Add { name, store } => {
            let store = open(&store).await?;
            let (c, secret) = admin::add(store.as_ref(), &SystemClock, &OsRandom, &name).await?;
            Ok(admin::added_document(&c, &secret))
        }
        AdminConnector::List { store } => {
            let store = open(&store).await?;
            let all = store.connectors().await?;
            Ok(json!({"connectors": all.iter().map(admin::document).collect::<Vec<_>>()}))
        }
        AdminConnector::Remove { id, store } => {
            let store = open(&store).await?;
            let c = admin::remove(store.as_ref(), &id).await?;
            Ok(json!({"removed": c.id.to_string()}))
        }
    }
}
