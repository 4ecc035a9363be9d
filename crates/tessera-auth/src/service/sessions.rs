//! Signing in to the built-in identity provider, and browser sessions.

use super::password::VerifyError;
use crate::state::AppState;
use tessera_core::identity::{normalize_username, Identity, IdentityStatus};
use tessera_core::secret::{Secret, SecretHash};
use tessera_core::session::{BrowserSession, SessionAuthentication, SESSION_LIFETIME_S};
use tessera_core::token::{self, TokenKind};
use tessera_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user or wrong password: one variant, one message.
    #[error("the username or password is incorrect")]
    Rejected,
    #[error("too many failed attempts; try again in {0} s")]
    Throttled(i64),
    #[error("the service is busy; try again shortly")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Checks a username and password (with throttling, and the same cost and answer whether or
/// not the account exists).
pub async fn verify(
    state: &AppState,
    username: &str,
    password: &Secret,
    address: Option<&str>,
) -> Result<Identity, SignInError> {
    let now = state.clock.now();
    let account = normalize_username(username);
    let wait = state.throttle.wait(&account, address, now);
    if wait > 0 {
        crate::audit::sign_in_failed(state, username, crate::metrics::SignInResult::Throttled);
        return Err(SignInError::Throttled(wait));
    }
    let found = if account.is_empty() || account.len() > 256 {
        None
    } else {
        state.store.login_identity(&account).await?
    };
    let (identity, stored) = match found {
        Some((i, h)) if i.status != IdentityStatus::Closed => (Some(i), h),
        _ => (None, None),
    };
    let ok = state
        .passwords
        .verify(password, stored.as_deref())
        .await
        .map_err(|e| match e {
            VerifyError::Busy => SignInError::Busy,
            VerifyError::Internal(e) => SignInError::Internal(e),
        })?;
    match identity.filter(|_| ok) {
        Some(i) => {
            state.throttle.succeeded(&account);
            crate::audit::signed_in(state, &i);
            Ok(i)
        }
        None => {
            state.throttle.failed(&account, address, now);
            crate::audit::sign_in_failed(state, username, crate::metrics::SignInResult::Failed);
            tracing::info!(event = "sign_in_failed", "sign-in failed");
            Err(SignInError::Rejected)
        }
    }
}

/// How a person proved who they are for one sign-in; the session model (`session_info`,
/// `session_required_mfa`) is built from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// A second factor was used (TOTP, or an upstream IdP's `amr` the operator trusts).
    pub mfa: bool,
}

impl Proof {
    pub fn password() -> Self {
        Proof { mfa: false }
    }
}

/// Opens a session for an identity that has already proved itself (password form, upstream
/// IdP callback, MFA step), recording that authentication (`session_info`). The returned secret
/// goes into the cookie.
pub async fn open(
    state: &AppState,
    identity: &Identity,
    proof: Proof,
) -> Result<(BrowserSession, Secret), StoreError> {
    open_after(state, identity, proof, None).await
}

/// [`open`], carrying over the authentications of `previous` (the session the browser had)
/// when it belongs to the same person — the identity signed in with now is in the previous
/// session's identity set. Signing in again, or with another linked identity, so updates the
/// session (the Globus "session update") under a fresh cookie; a different person starts from
/// nothing.
pub async fn open_after(
    state: &AppState,
    identity: &Identity,
    proof: Proof,
    previous: Option<&BrowserSession>,
) -> Result<(BrowserSession, Secret), StoreError> {
    let now = state.clock.now();
    let (secret, hash) = TokenKind::Session.generate(state.rng.as_ref());
    let session = BrowserSession {
        id: state.rng.uuid_v4(),
        hash,
        identity_id: identity.id,
        auth_time: now,
        created_at: now,
        expires_at: now + SESSION_LIFETIME_S,
        revoked_at: None,
    };
    let mut carried = Vec::new();
    if let Some(prev) = previous.filter(|p| p.is_active(now)) {
        let same_person = prev.identity_id == identity.id
            || state
                .store
                .identity_set(prev.identity_id)
                .await?
                .iter()
                .any(|i| i.id == identity.id);
        if same_person {
            carried = state.store.session_authentications(prev.id).await?;
        }
    }
    state.store.insert_session(&session).await?;
    for a in carried.iter().filter(|a| a.identity_id != identity.id) {
        state.store.record_authentication(session.id, a).await?;
    }
    record(state, &session, identity, proof).await?;
    tracing::info!(event = "sign_in", identity = %identity.id, mfa = proof.mfa, "signed in");
    Ok((session, secret))
}

/// Records that `identity` proved itself now in `session` (replacing its earlier entry):
/// a sign-in, or a second identity linked while signed in.
pub async fn record(
    state: &AppState,
    session: &BrowserSession,
    identity: &Identity,
    proof: Proof,
) -> Result<(), StoreError> {
    state
        .store
        .record_authentication(
            session.id,
            &SessionAuthentication {
                identity_id: identity.id,
                idp: identity.identity_provider,
                auth_time: state.clock.now(),
                mfa: proof.mfa,
            },
        )
        .await
}

/// The authentications of a session. A session from before the session model has none
/// stored: its one sign-in stands for itself.
pub async fn authentications(
    state: &AppState,
    session: &BrowserSession,
    identity: &Identity,
) -> Result<Vec<SessionAuthentication>, StoreError> {
    let found = state.store.session_authentications(session.id).await?;
    if found.is_empty() {
        return Ok(vec![SessionAuthentication {
            identity_id: identity.id,
            idp: identity.identity_provider,
            auth_time: session.auth_time,
            mfa: false,
        }]);
    }
    Ok(found)
}

/// The live session a cookie names, with its identity.
pub async fn current(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<(BrowserSession, Identity)>, StoreError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    if token::expect_kind(cookie, TokenKind::Session).is_err() {
        return Ok(None);
    }
    let Some(session) = state.store.session(&SecretHash::of(cookie)).await? else {
        return Ok(None);
    };
    if !session.is_active(state.clock.now()) {
        return Ok(None);
    }
    let identity = state
        .store
        .identities_by_ids(&[session.identity_id])
        .await?
        .into_iter()
        .next();
    Ok(identity.map(|i| (session, i)))
}

pub async fn sign_out(state: &AppState, cookie: Option<&str>) -> Result<(), StoreError> {
    if let Some(c) = cookie.filter(|c| token::expect_kind(c, TokenKind::Session).is_ok()) {
        state
            .store
            .revoke_session(&SecretHash::of(c), state.clock.now())
            .await?;
    }
    Ok(())
}
