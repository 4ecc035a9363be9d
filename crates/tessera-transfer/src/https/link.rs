//! Signed links: a URL a browser can follow without a token, for one file of one endpoint, on
//! behalf of one identity, until a time at most an hour away.
//!
//! The signature is HMAC-SHA256, under a key every node derives from the master key, over the
//! endpoint, the path (API form), the expiry and the identity; so none of them can be changed
//! without the key. The identity's permission is decided again at each use: a link outlives
//! nothing that has been revoked.

use crate::storage::RelPath;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// The longest a link may live, in seconds.
pub const MAX_EXPIRES_IN: i64 = 3600;

/// The key that signs links. Its `Debug` never shows it.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, endpoint: Uuid, path: &RelPath, exp: i64, by: Uuid) -> Hmac<Sha256> {
        // A 32-byte key is always accepted by HMAC.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable_key(),
        };
        // Fields separated by a byte no field can hold (paths refuse NUL).
        for part in [
            b"tessera https link v1".as_slice(),
            endpoint.to_string().as_bytes(),
            path.to_api().as_bytes(),
            exp.to_string().as_bytes(),
            by.to_string().as_bytes(),
        ] {
            mac.update(part);
            mac.update(b"\0");
        }
        mac
    }

    /// The signature (lowercase hex) of a link.
    pub fn sign(&self, endpoint: Uuid, path: &RelPath, exp: i64, by: Uuid) -> String {
        let tag = self.mac(endpoint, path, exp, by).finalize().into_bytes();
        tag.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `sig` is the signature of this link (constant time) and the link is still
    /// valid at `now` and was not made to live longer than [`MAX_EXPIRES_IN`].
    pub fn verify(&self, link: &Signed, endpoint: Uuid, path: &RelPath, now: i64) -> bool {
        if link.exp <= now || link.exp - now > MAX_EXPIRES_IN {
            return false;
        }
        let Some(tag) = hex(&link.sig) else {
            return false;
        };
        self.mac(endpoint, path, link.exp, link.by)
            .verify_slice(&tag)
            .is_ok()
    }
}

#[allow(clippy::panic)]
fn unreachable_key() -> ! {
    // `Hmac::new_from_slice` accepts keys of any length.
    panic!("HMAC refused a 32-byte key")
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

/// The query parameters of a signed link.
/// `Debug` leaves `sig` out: it works as a read credential until `exp`.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    pub sig: String,
    pub exp: i64,
    pub by: Uuid,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("exp", &self.exp)
            .field("by", &self.by)
            .finish_non_exhaustive()
    }
}

impl Signed {
    /// The link's parameters from a query string: `None` when it has no `sig`, `Err` when it
    /// has one but the rest is malformed.
    pub fn from_query(query: Option<&str>) -> Result<Option<Self>, &'static str> {
        let Some(q) = query else { return Ok(None) };
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(q).map_err(|_| "the query string does not parse")?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(sig) = get("sig") else {
            return Ok(None);
        };
        let exp = get("exp")
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or("a signed link needs a numeric exp")?;
        let by = get("by")
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or("a signed link needs by=<identity id>")?;
        Ok(Some(Self {
            sig: sig.to_owned(),
            exp,
            by,
        }))
    }

    /// The query string of this link.
    pub fn to_query(&self) -> String {
        format!("sig={}&exp={}&by={}", self.sig, self.exp, self.by)
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A path as a URL path below the endpoint's base (no leading `/`), each component
/// percent-encoded except RFC 3986 unreserved characters.
pub fn url_path(path: &RelPath) -> String {
    let mut out = String::new();
    for (i, c) in path.components().iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in c.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::parse(s).unwrap()
    }

    #[test]
    fn a_signature_binds_every_field_and_expires() {
        let key = LinkKey::new([7; 32]);
        let (e, by) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let sig = key.sign(e, &p("/a/b.txt"), 1_000, by);
        let link = Signed {
            sig,
            exp: 1_000,
            by,
        };
        assert!(key.verify(&link, e, &p("/a/b.txt"), 999));
        assert!(!key.verify(&link, e, &p("/a/b.txt"), 1_000), "expired");
        assert!(!key.verify(&link, e, &p("/a/c.txt"), 999), "other path");
        assert!(!key.verify(&link, Uuid::from_u128(3), &p("/a/b.txt"), 999));
        let other_by = Signed {
            by: Uuid::from_u128(3),
            ..link.clone()
        };
        assert!(!key.verify(&other_by, e, &p("/a/b.txt"), 999));
        let later = Signed {
            exp: 1_001,
            ..link.clone()
        };
        assert!(!key.verify(&later, e, &p("/a/b.txt"), 999));
        assert!(!LinkKey::new([8; 32]).verify(&link, e, &p("/a/b.txt"), 999));
        // Signed for longer than an hour: refused even with a good signature.
        let far = Signed {
            sig: key.sign(e, &p("/a/b.txt"), 10_000, by),
            exp: 10_000,
            by,
        };
        assert!(!key.verify(&far, e, &p("/a/b.txt"), 10_000 - MAX_EXPIRES_IN - 1));
        assert!(key.verify(&far, e, &p("/a/b.txt"), 10_000 - MAX_EXPIRES_IN));
        let junk = Signed {
            sig: "zz".repeat(32),
            ..link
        };
        assert!(!key.verify(&junk, e, &p("/a/b.txt"), 999));
        assert_eq!(format!("{key:?}"), "LinkKey([redacted])");
    }

    #[test]
    fn query_strings_and_url_paths() {
        let by = Uuid::from_u128(5);
        let s = Signed {
            sig: "ab".repeat(32),
            exp: 42,
            by,
        };
        assert_eq!(Signed::from_query(Some(&s.to_query())).unwrap(), Some(s));
        assert_eq!(Signed::from_query(None).unwrap(), None);
        assert_eq!(Signed::from_query(Some("x=1")).unwrap(), None);
        assert!(Signed::from_query(Some("sig=ab&exp=soon&by=x")).is_err());
        assert_eq!(url_path(&p("/a b/ü?#%.txt")), "a%20b/%C3%BC%3F%23%25.txt");
        assert_eq!(url_path(&RelPath::root()), "");
    }
}
