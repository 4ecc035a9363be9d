//! The one place requests are sent: the authorizer's header, one retry after a 401 when the
//! authorizer got new credentials, bounded retries of 429/5xx, and refusals read into
//! [`ClientError::Api`].

use crate::authorizer::Authorizer;
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::ClientError;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// What every client shares: the connection pool and the retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
}

pub(crate) enum Body {
    None,
    Json(Vec<u8>),
    Form(String),
}

pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) query: &'a [(&'a str, &'a str)],
    pub(crate) body: Body,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, url: String) -> Self {
        Self {
            method,
            url,
            query: &[],
            body: Body::None,
        }
    }

    pub(crate) fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, ClientError> {
        self.body = Body::Json(
            serde_json::to_vec(body).map_err(|e| ClientError::Usage(format!("body: {e}")))?,
        );
        Ok(self)
    }

    pub(crate) fn form(mut self, form: &[(&str, &str)]) -> Result<Self, ClientError> {
        self.body = Body::Form(
            serde_urlencoded::to_string(form)
                .map_err(|e| ClientError::Usage(format!("form: {e}")))?,
        );
        Ok(self)
    }
}

impl Core {
    pub(crate) fn new(timeout: Duration) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            retry: RetryPolicy::default(),
        })
    }

    /// Sends `call`; the body of a 2xx answer.
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        auth: &dyn Authorizer,
    ) -> Result<bytes::Bytes, ClientError> {
        let mut retried_unauthorized = false;
        let mut retry = 0;
        loop {
            let mut req = self
                .http
                .request(call.method.clone(), &call.url)
                .header(ACCEPT, "application/json");
            if !call.query.is_empty() {
                req = req.query(call.query);
            }
            req = match &call.body {
                Body::None => req,
                Body::Json(b) => req.header(CONTENT_TYPE, "application/json").body(b.clone()),
                Body::Form(f) => req
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(f.clone()),
            };
            if let Some(value) = auth.authorization().await? {
                let mut v = HeaderValue::from_str(&value)
                    .map_err(|_| ClientError::Usage("a token with bad characters".into()))?;
                v.set_sensitive(true);
                req = req.header(AUTHORIZATION, v);
            }
            let response = req.send().await?;
            let status = response.status().as_u16();
            if status == 401 && !retried_unauthorized && auth.handle_unauthorized().await {
                retried_unauthorized = true;
                continue;
            }
            if RetryPolicy::retries_status(status) {
                let after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, crate::tokens::system_now()));
                if let Some(wait) = self.retry.delay(retry, after) {
                    retry += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let body = response.bytes().await?;
            if !(200..300).contains(&status) {
                return Err(ClientError::from_response(status, &body));
            }
            return Ok(body);
        }
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        auth: &dyn Authorizer,
    ) -> Result<T, ClientError> {
        let body = self.send(call, auth).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
    }
}
