//! Capabilities: what the service allows one request to a connector to do. A capability names
//! the connector, the directory on its host that is the endpoint's root, the operations, the
//! paths (each allowing itself and what lies below it) and an expiry a minute or so ahead; it is
//! signed with HMAC-SHA256 under a key the service derives for that connector alone (from its
//! master key) and hands it at check-in. The connector refuses any request whose capability does
//! not verify or does not cover exactly what is asked.
//!
//! Form: `base64url(JSON claims) "." base64url(HMAC)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};
use tessera_transfer::storage::RelPath;
use uuid::Uuid;

/// How long the capabilities the service mints stay valid (a file op is one request; a pull
/// job's source capability covers a file that may take longer, see [`JOB_TTL`]).
pub const TTL: i64 = 120;
/// A pull job's capabilities: long enough for a large file over a slow link, and for the job to
/// be resumed after an interruption.
pub const JOB_TTL: i64 = 24 * 3600;

/// What one operation may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Stat,
    List,
    Mkdir,
    Rename,
    Remove,
    /// Read a file (and its checksum).
    Read,
    /// Write a file (upload, or pull it from another connector).
    Write,
    /// Make completed writes durable (`syncfs`).
    Sync,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The connector this is for.
    pub c: Uuid,
    /// The endpoint's root on the connector's host (absolute).
    pub root: String,
    pub ops: Vec<Op>,
    /// API paths relative to `root`; each allows itself and everything below it.
    pub paths: Vec<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("no capability")]
    Missing,
    #[error("the capability is malformed")]
    Malformed,
    #[error("the capability's signature does not verify")]
    BadSignature,
    #[error("the capability is for another connector")]
    WrongConnector,
    #[error("the capability has expired")]
    Expired,
    #[error("the capability does not allow {0:?}")]
    Operation(Op),
    #[error("the capability does not cover {0}")]
    Path(String),
}

/// The key of one connector, derived from the service's capability root key.
pub fn connector_key(root: &[u8], connector: Uuid) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, root);
    let label = format!("tessera connector capability key v1 {connector}");
    hmac::sign(&key, label.as_bytes()).as_ref().to_vec()
}

/// Signs `claims` with `key`.
pub fn sign(key: &[u8], claims: &Claims) -> String {
    let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), body.as_bytes());
    format!("{body}.{}", B64.encode(tag.as_ref()))
}

/// Checks the signature, the connector and the expiry; returns the claims.
pub fn verify(key: &[u8], me: Uuid, token: &str, now: i64) -> Result<Claims, Refused> {
    let (body, tag) = token.trim().split_once('.').ok_or(Refused::Malformed)?;
    let tag = B64.decode(tag).map_err(|_| Refused::Malformed)?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        body.as_bytes(),
        &tag,
    )
    .map_err(|_| Refused::BadSignature)?;
    let json = B64.decode(body).map_err(|_| Refused::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| Refused::Malformed)?;
    if claims.c != me {
        return Err(Refused::WrongConnector);
    }
    if claims.exp < now {
        return Err(Refused::Expired);
    }
    Ok(claims)
}

impl Claims {
    /// Refuses unless `op` is allowed on `path` (whole components: `/data` does not cover
    /// `/database`).
    pub fn allows(&self, op: Op, path: &RelPath) -> Result<(), Refused> {
        if !self.ops.contains(&op) {
            return Err(Refused::Operation(op));
        }
        let covered = self
            .paths
            .iter()
            .filter_map(|p| RelPath::parse(p).ok())
            .any(|p| path.starts_with(&p));
        if covered {
            Ok(())
        } else {
            Err(Refused::Path(path.to_api()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(me: Uuid) -> Claims {
        Claims {
            c: me,
            root: "/srv/data".into(),
            ops: vec![Op::Read],
            paths: vec!["/data".into()],
            exp: 1000,
        }
    }

    #[test]
    fn a_capability_covers_exactly_its_connector_ops_paths_and_time() {
        let me = Uuid::from_u128(7);
        let key = connector_key(b"root key", me);
        let token = sign(&key, &claims(me));
        let c = verify(&key, me, &token, 999).unwrap();
        let p = |s: &str| RelPath::parse(s).unwrap();
        assert_eq!(c.allows(Op::Read, &p("/data/x/y")), Ok(()));
        assert_eq!(c.allows(Op::Read, &p("/data")), Ok(()));
        assert!(matches!(
            c.allows(Op::Read, &p("/database")),
            Err(Refused::Path(_))
        ));
        assert!(matches!(
            c.allows(Op::Write, &p("/data/x")),
            Err(Refused::Operation(Op::Write))
        ));
        assert_eq!(verify(&key, me, &token, 1001), Err(Refused::Expired));
        assert_eq!(
            verify(&key, Uuid::from_u128(8), &token, 0),
            Err(Refused::WrongConnector)
        );
        // Another connector's key, a changed body, a cut token.
        let other = connector_key(b"root key", Uuid::from_u128(8));
        assert_eq!(verify(&other, me, &token, 0), Err(Refused::BadSignature));
        let (body, tag) = token.split_once('.').unwrap();
        let mut wider = claims(me);
        wider.paths = vec!["/".into()];
        let forged = format!("{}.{tag}", B64.encode(serde_json::to_vec(&wider).unwrap()));
        assert_eq!(verify(&key, me, &forged, 0), Err(Refused::BadSignature));
        assert_eq!(verify(&key, me, body, 0), Err(Refused::Malformed));
        assert_eq!(verify(&key, me, "", 0), Err(Refused::Malformed));
    }
}
