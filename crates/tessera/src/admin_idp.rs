//! `tessera admin idp …`: the upstream OpenID Connect identity providers.

use crate::admin::open;
use crate::cli::AdminIdp;
use crate::settings::{self, FileConfig};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::io::BufRead;
use tessera_auth::service::upstream::{self, NewIdp};
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_core::upstream::UpstreamIdp;

/// An IdP as the operator sees it: everything but the secret.
fn idp_object(i: &UpstreamIdp) -> Value {
    json!({
        "id": i.id.to_string(),
        "name": i.name,
        "issuer": i.issuer,
        "client_id": i.client_id,
        "domains": i.domains,
        "scopes": i.scopes,
        "username_claim": i.username_claim.as_deref().unwrap_or("preferred_username"),
        "trust_mfa": i.trust_mfa,
        "callback_path": upstream::callback_path(i.id),
        "created_at": tessera_core::clock::iso8601(i.created_at),
    })
}

pub(crate) async fn run(command: AdminIdp) -> Result<Value> {
    match command {
        AdminIdp::Add {
            name,
            issuer,
            client_id,
            client_secret_stdin: _,
            domains,
            scopes,
            username_claim,
            trust_mfa,
            store,
            keys,
        } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the client secret from standard input")?;
            let secret = Secret::new(line.trim_end_matches(['\r', '\n']));
            let file = FileConfig::load(store.config.as_deref())?;
            let db = settings::database(&store, &file)?;
            let master = settings::keys(&keys, &file, &db)?.master_key;
            let store = open(&store).await?;
            let idp = upstream::add(
                store.as_ref(),
                &SystemClock,
                &OsRandom,
                Some(&master),
                NewIdp {
                    name,
                    issuer,
                    client_id,
                    client_secret: secret,
                    domains,
                    scopes,
                    username_claim,
                    trust_mfa,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(idp_object(&idp))
        }
        AdminIdp::Id { issuer, store: _ } => {
            let id = upstream::idp_id(&issuer);
            Ok(json!({"id": id.to_string(), "callback_path": upstream::callback_path(id)}))
        }
        AdminIdp::List { store } => {
            let store = open(&store).await?;
            let all: Vec<Value> = store
                .upstream_idps()
                .await?
                .iter()
                .map(idp_object)
                .collect();
            Ok(json!({"identity_providers": all}))
        }
        AdminIdp::Remove { idp, store } => {
            let store = open(&store).await?;
            let found = upstream::find(store.as_ref(), &idp)
                .await
                .map_err(|e| anyhow::anyhow!("{idp:?}: {e}"))?;
            store.delete_upstream_idp(found.id).await?;
            Ok(json!({"removed": found.id.to_string()}))
        }
    }
}
