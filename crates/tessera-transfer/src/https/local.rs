//! [`LocalAccess`]: the decision `tessera serve` makes for its own endpoints. A bearer token is
//! validated by Transfer's guard and must carry the endpoint's `https` scope; a signed link must
//! verify under the server's link key. Either way the identities then need read (or write)
//! permission on the path by exactly the rules of the Transfer API (owner, access rules with
//! groups, a share capped by its owner's rights on the host). Then the endpoint's pause rules:
//! `pause_task_transfer_read` pauses `GET`/`HEAD`, `pause_task_transfer_write` `PUT`,
//! `pause_task_delete` `DELETE` (503 `OperationPaused` with `Retry-After`).

use super::{scope_string, Access, AccessRequest, Credential, HttpsError, Operation};
use crate::service::endpoints as svc;
use crate::service::pause_ops::{self, Paused};
use crate::storage::Storage;
use crate::TransferState;
use std::sync::Arc;
use tessera_guard::GuardError;
use uuid::Uuid;

pub struct LocalAccess {
    state: TransferState,
}

impl LocalAccess {
    pub fn new(state: TransferState) -> Self {
        Self { state }
    }

    /// The identities behind a credential for `endpoint`.
    async fn identities(
        &self,
        request: &AccessRequest<'_>,
        endpoint: Uuid,
    ) -> Result<Vec<Uuid>, HttpsError> {
        match request.credential {
            Credential::None => Err(HttpsError::token_required()),
            Credential::Bearer(token) => {
                let info =
                    self.state.guard.validate(token).await.map_err(|e| {
                        match e {
                    GuardError::Unavailable(detail) => HttpsError::internal(detail),
                    _ => HttpsError::invalid_token(
                        "The access token is not valid (expired, revoked, or not for this service)",
                    ),
                }
                    })?;
                let scope = scope_string(endpoint);
                if !info.scopes.contains(&scope) {
                    return Err(HttpsError::insufficient_scope(&scope));
                }
                let id = Uuid::parse_str(&info.sub)
                    .map_err(|_| HttpsError::invalid_token("The token has no identity"))?;
                let mut ids = vec![id];
                for other in &info.identity_set {
                    if let Ok(u) = Uuid::parse_str(other) {
                        if !ids.contains(&u) {
                            ids.push(u);
                        }
                    }
                }
                Ok(ids)
            }
            Credential::Link(link) => {
                let now = self.state.clock.now();
                if !self
                    .state
                    .https
                    .link_key
                    .verify(link, endpoint, request.path, now)
                {
                    return Err(HttpsError::forbidden(
                        "The signed link is invalid or has expired",
                    ));
                }
                Ok(vec![link.by])
            }
        }
    }
}

#[async_trait::async_trait]
impl Access for LocalAccess {
    async fn authorize(&self, request: AccessRequest<'_>) -> Result<Arc<dyn Storage>, HttpsError> {
        // Without any credential nothing is looked up: a 401 for every endpoint id, so the
        // answer does not tell which endpoints exist.
        if matches!(request.credential, Credential::None) {
            return Err(HttpsError::token_required());
        }
        let endpoint = svc::load(&self.state, request.endpoint).await?;
        let identities = self.identities(&request, endpoint.id).await?;
        let access = svc::access_of(&self.state, &identities, &endpoint, request.path).await?;
        let write = request.operation.is_write();
        let allowed = if write {
            access.allows_write()
        } else {
            access.allows_read()
        };
        if !allowed {
            return Err(HttpsError::forbidden(format!(
                "You do not have {} permission on {} of endpoint {}",
                if write { "write" } else { "read" },
                request.path.to_api(),
                endpoint.id
            )));
        }
        // Only someone allowed to do it learns that it is paused, and why.
        let op = match request.operation {
            Operation::Read => Paused::Read,
            Operation::Write => Paused::Write,
            Operation::Delete => Paused::Delete,
        };
        if let Some(rule) = pause_ops::stopping(&self.state, &endpoint, &identities, op)
            .await
            .map_err(HttpsError::internal)?
        {
            return Err(HttpsError::paused(pause_ops::message(op, &endpoint, &rule)));
        }
        Ok(svc::open(&self.state, &endpoint).await?)
    }
}
