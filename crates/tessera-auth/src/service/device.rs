//! The device authorization grant (RFC 8628): starting one for a device, a person's decision on
//! the verification page, and the device's polls of the token endpoint.

use super::authorize::{self, Effective};
use super::person_tokens::{for_person, PersonGrant};
use super::tokens::GrantError;
use crate::metrics::GrantKind;
use crate::state::AppState;
use tessera_core::client::{Client, DEVICE_CODE_GRANT};
use tessera_core::grant::device_code::{self, Approval, DeviceGrant, DeviceState, UserCode};
use tessera_core::identity::Identity;
use tessera_core::secret::{Secret, SecretHash};
use tessera_core::session::BrowserSession;
use tessera_core::token::{self, TokenKind};
use tessera_proto::oauth::TokenResponse;
use tessera_store::StoreError;

/// What the device is told (RFC 8628 §3.2).
pub struct Started {
    pub device_code: Secret,
    pub user_code: UserCode,
    pub expires_in: i64,
    pub interval: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("{0}")]
    InvalidScope(String),
    #[error("this client may not use the device authorization grant")]
    UnauthorizedClient,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// RFC 8628 §3.1–§3.2: a new grant for `client`, waiting for a person.
pub async fn start(
    state: &AppState,
    client: &Client,
    scope: Option<&str>,
    access_type: Option<&str>,
) -> Result<Started, StartError> {
    if !client.client_type.allows_grant(DEVICE_CODE_GRANT) {
        return Err(StartError::UnauthorizedClient);
    }
    let scope = scope
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| StartError::InvalidScope("the scope parameter is required".into()))?;
    let scope = authorize::requested_scope(state, scope)
        .await?
        .map_err(StartError::InvalidScope)?;
    // A headless device cannot come back for a person's approval: offline unless asked not to.
    let offline = match access_type {
        None | Some("offline") => true,
        Some("online") => false,
        Some(_) => {
            return Err(StartError::InvalidRequest(
                "access_type must be online or offline",
            ))
        }
    };
    let now = state.clock.now();
    // A user code clash (1 in 2^34 per live grant) draws again.
    for _ in 0..3 {
        let (device_code, hash) = TokenKind::DeviceCode.generate(state.rng.as_ref());
        let user_code = UserCode::generate(state.rng.as_ref());
        let grant = DeviceGrant::new(
            hash,
            user_code.clone(),
            client.id,
            scope.clone(),
            offline,
            now,
        );
        match state.store.insert_device_grant(&grant).await {
            Ok(()) => {
                tracing::info!(event = "device_authorization_started", client = %client.id, "device authorization started");
                return Ok(Started {
                    device_code,
                    user_code,
                    expires_in: grant.expires_at - now,
                    interval: grant.interval,
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict("a device grant with this user code").into())
}

/// The grant a person's typed code names, if it still awaits a decision.
pub async fn awaiting(
    state: &AppState,
    code: &UserCode,
) -> Result<Option<DeviceGrant>, StoreError> {
    let now = state.clock.now();
    Ok(state
        .store
        .device_grant_by_user_code(code)
        .await?
        .filter(|g| g.awaits_decision(now)))
}

/// What became of a person's decision.
pub enum Decided {
    Approved,
    Denied,
    /// Decided already, or expired, in the meantime.
    Gone,
    /// None of the person's identities satisfies the client: they must sign in with one.
    NeedsIdentity(String),
}

/// The person signed in as `identity` with `session` approves (`allow`) or denies the grant.
/// Approving records their consent, as the consent page does.
pub async fn decide(
    state: &AppState,
    grant: &DeviceGrant,
    session: &BrowserSession,
    identity: &Identity,
    allow: bool,
) -> Result<Decided, StoreError> {
    let now = state.clock.now();
    // A scope whose group rule does not hold is refused: the device hears `access_denied`.
    let refused = if allow {
        super::group_rules::refused_at_consent(state, identity.id, &grant.scope).await?
    } else {
        None
    };
    if let Some(scopes) = &refused {
        tracing::info!(event = "scope_refused_by_group", identity = %identity.id, client = %grant.client_id, %scopes, "device grant refused: not a member of the scope's groups");
    }
    let allow = allow && refused.is_none();
    if !allow {
        let done = state
            .store
            .decide_device_grant(&grant.user_code, None, now)
            .await?;
        if done {
            crate::audit::device_decided(state, identity.id, grant.client_id, false, &grant.scope);
        }
        tracing::info!(event = "device_authorization_denied", client = %grant.client_id, identity = %identity.id, "device authorization denied");
        return Ok(if done { Decided::Denied } else { Decided::Gone });
    }
    let effective_identity = match authorize::effective(state, grant.client_id, identity).await? {
        Effective::Missing(what) => return Ok(Decided::NeedsIdentity(what)),
        Effective::SignedIn => None,
        Effective::Linked(i) => Some(i.id),
    };
    let approval = Approval {
        identity_id: session.identity_id,
        session_id: session.id,
        auth_time: session.auth_time,
        effective_identity,
    };
    if !state
        .store
        .decide_device_grant(&grant.user_code, Some(&approval), now)
        .await?
    {
        return Ok(Decided::Gone);
    }
    authorize::record_consent(
        state,
        grant.client_id,
        &grant.scope,
        identity,
        effective_identity,
    )
    .await?;
    crate::audit::device_decided(state, identity.id, grant.client_id, true, &grant.scope);
    tracing::info!(event = "device_authorization_approved", client = %grant.client_id, identity = %identity.id, "device authorization approved");
    Ok(Decided::Approved)
}

/// RFC 8628 §3.4–§3.5: a poll of the token endpoint. Tokens come once, to the first poll after
/// the approval that claims the grant; until then the device hears why not.
pub async fn poll(
    state: &AppState,
    client: &Client,
    device_code: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let invalid = || GrantError::InvalidGrant("the device code is not valid".into());
    let presented = device_code.ok_or_else(|| {
        GrantError::InvalidRequest("the device_code parameter is required".into())
    })?;
    if !client.client_type.allows_grant(DEVICE_CODE_GRANT) {
        return Err(GrantError::UnauthorizedClient(
            "this client may not use the device authorization grant",
        ));
    }
    if token::expect_kind(presented, TokenKind::DeviceCode).is_err() {
        return Err(invalid());
    }
    let hash = SecretHash::of(presented);
    let Some(grant) = state.store.device_grant(&hash).await? else {
        return Err(invalid());
    };
    let now = state.clock.now();
    let (outcome, interval) = device_code::poll(&grant, client.id, now);
    if let Err(e) = outcome {
        if grant.client_id == client.id && grant.state == DeviceState::Pending {
            state.store.record_device_poll(&hash, now, interval).await?;
        }
        return Err(GrantError::Device(e));
    }
    // Approved: claim it. Of two polls at once (on two nodes), one gets the row back.
    let Some(claimed) = state.store.redeem_device_grant(&hash, now).await? else {
        return Err(invalid());
    };
    let (DeviceState::Redeemed(a) | DeviceState::Approved(a)) = &claimed.state else {
        return Err(GrantError::Internal(
            "a redeemed device grant came back without its approval".into(),
        ));
    };
    for_person(
        state,
        client,
        &PersonGrant {
            kind: GrantKind::DeviceCode,
            identity_id: a.identity_id,
            session_id: a.session_id,
            auth_time: a.auth_time,
            scope: &claimed.scope,
            offline: claimed.offline,
            nonce: None,
            family_id: state.rng.uuid_v4(),
            effective_identity: a.effective_identity,
        },
    )
    .await
}
