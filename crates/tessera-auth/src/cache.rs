//! In-process caches of what the hot paths read: clients with their credential hashes, token
//! records, the scope catalogue, identities ([`identities`]) and rendered introspection
//! answers ([`answers`]).
//!
//! Correctness never depends on a TTL, and nothing expires by age. Every change to a client's
//! secrets, a scope, a token or an identity reaches the caches through the store's change feed
//! (`tessera_store::feed`): the service that made it applies it to this process's caches at
//! once, and on PostgreSQL the database itself announces every committed change to every node
//! (triggers that NOTIFY inside the writing transaction), so neither a node that dies right
//! after its commit nor an operator editing rows by hand leaves a cache stale. While a node's
//! listener is disconnected its caches are not trusted: every read goes to the database until
//! the listener is back and the caches have been flushed.

mod answers;
mod identities;

pub use answers::{AnswerCache, PartsMask};
pub use identities::IdentityCache;
use quick_cache::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tessera_core::client::{Client, ClientCredential};
use tessera_core::clock::UnixTime;
use tessera_core::grant::TokenRecord;
use tessera_core::scope::Scope;
use tessera_core::secret::SecretHash;
use tessera_store::{Change, ChangeSink, Store, StoreError};
use uuid::Uuid;

/// How many entries each cache keeps (the same on both backends: on PostgreSQL the database
/// announces every committed change, so nothing needs to expire by age either).
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    pub token_capacity: usize,
    pub client_capacity: usize,
    pub identity_capacity: usize,
    /// Rendered introspection answers (about 0.7 KB each).
    pub answer_capacity: usize,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            token_capacity: 200_000,
            client_capacity: 10_000,
            identity_capacity: 50_000,
            answer_capacity: 20_000,
        }
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
}

/// Whether the change feed vouches for a cache, and a generation bumped by every
/// invalidation so that a fill that raced one is dropped (see [`TokenCache::fill`]).
struct Validity {
    trusted: AtomicBool,
    generation: AtomicU64,
}

impl Validity {
    fn new() -> Self {
        Self {
            trusted: AtomicBool::new(true),
            generation: AtomicU64::new(0),
        }
    }
    fn trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Entries by id, read from the store on a miss and kept until the change feed drops them
/// (clients with their credentials here, identities in [`identities`]).
pub struct ByIdCache<V> {
    cache: Cache<Uuid, Arc<V>>,
    validity: Validity,
    pub stats: CacheStats,
}

impl<V> ByIdCache<V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity.max(1)),
            validity: Validity::new(),
            stats: CacheStats::default(),
        }
    }

    /// The entry for `id`: from memory, or else from `load` (which reads the store). Unknown ids
    /// are not remembered: what another process added a moment ago (`tessera admin client add`,
    /// `tessera admin user add`) must be found at once.
    async fn get_or_load(
        &self,
        id: Uuid,
        load: impl std::future::Future<Output = Result<Option<V>, StoreError>>,
    ) -> Result<Option<Arc<V>>, StoreError> {
        let trusted = self.validity.trusted();
        if let Some(found) = self.cache.get(&id).filter(|_| trusted) {
            self.stats.hit();
            return Ok(Some(found));
        }
        self.stats.miss();
        let generation = self.validity.generation();
        let Some(value) = load.await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        if trusted {
            // Insert, then check: an invalidation either bumped the generation before the
            // check (the entry is dropped here) or removes the entry itself after the insert.
            self.cache.insert(id, value.clone());
            if self.validity.generation() != generation || !self.validity.trusted() {
                self.cache.remove(&id);
            }
        }
        Ok(Some(value))
    }

    pub fn invalidate(&self, id: Uuid) {
        self.validity.bump();
        self.cache.remove(&id);
    }

    pub fn flush(&self) {
        self.validity.bump();
        self.cache.clear();
    }
}

pub type ClientCache = ByIdCache<ClientEntry>;

impl ByIdCache<ClientEntry> {
    pub async fn get(
        &self,
        store: &dyn Store,
        id: Uuid,
    ) -> Result<Option<Arc<ClientEntry>>, StoreError> {
        self.get_or_load(id, async {
            let Some(client) = store.client(id).await? else {
                return Ok(None);
            };
            let credentials = if client.is_public() {
                Vec::new()
            } else {
                store.credentials(id).await?
            };
            Ok(Some(ClientEntry {
                client,
                credentials,
            }))
        })
        .await
    }
}

/// Token records by hash. Filled at issuance and on lookup; a revocation overwrites nothing
/// it cannot see, so lookups use a generation check (see [`TokenCache::fill`]).
pub struct TokenCache {
    cache: Cache<SecretHash, Arc<TokenRecord>>,
    /// Bumped by every revocation, before its cache entry is dropped.
    revocations: AtomicU64,
    /// Whether the change feed vouches for what is cached.
    trusted: AtomicBool,
    pub stats: CacheStats,
}

