//! Minting tokens for a grant: one access token (and, offline, one refresh token) per resource
//! server, recorded durably before anyone sees them.

use crate::state::AppState;
use std::sync::Arc;
use tessera_core::clock::UnixTime;
use tessera_core::grant::{SubjectKind, TokenPlan, TokenRecord};
use tessera_core::secret::SecretHash;
use tessera_core::token::TokenKind;
use tessera_proto::oauth::TokenInfo;
use tessera_store::StoreError;
use uuid::Uuid;

/// Who and what the tokens of one grant are for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: Uuid,
    pub subject: Uuid,
    pub subject_kind: SubjectKind,
    pub family_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub auth_time: Option<UnixTime>,
    /// Issue refresh tokens too.
    pub offline: bool,
    /// The refresh token these come from.
    pub parent: Option<SecretHash>,
    /// The linked identity the grant acts as, when not `subject` (see `TokenRecord`).
    pub effective_identity: Option<Uuid>,
}

/// Tokens minted but not yet stored.
pub struct Minted {
    pub infos: Vec<TokenInfo>,
    pub records: Vec<Arc<TokenRecord>>,
}

impl Grant {
    fn record(
        &self,
        kind: TokenKind,
        hash: SecretHash,
        plan: &TokenPlan,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Arc<TokenRecord> {
        Arc::new(TokenRecord {
            hash,
            kind,
            client_id: self.client_id,
            subject: self.subject,
            subject_kind: self.subject_kind,
            resource_server: plan.resource_server.clone(),
            scope: plan.scopes.join(" "),
            issued_at: now,
            expires_at,
            revoked_at: None,
            family_id: self.family_id,
            session_id: self.session_id,
            auth_time: self.auth_time,
            parent: self.parent,
            rotated_at: None,
            effective_identity: self.effective_identity,
        })
    }
}

pub fn mint(state: &AppState, grant: &Grant, plans: &[TokenPlan]) -> Minted {
    let now = state.clock.now();
    let lifetime = state.config.access_token_lifetime;
    let mut infos = Vec::with_capacity(plans.len());
    let mut records = Vec::with_capacity(plans.len() * 2);
    for plan in plans {
        let (access, hash) =
            TokenKind::AccessToken.generate_selected(state.rng.as_ref(), state.selectors.next(now));
        records.push(grant.record(TokenKind::AccessToken, hash, plan, now, now + lifetime));
        let refresh = grant.offline.then(|| {
            let (refresh, hash) = TokenKind::RefreshToken
                .generate_selected(state.rng.as_ref(), state.selectors.next(now));
            records.push(grant.record(
                TokenKind::RefreshToken,
                hash,
                plan,
                now,
                now + state.config.refresh_idle_lifetime,
            ));
            refresh.expose().to_owned()
        });
        infos.push(TokenInfo {
            access_token: access.expose().to_owned(),
            scope: plan.scopes.join(" "),
            resource_server: plan.resource_server.clone(),
            expires_in: lifetime,
            token_type: "Bearer".into(),
            refresh_token: refresh,
        });
    }
    Minted { infos, records }
}

/// Commits the records (group commit), then makes them visible to this node's cache.
pub async fn store(state: &AppState, records: Vec<Arc<TokenRecord>>) -> Result<(), StoreError> {
    state
        .writer
        .write(records.iter().map(|r| TokenRecord::clone(r)).collect())
        .await?;
    for r in records {
        state.tokens.insert_new(r);
    }
    tracing::debug!(event = "tokens_issued", "tokens issued");
    Ok(())
}
