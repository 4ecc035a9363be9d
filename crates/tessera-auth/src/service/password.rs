//! User passwords: argon2id in PHC string format.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use tessera_core::secret::Secret;

/// Passwords shorter than this are refused at creation (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn validate(password: &Secret) -> Result<(), &'static str> {
    let n = password.expose().chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err("a password must be at least 8 characters long");
    }
    if n > MAX_PASSWORD_LEN {
        return Err("a password must be at most 1024 characters long");
    }
    Ok(())
}

/// Hashes with argon2id and the crate's default cost (19 MiB, 2 passes: OWASP's minimum).
pub fn hash(password: &Secret) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let pw = Secret::new("correct horse battery");
        let h = hash(&pw).unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
        assert!(validate(&Secret::new("short")).is_err());
    }
}

/// Verifies passwords with bounded concurrency. Argon2id costs ~19 MiB and tens of
/// milliseconds per attempt; a flood of sign-ins queues here instead of exhausting memory, and
/// waits no longer than `MAX_QUEUE_WAIT` before being told the service is busy.
pub struct PasswordVerifier {
    permits: tokio::sync::Semaphore,
    /// Verified against when the account does not exist, so both cases cost the same time.
    dummy: String,
}

pub const MAX_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("too many sign-ins at once")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

impl PasswordVerifier {
    pub fn new(concurrency: usize) -> Result<Self, String> {
        let dummy = hash(&Secret::new("tessera-dummy-password-for-timing"))?;
        Ok(Self {
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            dummy,
        })
    }

    /// True when `password` matches `stored`; with no stored hash, spends the same effort and
    /// answers false.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<bool, VerifyError> {
        let _permit = tokio::time::timeout(MAX_QUEUE_WAIT, self.permits.acquire())
            .await
            .map_err(|_| VerifyError::Busy)?
            .map_err(|_| VerifyError::Busy)?;
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_owned();
        let password = password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
            match PasswordHash::new(&stored) {
                Ok(parsed) => Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await
        .map_err(|e| VerifyError::Internal(e.to_string()))?;
        Ok(exists && matched)
    }
}