impl TokenCache {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            cache: Cache::new(policy.token_capacity.max(1)),
            revocations: AtomicU64::new(0),
            trusted: AtomicBool::new(true),
            stats: CacheStats::default(),
        }
    }

    pub fn get(&self, hash: &SecretHash) -> Option<Arc<TokenRecord>> {
        if !self.trusted.load(Ordering::SeqCst) {
            self.stats.miss();
            return None;
        }
        let found = self.cache.get(hash);
        match found {
            Some(_) => self.stats.hit(),
            None => self.stats.miss(),
        }
        found
    }

    /// A record that nobody else can know of yet (just issued).
    pub fn insert_new(&self, record: Arc<TokenRecord>) {
        if self.trusted.load(Ordering::SeqCst) {
            self.cache.insert(record.hash, record);
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
        let hash = record.hash;
        self.cache.insert(hash, record);
        if self.revocations.load(Ordering::SeqCst) != generation
            || !self.trusted.load(Ordering::SeqCst)
        {
            self.cache.remove(&hash);
        }
    }

    /// Every cached token of `family` was revoked.
    pub fn family_revoked(&self, family: Uuid) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.cache.retain(|_, r| r.family_id != Some(family));
    }

    pub fn flush(&self) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
    }

    /// Call after the store has marked the token revoked.
    pub fn revoked(&self, hash: &SecretHash) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.cache.remove(hash);
    }
}

/// All scopes, by scope string and by id. The catalogue is small and read on every grant.
pub struct Catalogue {
    by_string: HashMap<String, Scope>,
    by_id: HashMap<Uuid, String>,
    /// Other strings that name a scope (`tessera_core::scope::aliases`) -> its own string.
    aliases: HashMap<String, String>,
    /// Resource-server name -> the client that owns it, for `aud`.
    owners: HashMap<String, Uuid>,
}

impl Catalogue {
    /// The scope named by its own string or by an alias; a scope's own string wins.
    pub fn by_string(&self, s: &str) -> Option<&Scope> {
        self.by_string.get(s).or_else(|| {
            self.aliases
                .get(s)
                .and_then(|canonical| self.by_string.get(canonical))
        })
    }
    /// The request with every scope it names by an alias named by its own string, so that
    /// consents and tokens only ever hold scopes' own strings.
    pub fn canonical(
        &self,
        requests: &[tessera_proto::scope::ScopeRequest],
    ) -> Vec<tessera_proto::scope::ScopeRequest> {
        requests
            .iter()
            .map(|r| tessera_proto::scope::ScopeRequest {
                scope: self
                    .aliases
                    .get(&r.scope)
                    .cloned()
                    .unwrap_or_else(|| r.scope.clone()),
                optional: r.optional,
                dependencies: self.canonical(&r.dependencies),
            })
            .collect()
    }
    pub fn by_id(&self, id: Uuid) -> Option<&Scope> {
        self.by_id.get(&id).and_then(|s| self.by_string.get(s))
    }
    pub fn owner_of(&self, resource_server: &str) -> Option<Uuid> {
        self.owners.get(resource_server).copied()
    }
    /// Every scope, in no order.
    pub fn scopes(&self) -> impl Iterator<Item = &Scope> {
        self.by_string.values()
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
    /// When a miss last forced a reload: unknown scope strings must not make every request
    /// reread the table.
    last_forced: AtomicI64,
    validity: Validity,
    pub stats: CacheStats,
}

impl Default for ScopeCatalogue {
    fn default() -> Self {
        Self {
            current: RwLock::new(None),
            last_forced: AtomicI64::new(i64::MIN),
            validity: Validity::new(),
            stats: CacheStats::default(),
        }
    }
}

impl ScopeCatalogue {
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<Catalogue>, StoreError> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match current {
            Some(c) if self.validity.trusted() => {
                self.stats.hit();
                Ok(c)
            }
            _ => {
                self.stats.miss();
                self.reload(store).await
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
        let c = self.get(store).await?;
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
            return self.reload(store).await;
        }
        Ok(c)
    }

