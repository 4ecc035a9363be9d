//! Who calls: the bearer token, validated by `tessera-guard` as any resource server would
//! (introspection with groups.api.globus.org's own credentials), and the caller's identity set.

use crate::error::GroupsError;
use crate::GroupsState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tessera_guard::GuardError;
use uuid::Uuid;

pub const SCOPE_ALL: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
pub const SCOPE_VIEW: &str =
    "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships";
/// The resource server whose tokens this service accepts (and only those).
pub const RESOURCE_SERVER: &str = "groups.api.globus.org";

/// An authenticated caller of the Groups API.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's subject (a user, or a client acting as itself).
    pub id: Uuid,
    /// The subject and its linked identities.
    pub identities: Vec<Uuid>,
    pub scopes: Vec<String>,
}

impl Caller {
    /// Writes need the `all` scope; `view_my_groups_and_memberships` only reads (spec §1).
    pub fn require_all(&self) -> Result<(), GroupsError> {
        if self.scopes.iter().any(|s| s == SCOPE_ALL) {
            Ok(())
        } else {
            Err(GroupsError::scope(&self.scopes))
        }
    }

    pub fn owns(&self, id: Uuid) -> bool {
        self.identities.contains(&id)
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 4096)
        .then_some(token)
}

impl FromRequestParts<GroupsState> for Caller {
    type Rejection = GroupsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GroupsState,
    ) -> Result<Self, GroupsError> {
        let token = bearer(parts).ok_or_else(GroupsError::unauthenticated)?;
        let info = state.guard.validate(token).await.map_err(|e| match e {
            GuardError::Unavailable(why) => {
                tracing::warn!(error = %why, "groups: cannot validate a token");
                GroupsError::unavailable("The authorization server could not be reached.")
            }
            _ => GroupsError::invalid_token(),
        })?;
        if !info.aud.iter().any(|a| a == RESOURCE_SERVER) {
            return Err(GroupsError::invalid_token());
        }
        if !info
            .scopes
            .iter()
            .any(|s| s == SCOPE_ALL || s == SCOPE_VIEW)
        {
            return Err(GroupsError::scope(&info.scopes));
        }
        let id = Uuid::parse_str(&info.sub).map_err(|_| GroupsError::invalid_token())?;
        let mut identities = vec![id];
        for other in &info.identity_set {
            if let Ok(other) = Uuid::parse_str(other) {
                if !identities.contains(&other) {
                    identities.push(other);
                }
            }
        }
        Ok(Self {
            id,
            identities,
            scopes: info.scopes.clone(),
        })
    }
}
