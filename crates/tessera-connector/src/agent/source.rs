//! A pull's requests to the source connector (stat, checksum, ranges): async, so a request
//! can run as a task of its own and be dropped (cancel does not wait for the source's
//! checksum of a whole file).

use super::pull::{fail, Fail};
use crate::wire::{self, routes, EntryDoc, ErrorDoc};
use tessera_transfer::data::ChecksumAlgorithm;
use tessera_transfer::storage::{Entry, StorageError};

/// The source connector's URL, the read capability for the file, and the file.
#[derive(Clone)]
pub(super) struct Remote {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) capability: String,
    pub(super) path: String,
}

/// A request that failed: unreachable (waited for and tried again by the service), unless the
/// source presented another certificate than the pinned one (the file fails).
pub(super) fn unreachable(e: &reqwest::Error) -> Fail {
    if let Some(why) = crate::pin::mismatch(e) {
        return fail(
            "source",
            &StorageError::PermissionDenied(format!("the source connector's {why}")),
        );
    }
    fail(
        "source",
        &StorageError::Io(format!("source connector unreachable: {e}")),
    )
}

impl Remote {
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, Fail> {
        let resp = req
            .header(wire::CAPABILITY_HEADER, &self.capability)
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let err = match resp.json::<ErrorDoc>().await {
            Ok(doc) => doc.into(),
            Err(_) => StorageError::Io(format!("source connector unreachable: answered {status}")),
        };
        Err(fail("source", &err))
    }

    pub(super) async fn stat(&self) -> Result<Entry, Fail> {
        let req = self
            .http
            .get(format!("{}{}", self.base, routes::STAT))
            .query(&[("path", &self.path)]);
        let doc: EntryDoc = self
            .send(req)
            .await?
            .json()
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(doc.into())
    }

    /// The source's checksum of the file (of its first `length` bytes when given).
    pub(super) async fn checksum(
        &self,
        alg: ChecksumAlgorithm,
        length: Option<u64>,
    ) -> Result<String, Fail> {
        let mut q = vec![
            ("path", self.path.clone()),
            ("algorithm", alg.name().to_owned()),
        ];
        if let Some(l) = length {
            q.push(("length", l.to_string()));
        }
        let req = self
            .http
            .get(format!("{}{}", self.base, routes::CHECKSUM))
            .query(&q);
        let doc: serde_json::Value = self
            .send(req)
            .await?
            .json()
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(doc
            .get("checksum")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned())
    }

    /// Bytes `start..end` (exclusive), as one response.
    pub(super) async fn range(&self, start: u64, end: u64) -> Result<reqwest::Response, Fail> {
        let req = self
            .http
            .get(format!("{}{}", self.base, routes::FILE))
            .query(&[("path", &self.path)])
            .header(reqwest::header::RANGE, format!("bytes={start}-{}", end - 1));
        self.send(req).await
    }
}
