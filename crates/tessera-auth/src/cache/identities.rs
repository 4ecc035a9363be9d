//! Identities by id, for the token paths that describe a person (introspection, userinfo, ID
//! tokens), which otherwise read the identity from the database on every call.
//!
//! An identity row is written once and never updated (linking changes `identity_links`, not
//! the identity), so an entry stays right until it is evicted. The feed's
//! `IdentitySetChanged` and `FlushAll` drop entries all the same, so that a path that one day
//! updates identities only has to publish the change.

use super::ByIdCache;
use std::sync::Arc;
use tessera_core::identity::Identity;
use tessera_store::{Store, StoreError};
use uuid::Uuid;

pub type IdentityCache = ByIdCache<Identity>;

impl ByIdCache<Identity> {
    pub async fn get(
        &self,
        store: &dyn Store,
        id: Uuid,
    ) -> Result<Option<Arc<Identity>>, StoreError> {
        self.get_or_load(id, async {
            Ok(store.identities_by_ids(&[id]).await?.into_iter().next())
        })
        .await
    }
}
