//! The token-signing secret: required and checked in production, generated once and kept
//! in the database for the embedded quick start.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use crate::repo::Repo;

/// The fewest bytes a signing secret may have (HS256 wants a key as long as its hash).
pub const MIN_SECRET_BYTES: usize = 32;
/// The name of the generated quick-start key in `service_secrets`.
const GENERATED: &str = "token_signing_key";
/// Values people paste from examples.
const KNOWN_WEAK: &[&str] = &["secret", "changeme", "change-me", "password", "example", "test", "default"];

/// Checks a configured secret; the message says what to set instead.
pub fn check(secret: &SecretString) -> Result<(), String> {
    let s = secret.expose_secret();
    let fix = "set SUPPORT_AUTH_SECRET to at least 32 random bytes, for example `openssl rand -base64 48`";
    if s.len() < MIN_SECRET_BYTES {
        return Err(format!("SUPPORT_AUTH_SECRET is too short ({} bytes): {fix}", s.len()));
    }
    let lower = s.to_ascii_lowercase();
    let mut distinct: Vec<u8> = s.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    // Random secrets (openssl rand -base64 48) have dozens of distinct bytes; a phrase
    // built from a placeholder word has few.
    let placeholder = distinct.len() < 20 && KNOWN_WEAK.iter().any(|w| lower.contains(w));
    if distinct.len() < 10 || placeholder {
        return Err(format!("SUPPORT_AUTH_SECRET looks guessable: {fix}"));
    }
    Ok(())
}

/// Where the secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A production start: the secret must be configured.
    Production,
    /// The embedded quick start: a generated secret is kept in the database.
    QuickStart,
}

/// The configured secret, checked; None when the quick start may generate one. Needs no
/// database, so a misconfigured production start fails before connecting.
pub fn settle(configured: Option<&SecretString>, mode: Mode) -> Result<Option<SecretString>, String> {
    if let Some(s) = configured {
        check(s)?;
        return Ok(Some(s.clone()));
    }
    if mode == Mode::Production {
        return Err("SUPPORT_AUTH_SECRET is not set. A production start (a MySQL database, or \
                    SUPPORT_PRODUCTION=true) needs a token-signing secret of at least 32 random bytes, \
                    the same on every replica: for example SUPPORT_AUTH_SECRET=$(openssl rand -base64 48)"
            .into());
    }
    Ok(None)
}

/// The secret to sign with: the configured one (checked), or in quick-start mode one
/// generated on first use and stored in the database, so that every start and the
/// `token` command agree.
pub async fn resolve(configured: Option<&SecretString>, mode: Mode, repo: &Repo) -> Result<SecretString, String> {
    if let Some(s) = settle(configured, mode)? {
        return Ok(s);
    }
    let fresh = random_base64(48)?;
    let value = repo
        .service_secret(GENERATED, move || fresh, chrono::Utc::now())
        .await
        .map_err(|e| format!("cannot read or store the generated signing key: {e}"))?;
    tracing::warn!(
        "signing tokens with a key generated for this embedded database (quick start); \
         set SUPPORT_AUTH_SECRET in production"
    );
    Ok(SecretString::from(value))
}

/// `n` random bytes, base64: the generated keys kept in `service_secrets`.
pub(super) fn random_base64(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("the operating system's random source failed: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_guessable_secrets_are_refused() {
        let s = |v: &str| SecretString::from(v.to_owned());
        assert!(check(&s("short")).unwrap_err().contains("too short"));
        assert!(check(&s(&"a".repeat(40))).unwrap_err().contains("guessable"));
        assert!(check(&s("changeme-changeme-changeme-changeme-1234")).unwrap_err().contains("guessable"));
        assert!(check(&s(&random_base64(48).unwrap())).is_ok());
    }
}
