//! Identities by id, for the token paths that describe a person (introspection, userinfo, ID
//! tokens), which otherwise read the identity from the database on every call.
//!
//! An identity row is written once and never updated (linking changes `identity_links`, not
//! the identity), so an entry stays right until it is evicted. The feed's
//! `IdentitySetChanged` and `FlushAll` drop entries all the same, so that a path that one day
//! updates identities only has to publish the change.

use super::{CacheStats, Validity};
use quick_cache::sync::Cache;
use std::sync::Arc;
use tessera_core::identity::Identity;
use tessera_store::{Store, StoreError};
use uuid::Uuid;

pub struct IdentityCache {
    cache: Cache<Uuid, Arc<Identity>>,
    pub(super) validity: Validity,
    pub stats: CacheStats,
}

impl IdentityCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity.max(1)),
            validity: Validity::new(),
            stats: CacheStats::default(),
        }
    }

    pub async fn get(
        &self,
        store: &dyn Store,
        id: Uuid,
    ) -> Result<Option<Arc<Identity>>, StoreError> {
        let trusted = self.validity.trusted();
        if let Some(found) = self.cache.get(&id).filter(|_| trusted) {
            self.stats.hit();
            return Ok(Some(found));
        }
        self.stats.miss();
        let generation = self.validity.generation();
        // Unknown ids are not remembered: an identity added a moment ago by another process
        // (`tessera admin user add`) must be found at once.
        let Some(identity) = store.identities_by_ids(&[id]).await?.into_iter().next() else {
            return Ok(None);
        };
        let identity = Arc::new(identity);
        if trusted {
            self.validity
                .keep(&self.cache, id, identity.clone(), generation);
        }
        Ok(Some(identity))
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
