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
