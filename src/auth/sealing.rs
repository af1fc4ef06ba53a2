//! Secrets the service must read back, sealed at rest: the webhooks' signing secrets.
//!
//! They are sealed with XChaCha20-Poly1305 (a random 24-byte nonce each) under the keys of
//! `SUPPORT_SECRETS_KEY`: base64 of 32 random bytes, or several separated by commas while
//! rotating. The first seals; any opens, since each sealed text names its key. Without the
//! setting a key generated once is kept in the database, as the quick start's signing key
//! is: the secrets are then unreadable from the webhooks table alone (an export, a log of
//! rows) but not from a copy of the whole database, so a production start warns. Once the
//! setting is given, that generated key (if there is one) still opens, so the next start
//! seals its secrets again under the configured key.
//!
//! A sealed text is `sealed:1:<key id>:<base64 of the nonce and the ciphertext>`. A text
//! without that prefix is a secret stored before sealing existed: it is read as it is, and
//! [`reseal`] seals it at the next start, as it seals again one under an older key.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

use super::secret::Mode;
use crate::error::{AppError, AppResult};
use crate::repo::Repo;

/// What every sealed text starts with, its format's version included.
const PREFIX: &str = "sealed:1:";
/// The name of the generated key in `service_secrets`.
const GENERATED: &str = "secrets_sealing_key";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
/// Bound to every ciphertext, so a sealed text cannot be passed off as another kind.
const PURPOSE: &[u8] = b"support-service webhook secret";

/// Seals with the first key and opens with any.
pub struct Sealer {
    keys: Vec<Key>,
}

struct Key {
    /// The first 4 bytes of the key's SHA-256, in hex: names the key in a sealed text
    /// without telling anything of use about it.
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

impl Sealer {
    /// A sealer over `keys`, the first sealing; none is refused.
    pub fn new(keys: &[[u8; KEY_BYTES]]) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("SUPPORT_SECRETS_KEY names no key".into());
        }
        let keys = keys
            .iter()
            .map(|k| Key {
                id: hex4(&Sha256::digest(k)),
                cipher: XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*k)),
            })
            .collect();
        Ok(Self { keys })
    }

    /// `secret`, sealed with the first key.
    pub fn seal(&self, secret: &str) -> Result<String, String> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| format!("the operating system's random source failed: {e}"))?;
        let payload = chacha20poly1305::aead::Payload { msg: secret.as_bytes(), aad: PURPOSE };
        let sealed = key.cipher.encrypt(&XNonce::from(nonce), payload).map_err(|_| "sealing a secret failed")?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret of a stored text: opened, or as it is when it was stored before sealing.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, text) = rest.split_once(':').ok_or("a sealed secret has no key id")?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| {
            format!("a secret is sealed with key {id}, which SUPPORT_SECRETS_KEY does not hold; add that key back")
        })?;
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| "a sealed secret is not base64")?;
        let (nonce, sealed) = bytes.split_first_chunk::<NONCE_BYTES>().ok_or("a sealed secret is too short")?;
        let payload = chacha20poly1305::aead::Payload { msg: sealed, aad: PURPOSE };
        let opened = key
            .cipher
            .decrypt(&XNonce::from(*nonce), payload)
            .map_err(|_| format!("a secret sealed with key {id} does not open: it was altered"))?;
        String::from_utf8(opened).map_err(|_| "an opened secret is not UTF-8".into())
    }

    /// Whether `stored` is sealed with the key that seals now (else it is sealed again at
    /// start).
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id == self.keys[0].id)
    }
}

/// The keys of a `SUPPORT_SECRETS_KEY` value: base64 of exactly 32 bytes each, separated by
/// commas.
pub fn parse_keys(value: &SecretString) -> Result<Vec<[u8; KEY_BYTES]>, String> {
    let fix = "each key must be base64 of 32 random bytes, for example `openssl rand -base64 32`, \
               separated by commas while rotating (the first seals)";
    value
        .expose_secret()
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, k)| {
            let bytes =
                STANDARD.decode(k).map_err(|_| format!("SUPPORT_SECRETS_KEY key {} is not base64: {fix}", i + 1))?;
            <[u8; KEY_BYTES]>::try_from(bytes.as_slice())
                .map_err(|_| format!("SUPPORT_SECRETS_KEY key {} is {} bytes, not 32: {fix}", i + 1, bytes.len()))
        })
        .collect()
}

