//! What every handler shares.

use crate::cache::{CachePolicy, ClientCache, ScopeCatalogue, TokenCache};
use crate::config::AuthConfig;
use crate::http::web::pages::Pages;
use crate::keys::{KeyError, SigningKeys};
use crate::service::password::PasswordVerifier;
use crate::service::throttle::LoginThrottle;
use std::sync::Arc;
use tessera_core::clock::Clock;
use tessera_core::random::SecureRandom;
use tessera_store::{Store, TokenWriter};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: AuthConfig,
    pub store: Arc<dyn Store>,
    /// Group-commit path for issued tokens.
    pub writer: TokenWriter,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn SecureRandom>,
    pub keys: SigningKeys,
    pub clients: ClientCache,
    pub tokens: TokenCache,
    pub scopes: ScopeCatalogue,
    pub throttle: LoginThrottle,
    pub passwords: PasswordVerifier,
    pub pages: Pages,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Seeds the well-known data if missing, loads or creates the signing key, and starts the
    /// token writer (so it must run inside a Tokio runtime).
    pub async fn new(
        config: AuthConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn SecureRandom>,
    ) -> Result<Self, KeyError> {
        tessera_store::seed_defaults(store.as_ref(), clock.now()).await?;
        let keys = SigningKeys::load_or_generate(
            store.as_ref(),
            clock.now(),
            config.id_token_algorithm,
            config.access_token_algorithm,
            config.master_key.clone(),
        )
        .await?;
        let policy = CachePolicy::for_backend(store.backend());
        let state = Self(Arc::new(Inner {
            config,
            writer: TokenWriter::spawn(store.clone()),
            store,
            clock,
            rng,
            keys,
            clients: ClientCache::new(policy),
            tokens: TokenCache::new(policy),
            scopes: ScopeCatalogue::new(policy),
            throttle: LoginThrottle::default(),
            passwords: PasswordVerifier::new(hashing_concurrency()).map_err(KeyError::Generate)?,
            pages: Pages::new().map_err(|e| KeyError::Generate(e.to_string()))?,
        }));
        spawn_key_maintenance(&state);
        Ok(state)
    }
}

/// Every poll interval: rotate keys that are due, drop expired ones, pick up other nodes'
/// rotations. Ends when the state is dropped.
fn spawn_key_maintenance(state: &AppState) {
    let weak = Arc::downgrade(&state.0);
    let every =
        std::time::Duration::from_secs(state.config.key_poll_interval.max(1).unsigned_abs());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            let now = inner.clock.now();
            if let Err(e) = inner
                .keys
                .maintain(inner.store.as_ref(), now, inner.config.key_policy())
                .await
            {
                tracing::error!(error = %e, "signing-key maintenance failed");
            }
        }
    });
}

/// Password hashes verified at once: one per core, so sign-ins never starve token traffic.
fn hashing_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}
