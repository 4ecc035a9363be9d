//! TOTP second factors (RFC 6238) of built-in identities: enrolment with a QR code and recovery
//! codes, the challenge between a proven password and the session it opens, and code checks
//! that are throttled and refuse replays.
//!
//! Secrets are sealed at rest with the master key like signing keys (AES-256-GCM, the identity
//! id as associated data, so a sealed secret cannot be moved to another identity); without a
//! master key they are stored in clear, as signing keys are.

use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tessera_core::identity::Identity;
use tessera_core::secret::{Secret, SecretHash};
use tessera_core::totp::{self, CodeError, TotpSecret};
use tessera_store::{StoreError, TotpCredential};
use uuid::Uuid;

/// How long a proven password waits for its second factor.
pub const CHALLENGE_LIFETIME_S: i64 = 300;
const CLEAR_PREFIX: &str = "clear:";

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("the code is not correct")]
    Wrong,
    #[error("this code was used already; wait for the next one")]
    Reused,
    #[error("too many wrong codes; try again in {0} s")]
    Throttled(i64),
    #[error("two-step verification is not set up for this identity")]
    NotEnrolled,
    #[error("the set-up form is not valid; start again")]
    BadEnrolment,
    #[error("the stored second factor cannot be read: {0}")]
    Sealed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn kid(identity: Uuid) -> String {
    format!("totp:{identity}")
}

fn seal(state: &AppState, identity: Uuid, secret: &TotpSecret) -> Result<String, MfaError> {
    match &state.config.master_key {
        Some(m) => m
            .seal(&kid(identity), &secret.to_base32())
            .map_err(|e| MfaError::Sealed(e.to_string())),
        None => Ok(format!("{CLEAR_PREFIX}{}", secret.to_base32())),
    }
}

fn unseal(state: &AppState, identity: Uuid, stored: &str) -> Result<TotpSecret, MfaError> {
    let text = match (stored.strip_prefix(CLEAR_PREFIX), &state.config.master_key) {
        (Some(clear), _) => clear.to_owned(),
        (None, Some(m)) => m
            .open(&kid(identity), stored)
            .map_err(|e| MfaError::Sealed(e.to_string()))?,
        (None, None) => {
            return Err(MfaError::Sealed(
                "it is sealed and no master key is configured".into(),
            ))
        }
    };
    TotpSecret::from_base32(&text).ok_or_else(|| MfaError::Sealed("not base32".into()))
}

/// Whether the identity has a second factor.
pub async fn enrolled(state: &AppState, identity: Uuid) -> Result<bool, StoreError> {
    Ok(state.store.totp_credential(identity).await?.is_some())
}

/// What the set-up page shows: the secret (typed by hand or read from the QR code) and a
/// token to post back, which carries the secret sealed to this identity so nothing is stored
/// before the first code proves the authenticator has it.
pub struct Enrolment {
    pub secret_base32: String,
    pub uri: String,
    pub qr_svg: String,
    pub pending: String,
}

pub fn begin_enrolment(state: &AppState, identity: &Identity) -> Result<Enrolment, MfaError> {
    let secret = TotpSecret::generate(state.rng.as_ref());
    let uri = secret.uri(&issuer_label(state), &identity.username);
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        // Inline in the page: without the XML declaration.
        .map(|svg| match svg.find("<svg") {
            Some(i) => svg[i..].to_owned(),
            None => svg,
        })
        .map_err(|e| MfaError::Sealed(format!("QR code: {e}")))?;
    let pending = match &state.config.master_key {
        Some(m) => m
            .seal(&format!("totp-enrol:{}", identity.id), &secret.to_base32())
            .map_err(|e| MfaError::Sealed(e.to_string()))?,
        // Without a master key nothing can be sealed; the secret is on the page anyway.
        None => format!("{CLEAR_PREFIX}{}", secret.to_base32()),
    };
    Ok(Enrolment {
        secret_base32: secret.to_base32(),
        uri,
        qr_svg,
        pending: URL_SAFE_NO_PAD.encode(pending),
    })
}

