//! Issuing, looking up, introspecting, validating and revoking tokens.

use super::group_rules;
use super::issue::{self, Grant};
use super::person_tokens::{for_person, PersonGrant};
use crate::audit;
use crate::metrics::{GrantKind, RevokeReason};
use crate::state::AppState;
use std::sync::Arc;
use tessera_core::client::Client;
use tessera_core::grant::client_credentials::{self, PlanError};
use tessera_core::grant::refresh::{self, RefreshError, RefreshPlan};
use tessera_core::grant::{authorization_code, SubjectKind, TokenPlan, TokenRecord};
use tessera_core::identity::{client_identity, Identity};
use tessera_core::policy;
use tessera_core::secret::SecretHash;
use tessera_core::token::{self, TokenKind};
use tessera_proto::oauth::{GrantType, TokenInfo, TokenResponse};
use tessera_proto::scope::{distinct_roots, parse_scope_request};
use tessera_store::{Change, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// RFC 8628 §3.5: the device grant is not (or no longer) redeemable.
    #[error("{0}")]
    Device(tessera_core::grant::device_code::PollError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<issue::IssueError> for GrantError {
    fn from(e: issue::IssueError) -> Self {
        match e {
            issue::IssueError::Store(e) => Self::Store(e),
            issue::IssueError::Key(e) => Self::Internal(e.to_string()),
            issue::IssueError::Refused(scopes) => Self::InvalidScope(format!(
                "not granted: {scopes} (granted only to members of the scope's groups)"
            )),
        }
    }
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

    let grant = Grant {
        client_id: client.id,
        subject: client.id,
        subject_kind: SubjectKind::Client,
        family_id: None,
        session_id: None,
        auth_time: None,
        offline: false,
        parent: None,
        effective_identity: None,
    };
    let minted = issue::mint(state, &grant, &plans).await?;
    audit::tokens_issued(state, GrantKind::ClientCredentials, &minted.records);
    issue::store(state, minted.records).await?;
    let mut infos = minted.infos.into_iter();
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

/// RFC 6749 §4.1.3: exchanges a code for tokens (spec §2.3): one per resource server, refresh
/// tokens when the request was offline, an ID token next to the `auth.globus.org` token when
/// `openid` was granted. A replayed code revokes everything the first exchange produced.
pub async fn authorization_code(
    state: &AppState,
    client: &Client,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let invalid = |why: &str| GrantError::InvalidGrant(why.to_owned());
    let code =
        code.ok_or_else(|| GrantError::InvalidRequest("the code parameter is required".into()))?;
    if !client.client_type.allows_grant("authorization_code") {
        return Err(GrantError::UnauthorizedClient(
            "this client may not use the authorization_code grant",
        ));
    }
    if token::expect_kind(code, TokenKind::AuthorizationCode).is_err() {
        return Err(invalid("the authorization code is not valid"));
    }
    let hash = SecretHash::of(code);
    let Some(record) = state.store.code(&hash).await? else {
        return Err(invalid("the authorization code is not valid"));
    };
    let now = state.clock.now();
    if record.client_id != client.id {
        // Codes are usable only by their own client; a stranger learns nothing and burns nothing.
        return Err(invalid("the authorization code is not valid"));
    }
    if record.exchanged_at.is_some() || !state.store.claim_code(&hash, now).await? {
        let revoked = state.store.revoke_family(record.family_id, now).await?;
        state
            .publish(vec![Change::FamilyRevoked(record.family_id)])
            .await?;
        audit::family_revoked(
            state,
            client.id,
            record.family_id,
            revoked.len(),
            RevokeReason::CodeReplayed,
        );
        tracing::warn!(event = "code_replayed", client = %client.id, revoked = revoked.len(), "authorization code replayed; its tokens were revoked");
        return Err(invalid("the authorization code has been used already"));
    }
    authorization_code::check_exchange(&record, client.id, redirect_uri, verifier, now)
        .map_err(|e| invalid(&e.to_string()))?;
    for_person(
        state,
        client,
        &PersonGrant {
            kind: GrantKind::AuthorizationCode,
            identity_id: record.identity_id,
            session_id: record.session_id,
            auth_time: record.auth_time,
            scope: &record.scope,
            offline: record.offline,
            nonce: record.nonce.as_deref(),
            family_id: record.family_id,
            effective_identity: record.effective_identity,
        },
    )
    .await
}

/// RFC 6749 §6: exactly one token for the refresh token's resource server, with a refresh token
/// (spec §2.3). Public clients rotate; reuse of a rotated token (after the grace window, when
/// one is configured) is refused and revokes the family (RFC 9700 §4.14.2).
pub async fn refresh(
    state: &AppState,
    client: &Client,
    presented: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let invalid = |why: &str| GrantError::InvalidGrant(why.to_owned());
    let presented = presented.ok_or_else(|| {
        GrantError::InvalidRequest("the refresh_token parameter is required".into())
    })?;
    if token::expect_kind(presented, TokenKind::RefreshToken).is_err() {
        return Err(invalid("the refresh token is not valid"));
    }
    let Some(mut rt) = lookup(state, presented).await? else {
        return Err(invalid("the refresh token is not valid"));
    };
    let now = state.clock.now();
    let grace = state.config.refresh_grace;
    let mut planned = refresh::plan(&rt, client.id, client.is_public(), now, grace);
    // Group rules hold at every refresh: checked before a rotation is claimed, so a refused
    // refresh leaves the refresh token as it was (it works again once the membership returns).
    if planned.is_ok() {
        let scopes: Vec<String> = rt.scope.split(' ').map(str::to_owned).collect();
        let mut subject = group_rules::Subject::new(rt.subject, rt.subject_kind);
        let d = group_rules::decide(state, &mut subject, &scopes).await?;
        if d.allowed.is_empty() {
            return Err(issue::IssueError::Refused(d.refused.join(" ")).into());
        }
    }
    // A first rotation is claimed before anything is issued: of two uses at once (on this node
    // or another, perhaps from a copy cached a moment before the other rotated it) only one
    // claims it; the other decides again on the stored record (reuse, or a retry within a
    // grace window).
    if planned == Ok(RefreshPlan::Rotate) && !state.store.mark_rotated(&rt.hash, now).await? {
        state.tokens.revoked(&rt.hash);
        rt = match state.store.token(&rt.hash).await? {
            Some(r) => Arc::new(r),
            None => return Err(invalid("the refresh token is not valid")),
        };
        planned = match refresh::plan(&rt, client.id, client.is_public(), now, grace) {
            Ok(RefreshPlan::Rotate) => Err(RefreshError::Reused),
            other => other,
        };
    }
    let plan = match planned {
        Ok(p) => p,
        Err(RefreshError::Reused) => {
            if let Some(family) = rt.family_id {
                let revoked = state.store.revoke_family(family, now).await?;
                state.publish(vec![Change::FamilyRevoked(family)]).await?;
                audit::family_revoked(
                    state,
                    client.id,
                    family,
                    revoked.len(),
                    RevokeReason::RefreshReused,
                );
            }
            tracing::warn!(event = "refresh_token_reused", client = %client.id, "refresh token reused after rotation; family revoked");
            return Err(invalid("the refresh token has been used already"));
        }
        Err(e) => return Err(invalid(&e.to_string())),
    };
    let token_plan = TokenPlan {
        resource_server: rt.resource_server.clone(),
        scopes: rt.scope.split(' ').map(str::to_owned).collect(),
    };
    let rotate = matches!(plan, RefreshPlan::Rotate | RefreshPlan::RotateAgain);
    if plan == RefreshPlan::RotateAgain {
        // The first rotation's answer was evidently lost: what it issued must not stay alive.
        let children = state.store.revoke_children(&rt.hash, now).await?;
        audit::children_revoked(state, &rt, children.len());
        state
            .publish(children.into_iter().map(Change::TokenRevoked).collect())
            .await?;
    }
    let grant = Grant {
        client_id: client.id,
        subject: rt.subject,
        subject_kind: rt.subject_kind,
        family_id: rt.family_id,
        session_id: rt.session_id,
        auth_time: rt.auth_time,
        offline: rotate,
        parent: Some(rt.hash),
        effective_identity: rt.effective_identity,
    };
    let minted = issue::mint(state, &grant, std::slice::from_ref(&token_plan)).await?;
    audit::tokens_issued(state, GrantKind::RefreshToken, &minted.records);
    issue::store(state, minted.records).await?;
    if !rotate {
        state
            .store
            .extend_token(&rt.hash, now + state.config.refresh_idle_lifetime)
            .await?;
    }
    // The stored record changed (rotated_at or expiry): drop every cached copy.
    state.publish(vec![Change::TokenRevoked(rt.hash)]).await?;
    let mut top = minted
        .infos
        .into_iter()
        .next()
        .ok_or_else(|| invalid("nothing to refresh"))?;
    if !rotate {
        top.refresh_token = Some(presented.to_owned());
    }
    Ok(TokenResponse {
        top,
        id_token: None,
        state: None,
        other_tokens: Vec::new(),
    })
}

/// The dependent tokens a resource server may get for a token it received (spec §2.3): one
/// per resource server of the scopes consented directly beneath the token's scopes, held by
/// the caller, on behalf of the same user. Only the token's audience may ask.
pub async fn dependent(
    state: &AppState,
    caller: &Client,
    presented: Option<&str>,
    scope_filter: Option<&str>,
    offline: bool,
) -> Result<Vec<TokenInfo>, GrantError> {
    let presented = presented
        .ok_or_else(|| GrantError::InvalidRequest("the token parameter is required".into()))?;
    let invalid = |why: &str| GrantError::InvalidGrant(why.to_owned());
    if !caller.client_type.allows_grant(GrantType::DEPENDENT_TOKEN) {
        return Err(GrantError::UnauthorizedClient(
            "this client may not get dependent tokens",
        ));
    }
    let record = active(state, presented)
        .await?
        .filter(|r| r.kind == TokenKind::AccessToken)
        .ok_or_else(|| invalid("the token is not an active access token"))?;
    // Only the audience may exchange a token: anyone else holding it gains nothing.
    if !caller.is_audience(&record.resource_server) {
        return Err(invalid("the token was not issued for this client"));
    }
    if record.subject_kind != SubjectKind::Identity {
        return Err(invalid(
            "dependent tokens are issued only for tokens of a person",
        ));
    }
    let consents = state.store.consents_of(record.subject).await?;
    let roots: Vec<&str> = record.scope.split(' ').collect();
    let mut wanted: Vec<String> = Vec::new();
    for root in consents.iter().filter(|c| {
        c.dependency_path.len() == 1
            && c.client_id == record.client_id
            && roots.contains(&c.scope_string.as_str())
    }) {
        for child in consents.iter().filter(|c| {
            c.dependency_path.len() == 2
                && c.dependency_path.first() == Some(&root.id)
                && c.client_id == caller.id
        }) {
            if !wanted.contains(&child.scope_string) {
                wanted.push(child.scope_string.clone());
            }
        }
    }
    if let Some(filter) = scope_filter {
        let filter: Vec<&str> = filter.split_whitespace().collect();
        wanted.retain(|w| filter.contains(&w.as_str()));
    }
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let mut plans: Vec<TokenPlan> = Vec::new();
    for w in &wanted {
        let Some(scope) = catalogue.by_string(w) else {
            continue;
        };
        match plans
            .iter_mut()
            .find(|p| p.resource_server == scope.resource_server)
        {
            Some(p) => p.scopes.push(w.clone()),
            None => plans.push(TokenPlan {
                resource_server: scope.resource_server.clone(),
                scopes: vec![w.clone()],
            }),
        }
    }
    let grant = Grant {
        client_id: caller.id,
        subject: record.subject,
        subject_kind: SubjectKind::Identity,
        // One family with the token it came from: a replayed code takes its dependents along.
        family_id: record.family_id,
        session_id: record.session_id,
        auth_time: record.auth_time,
        offline,
        parent: None,
        effective_identity: record.effective_identity,
    };
    let minted = issue::mint(state, &grant, &plans).await?;
    audit::tokens_issued(state, GrantKind::DependentToken, &minted.records);
    issue::store(state, minted.records).await?;
    tracing::info!(event = "dependent_tokens_issued", caller = %caller.id, count = minted.infos.len(), "dependent tokens issued");
    Ok(minted.infos)
}

/// RFC 8693 token exchange with the dependent-grant rules: the subject token's audience asks,
/// and gets one token for one resource server beneath the consent (choose with `scope` or
/// `audience` when there are several).
pub async fn exchange(
    state: &AppState,
    caller: &Client,
    subject_token: Option<&str>,
    subject_token_type: Option<&str>,
    scope: Option<&str>,
    audience: Option<&str>,
) -> Result<TokenInfo, GrantError> {
    const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
    if subject_token_type != Some(ACCESS_TOKEN_TYPE) {
        return Err(GrantError::InvalidRequest(format!(
            "subject_token_type must be {ACCESS_TOKEN_TYPE}"
        )));
    }
    let mut tokens = dependent(state, caller, subject_token, scope, false).await?;
    if let Some(aud) = audience {
        tokens.retain(|t| t.resource_server == aud);
    }
    match tokens.len() {
        1 => Ok(tokens.remove(0)),
        0 => Err(GrantError::InvalidScope(
            "nothing consented beneath the subject token matches".into(),
        )),
        _ => Err(GrantError::InvalidTarget(
            "several resource servers match; narrow with scope or audience".into(),
        )),
    }
}

/// The longest JWT access token looked up (ours are well under 1 KiB).
const MAX_JWT_LEN: usize = 4096;

/// The record of a presented access or refresh token (opaque, or one of our JWT access tokens),
/// from the cache or the store. Malformed strings and JWTs we did not sign are refused here
/// without a lookup.
pub async fn lookup(
    state: &AppState,
    presented: &str,
) -> Result<Option<Arc<TokenRecord>>, StoreError> {
    let jwt = match token::classify(presented) {
        Ok(TokenKind::AccessToken | TokenKind::RefreshToken) => false,
        _ if presented.len() <= MAX_JWT_LEN
            && presented.bytes().filter(|b| *b == b'.').count() == 2 =>
        {
            true
        }
        _ => return Ok(None),
    };
    let hash = token::lookup_hash(presented);
    if let Some(r) = state.tokens.get(&hash) {
        // Only what we issued is cached: a hit is ours, signature and all, as long as the key
        // that signed it is still ours (an emergency rotation removes keys at once).
        if jwt && !state.keys.has_access_key_of(presented) {
            return Ok(None);
        }
        return Ok(Some(r));
    }
    // A JWT reaches the store only with a valid signature of one of our access-token keys.
    if jwt && !state.keys.is_own_access_token(presented) {
        return Ok(None);
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
                .get(state.store.as_ref(), record.subject)
                .await?;
            Ok(entry.map(|e| client_identity(&e.client)))
        }
        SubjectKind::Identity => Ok(state
            .identities
            .get(state.store.as_ref(), record.subject)
            .await?
            .map(|i| Identity::clone(&i))),
    }
}

/// The identity a token's claims describe: the grant's effective identity when it has one and
/// the client wants it (`userinfo_from_effective_identity`, the Globus default), else the
/// subject.
pub async fn described(
    state: &AppState,
    record: &TokenRecord,
) -> Result<Option<Identity>, StoreError> {
    if let (Some(eff), SubjectKind::Identity) = (record.effective_identity, record.subject_kind) {
        let wants = state
            .clients
            .get(state.store.as_ref(), record.client_id)
            .await?
            .is_none_or(|c| c.client.userinfo_from_effective_identity);
        if wants {
            if let Some(i) = state.identities.get(state.store.as_ref(), eff).await? {
                return Ok(Some(Identity::clone(&i)));
            }
        }
    }
    subject(state, record).await
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
        .get(state.store.as_ref(), record.client_id)
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
        // Nothing to do: every cache heard of the revocation when it committed (on PostgreSQL
        // the database announced it).
        return Ok(());
    }
    let allowed = record.client_id == caller.id || {
        let owner = state
            .clients
            .get(state.store.as_ref(), record.client_id)
            .await?;
        owner.is_some_and(|o| policy::may_revoke(caller, &o.client))
    };
    if !allowed {
        tracing::info!(caller = %caller.id, "revocation of another client's token ignored");
        return Ok(());
    }
    let now = state.clock.now();
    state.store.revoke_token(&record.hash, now).await?;
    let mut changes = vec![Change::TokenRevoked(record.hash)];
    let mut also = 0;
    // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of the same grant for
    // the same resource server (the one issued beside it and those refreshed from it).
    if record.kind == TokenKind::RefreshToken {
        if let Some(family) = record.family_id {
            for t in state
                .store
                .tokens_for(record.subject, record.client_id)
                .await?
            {
                if t.family_id == Some(family)
                    && t.resource_server == record.resource_server
                    && state.store.revoke_token(&t.hash, now).await?
                {
                    changes.push(Change::TokenRevoked(t.hash));
                    also += 1;
                }
            }
        }
    }
    state.publish(changes).await?;
    audit::token_revoked(state, caller.id, &record, also);
    tracing::info!(event = "token_revoked", client = %record.client_id, resource_server = %record.resource_server, "token revoked");
    Ok(())
}
