//! HTTPS access to an endpoint's files: `GET <https_server>/<path>` with a bearer token for the
//! endpoint's own scope (`https://auth.globus.org/scopes/<endpoint_id>/https`), judged by the
//! endpoint's Transfer access rules. The base URL is the endpoint document's `https_server`
//! ([`Endpoint::https_server`](crate::transfer::Endpoint::https_server)).

use crate::authorizer::{AccessTokenAuthorizer, Authorizer};
use crate::core::{Call, Core};
use crate::ClientError;
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

/// The scope a token needs to read an endpoint's files over HTTPS.
///
/// ```
/// assert_eq!(
///     tessera_client::https::https_scope("0b7c3f4e-8d2a-4c1e-9f00-1234567890ab"),
///     "https://auth.globus.org/scopes/0b7c3f4e-8d2a-4c1e-9f00-1234567890ab/https"
/// );
/// ```
pub fn https_scope(endpoint_id: &str) -> String {
    format!("https://auth.globus.org/scopes/{endpoint_id}/https")
}

/// Reads files of one endpoint over HTTPS. Cheap to clone.
///
/// ```no_run
/// use tessera_client::https::HttpsClient;
///
/// # async fn run() -> Result<(), tessera_client::ClientError> {
/// let files = HttpsClient::new(
///     "https://tessera.example.org/https/0b7c3f4e-8d2a-4c1e-9f00-1234567890ab",
///     "token-for-the-endpoint-https-scope",
/// )?;
/// // "/~/" and "/" both mean the endpoint's root.
/// assert_eq!(
///     files.url("/datasets/ocean/temps.csv"),
///     "https://tessera.example.org/https/0b7c3f4e-8d2a-4c1e-9f00-1234567890ab/datasets/ocean/temps.csv"
/// );
/// let csv = files.get("/datasets/ocean/temps.csv").await?;
/// println!("{} bytes", csv.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpsClient {
    core: Core,
    base: String,
    auth: Arc<dyn Authorizer>,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

impl HttpsClient {
    /// With a fixed access token for the endpoint's HTTPS scope.
    pub fn new(https_server: &str, token: &str) -> Result<Self, ClientError> {
        Self::with_authorizer(https_server, Arc::new(AccessTokenAuthorizer::new(token)))
    }

    /// With any authorizer for the endpoint's HTTPS scope.
    pub fn with_authorizer(
        https_server: &str,
        auth: Arc<dyn Authorizer>,
    ) -> Result<Self, ClientError> {
        if !(https_server.starts_with("https://") || https_server.starts_with("http://")) {
            return Err(ClientError::Usage(format!(
                "not an HTTPS server URL: {https_server:?}"
            )));
        }
        Ok(Self {
            core: Core::new(Duration::from_secs(60))?,
            base: https_server.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    /// The URL of `path` (absolute on the endpoint, `/~/` meaning its root): each component
    /// percent-encoded, the leading `/` or `/~/` dropped.
    pub fn url(&self, path: &str) -> String {
        let rel = path
            .strip_prefix("/~/")
            .or_else(|| path.strip_prefix('/'))
            .unwrap_or(path);
        let encoded: Vec<String> = rel
            .split('/')
            .filter(|c| !c.is_empty())
            .map(crate::transfer::segment)
            .collect();
        format!("{}/{}", self.base, encoded.join("/"))
    }

    /// The whole file at `path`. A refusal (403 no access rule, 404 no such file) is
    /// [`ClientError::Api`] with its status.
    pub async fn get(&self, path: &str) -> Result<bytes::Bytes, ClientError> {
        self.core
            .send(&Call::new(Method::GET, self.url(path)), self.auth.as_ref())
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths_become_urls_below_the_server() {
        let c = HttpsClient::new("http://127.0.0.1:1/https/ep/", "tok").unwrap();
        assert_eq!(
            c.url("/a b/c.csv"),
            "http://127.0.0.1:1/https/ep/a%20b/c.csv"
        );
        assert_eq!(c.url("/~/x"), "http://127.0.0.1:1/https/ep/x");
        assert_eq!(c.url("x//y"), "http://127.0.0.1:1/https/ep/x/y");
        assert!(!format!("{c:?}").contains("tok\""));
        assert!(HttpsClient::new("ftp://x", "t").is_err());
    }
}
