//! In-process caches of what the hot paths read: clients with their credential hashes, token
//! records, and the scope catalogue.
//!
//! Correctness never depends on a TTL where this process can know better. On SQLite, one
//! `tessera serve` owns the data directory (it takes a lock) and every change to a client's
//! secrets, a scope or a token goes through it, so invalidation on change is exact and entries
//! live until evicted. On PostgreSQL other nodes may change things too; until cross-node
//! notifications exist, client and scope entries are trusted for at most one second and token
//! records are not cached at all.

use quick_cache::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tessera_core::client::{Client, ClientCredential};
use tessera_core::clock::UnixTime;
use tessera_core::grant::TokenRecord;
use tessera_core::scope::Scope;
use tessera_core::secret::SecretHash;
use tessera_store::{Backend, Store, StoreError};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// How long a client or scope entry is trusted; `None`: until invalidated or evicted.
    pub entry_ttl: Option<i64>,
    /// Whether token records are cached.
    pub cache_tokens: bool,
    pub token_capacity: usize,
    pub client_capacity: usize,
}

impl CachePolicy {
    pub fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self {
                entry_ttl: None,
                cache_tokens: true,
                token_capacity: 200_000,
                client_capacity: 10_000,
            },
            Backend::Postgres => Self {
                entry_ttl: Some(1),
                cache_tokens: false,
                token_capacity: 0,
                client_capacity: 10_000,
            },
        }
    }

    fn fresh(&self, loaded_at: UnixTime, now: UnixTime) -> bool {
        self.entry_ttl.is_none_or(|ttl| now - loaded_at < ttl)
    }
}

/// Lookups answered from memory and lookups that had to go to the store, for the hit ratio
/// `/metrics` reports. Relaxed atomics: one uncontended add per lookup.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

/// A client with what authenticating it needs.
#[derive(Debug)]
pub struct ClientEntry {
    pub client: Client,
    pub credentials: Vec<ClientCredential>,
    loaded_at: UnixTime,
}

pub struct ClientCache {
    cache: Cache<Uuid, Arc<ClientEntry>>,
    policy: CachePolicy,
    pub stats: CacheStats,
}

impl ClientCache {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            cache: Cache::new(policy.client_capacity.max(1)),
            policy,
            stats: CacheStats::default(),
        }
    }

    pub async fn get(
        &self,
        store: &dyn Store,
        id: Uuid,
        now: UnixTime,
    ) -> Result<Option<Arc<ClientEntry>>, StoreError> {
        if let Some(entry) = self.cache.get(&id) {
            if self.policy.fresh(entry.loaded_at, now) {
                self.stats.hit();
                return Ok(Some(entry));
            }
        }
        self.stats.miss();
        // Unknown ids are not remembered: a client added a moment ago (`tessera admin client
        // add` runs in another process) must work at once.
        let Some(client) = store.client(id).await? else {
            return Ok(None);
        };
        let credentials = if client.is_public() {
            Vec::new()
        } else {
            store.credentials(id).await?
        };
        let entry = Arc::new(ClientEntry {
            client,
            credentials,
            loaded_at: now,
        });
        self.cache.insert(id, entry.clone());
        Ok(Some(entry))
    }

    pub fn invalidate(&self, id: Uuid) {
        self.cache.remove(&id);
    }
}

/// Token records by hash. Filled at issuance and on lookup; a revocation overwrites nothing
/// it cannot see, so lookups use a generation check (see [`TokenCache::fill`]).
pub struct TokenCache {
    cache: Option<Cache<SecretHash, Arc<TokenRecord>>>,
    /// Bumped by every revocation, before its cache entry is dropped.
    revocations: AtomicU64,
    pub stats: CacheStats,
}

impl TokenCache {
    pub fn new(policy: CachePolicy) -> Self {
        let cache = policy
            .cache_tokens
            .then(|| Cache::new(policy.token_capacity.max(1)));
        Self {
            cache,
            revocations: AtomicU64::new(0),
            stats: CacheStats::default(),
        }
    }

    pub fn get(&self, hash: &SecretHash) -> Option<Arc<TokenRecord>> {
        let found = self.cache.as_ref().and_then(|c| c.get(hash));
        match found {
            Some(_) => self.stats.hit(),
            None => self.stats.miss(),
        }
        found
    }

    /// A record that nobody else can know of yet (just issued).
    pub fn insert_new(&self, record: Arc<TokenRecord>) {
        if let Some(c) = &self.cache {
            c.insert(record.hash, record);
        }
    }

    /// The generation to pass to [`TokenCache::fill`]; read it *before* reading the store.
    pub fn generation(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst)
    }

    /// Caches a record read from the store. If a revocation ran since `generation` was read,
    /// the record may predate it, so it is dropped again. Inserting first and checking after
    /// closes the window between the check and the insert: a revocation either bumps the
    /// counter before the check (and the record is dropped here) or drops the entry itself
    /// after the insert.
    pub fn fill(&self, record: Arc<TokenRecord>, generation: u64) {
        let Some(c) = &self.cache else { return };
        let hash = record.hash;
        c.insert(hash, record);
        if self.revocations.load(Ordering::SeqCst) != generation {
            c.remove(&hash);
        }
    }

    /// Call after the store has marked the token revoked.
    pub fn revoked(&self, hash: &SecretHash) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        if let Some(c) = &self.cache {
            c.remove(hash);
        }
    }
}

