//! A small client for the Groups API v2 (`GroupsClient` of the Globus SDK, for what
//! `tessera group` needs). Any bearer token for `groups.api.globus.org` will do.

use crate::authorizer::{AccessTokenAuthorizer, Authorizer};
use crate::core::{Call, Core};
use crate::transfer::segment;
use crate::ClientError;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The scope that allows everything in the Groups API.
pub const GROUPS_ALL: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

#[derive(Clone)]
pub struct GroupsClient {
    core: Core,
    base: String,
    auth: Arc<dyn Authorizer>,
}

impl std::fmt::Debug for GroupsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupsClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

impl GroupsClient {
    /// With a fixed access token. `base_url` is the server's root (with or without a trailing
    /// slash, no `/v2`).
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        Self::with_authorizer(base_url, Arc::new(AccessTokenAuthorizer::new(token)))
    }

    pub fn with_authorizer(base_url: &str, auth: Arc<dyn Authorizer>) -> Result<Self, ClientError> {
        Ok(Self {
            core: Core::new(Duration::from_secs(30))?,
            base: base_url.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let mut call = Call::new(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            call = call.json(&b)?;
        }
        let bytes = self.core.send(&call, self.auth.as_ref()).await?;
        // A 204 (a delete) has no body.
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `statuses`: comma list, or empty for the server's default (active).
    pub async fn my_groups(&self, statuses: &str) -> Result<Value, ClientError> {
        let q = if statuses.is_empty() {
            String::new()
        } else {
            format!("?statuses={}", query_value(statuses))
        };
        self.call(Method::GET, &format!("/v2/groups/my_groups{q}"), None)
            .await
    }

    pub async fn get_group(&self, id: &str, include: &str) -> Result<Value, ClientError> {
        self.call(
            Method::GET,
            &format!("/v2/groups/{}?include={}", segment(id), segment(include)),
            None,
        )
        .await
    }

    pub async fn create_group(
        &self,
        name: &str,
        description: Option<&str>,
        parent_id: Option<&str>,
    ) -> Result<Value, ClientError> {
        let body = json!({"name": name, "description": description, "parent_id": parent_id});
        self.call(Method::POST, "/v2/groups", Some(body)).await
    }

    pub async fn delete_group(&self, id: &str) -> Result<Value, ClientError> {
        self.call(Method::DELETE, &format!("/v2/groups/{}", segment(id)), None)
            .await
    }

    /// One batch membership action on one identity (`role` for add, invite, change_role).
    pub async fn membership_action(
        &self,
        group: &str,
        action: &str,
        identity: &str,
        role: Option<&str>,
    ) -> Result<Value, ClientError> {
        let mut item = json!({"identity_id": identity});
        if let Some(r) = role {
            item["role"] = json!(r);
        }
        self.call(
            Method::POST,
            &format!("/v2/groups/{}", segment(group)),
            Some(json!({ action: [item] })),
        )
        .await
    }
}

/// A query value; commas stay as they are (`active,left`).
fn query_value(s: &str) -> String {
    segment(s).replace("%2C", ",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(super::query_value("a/b c"), "a%2Fb%20c");
        assert_eq!(super::query_value("active,left"), "active,left");
    }
}
