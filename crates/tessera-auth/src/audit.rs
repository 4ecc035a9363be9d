//! The audit log of security events, and the counters that go with them.
//!
//! Services call one function here per event; each queues an [`AuditEvent`] for the batched
//! writer (`tessera_store::AuditWriter`, never waiting for the database) and bumps the matching
//! counter of [`crate::metrics`]. Events carry who acted, whom it concerns, the client, the
//! caller's address (`crate::client_addr`) and a small JSON detail — never a
//! password, token or secret: tokens appear as the first 8 bytes of their SHA-256 in hex (the
//! store keeps the full hash, so an admin can find the row), which cannot be turned back into
//! the token.
//!
//! Event types: `sign_in`, `sign_in_failed`, `token_issued`, `token_revoked`,
//! `consent_granted`, `consent_rescinded`, `client_secret_created`, `client_secret_deleted`,
//! `client_deleted`, `identity_linked`, `identity_unlinked`.

use crate::metrics::{GrantKind, RevokeReason, SignInResult};
use crate::state::AppState;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tessera_core::client::ClientCredential;
use tessera_core::clock::UnixTime;
use tessera_core::consent::Consent;
use tessera_core::grant::TokenRecord;
use tessera_core::identity::Identity;
use tessera_core::secret::SecretHash;
use tessera_core::token::TokenKind;
use tessera_store::{AuditEvent, NewConsent};
use uuid::Uuid;

/// Every event type, for validating filters.
pub const EVENT_TYPES: &[&str] = &[
    "sign_in",
    "sign_in_failed",
    "token_issued",
    "token_revoked",
    "consent_granted",
    "consent_rescinded",
    "client_secret_created",
    "client_secret_deleted",
    "client_deleted",
    "identity_linked",
    "identity_unlinked",
    "device_authorized",
    "device_denied",
    "client_registered",
    "mfa_enabled",
    "mfa_disabled",
];

/// The longest username kept from a failed sign-in (it is whatever was typed).
const MAX_TYPED_USERNAME: usize = 256;

fn remote_addr() -> Option<String> {
    crate::client_addr::current().map(|a| a.to_string())
}

/// The public handle of a token in the log: the first 8 bytes of its SHA-256, in hex.
pub fn token_ref(hash: &SecretHash) -> String {
    hash.as_bytes()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn record(
    state: &AppState,
    event: &str,
    actor: Option<Uuid>,
    subject: Option<Uuid>,
    client_id: Option<Uuid>,
    detail: Value,
) {
    state.audit.record(AuditEvent {
        at: state.clock.now(),
        event: event.to_owned(),
        actor,
        subject,
        client_id,
        remote_addr: remote_addr(),
        detail,
    });
}

/// A password sign-in succeeded.
pub fn signed_in(state: &AppState, identity: &Identity) {
    state.metrics.sign_in(SignInResult::Succeeded);
    record(
        state,
        "sign_in",
        Some(identity.id),
        Some(identity.id),
        None,
        json!({"username": identity.username}),
    );
}

/// A password sign-in was refused (`Failed`) or not even tried (`Throttled`). `typed` is the
/// username as typed; the password is never seen here.
pub fn sign_in_failed(state: &AppState, typed: &str, result: SignInResult) {
    state.metrics.sign_in(result);
    let username: String = typed.chars().take(MAX_TYPED_USERNAME).collect();
    let reason = match result {
        SignInResult::Throttled => "throttled",
        _ => "rejected",
    };
    record(
        state,
        "sign_in_failed",
        None,
        None,
        None,
        json!({"username": username, "reason": reason}),
    );
}

/// Tokens were minted for `grant` (call with the records about to be stored). Tokens of user
/// grants are logged one by one; client-credentials tokens (a service may ask for thousands a
/// second, and each has a row in the token table already) are counted per client, resource
/// server, scope and address, and each count becomes one `token_issued` event a second later
/// (`count`, the first token's reference, the first and last times).
pub fn tokens_issued(state: &AppState, grant: GrantKind, records: &[Arc<TokenRecord>]) {
    let refresh = records
        .iter()
        .filter(|r| r.kind == TokenKind::RefreshToken)
        .count() as u64;
    state
        .metrics
        .issued(grant, records.len() as u64 - refresh, refresh);
    if grant == GrantKind::ClientCredentials {
        let addr = crate::client_addr::current();
        let now = state.clock.now();
        for r in records {
            state.issuance.add(r, addr, now);
        }
        return;
    }
    for r in records {
        let mut detail = json!({
            "grant_type": grant.as_str(),
            "token_type": r.kind.as_str(),
            "token": token_ref(&r.hash),
            "resource_server": r.resource_server,
            "scope": r.scope,
        });
        if let Some(family) = r.family_id {
            detail["family_id"] = json!(family);
        }
        record(
            state,
            "token_issued",
            Some(r.client_id),
            Some(r.subject),
            Some(r.client_id),
            detail,
        );
    }
}

/// How often the client-credentials tally is written to the log.
pub const TALLY_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug)]
struct Tally {
    resource_server: String,
    scope: String,
    count: u64,
    first_token: String,
    first_at: UnixTime,
    last_at: UnixTime,
}

