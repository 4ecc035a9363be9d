//! The master key that seals signing keys at rest (AES-256-GCM, the kid as associated data).

use super::KeyError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom as _, SystemRandom};

const SEALED_PREFIX: &str = "sealed:v1:";

/// The 256-bit key that seals signing keys at rest (AES-256-GCM). Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// 32 bytes written as base64 (standard alphabet) or 64 hex digits, surrounding
    /// whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| e.to_string())?
        } else {
            STANDARD
                .decode(t)
                .map_err(|_| "the master key is neither base64 nor hex".to_owned())?
        };
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the master key must be 32 bytes (256 bits)".to_owned())?;
        Ok(Self(arr))
    }

    /// A fresh key from the OS.
    pub fn generate() -> Result<Self, String> {
        let mut b = [0u8; 32];
        SystemRandom::new()
            .fill(&mut b)
            .map_err(|_| "the OS random generator failed".to_owned())?;
        Ok(Self(b))
    }

    /// The text form `parse` reads (base64).
    pub fn encode(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn aead(&self) -> Result<LessSafeKey, KeyError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| KeyError::Seal("bad master key".into()))
    }

    /// `sealed:v1:` + base64(nonce ‖ ciphertext ‖ tag); the kid is authenticated with it, so a
    /// sealed key cannot be moved to another row.
    pub fn seal(&self, kid: &str, pem: &str) -> Result<String, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Seal("the OS random generator failed".into()))?;
        let mut buf = pem.as_bytes().to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| KeyError::Seal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    pub(crate) fn open(&self, kid: &str, sealed: &str) -> Result<String, KeyError> {
        let bad = || KeyError::Invalid {
            kid: kid.to_owned(),
            detail: "cannot be opened with this master key".into(),
        };
        let raw = STANDARD
            .decode(sealed.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buf = rest.to_vec();
        let clear = self
            .aead()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| bad())?;
        String::from_utf8(clear.to_vec()).map_err(|_| bad())
    }
}

pub(super) fn is_sealed(material: &str) -> bool {
    material.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_master_key_and_kid() {
        let m = MasterKey::generate().unwrap();
        let sealed = m.seal("kid1", "-----BEGIN PRIVATE KEY-----").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("PRIVATE"));
        assert_eq!(
            m.open("kid1", &sealed).unwrap(),
            "-----BEGIN PRIVATE KEY-----"
        );
        assert!(m.open("kid2", &sealed).is_err(), "bound to its row");
        assert!(MasterKey::generate()
            .unwrap()
            .open("kid1", &sealed)
            .is_err());
        assert_eq!(MasterKey::parse(&m.encode()).unwrap().0, m.0);
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse("short").is_err());
        assert!(!format!("{m:?}").contains(&m.encode()));
    }
}
