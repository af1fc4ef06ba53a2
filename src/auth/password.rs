//! Passwords: Argon2id hashes (PHC strings with their own salt and parameters) and the
//! rules a new password must meet.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{AppError, AppResult};

/// The shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// The longest password accepted (Argon2 takes any length; this bounds the work).
pub const MAX_CHARS: usize = 128;

/// Checks a new password; the message says what to change.
pub fn check(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("must be at least {MIN_CHARS} characters (got {n})"));
    }
    if n > MAX_CHARS {
        return Err(format!("must be at most {MAX_CHARS} characters (got {n})"));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err("is too easy to guess: use at least 5 different characters".into());
    }
    Ok(())
}

/// The Argon2id hash of `password` with a fresh salt (CPU-heavy: call off the async runtime).
pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing a password failed: {e}")))
}

/// True when `password` matches the stored hash (CPU-heavy: call off the async runtime).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, verified against when the email is unknown so that a
/// wrong email costs the same time as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: LazyLock<String> = LazyLock::new(|| {
        let mut random = [0u8; 32];
        let _ = getrandom::fill(&mut random);
        hash(&format!("{random:?}")).unwrap_or_default()
    });
    &DECOY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse battery!", &h));
        assert!(!verify("anything", decoy()));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check("short").unwrap_err().contains("at least 12"));
        assert!(check("aaaaaaaaaaaaaaaa").unwrap_err().contains("different"));
        assert!(check(&"ab1cD".repeat(30)).unwrap_err().contains("at most"));
        assert!(check("a decent passphrase").is_ok());
    }
}
