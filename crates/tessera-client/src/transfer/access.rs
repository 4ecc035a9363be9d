//! Access rules of an endpoint (`/endpoint/{id}/access…`), for its owner, administrators and
//! access managers.

use super::{segment, TransferClient};
use crate::ClientError;
use serde_json::Value;
use tessera_proto::transfer::AccessDoc;

impl TransferClient {
    /// `POST /endpoint/{id}/access`: grants `permissions` (`r` or `rw`) on `path` (a directory,
    /// ending in `/`) to a principal (`identity` with an identity id, `group` with a group id,
    /// `all_authenticated_users` or `anonymous` with an empty principal). The new rule's id.
    ///
    /// ```no_run
    /// use tessera_client::TransferClient;
    ///
    /// # async fn run() -> Result<(), tessera_client::ClientError> {
    /// let transfer = TransferClient::new("https://tessera.example.org", "owner-transfer-token")?;
    /// let rule = transfer
    ///     .add_access_rule("endpoint-id", "all_authenticated_users", "", "/datasets/", "r")
    ///     .await?;
    /// println!("rule {rule}");
    /// # Ok(()) }
    /// ```
    pub async fn add_access_rule(
        &self,
        endpoint: &str,
        principal_type: &str,
        principal: &str,
        path: &str,
        permissions: &str,
    ) -> Result<String, ClientError> {
        let rule = AccessDoc {
            data_type: Some("access".into()),
            principal_type: Some(principal_type.into()),
            principal: Some(principal.into()),
            path: Some(path.into()),
            permissions: Some(permissions.into()),
            ..AccessDoc::default()
        };
        let v: Value = self
            .post(&format!("/endpoint/{}/access", segment(endpoint)), &rule)
            .await?;
        v.get("access_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Decode("no access_id in the answer".into()))
    }

    /// The endpoint's access rules (`GET /endpoint/{id}/access_list`).
    pub async fn access_rules(&self, endpoint: &str) -> Result<Vec<AccessDoc>, ClientError> {
        #[derive(serde::Deserialize)]
        struct List {
            #[serde(rename = "DATA")]
            data: Vec<AccessDoc>,
        }
        let l: List = self
            .get(&format!("/endpoint/{}/access_list", segment(endpoint)), &[])
            .await?;
        Ok(l.data)
    }
}
