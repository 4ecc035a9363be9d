//! The Transfer API v0.10 (`TransferClient` of the Globus SDK): submissions, tasks and their
//! events, endpoint search and file operations, with paged lists as [`Paginator`]s. Any
//! authorizer for `transfer.api.globus.org` will do.

mod access;
mod docs;
mod paging;

pub use docs::{Endpoint, FatalError, SuccessfulTransfer, Task};
pub use paging::{Paginator, Paging};

use crate::authorizer::{AccessTokenAuthorizer, Authorizer};
use crate::core::{Call, Core};
use crate::ClientError;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tessera_proto::transfer::{
    DeleteSubmission, EventDoc, FileDoc, FileList, SubmissionResult, TransferSubmission,
};

/// The scope that allows everything in the Transfer API.
pub const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

/// The resource server of Transfer tokens.
pub const TRANSFER_RESOURCE_SERVER: &str = "transfer.api.globus.org";

/// A Transfer client. Cheap to clone (the connection pool and authorizer are shared).
///
/// ```no_run
/// use tessera_client::TransferClient;
/// use tessera_proto::transfer::{TransferItem, TransferSubmission};
///
/// # async fn run() -> Result<(), tessera_client::ClientError> {
/// let transfer = TransferClient::new("https://tessera.example.org", "transfer-access-token")?;
/// let submission = TransferSubmission {
///     submission_id: Some(transfer.submission_id().await?),
///     source_endpoint: Some("source-endpoint-id".into()),
///     destination_endpoint: Some("destination-endpoint-id".into()),
///     data: vec![TransferItem {
///         source_path: "/data/run1/".into(),
///         destination_path: "/home/me/run1/".into(),
///         recursive: Some(true),
///         ..TransferItem::default()
///     }],
///     label: Some("run 1".into()),
///     ..TransferSubmission::default()
/// };
/// let accepted = transfer.submit_transfer(&submission).await?;
/// let task = transfer.get_task(&accepted.task_id).await?;
/// println!("{}: {}", task.task_id, task.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TransferClient {
    core: Core,
    base: String,
    auth: Arc<dyn Authorizer>,
}

impl std::fmt::Debug for TransferClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

