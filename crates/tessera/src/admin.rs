//! `tessera admin …`: operator bootstrap straight on the database.

use crate::cli::{AdminClient, AdminCommand, AdminUser, StoreArgs};
use crate::settings::{self, FileConfig};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::io::BufRead;
use std::sync::Arc;
use tessera_auth::service::admin::{self, Profile};
use tessera_auth::service::audit_log::{self, Filters};
use tessera_auth::view::{audit_object, client_object, identity_object};
use tessera_core::client::ClientType;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_store::Store;

async fn open(args: &StoreArgs) -> Result<Arc<dyn Store>> {
    let file = FileConfig::load(args.config.as_deref())?;
    let db = settings::database(args, &file)?;
    db.prepare()?;
    let store = tessera_store::connect(&db.url())
        .await
        .context("opening the database")?;
    // The first command on a fresh directory may run before any server did.
    tessera_store::seed_defaults(store.as_ref(), SystemClock.now()).await?;
    Ok(store)
}

/// Runs the command and returns the one JSON object to print (null: it printed already).
pub(crate) async fn run(command: AdminCommand) -> Result<Value> {
    match command {
        AdminCommand::Cleanup { store } => {
            let store = open(&store).await?;
            let purged = tessera_store::maintenance::purge_expired(
                store.as_ref(),
                SystemClock.now(),
                tessera_store::maintenance::BATCH_ROWS,
                tessera_store::maintenance::BATCH_PAUSE,
            )
            .await?;
            Ok(match purged {
                Some(p) => serde_json::to_value(p)?,
                None => json!({"skipped": true}),
            })
        }
        AdminCommand::Audit {
            since,
            event,
            limit,
            before,
            store,
        } => {
            let query = audit_log::query(&Filters {
                since: since.as_deref(),
                event: event.as_deref(),
                limit: limit.as_deref(),
                before: before.as_deref(),
            })
            .map_err(anyhow::Error::msg)?;
            let store = open(&store).await?;
            let mut out = std::io::stdout().lock();
            for record in store.audit_events(&query).await? {
                use std::io::Write;
                writeln!(out, "{}", audit_object(&record)).context("writing to standard output")?;
            }
            Ok(Value::Null)
        }
        AdminCommand::User(AdminUser::Add {
            username,
            password_stdin: _,
            name,
            email,
            organization,
            store,
        }) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = Secret::new(line.trim_end_matches(['\r', '\n']));
            let store = open(&store).await?;
            let identity = admin::add_user(
                store.as_ref(),
                &SystemClock,
                &OsRandom,
                &username,
                &password,
                Profile {
                    name,
                    email,
                    organization,
                },
            )
            .await?;
            Ok(serde_json::to_value(identity_object(&identity))?)
        }
        AdminCommand::Client(AdminClient::Add {
            name,
            confidential: _,
            native,
            redirect_uris,
            store,
        }) => {
            let store = open(&store).await?;
            let kind = if native {
                ClientType::PublicInstalled
            } else {
                ClientType::Confidential
            };
            let (client, secret) = admin::add_client(
                store.as_ref(),
                &SystemClock,
                &OsRandom,
                &name,
                kind,
                redirect_uris,
            )
            .await?;
            let mut out = json!({"client_id": client.id.to_string()});
            if let Some(secret) = secret {
                out["client_secret"] = json!(secret.expose());
            }
            out["client"] = serde_json::to_value(client_object(&client, vec![]))?;
            Ok(out)
        }
    }
}
