//! `tessera admin …`: operator bootstrap straight on the database.

use crate::cli::{
    AdminClient, AdminCommand, AdminEndpoint, AdminKeys, AdminRegistrationToken, AdminUser,
    KeyArgs, StoreArgs,
};
use crate::settings::{self, FileConfig};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::io::BufRead;
use std::sync::Arc;
use tessera_auth::keys::{KeyFamily, SigningKeys};
use tessera_auth::service::admin::{self, Profile};
use tessera_auth::service::audit_log::{self, Filters};
use tessera_auth::view::{audit_object, client_object, identity_object};
use tessera_auth::AuthConfig;
use tessera_core::client::{AccessTokenFormat, ClientType};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::random::OsRandom;
use tessera_core::secret::Secret;
use tessera_store::Store;

pub(crate) async fn open(args: &StoreArgs) -> Result<Arc<dyn Store>> {
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
        AdminCommand::Cleanup { store, retention } => {
            let file = FileConfig::load(store.config.as_deref())?;
            let audit_retention = settings::audit_retention(&retention, &file)?;
            let store = open(&store).await?;
            let purged = tessera_store::maintenance::purge_expired(
                store.as_ref(),
                SystemClock.now(),
                audit_retention,
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
            access_token_format,
            store,
        }) => {
            let store = open(&store).await?;
            let format = AccessTokenFormat::parse(&access_token_format)
                .context("access-token-format must be opaque, jwt or scitoken")?;
            let kind = if native {
                ClientType::PublicInstalled
            } else {
                ClientType::Confidential
            };
            let (mut client, secret) = admin::add_client(
                store.as_ref(),
                &SystemClock,
                &OsRandom,
                &name,
                kind,
                redirect_uris,
            )
            .await?;
            if format != client.access_token_format {
                store.set_access_token_format(client.id, format).await?;
                client.access_token_format = format;
            }
            let mut out = json!({"client_id": client.id.to_string()});
            if let Some(secret) = secret {
                out["client_secret"] = json!(secret.expose());
            }
            out["client"] = serde_json::to_value(client_object(&client, vec![]))?;
            Ok(out)
        }
        AdminCommand::Keys(AdminKeys::Rotate {
            now: at_once,
            family,
            store,
            keys,
        }) => {
            let families = match KeyFamily::parse(&family) {
                Some(f) => vec![f],
                None => KeyFamily::ALL.to_vec(),
            };
            let (store, signing, config) = open_keys(&store, &keys).await?;
            let now = SystemClock.now();
            if at_once {
                let replaced = signing.replace_now(store.as_ref(), now, &families).await?;
                return Ok(json!({
                    "added": replaced.added,
                    "removed": replaced.removed,
                    "keys": signing.summary(now),
                }));
            }
            let added = signing
                .rotate_now(store.as_ref(), now, config.key_policy(), &families)
                .await?;
            Ok(json!({"added": added, "keys": signing.summary(now)}))
        }
        AdminCommand::Endpoint(command) => endpoint(command).await,
        AdminCommand::Connector(command) => crate::connector::admin(command).await,
        AdminCommand::Scope(command) => crate::admin_scope::run(command).await,
        AdminCommand::Idp(command) => crate::admin_idp::run(command).await,
        AdminCommand::Keys(AdminKeys::List { store, keys }) => {
            let (_, signing, _) = open_keys(&store, &keys).await?;
            Ok(json!({"keys": signing.summary(SystemClock.now())}))
        }
        AdminCommand::RegistrationToken(AdminRegistrationToken::Create {
            uses,
            expires_in,
            store,
        }) => {
            let store = open(&store).await?;
            let (token, expires_at) =
                tessera_auth::service::registration::create_initial_access_token(
                    store.as_ref(),
                    &SystemClock,
                    &OsRandom,
                    uses,
                    expires_in,
                )
                .await?;
            Ok(json!({
                "initial_access_token": token.expose(),
                "uses": uses,
                "expires_at": tessera_core::clock::iso8601(expires_at),
            }))
        }
    }
}

/// The store and its signing keys, opened with the same key settings `serve` uses.
async fn open_keys(
    args: &StoreArgs,
    key_args: &KeyArgs,
) -> Result<(Arc<dyn Store>, SigningKeys, AuthConfig)> {
    let file = FileConfig::load(args.config.as_deref())?;
    let db = settings::database(args, &file)?;
    let key_settings = settings::keys(key_args, &file, &db)?;
    let store = open(args).await?;
    let mut config = AuthConfig::new("http://localhost");
    config.access_token_algorithm = key_settings.access_token_algorithm;
    config.key_rotation_interval = key_settings.key_rotation_interval;
    config.access_token_lifetime = file
        .access_token_lifetime
        .unwrap_or(config.access_token_lifetime);
    let signing = SigningKeys::load_or_generate(
        store.as_ref(),
        SystemClock.now(),
        config.id_token_algorithm,
        config.access_token_algorithm,
        Some(key_settings.master_key),
    )
    .await?;
    Ok((store, signing, config))
}

/// `tessera admin endpoint …`: the endpoint document (as its owner sees it) or what was removed.
async fn endpoint(command: AdminEndpoint) -> Result<Value> {
    use tessera_transfer::http::docs;
    use tessera_transfer::service::admin as endpoints;
    let document = |e: &tessera_store::transfer::EndpointRecord| {
        docs::endpoint(e, None, &["administrator"], None)
    };
    match command {
        AdminEndpoint::Add {
            name,
            path,
            owner,
            connector,
            store,
        } => {
            let store = open(&store).await?;
            let e = match connector {
                Some(connector) => {
                    endpoints::add_connector_endpoint(
                        store.as_ref(),
                        &SystemClock,
                        &OsRandom,
                        &name,
                        &path.to_string_lossy(),
                        &owner,
                        &connector,
                    )
                    .await?
                }
                None => {
                    endpoints::add_endpoint(
                        store.as_ref(),
                        &SystemClock,
                        &OsRandom,
                        &name,
                        &path,
                        &owner,
                    )
                    .await?
                }
            };
            // The endpoint's HTTPS access needs its scope; without it the endpoint goes again.
            if let Err(err) =
                crate::https_access::register(store.as_ref(), e.id, SystemClock.now()).await
            {
                let _ = store.delete_endpoint(e.id).await;
                return Err(err.into());
            }
            let mut doc = document(&e);
            if let Some(c) = e.connector_id {
                doc["connector_id"] = json!(c.to_string());
            }
            Ok(doc)
        }
        AdminEndpoint::Update {
            id,
            name,
            path,
            owner,
            force_encryption,
            store,
        } => {
            let store = open(&store).await?;
            let e = endpoints::update_endpoint(
                store.as_ref(),
                &id,
                name.as_deref(),
                path.as_deref(),
                owner.as_deref(),
                force_encryption,
            )
            .await?;
            Ok(document(&e))
        }
        AdminEndpoint::Remove { id, store } => {
            let store = open(&store).await?;
            let shares: Vec<_> = store
                .all_endpoints()
                .await?
                .into_iter()
                .filter(|s| {
                    s.host_endpoint_id
                        .is_some_and(|h| h.to_string() == id.trim())
                })
                .map(|s| s.id)
                .collect();
            let e = endpoints::remove_endpoint(store.as_ref(), &id).await?;
            // Its shares went with it; their scopes go too.
            for gone in std::iter::once(e.id).chain(shares) {
                crate::https_access::remove(store.as_ref(), gone).await?;
            }
            Ok(json!({"removed": e.id.to_string()}))
        }
    }
}
