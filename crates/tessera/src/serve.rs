//! `tessera serve`: bind, open the store, serve until SIGTERM or Ctrl-C, then drain.

use crate::settings::{Database, ServeSettings};
use anyhow::{Context, Result};
use std::fs::File;
use std::sync::Arc;
use tessera_auth::{AppState, AuthConfig};
use tessera_core::clock::SystemClock;
use tessera_core::random::OsRandom;

pub(crate) async fn run(settings: ServeSettings) -> Result<()> {
    settings.database.prepare()?;
    // One server per SQLite data directory: the caches rely on it (see tessera-auth's cache).
    let _lock = match &settings.database {
        Database::Sqlite { data_dir } => Some(lock_data_dir(data_dir)?),
        Database::Postgres { .. } => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let local = listener.local_addr()?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));

    let store = tessera_store::connect(&settings.database.url())
        .await
        .context("opening the database")?;
    let mut config = AuthConfig::new(&public_url);
    config.access_token_lifetime = settings.access_token_lifetime;
    config.max_body_bytes = settings.max_body_bytes;
    config.id_token_algorithm = settings.id_token_algorithm;
    config.refresh_idle_lifetime = settings.refresh_token_idle_lifetime;
    config.refresh_grace = settings.refresh_token_reuse_grace;
    config.dns_resolver = settings.dns_resolver;
    config.admin_usernames = settings.admin_usernames.clone();
    config.access_token_algorithm = settings.keys.access_token_algorithm;
    config.key_rotation_interval = settings.keys.key_rotation_interval;
    config.master_key = Some(settings.keys.master_key.clone());
    config.trusted_proxies = settings.trusted_proxies.clone();
    config.registration = settings.registration;
    config.password_login = settings.password_login;
    config.front_door_links.push((
        "Your groups".into(),
        tessera_groups::web::GROUPS_PAGE.into(),
    ));
    config
        .front_door_links
        .push(("Files".into(), tessera_transfer::web::FILES_PAGE.into()));
    config.front_door_links.push((
        "Activity".into(),
        tessera_transfer::web::ACTIVITY_PAGE.into(),
    ));
    config.group_sources = settings.group_sources.clone();
    let clock = Arc::new(SystemClock);
    // Before the auth server starts: its caches then hold no stale copy of the groups client.
    let groups_credential = crate::service_credential::credential(
        store.as_ref(),
        settings.keys.master_key.encode().as_bytes(),
        tessera_groups::caller::RESOURCE_SERVER,
        "tessera serve: the Groups service's guard",
        tessera_core::clock::Clock::now(clock.as_ref()),
    )
    .await
    .context("provisioning the Groups service's credentials")?;
    let state = AppState::new(config, store.clone(), clock.clone(), Arc::new(OsRandom))
        .await
        .context("starting the authorization server")?;
    let groups = groups_state(&groups_credential, local, store.clone(), clock.clone())?;
    let group_pages = tessera_groups::web::router(
        groups.clone(),
        crate::group_pages::AuthSessions(state.clone()),
        crate::group_pages::LAYOUT,
    )
    .context("loading the groups pages' templates")?;
    let cleanup = tessera_store::maintenance::spawn_cleanup(
        store.clone(),
        clock.clone(),
        std::time::Duration::from_secs(settings.cleanup_interval),
        settings.audit_retention,
    );
    let (transfer, transfer_state) = crate::transfer::start(
        store.clone(),
        clock.clone(),
        local,
        &settings.keys.master_key,
        &state,
        &public_url,
    )
    .await
    .context("starting the Transfer service")?;
    let transfer_pages = tessera_transfer::web::router(
        transfer_state,
        crate::group_pages::AuthSessions(state.clone()),
        crate::group_pages::LAYOUT,
    )
    .context("loading the transfer pages' templates")?;
    let app = tessera_auth::router_with_docs(
        state.clone(),
        [tessera_groups::openapi(), tessera_transfer::openapi()],
    )
    .merge(tessera_groups::router(groups))
    .merge(group_pages)
    .merge(transfer)
    .merge(transfer_pages);
    let metrics = match settings.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?,
        ),
        None => None,
    };

    // The first line on stdout says where to reach the server (tests with port 0 read it).
    println!(
        "Tessera is listening on http://{local} (public URL {})",
        public_url.trim_end_matches('/')
    );
    tracing::info!(listen = %local, public_url = %public_url, "serving");
    if let Some(m) = metrics {
        let addr = m.local_addr()?;
        println!("Tessera metrics are on http://{addr}/metrics");
        tracing::info!(metrics_listen = %addr, "serving metrics");
        let ops = tessera_auth::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(m, ops).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    // With the peer address, so sign-in throttling and the audit log know who called.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    cleanup.abort();
    // Events of the last requests are still queued for the audit log.
    state.flush_audit().await;
    tracing::info!("stopped");
    Ok(())
}

/// The Groups service, a resource server of the auth server on this very listener: its guard
/// introspects over loopback HTTP like any third-party service.
fn groups_state(
    credential: &crate::service_credential::Credential,
    local: std::net::SocketAddr,
    store: Arc<dyn tessera_store::Store>,
    clock: Arc<SystemClock>,
) -> Result<tessera_groups::GroupsState> {
    let guard = tessera_guard::Guard::builder(
        &crate::service_credential::loopback(local),
        &credential.client_id,
        credential.secret.expose(),
    )
    .audience(tessera_groups::caller::RESOURCE_SERVER)
    .build()
    .context("building the Groups service's token guard")?;
    Ok(tessera_groups::GroupsState {
        store,
        guard,
        clock,
        random: Arc::new(OsRandom),
    })
}

fn lock_data_dir(dir: &std::path::Path) -> Result<File> {
    let path = dir.join("tessera.lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another `tessera serve` is using {}; stop it or choose another --data-dir",
            dir.display()
        )
    })?;
    Ok(file)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
