//! A small client for the Groups API v2 (`GroupsClient` of the Globus SDK, for what
//! `tessera group` needs). Any bearer token for `groups.api.globus.org` will do.

use crate::ClientError;
use reqwest::Method;
use serde_json::{json, Value};

/// The scope that allows everything in the Groups API.
pub const GROUPS_ALL: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

pub struct GroupsClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for GroupsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupsClient")
            .field("base", &self.base)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl GroupsClient {
    /// `base_url` is the server's root (with or without a trailing slash, no `/v2`).
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let code = v.get("code").and_then(Value::as_str);
            let detail = v.get("detail").and_then(Value::as_str);
            let message = match (code, detail) {
                (Some(c), Some(d)) => format!("{c}: {d}"),
                (None, Some(d)) => d.to_owned(),
                (Some(c), None) => c.to_owned(),
                (None, None) => status.to_string(),
            };
            return Err(ClientError::Api {
                status: status.as_u16(),
                message,
            });
        }
        Ok(v)
    }

    /// `statuses`: comma list, or empty for the server's default (active).
    pub async fn my_groups(&self, statuses: &str) -> Result<Value, ClientError> {
        let q = if statuses.is_empty() {
            String::new()
        } else {
            format!("?statuses={}", urlencode(statuses))
        };
        self.call(Method::GET, &format!("/v2/groups/my_groups{q}"), None)
            .await
    }

    pub async fn get_group(&self, id: &str, include: &str) -> Result<Value, ClientError> {
        self.call(
            Method::GET,
            &format!(
                "/v2/groups/{}?include={}",
                urlencode(id),
                urlencode(include)
            ),
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
        self.call(
            Method::DELETE,
            &format!("/v2/groups/{}", urlencode(id)),
            None,
        )
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
            &format!("/v2/groups/{}", urlencode(group)),
            Some(json!({ action: [item] })),
        )
        .await
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(super::urlencode("a/b c"), "a%2Fb%20c");
        assert_eq!(super::urlencode("active,left"), "active,left");
    }
}