/// The first code proves the authenticator holds the secret: it is stored (sealed), with fresh
/// recovery codes, which are returned to be shown once.
pub async fn confirm_enrolment(
    state: &AppState,
    identity: &Identity,
    pending: &str,
    code: &str,
    address: Option<&str>,
) -> Result<Vec<Secret>, MfaError> {
    let raw = URL_SAFE_NO_PAD
        .decode(pending)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(MfaError::BadEnrolment)?;
    let text = match (raw.strip_prefix(CLEAR_PREFIX), &state.config.master_key) {
        (Some(clear), None) => clear.to_owned(),
        (None, Some(m)) => m
            .open(&format!("totp-enrol:{}", identity.id), &raw)
            .map_err(|_| MfaError::BadEnrolment)?,
        _ => return Err(MfaError::BadEnrolment),
    };
    let secret = TotpSecret::from_base32(&text).ok_or(MfaError::BadEnrolment)?;
    let now = state.clock.now();
    let key = throttle_key(identity.id);
    let wait = state.throttle.wait(&key, address, now);
    if wait > 0 {
        return Err(MfaError::Throttled(wait));
    }
    let step = match totp::verify(&secret, code, now, None) {
        Ok(step) => step,
        Err(_) => {
            state.throttle.failed(&key, address, now);
            return Err(MfaError::Wrong);
        }
    };
    let codes = totp::recovery_codes(state.rng.as_ref());
    let hashes: Vec<SecretHash> = codes.iter().map(|(_, h)| *h).collect();
    state
        .store
        .enrol_totp(
            &TotpCredential {
                identity_id: identity.id,
                secret: seal(state, identity.id, &secret)?,
                last_step: step,
                created_at: now,
            },
            &hashes,
        )
        .await?;
    state.throttle.succeeded(&key);
    tracing::info!(event = "mfa_enrolled", identity = %identity.id, "two-step verification set up");
    Ok(codes.into_iter().map(|(c, _)| c).collect())
}

/// "Tessera (auth.example.org)": how the authenticator app names the account.
fn issuer_label(state: &AppState) -> String {
    match url::Url::parse(state.config.issuer())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    {
        Some(host) => format!("Tessera ({host})"),
        None => "Tessera".into(),
    }
}

fn throttle_key(identity: Uuid) -> String {
    format!("mfa:{identity}")
}

/// Checks a code typed at sign-in: a TOTP code (each time step accepted once, whichever node
/// sees it) or a recovery code (each once). Wrong guesses are throttled per identity and
/// address like passwords.
pub async fn check(
    state: &AppState,
    identity: Uuid,
    code: &str,
    address: Option<&str>,
) -> Result<(), MfaError> {
    let now = state.clock.now();
    let key = throttle_key(identity);
    let wait = state.throttle.wait(&key, address, now);
    if wait > 0 {
        return Err(MfaError::Throttled(wait));
    }
    let credential = state
        .store
        .totp_credential(identity)
        .await?
        .ok_or(MfaError::NotEnrolled)?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let result = if digits.len() == totp::DIGITS as usize {
        let secret = unseal(state, identity, &credential.secret)?;
        match totp::verify(&secret, &digits, now, Some(credential.last_step)) {
            Ok(step) if state.store.use_totp_step(identity, step).await? => Ok(()),
            // Another request used this step (or a later one) meanwhile.
            Ok(_) | Err(CodeError::Reused) => Err(MfaError::Reused),
            Err(CodeError::Wrong) => Err(MfaError::Wrong),
        }
    } else {
        let hash = SecretHash::of(&totp::normalize_recovery_code(code));
        if state.store.use_recovery_code(identity, &hash, now).await? {
            tracing::info!(event = "mfa_recovery_code_used", identity = %identity, "a recovery code was used");
            Ok(())
        } else {
            Err(MfaError::Wrong)
        }
    };
    match &result {
        Ok(()) => state.throttle.succeeded(&key),
        Err(MfaError::Wrong | MfaError::Reused) => {
            state.throttle.failed(&key, address, now);
            tracing::info!(event = "mfa_failed", identity = %identity, "a second-factor code was refused");
        }
        Err(_) => {}
    }
    result
}

/// Starts the second step of a sign-in: the returned secret goes into the MFA cookie.
pub async fn challenge(state: &AppState, identity: Uuid) -> Result<Secret, StoreError> {
    let mut b = [0u8; 32];
    state.rng.fill(&mut b);
    let secret = format!("tmc_{}", URL_SAFE_NO_PAD.encode(b));
    state
        .store
        .insert_mfa_challenge(
            &SecretHash::of(&secret),
            identity,
            state.clock.now() + CHALLENGE_LIFETIME_S,
        )
        .await?;
    Ok(Secret::new(secret))
}

/// The identity waiting for its second factor under this cookie, if any.
pub async fn challenged(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<Identity>, StoreError> {
    let Some(cookie) = cookie.filter(|c| c.starts_with("tmc_") && c.len() < 100) else {
        return Ok(None);
    };
    let Some(id) = state
        .store
        .mfa_challenge(&SecretHash::of(cookie), state.clock.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .store
        .identities_by_ids(&[id])
        .await?
        .into_iter()
        .next())
}

/// Ends the challenge once; false when it was ended already (two tabs racing).
pub async fn end_challenge(state: &AppState, cookie: &str) -> Result<bool, StoreError> {
    state
        .store
        .delete_mfa_challenge(&SecretHash::of(cookie))
        .await
}

/// Turns the second factor off (account page).
pub async fn remove(state: &AppState, identity: Uuid) -> Result<bool, StoreError> {
    let removed = state.store.remove_totp(identity).await?;
    if removed {
        tracing::info!(event = "mfa_removed", identity = %identity, "two-step verification turned off");
    }
    Ok(removed)
}
