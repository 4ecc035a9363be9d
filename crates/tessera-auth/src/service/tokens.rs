//! Issuing, looking up, introspecting, validating and revoking tokens.

use crate::state::AppState;
use std::sync::Arc;
use tessera_core::client::Client;
use tessera_core::grant::client_credentials::{self, PlanError};
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::identity::{client_identity, Identity};
use tessera_core::policy;
use tessera_core::secret::SecretHash;
use tessera_core::token::{self, TokenKind};
use tessera_proto::oauth::{
    ActiveIntrospection, IdentityDetail, SessionInfo, TokenInfo, TokenResponse,
};
use tessera_proto::scope::{distinct_roots, parse_scope_request};
use tessera_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// RFC 6749 §4.4: the client acts for itself. One token per resource server (spec §2.3).
pub async fn client_credentials(
    state: &AppState,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    if !client.client_type.allows_grant("client_credentials") {
        return Err(GrantError::UnauthorizedClient(
            "this client may not use the client_credentials grant",
        ));
    }
    let scope =
        scope.ok_or_else(|| GrantError::InvalidScope("the scope parameter is required".into()))?;
    let requests =
        parse_scope_request(scope).map_err(|e| GrantError::InvalidScope(e.to_string()))?;
    let now = state.clock.now();
    let catalogue = state
        .scopes
        .get_with(state.store.as_ref(), now, &distinct_roots(&requests))
        .await?;
    let plans =
        client_credentials::plan(&requests, |s| catalogue.by_string(s)).map_err(|e| match e {
            PlanError::UnknownScope(s) => GrantError::InvalidScope(format!("unknown scope: {s}")),
            other => GrantError::InvalidScope(other.to_string()),
        })?;

    let lifetime = state.config.access_token_lifetime;
    let mut infos = Vec::with_capacity(plans.len());
    let mut records = Vec::with_capacity(plans.len());
    for plan in plans {
        let (access_token, hash) = TokenKind::AccessToken.generate(state.rng.as_ref());
        let scope = plan.scopes.join(" ");
        records.push(Arc::new(TokenRecord {
            hash,
            kind: TokenKind::AccessToken,
            client_id: client.id,
            subject: client.id,
            subject_kind: SubjectKind::Client,
            resource_server: plan.resource_server.clone(),
            scope: scope.clone(),
            issued_at: now,
            expires_at: now + lifetime,
            revoked_at: None,
        }));
        infos.push(TokenInfo {
            access_token: access_token.expose().to_owned(),
            scope,
            resource_server: plan.resource_server,
            expires_in: lifetime,
            token_type: "Bearer".into(),
            refresh_token: None,
        });
    }
    // Durable before anyone sees the token.
    state
        .writer
        .write(records.iter().map(|r| TokenRecord::clone(r)).collect())
        .await?;
    for r in records {
        state.tokens.insert_new(r);
    }
    let mut infos = infos.into_iter();
    let top = infos
        .next()
        .ok_or_else(|| GrantError::InvalidScope("no scope requested".into()))?;
    Ok(TokenResponse {
        top,
        id_token: None,
        state: None,
        other_tokens: infos.collect(),
    })
}

/// The record of a presented access or refresh token, from the cache or the store. Malformed
/// strings are refused here without a lookup.
pub async fn lookup(
    state: &AppState,
    presented: &str,
) -> Result<Option<Arc<TokenRecord>>, StoreError> {
    match token::classify(presented) {
        Ok(TokenKind::AccessToken | TokenKind::RefreshToken) => {}
        _ => return Ok(None),
    }
    let hash = SecretHash::of(presented);
    if let Some(r) = state.tokens.get(&hash) {
        return Ok(Some(r));
    }
    let generation = state.tokens.generation();
    let Some(record) = state.store.token(&hash).await? else {
        return Ok(None);
    };
    let record = Arc::new(record);
    state.tokens.fill(record.clone(), generation);
    Ok(Some(record))
}

/// The record of a presented token if it is active now.
pub async fn active(
    state: &AppState,
    presented: &str,
) -> Result<Option<Arc<TokenRecord>>, StoreError> {
    let now = state.clock.now();
    Ok(lookup(state, presented).await?.filter(|r| r.is_active(now)))
}

/// The identity a token speaks for.
pub async fn subject(
    state: &AppState,
    record: &TokenRecord,
) -> Result<Option<Identity>, StoreError> {
    match record.subject_kind {
        SubjectKind::Client => {
            let entry = state
                .clients
                .get(state.store.as_ref(), record.subject, state.clock.now())
                .await?;
            Ok(entry.map(|e| client_identity(&e.client)))
        }
        SubjectKind::Identity => Ok(state
            .store
            .identities_by_ids(&[record.subject])
            .await?
            .into_iter()
            .next()),
    }
}

