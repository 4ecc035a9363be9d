//! What every handler shares.

use crate::cache::{
    AnswerCache, CachePolicy, CacheSink, ClientCache, IdentityCache, ScopeCatalogue, TokenCache,
};
use crate::config::AuthConfig;
use crate::dns::{HickoryTxt, NoResolver, TxtLookup};
use crate::http::web::pages::Pages;
use crate::keys::{KeyError, SigningKeys};
use crate::metrics::Metrics;
use crate::service::password::PasswordVerifier;
use crate::service::throttle::LoginThrottle;
use std::sync::Arc;
use tessera_core::clock::Clock;
use tessera_core::random::SecureRandom;
use tessera_core::token::Selectors;
use tessera_store::{AuditWriter, Change, ChangeFeed, ChangeSink, Store, StoreError, TokenWriter};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: AuthConfig,
    pub store: Arc<dyn Store>,
    /// Group-commit path for issued tokens.
    pub writer: TokenWriter,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn SecureRandom>,
    /// Time-ordered selectors for access and refresh tokens (`tessera_core::token`).
    pub selectors: Selectors,
    pub keys: SigningKeys,
    pub clients: Arc<ClientCache>,
    pub tokens: Arc<TokenCache>,
    pub scopes: Arc<ScopeCatalogue>,
    /// Identities by id (written once, never updated).
    pub identities: Arc<IdentityCache>,
    /// Rendered introspection answers.
    pub answers: Arc<AnswerCache>,
    /// Where changes to cached things are published (to this node's caches; the database tells
    /// the others).
    pub feed: Arc<dyn ChangeFeed>,
    /// The caches as the feed sees them; the feed holds it weakly.
    sink: Arc<CacheSink>,
    pub throttle: LoginThrottle,
    /// Wrong user codes on the device verification page, per identity and per address
    /// (RFC 8628 §5.1: guesses must be rate-limited).
    pub device_guesses: LoginThrottle,
    pub passwords: PasswordVerifier,
    pub pages: Pages,
    /// TXT lookups for FQDN verification.
    pub dns: Arc<dyn TxtLookup>,
    pub metrics: Metrics,
    /// Queues security events for the audit log, off the request path.
    pub audit: AuditWriter,
    /// Client-credentials issuance counted for the audit log (written once a second).
    pub issuance: crate::audit::IssuanceTally,
    /// POSIX and LDAP group lookups (cached) for scopes granted by group.
    pub group_sources: crate::group_sources::GroupSources,
    /// Upstream OpenID Connect IdPs as this node uses them (discovery, keys, secrets).
    pub upstreams: crate::service::upstream::Registry,
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
        let policy = CachePolicy::default();
        let dns: Arc<dyn TxtLookup> = match HickoryTxt::new(config.dns_resolver, config.dns_timeout)
        {
            Ok(r) => Arc::new(r),
            Err(why) => {
                tracing::warn!(%why, "no DNS resolver: FQDN verification will answer 503");
                Arc::new(NoResolver(why))
            }
        };
        let sink = Arc::new(CacheSink::new(policy));
        let feed = store.feed();
        let weak: std::sync::Weak<CacheSink> = Arc::downgrade(&sink);
        let weak: std::sync::Weak<dyn ChangeSink> = weak;
        feed.subscribe(weak).await?;
        let group_sources = crate::group_sources::GroupSources::new(config.group_sources.clone());
        let state = Self(Arc::new(Inner {
            group_sources,
            config,
            writer: TokenWriter::spawn(store.clone()),
            audit: AuditWriter::spawn(store.clone()),
            issuance: crate::audit::IssuanceTally::default(),
            store,
            clock,
            rng,
            selectors: Selectors::new(),
            keys,
            clients: sink.clients.clone(),
            tokens: sink.tokens.clone(),
            scopes: sink.scopes.clone(),
            identities: sink.identities.clone(),
            answers: sink.answers.clone(),
            feed,
            sink,
            throttle: LoginThrottle::default(),
            device_guesses: LoginThrottle::default(),
            passwords: PasswordVerifier::new(hashing_concurrency()).map_err(KeyError::Generate)?,
            pages: Pages::new().map_err(|e| KeyError::Generate(e.to_string()))?,
            dns,
            metrics: Metrics::new().map_err(|e| KeyError::Generate(e.to_string()))?,
            upstreams: crate::service::upstream::Registry::new().map_err(KeyError::Generate)?,
        }));
        spawn_key_maintenance(&state);
        spawn_tally_writer(&state);
        Ok(state)
    }

    /// Stores every security event recorded so far (the tally included); for a clean shutdown
    /// and for tests that read the log.
    pub async fn flush_audit(&self) {
        crate::audit::write_tally(self);
        self.audit.flush().await;
    }
}

/// Once a second: the client-credentials tally becomes `token_issued` events. Ends when the
/// state is dropped.
fn spawn_tally_writer(state: &AppState) {
    let weak = Arc::downgrade(&state.0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::audit::TALLY_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            crate::audit::write_tally(&AppState(inner));
        }
    });
}

impl Inner {
    /// Applies changes that just committed to this node's caches at once. Other nodes hear of
    /// them from the database, which on PostgreSQL announces every committed change itself
    /// (`tessera_store::feed`); on SQLite there are no other nodes.
    pub async fn publish(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let result = self.feed.publish(&changes).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, changes = changes.len(), "publishing a change failed");
        }
        result
    }

    /// The caches as the change feed sees them (tests apply changes through it).
    pub fn cache_sink(&self) -> &CacheSink {
        &self.sink
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
