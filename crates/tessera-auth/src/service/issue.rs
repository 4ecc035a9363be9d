//! Minting tokens for a grant: one access token (and, offline, one refresh token) per resource
//! server, recorded durably before anyone sees them.

use super::group_rules;
use crate::keys::KeyError;
use crate::state::AppState;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tessera_core::client::AccessTokenFormat;
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

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Every scope of a token was refused by its group rule (the scopes, space-separated).
    #[error("{0}")]
    Refused(String),
}

/// The access-token format the resource server of `resource_server` chose.
async fn format_of(
    state: &AppState,
    resource_server: &str,
) -> Result<AccessTokenFormat, StoreError> {
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    let Some(owner) = catalogue.owner_of(resource_server) else {
        return Ok(AccessTokenFormat::Opaque);
    };
    Ok(state
        .clients
        .get(state.store.as_ref(), owner)
        .await?
        .map_or(AccessTokenFormat::Opaque, |e| e.client.access_token_format))
}

/// An RFC 9068 access token: the claims a resource server needs to decide offline.
fn jwt_access_token(
    state: &AppState,
    grant: &Grant,
    plan: &TokenPlan,
    username: Option<&str>,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<String, KeyError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.config.issuer()));
    claims.insert("sub".into(), json!(grant.subject.to_string()));
    claims.insert("aud".into(), json!(plan.resource_server));
    claims.insert("client_id".into(), json!(grant.client_id.to_string()));
    claims.insert("scope".into(), json!(plan.scopes.join(" ")));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(expires_at));
    claims.insert("jti".into(), json!(state.rng.uuid_v4().to_string()));
    if let Some(u) = username {
        claims.insert("username".into(), json!(u));
    }
    if let Some(t) = grant.auth_time {
        claims.insert("auth_time".into(), json!(t));
    }
    state.keys.sign_access_token(now, &Value::Object(claims))
}

/// A SciToken / WLCG-profile access token (`ver: scitoken:2.0`, `wlcg.ver: 1.0`): `scope`
/// holds the capabilities the group rules expanded to, `wlcg.groups` the groups that granted
/// them. Verified offline by storage systems, so short-lived and never revocable.
fn scitoken(
    state: &AppState,
    grant: &Grant,
    plan: &TokenPlan,
    decision: &group_rules::Decision,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<String, KeyError> {
    let groups: Vec<String> = decision.groups.iter().map(|g| format!("/{g}")).collect();
    let claims = json!({
        "iss": state.config.issuer(),
        "sub": grant.subject.to_string(),
        "aud": plan.resource_server,
        "iat": now,
        "nbf": now,
        "exp": expires_at,
        "jti": state.rng.uuid_v4().to_string(),
        "ver": "scitoken:2.0",
        "wlcg.ver": "1.0",
        "scope": decision.capabilities.join(" "),
        "wlcg.groups": groups,
        "client_id": grant.client_id.to_string(),
    });
    state.keys.sign_scitoken(now, &claims)
}

/// Mints the tokens of `plans`: opaque strings, or JWTs for resource servers that chose them
/// (signed here, so the opaque path signs nothing). Scopes with a group rule the subject does
/// not meet are left out of the access token (its refresh token keeps them, so they return
/// with the membership); a token that group rules leave with no scope at all fails the whole request
/// ([`IssueError::Refused`]).
pub async fn mint(
    state: &AppState,
    grant: &Grant,
    plans: &[TokenPlan],
) -> Result<Minted, IssueError> {
    let now = state.clock.now();
    let mut infos = Vec::with_capacity(plans.len());
    let mut records = Vec::with_capacity(plans.len() * 2);
    let mut username: Option<Option<String>> = None;
    let mut subject = group_rules::Subject::new(grant.subject, grant.subject_kind);
    for full_plan in plans {
        let decision = group_rules::decide(state, &mut subject, &full_plan.scopes).await?;
        // Only a group rule empties a plan: one that asked for nothing is minted as asked.
        if decision.allowed.is_empty() && !decision.refused.is_empty() {
            return Err(IssueError::Refused(decision.refused.join(" ")));
        }
        let plan = &TokenPlan {
            resource_server: full_plan.resource_server.clone(),
            scopes: decision.allowed.clone(),
        };
        let format = format_of(state, &plan.resource_server).await?;
        let lifetime = match format {
            AccessTokenFormat::SciToken => state.config.group_sources.scitoken_lifetime,
            _ => state.config.access_token_lifetime,
        };
        let (access, hash) = match format {
            AccessTokenFormat::SciToken => {
                let jwt = scitoken(state, grant, plan, &decision, now, now + lifetime)?;
                let hash = SecretHash::of(&jwt);
                (jwt, hash)
            }
            AccessTokenFormat::Opaque => {
                let (access, hash) = TokenKind::AccessToken
                    .generate_selected(state.rng.as_ref(), state.selectors.next(now));
                (access.expose().to_owned(), hash)
            }
            AccessTokenFormat::Jwt => {
                if username.is_none() {
                    username = Some(match grant.subject_kind {
                        SubjectKind::Identity => state
                            .store
                            .identities_by_ids(&[grant.subject])
                            .await?
                            .into_iter()
                            .next()
                            .map(|i| i.username),
                        SubjectKind::Client => None,
                    });
                }
                let jwt = jwt_access_token(
                    state,
                    grant,
                    plan,
                    username.as_ref().and_then(|u| u.as_deref()),
                    now,
                    now + lifetime,
                )?;
                // A JWT has no selector: `token::lookup_hash` gives its plain SHA-256.
                let hash = SecretHash::of(&jwt);
                (jwt, hash)
            }
        };
        records.push(grant.record(TokenKind::AccessToken, hash, plan, now, now + lifetime));
        let refresh = grant.offline.then(|| {
            let (refresh, hash) = TokenKind::RefreshToken
                .generate_selected(state.rng.as_ref(), state.selectors.next(now));
            records.push(grant.record(
                TokenKind::RefreshToken,
                hash,
                full_plan,
                now,
                now + state.config.refresh_idle_lifetime,
            ));
            refresh.expose().to_owned()
        });
        infos.push(TokenInfo {
            access_token: access,
            scope: plan.scopes.join(" "),
            resource_server: plan.resource_server.clone(),
            expires_in: lifetime,
            token_type: "Bearer".into(),
            refresh_token: refresh,
        });
    }
    Ok(Minted { infos, records })
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
