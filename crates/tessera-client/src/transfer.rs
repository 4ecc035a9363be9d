//! A small client for the Transfer API v0.10 (`TransferClient` of the Globus SDK, for what
//! `tessera transfer`, `ls` and `task` need). Any bearer token for `transfer.api.globus.org`
//! will do.

use crate::groups::urlencode;
use crate::ClientError;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_proto::transfer::{FileList, SubmissionResult, TransferSubmission};

/// The scope that allows everything in the Transfer API.
pub const TRANSFER_ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

pub struct TransferClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for TransferClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferClient")
            .field("base", &self.base)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl TransferClient {
    /// `base_url` is the server's root (with or without a trailing slash, no `/v0.10`).
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base: format!("{}/v0.10", base_url.trim_end_matches('/')),
            token: token.to_owned(),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, ClientError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let response = req.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            return Err(ClientError::Api {
                status: status.as_u16(),
                message: envelope_message(status, &bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A fresh submission id (`GET /submission_id`).
    pub async fn submission_id(&self) -> Result<String, ClientError> {
        let v: Value = self
            .call(Method::GET, "/submission_id", &[], None::<&()>)
            .await?;
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
            serde_json::to_value(submission).map_err(|e| ClientError::Decode(e.to_string()))?;
        body["DATA_TYPE"] = Value::from("transfer");
        self.call(Method::POST, "/transfer", &[], Some(&body)).await
    }

    /// The task document (`GET /task/{id}`).
    pub async fn get_task(&self, task_id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::GET,
            &format!("/task/{}", urlencode(task_id)),
            &[],
            None::<&()>,
        )
        .await
    }

    /// `POST /task/{id}/cancel`: the result document (`Canceled` or `TaskComplete`).
    pub async fn cancel_task(&self, task_id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::POST,
            &format!("/task/{}/cancel", urlencode(task_id)),
            &[],
            None::<&()>,
        )
        .await
    }

    /// A directory listing (`GET /operation/endpoint/{id}/ls?path=`).
    pub async fn ls(&self, endpoint: &str, path: &str) -> Result<FileList, ClientError> {
        self.call(
            Method::GET,
            &format!("/operation/endpoint/{}/ls", urlencode(endpoint)),
            &[("path", path)],
            None::<&()>,
        )
        .await
    }
}

/// The Globus Transfer error envelope (`code`, `message`), or the status line.
fn envelope_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let pick = |k: &str| v.get(k).and_then(Value::as_str);
    match (pick("code"), pick("message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (None, Some(m)) => m.to_owned(),
        (Some(c), None) => c.to_owned(),
        (None, None) => crate::error_message(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_use_the_transfer_envelope() {
        let m = envelope_message(
            reqwest::StatusCode::NOT_FOUND,
            br#"{"code":"EndpointNotFound","message":"No such endpoint","request_id":"x","resource":"/"}"#,
        );
        assert_eq!(m, "EndpointNotFound: No such endpoint");
        let m = envelope_message(reqwest::StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(m, "502 Bad Gateway");
    }

    #[test]
    fn debug_redacts_the_token() {
        let c = TransferClient::new("http://127.0.0.1:1/", "secret-token").unwrap();
        assert!(!format!("{c:?}").contains("secret-token"));
    }
}