impl TransferClient {
    /// With a fixed access token. `base_url` is the server's root (with or without a trailing
    /// slash, no `/v0.10`).
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        Self::with_authorizer(base_url, Arc::new(AccessTokenAuthorizer::new(token)))
    }

    /// With any authorizer (a renewing one for long-running programs).
    pub fn with_authorizer(base_url: &str, auth: Arc<dyn Authorizer>) -> Result<Self, ClientError> {
        Ok(Self {
            core: Core::new(Duration::from_secs(60))?,
            base: format!("{}/v0.10", base_url.trim_end_matches('/')),
            auth,
        })
    }

    /// Replaces the retry policy (default: [`RetryPolicy::default`](crate::RetryPolicy)).
    pub fn with_retry(mut self, retry: crate::RetryPolicy) -> Self {
        self.core.retry = retry;
        self
    }

    async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ClientError> {
        self.core.json(&call, self.auth.as_ref()).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET` any Transfer path (`/endpoint/{id}/access_list`, …) as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        self.call(Call::new(Method::GET, self.url(path)).query(query))
            .await
    }

    /// `POST` a JSON document to any Transfer path.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        self.call(Call::new(Method::POST, self.url(path)).json(body)?)
            .await
    }

    /// A fresh submission id (`GET /submission_id`).
    pub async fn submission_id(&self) -> Result<String, ClientError> {
        let v: Value = self.get("/submission_id", &[]).await?;
        v.get("value")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Decode("no submission id in the answer".into()))
    }

    /// `POST /transfer`; `submission.submission_id` must be set.
    pub async fn submit_transfer(
        &self,
        submission: &TransferSubmission,
    ) -> Result<SubmissionResult, ClientError> {
        // The server wants the document's DATA_TYPE; the proto type leaves it out.
        let mut body =
            serde_json::to_value(submission).map_err(|e| ClientError::Usage(e.to_string()))?;
        body["DATA_TYPE"] = Value::from("transfer");
        self.post("/transfer", &body).await
    }

    /// `POST /delete`; `submission.submission_id` must be set.
    pub async fn submit_delete(
        &self,
        submission: &DeleteSubmission,
    ) -> Result<SubmissionResult, ClientError> {
        let mut body =
            serde_json::to_value(submission).map_err(|e| ClientError::Usage(e.to_string()))?;
        body["DATA_TYPE"] = Value::from("delete");
        self.post("/delete", &body).await
    }

    /// The task (`GET /task/{id}`).
    pub async fn get_task(&self, task_id: &str) -> Result<Task, ClientError> {
        self.get(&format!("/task/{}", segment(task_id)), &[]).await
    }

    /// `POST /task/{id}/cancel`: the result document (`Canceled` or `TaskComplete`).
    pub async fn cancel_task(&self, task_id: &str) -> Result<Value, ClientError> {
        self.call(Call::new(
            Method::POST,
            self.url(&format!("/task/{}/cancel", segment(task_id))),
        ))
        .await
    }

    /// The caller's tasks, newest first; `filters` as the API takes them
    /// (`("filter", "type:TRANSFER/status:ACTIVE")`).
    pub fn task_list(&self, page_size: u32, filters: &[(&str, &str)]) -> Paginator<Task> {
        Paginator::new(
            self.clone(),
            "/task_list".into(),
            owned(filters),
            Paging::OffsetTotal,
            page_size,
        )
    }

    /// A task's events, newest first.
    pub fn task_events(&self, task_id: &str, page_size: u32) -> Paginator<EventDoc> {
        Paginator::new(
            self.clone(),
            format!("/task/{}/event_list", segment(task_id)),
            Vec::new(),
            Paging::OffsetTotal,
            page_size,
        )
    }

    /// The files a task copied.
    pub fn successful_transfers(&self, task_id: &str) -> Paginator<SuccessfulTransfer> {
        Paginator::new(
            self.clone(),
            format!("/task/{}/successful_transfers", segment(task_id)),
            Vec::new(),
            Paging::Marker,
            0,
        )
    }

    /// Endpoints matching `text` in `scope` (`all`, `my-endpoints`, `shared-with-me`, …).
    pub fn endpoint_search(&self, text: &str, scope: &str, page_size: u32) -> Paginator<Endpoint> {
        let mut q = vec![("filter_scope".to_owned(), scope.to_owned())];
        if !text.is_empty() {
            q.push(("filter_fulltext".into(), text.into()));
        }
        Paginator::new(
            self.clone(),
            "/endpoint_search".into(),
            q,
            Paging::OffsetHasNext,
            page_size.min(100),
        )
    }

    /// The endpoint document.
    pub async fn get_endpoint(&self, endpoint: &str) -> Result<Endpoint, ClientError> {
        self.get(&format!("/endpoint/{}", segment(endpoint)), &[])
            .await
    }

    /// A directory listing, whole (`GET /operation/endpoint/{id}/ls?path=`).
    pub async fn ls(&self, endpoint: &str, path: &str) -> Result<FileList, ClientError> {
        self.get(
            &format!("/operation/endpoint/{}/ls", segment(endpoint)),
            &[("path", path)],
        )
        .await
    }

    /// A directory listing a page at a time (`limit`/`offset` with `total`).
    pub fn ls_pages(&self, endpoint: &str, path: &str, page_size: u32) -> Paginator<FileDoc> {
        Paginator::new(
            self.clone(),
            format!("/operation/endpoint/{}/ls", segment(endpoint)),
            vec![("path".into(), path.into())],
            Paging::OffsetTotal,
            page_size,
        )
    }

    /// `POST …/mkdir`.
    pub async fn mkdir(&self, endpoint: &str, path: &str) -> Result<Value, ClientError> {
        self.post(
            &format!("/operation/endpoint/{}/mkdir", segment(endpoint)),
            &serde_json::json!({"DATA_TYPE": "mkdir", "path": path}),
        )
        .await
    }

    /// `POST …/rename`.
    pub async fn rename(
        &self,
        endpoint: &str,
        old_path: &str,
        new_path: &str,
    ) -> Result<Value, ClientError> {
        self.post(
            &format!("/operation/endpoint/{}/rename", segment(endpoint)),
            &serde_json::json!({"DATA_TYPE": "rename", "old_path": old_path, "new_path": new_path}),
        )
        .await
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `s` escaped as one path segment.
pub(crate) fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let c = TransferClient::new("http://127.0.0.1:1/", "secret-token").unwrap();
        assert!(!format!("{c:?}").contains("secret-token"));
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("0b7c3f4e-8d2a"), "0b7c3f4e-8d2a");
    }
}