/// Client-credentials tokens issued since the tally was last written (one short lock a token),
/// by client and address, then by resource server and scope: a client asks for a handful of
/// scope sets, searched in order, so counting a token allocates nothing.
#[derive(Debug, Default)]
pub struct IssuanceTally(Mutex<Tallies>);

/// Tallies by client and address.
type Tallies = HashMap<(Uuid, Option<IpAddr>), Vec<Tally>>;

impl IssuanceTally {
    fn add(&self, r: &TokenRecord, remote_addr: Option<IpAddr>, at: UnixTime) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let tallies = map.entry((r.client_id, remote_addr)).or_default();
        match tallies
            .iter_mut()
            .find(|t| t.resource_server == r.resource_server && t.scope == r.scope)
        {
            Some(t) => {
                t.count += 1;
                t.last_at = at;
            }
            None => tallies.push(Tally {
                resource_server: r.resource_server.clone(),
                scope: r.scope.clone(),
                count: 1,
                first_token: token_ref(&r.hash),
                first_at: at,
                last_at: at,
            }),
        }
    }

    fn take(&self) -> Tallies {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Turns the client-credentials tally into `token_issued` events (queued for the writer).
pub fn write_tally(state: &AppState) {
    for ((client, addr), tallies) in state.issuance.take() {
        for t in tallies {
            state.audit.record(AuditEvent {
                at: t.first_at,
                event: "token_issued".to_owned(),
                actor: Some(client),
                subject: Some(client),
                client_id: Some(client),
                remote_addr: addr.map(|a| a.to_string()),
                detail: json!({
                    "grant_type": GrantKind::ClientCredentials.as_str(),
                    "token_type": TokenKind::AccessToken.as_str(),
                    "count": t.count,
                    "token": t.first_token,
                    "resource_server": t.resource_server,
                    "scope": t.scope,
                    "last_at": t.last_at,
                }),
            });
        }
    }
}

/// `caller` revoked `token` (RFC 7009); `also` more tokens of its grant went with it.
pub fn token_revoked(state: &AppState, caller: Uuid, token: &TokenRecord, also: u64) {
    state.metrics.revoked(RevokeReason::Revocation, 1 + also);
    record(
        state,
        "token_revoked",
        Some(caller),
        Some(token.subject),
        Some(token.client_id),
        json!({
            "reason": RevokeReason::Revocation.as_str(),
            "token": token_ref(&token.hash),
            "token_type": token.kind.as_str(),
            "resource_server": token.resource_server,
            "grant_tokens_revoked": also,
        }),
    );
}

/// A whole token family was revoked (a replayed code, a reused refresh token).
pub fn family_revoked(
    state: &AppState,
    client: Uuid,
    family: Uuid,
    revoked: usize,
    reason: RevokeReason,
) {
    state.metrics.revoked(reason, revoked as u64);
    record(
        state,
        "token_revoked",
        None,
        None,
        Some(client),
        json!({"reason": reason.as_str(), "family_id": family, "tokens_revoked": revoked}),
    );
}

/// The tokens issued from refresh token `parent` were revoked (its rotation was repeated).
pub fn children_revoked(state: &AppState, parent: &TokenRecord, revoked: usize) {
    let reason = RevokeReason::RotationRepeated;
    state.metrics.revoked(reason, revoked as u64);
    record(
        state,
        "token_revoked",
        None,
        Some(parent.subject),
        Some(parent.client_id),
        json!({
            "reason": reason.as_str(),
            "parent": token_ref(&parent.hash),
            "family_id": parent.family_id,
            "tokens_revoked": revoked,
        }),
    );
}

/// `identity` approved new consents for `client`.
pub fn consent_granted(state: &AppState, identity: Uuid, client: Uuid, nodes: &[NewConsent]) {
    let scopes: Vec<&str> = nodes.iter().map(|n| n.scope_string.as_str()).collect();
    record(
        state,
        "consent_granted",
        Some(identity),
        Some(identity),
        Some(client),
        json!({"scopes": scopes}),
    );
}

/// `identity` allowed (`approved`) or refused a device's grant for `client` (RFC 8628).
pub fn device_decided(state: &AppState, identity: Uuid, client: Uuid, approved: bool, scope: &str) {
    record(
        state,
        if approved {
            "device_authorized"
        } else {
            "device_denied"
        },
        Some(identity),
        Some(identity),
        Some(client),
        json!({"scope": scope}),
    );
}

/// A client registered itself (RFC 7591); `with_initial_token`: in `registration = "token"`.
pub fn client_registered(state: &AppState, client: Uuid, public: bool, with_initial_token: bool) {
    record(
        state,
        "client_registered",
        None,
        None,
        Some(client),
        json!({"public": public, "initial_access_token": with_initial_token}),
    );
}

/// `identity` rescinded `consent` and the `removed` consents beneath it (itself included).
pub fn consent_rescinded(
    state: &AppState,
    identity: Uuid,
    consent: &Consent,
    removed: usize,
    tokens_revoked: usize,
) {
    state
        .metrics
        .revoked(RevokeReason::ConsentRescinded, tokens_revoked as u64);
    record(
        state,
        "consent_rescinded",
        Some(identity),
        Some(identity),
        Some(consent.client_id),
        json!({
            "consent_id": consent.id,
            "scope": consent.scope_string,
            "consents_removed": removed,
            "tokens_revoked": tokens_revoked,
        }),
    );
}

/// `actor` created a secret for its client (the secret itself is not recorded).
pub fn client_secret_created(state: &AppState, actor: Uuid, credential: &ClientCredential) {
    secret_event(state, "client_secret_created", actor, credential);
}

pub fn client_secret_deleted(state: &AppState, actor: Uuid, credential: &ClientCredential) {
    secret_event(state, "client_secret_deleted", actor, credential);
}

/// `actor` (a project admin, or a client itself or its parent) deleted `client`, revoking
/// `revoked` tokens and deleting `consents` consents with it.
pub fn client_deleted(
    state: &AppState,
    actor: Uuid,
    client: &tessera_core::client::Client,
    revoked: usize,
    consents: usize,
) {
    record(
        state,
        "client_deleted",
        Some(actor),
        Some(client.id),
        Some(client.id),
        json!({"name": client.name, "project": client.project, "tokens_revoked": revoked, "consents_deleted": consents}),
    );
}

fn secret_event(state: &AppState, event: &str, actor: Uuid, credential: &ClientCredential) {
    record(
        state,
        event,
        Some(actor),
        Some(credential.client_id),
        Some(credential.client_id),
        json!({"credential_id": credential.id, "name": credential.name}),
    );
}

/// The signed-in `identity` proved `other` and linked it into its set.
pub fn identity_linked(state: &AppState, identity: Uuid, other: Uuid) {
    record(
        state,
        "identity_linked",
        Some(identity),
        Some(other),
        None,
        json!({}),
    );
}

pub fn identity_unlinked(state: &AppState, identity: Uuid, other: Uuid) {
    record(
        state,
        "identity_unlinked",
        Some(identity),
        Some(other),
        None,
        json!({}),
    );
}

/// Two-step verification turned on (`enabled`) or off for an identity.
pub fn mfa_changed(state: &AppState, identity: Uuid, enabled: bool) {
    record(
        state,
        if enabled {
            "mfa_enabled"
        } else {
            "mfa_disabled"
        },
        Some(identity),
        None,
        None,
        json!({}),
    );
}
