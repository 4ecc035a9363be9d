//! Introspection answers as rendered JSON, by token and by the optional parts asked for.
//!
//! A resource server without a cache of its own introspects the same token again and again;
//! rendering the answer (the subject's identity, the audience, the JSON) was a sixth of the
//! work of each call. What an answer says depends on the token record, which is checked on
//! every call before an answer is used (revoked, expired or not the caller's: no answer), and
//! on clients, scopes, identities and identity sets, any change of which reaches
//! [`AnswerCache::changed`] through the change feed. An answer rendered before the latest
//! change is rendered again, so correctness does not depend on eviction or time.

use super::{CacheStats, Validity};
use bytes::Bytes;
use quick_cache::sync::Cache;
use std::sync::Arc;
use tessera_core::clock::UnixTime;
use tessera_core::secret::SecretHash;

/// Which optional parts an answer has: a bit each (see `service::introspect::Includes`).
pub type PartsMask = u8;

struct Rendered {
    /// `AnswerCache::generation` when rendering began.
    generation: u64,
    /// The record's expiry the answer states: a record whose expiry moved is rendered again.
    expires_at: UnixTime,
    body: Bytes,
}

pub struct AnswerCache {
    cache: Cache<(SecretHash, PartsMask), Arc<Rendered>>,
    pub(super) validity: Validity,
    pub stats: CacheStats,
}

impl AnswerCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity.max(1)),
            validity: Validity::new(),
            stats: CacheStats::default(),
        }
    }

    /// Read before rendering; pass to [`AnswerCache::insert`].
    pub fn generation(&self) -> u64 {
        self.validity.generation()
    }

    /// The answer rendered for this token and these parts, if nothing it depends on changed
    /// since.
    pub fn get(&self, token: &SecretHash, parts: PartsMask, expires_at: UnixTime) -> Option<Bytes> {
        let fresh = self
            .validity
            .trusted()
            .then(|| self.cache.get(&(*token, parts)))
            .flatten()
            .filter(|f| f.generation == self.validity.generation() && f.expires_at == expires_at);
        match fresh {
            Some(f) => {
                self.stats.hit();
                Some(f.body.clone())
            }
            None => {
                self.stats.miss();
                None
            }
        }
    }

    pub fn insert(
        &self,
        token: SecretHash,
        parts: PartsMask,
        expires_at: UnixTime,
        generation: u64,
        body: Bytes,
    ) {
        if self.validity.trusted() && generation == self.validity.generation() {
            let rendered = Rendered {
                generation,
                expires_at,
                body,
            };
            self.cache.insert((token, parts), Arc::new(rendered));
        }
    }

    /// Something an answer may state changed: every answer rendered so far is stale.
    pub fn changed(&self) {
        self.validity.bump();
    }

    pub fn flush(&self) {
        self.validity.bump();
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: SecretHash = SecretHash([7; 32]);

    #[test]
    fn an_answer_is_used_until_anything_it_states_changes() {
        let c = AnswerCache::new(10);
        let g = c.generation();
        c.insert(T, 0, 100, g, Bytes::from_static(b"{}"));
        assert_eq!(c.get(&T, 0, 100).as_deref(), Some(&b"{}"[..]));
        assert!(c.get(&T, 1, 100).is_none(), "other parts: another answer");
        assert!(c.get(&T, 0, 200).is_none(), "the record's expiry moved");
        c.changed();
        assert!(c.get(&T, 0, 100).is_none(), "rendered before a change");
    }

    #[test]
    fn an_answer_rendered_while_something_changed_is_not_kept() {
        let c = AnswerCache::new(10);
        let g = c.generation(); // rendering starts...
        c.changed(); // ...a client changes meanwhile
        c.insert(T, 0, 100, g, Bytes::from_static(b"{}"));
        assert!(c.get(&T, 0, 100).is_none());
    }

    #[test]
    fn nothing_is_kept_or_served_while_the_feed_cannot_vouch() {
        let c = AnswerCache::new(10);
        c.insert(T, 0, 100, c.generation(), Bytes::from_static(b"{}"));
        c.validity
            .trusted
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(c.get(&T, 0, 100).is_none());
        c.insert(T, 1, 100, c.generation(), Bytes::from_static(b"{}"));
        c.validity
            .trusted
            .store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(c.get(&T, 1, 100).is_none());
    }
}
