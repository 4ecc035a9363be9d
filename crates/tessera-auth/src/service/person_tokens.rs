//! The tokens of a grant a person approved, shared by the authorization-code grant and the
//! device grant (RFC 8628): one per resource server, refresh tokens when offline, and an ID
//! token beside the `auth.globus.org` token when `openid` was granted.

use super::id_token;
use super::issue::{self, Grant};
use super::tokens::GrantError;
use crate::audit;
use crate::keys::ID_TOKEN_HOLD_S;
use crate::metrics::GrantKind;
use crate::state::AppState;
use tessera_core::client::Client;
use tessera_core::grant::{client_credentials, SubjectKind};
use tessera_proto::oauth::TokenResponse;
use tessera_proto::scope::parse_scope_request;

/// What a person approved, for [`for_person`]: from an authorization code or a device grant.
pub(crate) struct PersonGrant<'a> {
    pub kind: GrantKind,
    pub identity_id: uuid::Uuid,
    pub session_id: uuid::Uuid,
    pub auth_time: tessera_core::clock::UnixTime,
    /// The approved scope expression in normal form.
    pub scope: &'a str,
    pub offline: bool,
    pub nonce: Option<&'a str>,
    pub family_id: uuid::Uuid,
    pub effective_identity: Option<uuid::Uuid>,
}

/// The tokens of a grant a person approved (spec §2.3): one per resource server, refresh
/// tokens when it was offline, an ID token next to the `auth.globus.org` token when `openid`
/// was granted.
pub(crate) async fn for_person(
    state: &AppState,
    client: &Client,
    g: &PersonGrant<'_>,
) -> Result<TokenResponse, GrantError> {
    let invalid = |why: &str| GrantError::InvalidGrant(why.to_owned());
    let requests = parse_scope_request(g.scope).map_err(|e| invalid(&e.to_string()))?;
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let plans = client_credentials::plan(&requests, |s| catalogue.by_string(s))
        .map_err(|e| invalid(&e.to_string()))?;
    let grant = Grant {
        client_id: client.id,
        subject: g.identity_id,
        subject_kind: SubjectKind::Identity,
        family_id: Some(g.family_id),
        session_id: Some(g.session_id),
        auth_time: Some(g.auth_time),
        offline: g.offline,
        parent: None,
        effective_identity: g.effective_identity,
    };
    let minted = issue::mint(state, &grant, &plans).await?;
    let mut id_token = None;
    let mut not_before = None;
    if let Some(top) = minted
        .infos
        .first()
        .filter(|t| t.scope.split(' ').any(|s| s == "openid"))
    {
        // The ID token describes the effective identity, as introspection does.
        let described = g
            .effective_identity
            .filter(|_| client.userinfo_from_effective_identity)
            .unwrap_or(g.identity_id);
        let identity = state
            .store
            .identities_by_ids(&[described])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("the identity no longer exists"))?;
        let scopes: Vec<&str> = top.scope.split(' ').collect();
        let set = state.store.identity_set(g.identity_id).await?;
        let idp_names = state.upstreams.names_or_empty(state.store.as_ref()).await;
        let input = id_token::IdTokenInput {
            identity: &identity,
            identity_set: &set,
            client_id: client.id,
            scopes: &scopes,
            access_token: &top.access_token,
            auth_time: g.auth_time,
            nonce: g.nonce,
            idp_names: &idp_names,
        };
        let signed =
            id_token::sign(state, &input).map_err(|e| GrantError::Internal(e.to_string()))?;
        not_before = signed.not_before;
        id_token = Some(signed.jwt);
    }
    audit::tokens_issued(state, g.kind, &minted.records);
    issue::store(state, minted.records).await?;
    if let Some(at) = not_before {
        hold_until(state, at).await;
    }
    let mut infos = minted.infos.into_iter();
    let top = infos
        .next()
        .ok_or_else(|| invalid("no scope was granted"))?;
    Ok(TokenResponse {
        top,
        id_token,
        state: None,
        other_tokens: infos.collect(),
    })
}

/// Holds an answer until the clock reaches `at`: an ID token signed by the key that signs from
/// then must not reach a client that would fetch the JWKS before `keys[0]` is that key. A
/// clock that does not get there (a test's) is waited for [`ID_TOKEN_HOLD_S`] and a second.
async fn hold_until(state: &AppState, at: tessera_core::clock::UnixTime) {
    let limit = std::time::Instant::now()
        + std::time::Duration::from_secs(ID_TOKEN_HOLD_S.unsigned_abs() + 1);
    while state.clock.now() < at && std::time::Instant::now() < limit {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