/// Which optional parts of an introspection answer were asked for (`include=`, spec §2.5).
#[derive(Debug, Default, Clone, Copy)]
pub struct Includes {
    pub identity_set: bool,
    pub identity_set_detail: bool,
    pub session_info: bool,
}

impl Includes {
    pub fn parse(csv: Option<&str>) -> Self {
        let mut out = Self::default();
        for item in csv.unwrap_or("").split(',').map(str::trim) {
            match item {
                "identity_set" => out.identity_set = true,
                "identity_set_detail" => out.identity_set_detail = true,
                "session_info" => out.session_info = true,
                _ => {} // unknown includes are ignored, as Globus does
            }
        }
        out
    }
}

/// RFC 7662: the active answer, or `None` for "tell them `{"active": false}`" — unknown,
/// malformed, expired, revoked, or not the caller's to see.
pub async fn introspect(
    state: &AppState,
    caller: &Client,
    presented: &str,
    includes: Includes,
) -> Result<Option<ActiveIntrospection>, StoreError> {
    let Some(record) = active(state, presented).await? else {
        return Ok(None);
    };
    if !policy::may_introspect(caller, &record) {
        return Ok(None);
    }
    let Some(identity) = subject(state, &record).await? else {
        return Ok(None);
    };
    let mut aud = vec![record.resource_server.clone()];
    let catalogue = state
        .scopes
        .get(state.store.as_ref(), state.clock.now())
        .await?;
    if let Some(owner) = catalogue
        .owner_of(&record.resource_server)
        .map(|id| id.to_string())
    {
        if !aud.contains(&owner) {
            aud.push(owner);
        }
    }
    let detail = || IdentityDetail {
        id: identity.id.to_string(),
        sub: identity.id.to_string(),
        username: identity.username.clone(),
        name: identity.name.clone(),
        email: identity.email.clone(),
        organization: identity.organization.clone(),
        identity_provider: identity.identity_provider.to_string(),
        identity_provider_display_name: identity.provider_display_name().to_owned(),
        identity_type: identity.identity_type.as_str().to_owned(),
        status: identity.status.as_str().to_owned(),
    };
    Ok(Some(ActiveIntrospection {
        active: true,
        token_type: "Bearer".into(),
        scope: record.scope.clone(),
        client_id: record.client_id.to_string(),
        sub: identity.id.to_string(),
        username: identity.username.clone(),
        name: identity.name.clone(),
        email: identity.email.clone(),
        aud,
        iss: state.config.issuer().to_owned(),
        exp: record.expires_at,
        iat: record.issued_at,
        nbf: record.issued_at,
        // Linked identities arrive with accounts; until then a set is its one identity.
        identity_set: includes.identity_set.then(|| vec![identity.id.to_string()]),
        identity_set_detail: includes.identity_set_detail.then(|| vec![detail()]),
        // Client tokens come from no browser session: no authentications to report.
        session_info: includes.session_info.then(|| SessionInfo {
            session_id: None,
            authentications: Default::default(),
        }),
    }))
}

/// `/v2/oauth2/token/validate` (spec §2.6): is this token active and the caller's own?
pub async fn validate(
    state: &AppState,
    caller: &Client,
    presented: &str,
) -> Result<bool, StoreError> {
    let Some(record) = active(state, presented).await? else {
        return Ok(false);
    };
    if record.client_id == caller.id {
        return Ok(true);
    }
    let owner = state
        .clients
        .get(state.store.as_ref(), record.client_id, state.clock.now())
        .await?;
    Ok(owner.is_some_and(|o| policy::may_revoke(caller, &o.client)))
}

/// RFC 7009: revokes the token if the caller may; answers the same whether or not it did, so
/// nothing is learnt about tokens that are not the caller's.
pub async fn revoke(state: &AppState, caller: &Client, presented: &str) -> Result<(), StoreError> {
    let Some(record) = lookup(state, presented).await? else {
        return Ok(());
    };
    if record.revoked_at.is_some() {
        return Ok(());
    }
    let allowed = record.client_id == caller.id || {
        let owner = state
            .clients
            .get(state.store.as_ref(), record.client_id, state.clock.now())
            .await?;
        owner.is_some_and(|o| policy::may_revoke(caller, &o.client))
    };
    if !allowed {
        tracing::info!(caller = %caller.id, "revocation of another client's token ignored");
        return Ok(());
    }
    state
        .store
        .revoke_token(&record.hash, state.clock.now())
        .await?;
    state.tokens.revoked(&record.hash);
    tracing::info!(client = %record.client_id, resource_server = %record.resource_server, "token revoked");
    Ok(())
}