/// The sealer: over the configured keys (and, to open only, the generated key if there is
/// one), or else over a key generated once and kept in the database (a production start
/// warns).
pub async fn resolve(configured: Option<&SecretString>, mode: Mode, repo: &Repo) -> Result<Sealer, String> {
    if let Some(value) = configured {
        let mut keys = parse_keys(value)?;
        let generated = repo
            .stored_service_secret(GENERATED)
            .await
            .map_err(|e| format!("cannot read the generated sealing key: {e}"))?;
        if let Some(generated) = generated {
            keys.extend(parse_keys(&SecretString::from(generated))?);
        }
        return Sealer::new(&keys);
    }
    let fresh = super::secret::random_base64(KEY_BYTES)?;
    let generated = repo
        .service_secret(GENERATED, move || fresh, chrono::Utc::now())
        .await
        .map_err(|e| format!("cannot read or store the generated sealing key: {e}"))?;
    if mode == Mode::Production {
        tracing::warn!(
            "SUPPORT_SECRETS_KEY is not set: webhook secrets are sealed with a key kept in the database \
             itself, so a copy of the database reveals them; set it to `openssl rand -base64 32`"
        );
    }
    Sealer::new(&parse_keys(&SecretString::from(generated))?)
}

/// Seals again every stored webhook secret not sealed with `sealer`'s first key: those
/// stored before sealing existed and those under an older key. One that does not open
/// (its key is gone) is left as it is and named in the log. How many were sealed again.
pub async fn reseal(repo: &Repo, sealer: &Sealer) -> AppResult<u64> {
    let mut resealed = 0;
    for (id, stored) in repo.webhook_secrets().await? {
        if sealer.is_current(&stored) {
            continue;
        }
        let secret = match sealer.open(&stored) {
            Ok(secret) => secret,
            Err(e) => {
                tracing::error!(webhook = id, error = %e, "a webhook's secret does not open; it is left as it is");
                continue;
            }
        };
        let sealed = sealer.seal(&secret).map_err(AppError::Internal)?;
        if repo.replace_webhook_secret(id, &stored, &sealed).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}

fn hex4(digest: &[u8]) -> String {
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; KEY_BYTES] {
        [byte; KEY_BYTES]
    }

    #[test]
    fn a_sealed_secret_opens_and_does_not_show() {
        let sealer = Sealer::new(&[key(1)]).unwrap();
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sealed = sealer.seal(secret).unwrap();
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("MfKQ9r8G"), "{sealed}");
        assert_ne!(sealer.seal(secret).unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), secret);
        assert!(sealer.is_current(&sealed));
    }

    #[test]
    fn rotation_opens_with_an_older_key_and_seals_with_the_first() {
        let old = Sealer::new(&[key(1)]).unwrap();
        let sealed_before = old.seal("whsec_old").unwrap();
        let rotating = Sealer::new(&[key(2), key(1)]).unwrap();
        assert_eq!(rotating.open(&sealed_before).unwrap(), "whsec_old");
        assert!(!rotating.is_current(&sealed_before));
        let resealed = rotating.seal("whsec_old").unwrap();
        assert!(rotating.is_current(&resealed));
        let after = Sealer::new(&[key(2)]).unwrap();
        assert_eq!(after.open(&resealed).unwrap(), "whsec_old");
        let missing = after.open(&sealed_before).unwrap_err();
        assert!(missing.contains("does not hold"), "{missing}");
    }

    #[test]
    fn an_altered_sealed_text_is_refused_and_plain_text_is_read_as_it_is() {
        let sealer = Sealer::new(&[key(1)]).unwrap();
        let sealed = sealer.seal("whsec_abc").unwrap();
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let altered = format!("{head}:{}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(sealer.open(&altered).unwrap_err().contains("altered"));
        assert!(sealer.open(&format!("{head}:!!")).is_err());
        assert!(sealer.open(&format!("{head}:AAAA")).unwrap_err().contains("too short"));
        assert_eq!(sealer.open("whsec_plain").unwrap(), "whsec_plain");
        assert!(!sealer.is_current("whsec_plain"));
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes() {
        let parse = |v: &str| parse_keys(&SecretString::from(v.to_owned()));
        let one = STANDARD.encode(key(7));
        assert_eq!(parse(&one).unwrap(), vec![key(7)]);
        assert_eq!(parse(&format!("{one}, {}", STANDARD.encode(key(8)))).unwrap(), vec![key(7), key(8)]);
        assert!(parse("not base64!").unwrap_err().contains("key 1 is not base64"));
        assert!(parse(&format!("{one},{}", STANDARD.encode([1u8; 16]))).unwrap_err().contains("key 2 is 16 bytes"));
        assert!(Sealer::new(&[]).is_err());
    }
}