/// All scopes, by scope string and by id. The catalogue is small and read on every grant.
pub struct Catalogue {
    by_string: HashMap<String, Scope>,
    by_id: HashMap<Uuid, String>,
    /// Resource-server name -> the client that owns it, for `aud`.
    owners: HashMap<String, Uuid>,
    loaded_at: UnixTime,
}

impl Catalogue {
    pub fn by_string(&self, s: &str) -> Option<&Scope> {
        self.by_string.get(s)
    }
    pub fn by_id(&self, id: Uuid) -> Option<&Scope> {
        self.by_id.get(&id).and_then(|s| self.by_string.get(s))
    }
    pub fn owner_of(&self, resource_server: &str) -> Option<Uuid> {
        self.owners.get(resource_server).copied()
    }
    /// Scopes that list `id` among their dependent scopes.
    pub fn dependents_on(&self, id: Uuid) -> impl Iterator<Item = &Scope> {
        self.by_string
            .values()
            .filter(move |s| s.dependent_scopes.iter().any(|d| d.scope_id == id))
    }
}

pub struct ScopeCatalogue {
    current: RwLock<Option<Arc<Catalogue>>>,
    policy: CachePolicy,
    /// When a miss last forced a reload: unknown scope strings must not make every request
    /// reread the table.
    last_forced: AtomicI64,
    pub stats: CacheStats,
}

impl ScopeCatalogue {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            current: RwLock::new(None),
            policy,
            last_forced: AtomicI64::new(i64::MIN),
            stats: CacheStats::default(),
        }
    }

    pub async fn get(
        &self,
        store: &dyn Store,
        now: UnixTime,
    ) -> Result<Arc<Catalogue>, StoreError> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match current {
            Some(c) if self.policy.fresh(c.loaded_at, now) => {
                self.stats.hit();
                Ok(c)
            }
            _ => {
                self.stats.miss();
                self.reload(store, now).await
            }
        }
    }

    /// The catalogue, reloaded first if `wanted` names a scope it lacks (another process may
    /// have created it) and no forced reload happened in the last second.
    pub async fn get_with(
        &self,
        store: &dyn Store,
        now: UnixTime,
        wanted: &[&str],
    ) -> Result<Arc<Catalogue>, StoreError> {
        let c = self.get(store, now).await?;
        if wanted.iter().all(|w| c.by_string(w).is_some()) {
            return Ok(c);
        }
        let last = self.last_forced.load(Ordering::Relaxed);
        if now > last
            && self
                .last_forced
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return self.reload(store, now).await;
        }
        Ok(c)
    }

    pub fn invalidate(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn reload(&self, store: &dyn Store, now: UnixTime) -> Result<Arc<Catalogue>, StoreError> {
        let scopes = store.all_scopes().await?;
        let mut by_string = HashMap::with_capacity(scopes.len());
        let mut by_id = HashMap::with_capacity(scopes.len());
        let mut owners = HashMap::new();
        for s in scopes {
            by_id.insert(s.id, s.scope_string.clone());
            owners
                .entry(s.resource_server.clone())
                .or_insert(s.client_id);
            by_string.insert(s.scope_string.clone(), s);
        }
        let c = Arc::new(Catalogue {
            by_string,
            by_id,
            owners,
            loaded_at: now,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(c.clone());
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::grant::SubjectKind;
    use tessera_core::token::TokenKind;

    fn record(n: &str) -> Arc<TokenRecord> {
        Arc::new(TokenRecord {
            hash: SecretHash::of(n),
            kind: TokenKind::AccessToken,
            client_id: Uuid::nil(),
            subject: Uuid::nil(),
            subject_kind: SubjectKind::Client,
            resource_server: "rs".into(),
            scope: "s".into(),
            issued_at: 0,
            expires_at: 10,
            revoked_at: None,
            family_id: None,
            session_id: None,
            auth_time: None,
            parent: None,
            rotated_at: None,
        })
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_cached() {
        let cache = TokenCache::new(CachePolicy::for_backend(Backend::Sqlite));
        let r = record("a");
        let generation = cache.generation(); // the lookup starts and reads the store...
        cache.revoked(&r.hash); // ...while a revocation lands
        cache.fill(r.clone(), generation); // the stale, active record must not stay
        assert!(cache.get(&r.hash).is_none());

        let generation = cache.generation();
        cache.fill(r.clone(), generation);
        assert!(cache.get(&r.hash).is_some());
        cache.revoked(&r.hash);
        assert!(cache.get(&r.hash).is_none());
    }

    #[test]
    fn postgres_policy_caches_no_tokens() {
        let cache = TokenCache::new(CachePolicy::for_backend(Backend::Postgres));
        let r = record("b");
        cache.insert_new(r.clone());
        assert!(cache.get(&r.hash).is_none());
        let p = CachePolicy::for_backend(Backend::Postgres);
        assert!(p.fresh(10, 10) && !p.fresh(10, 11));
    }
}