    pub fn invalidate(&self) {
        self.validity.bump();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn reload(&self, store: &dyn Store) -> Result<Arc<Catalogue>, StoreError> {
        let generation = self.validity.generation();
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
        // In scope-string order (as the store lists them), so a shared alias always goes to
        // the same scope; creating a second scope with a suffix a client uses is refused.
        let mut named: Vec<&String> = by_string.keys().collect();
        named.sort();
        let mut aliases = HashMap::new();
        for canonical in named {
            for alias in by_string
                .get(canonical)
                .map(tessera_core::scope::aliases)
                .unwrap_or_default()
            {
                if !by_string.contains_key(&alias) {
                    aliases.entry(alias).or_insert_with(|| canonical.clone());
                }
            }
        }
        let c = Arc::new(Catalogue {
            by_string,
            by_id,
            aliases,
            owners,
        });
        if self.validity.trusted() {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            // A change published while this read ran may be missing from it: keep it only if
            // none was.
            *current = (self.validity.generation() == generation).then(|| c.clone());
        }
        Ok(c)
    }
}

/// The caches as the change feed sees them.
pub struct CacheSink {
    pub clients: Arc<ClientCache>,
    pub tokens: Arc<TokenCache>,
    pub scopes: Arc<ScopeCatalogue>,
    pub identities: Arc<IdentityCache>,
    pub answers: Arc<AnswerCache>,
}

impl CacheSink {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            clients: Arc::new(ClientCache::new(policy.client_capacity)),
            tokens: Arc::new(TokenCache::new(policy)),
            scopes: Arc::new(ScopeCatalogue::default()),
            identities: Arc::new(IdentityCache::new(policy.identity_capacity)),
            answers: Arc::new(AnswerCache::new(policy.answer_capacity)),
        }
    }
}

impl ChangeSink for CacheSink {
    fn apply(&self, change: &Change) {
        match change {
            // A revoked token's answer is never used again: the record is checked first.
            Change::TokenRevoked(hash) => self.tokens.revoked(hash),
            Change::FamilyRevoked(family) => self.tokens.family_revoked(*family),
            Change::ClientChanged(id) => {
                self.clients.invalidate(*id);
                self.answers.changed();
            }
            Change::ScopesChanged => {
                self.scopes.invalidate();
                self.answers.changed();
            }
            Change::IdentitySetChanged(id) => {
                self.identities.invalidate(*id);
                self.answers.changed();
            }
            // Nothing cached holds consents (the tokens a rescission revoked arrive as
            // `TokenRevoked`) or group memberships.
            Change::ConsentRescinded(_) | Change::MembershipChanged(_) => {}
            Change::FlushAll => {
                self.tokens.flush();
                self.clients.flush();
                self.scopes.invalidate();
                self.identities.flush();
                self.answers.flush();
            }
        }
    }

    fn set_trusted(&self, trusted: bool) {
        self.tokens.trusted.store(trusted, Ordering::SeqCst);
        for validity in [
            &self.clients.validity,
            &self.scopes.validity,
            &self.identities.validity,
            &self.answers.validity,
        ] {
            validity.trusted.store(trusted, Ordering::SeqCst);
        }
        if !trusted {
            // In-flight fills compare generations: make them drop what they read.
            self.tokens.revocations.fetch_add(1, Ordering::SeqCst);
            self.clients.validity.bump();
            self.scopes.validity.bump();
            self.identities.validity.bump();
            self.answers.validity.bump();
        }
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
            effective_identity: None,
        })
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_cached() {
        let cache = TokenCache::new(CachePolicy::default());
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

    fn sink() -> CacheSink {
        CacheSink::new(CachePolicy::default())
    }

    #[test]
    fn client_scope_and_identity_changes_make_remembered_answers_stale() {
        let s = sink();
        let t = SecretHash([1; 32]);
        for change in [
            Change::ClientChanged(Uuid::from_u128(1)),
            Change::ScopesChanged,
            Change::IdentitySetChanged(Uuid::from_u128(2)),
            Change::FlushAll,
        ] {
            let body = bytes::Bytes::from_static(b"{}");
            s.answers.insert(t, 0, 10, s.answers.generation(), body);
            assert!(s.answers.get(&t, 0, 10).is_some());
            s.apply(&change);
            assert!(s.answers.get(&t, 0, 10).is_none(), "{change:?}");
        }
    }

    #[test]
    fn an_untrusted_cache_serves_and_keeps_nothing_and_a_flush_empties_it() {
        let s = sink();
        let (a, b) = (record("a"), record("b"));
        s.tokens.insert_new(a.clone());
        assert!(s.tokens.get(&a.hash).is_some());
        s.set_trusted(false);
        assert!(
            s.tokens.get(&a.hash).is_none(),
            "not served while untrusted"
        );
        let g = s.tokens.generation();
        s.tokens.fill(b.clone(), g);
        s.tokens.insert_new(b.clone());
        s.apply(&Change::FlushAll);
        s.set_trusted(true);
        assert!(s.tokens.get(&a.hash).is_none(), "flushed");
        assert!(
            s.tokens.get(&b.hash).is_none(),
            "nothing kept while untrusted"
        );
    }

    #[test]
    fn a_family_revocation_drops_every_cached_member() {
        let s = sink();
        let family = Uuid::from_u128(5);
        let mut m = (*record("m")).clone();
        m.family_id = Some(family);
        let m = Arc::new(m);
        let other = record("o");
        s.tokens.insert_new(m.clone());
        s.tokens.insert_new(other.clone());
        s.apply(&Change::FamilyRevoked(family));
        assert!(s.tokens.get(&m.hash).is_none());
        assert!(s.tokens.get(&other.hash).is_some());
    }
}
