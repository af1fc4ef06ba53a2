//! Opaque page tokens (AIP-158) for keyset paging.
//!
//! A token is base64url(JSON) of the last row's sort key and a fingerprint of the
//! request's filters; a token sent with other filters is refused, so a page can never
//! silently mix two queries.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::kept::Kept;

#[derive(Debug, Serialize, Deserialize)]
struct Token {
    /// The sort key of the last row of the previous page.
    k: Vec<Value>,
    /// The fingerprint of the filters.
    f: String,
}

/// A short fingerprint of anything with a stable Debug form: the first 8 bytes of the
/// SHA-256 of that form, in hex. The form is written into the hash as it is formatted.
pub fn fingerprint(query: &impl Debug) -> String {
    use std::fmt::Write as _;
    struct Hashing(Sha256);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    let _ = write!(hashing, "{query:?}");
    let digest = hashing.0.finalize();
    let mut hex = String::with_capacity(16);
    for b in &digest[..8] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The fingerprints of one kind of query, kept for the queries seen lately ([`Kept`]), so
/// that a query asked again is not formatted and hashed again.
#[derive(Debug)]
pub(crate) struct Fingerprints<K>(LazyLock<Kept<K, String>>);

/// The most fingerprints a [`Fingerprints`] keeps.
pub(crate) const KEPT_FINGERPRINTS: usize = 4096;

impl<K: Hash + Eq + Debug> Fingerprints<K> {
    pub(crate) const fn new() -> Self {
        Self(LazyLock::new(|| Kept::new(KEPT_FINGERPRINTS)))
    }

    /// `query`'s [`fingerprint`].
    pub(crate) fn of(&self, query: K) -> String {
        if let Some(kept) = self.0.get(&query) {
            return kept;
        }
        let fp = fingerprint(&query);
        self.0.insert(query, fp.clone());
        fp
    }
}

/// Encodes the key of the last row of a page.
pub fn encode(key: Vec<Value>, fingerprint: &str) -> String {
    let json = serde_json::to_vec(&Token { k: key, f: fingerprint.to_owned() }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token made by [`encode`] for the same filters.
pub fn decode(token: &str, fingerprint: &str) -> AppResult<Vec<Value>> {
    let bad =
        || AppError::invalid("page_token", "is not a token this service issued; omit it to start from the first page");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if token.f != fingerprint {
        return Err(AppError::invalid(
            "page_token",
            "was issued for different filters or order; keep them unchanged between pages or omit the token",
        ));
    }
    Ok(token.k)
}

/// Reads an integer from a decoded key.
pub fn int(key: &[Value], i: usize) -> AppResult<i64> {
    key.get(i).and_then(Value::as_i64).ok_or_else(|| AppError::invalid("page_token", "is malformed"))
}

/// Reads a timestamp (RFC 3339) from a decoded key.
pub fn time(key: &[Value], i: usize) -> AppResult<chrono::DateTime<chrono::Utc>> {
    key.get(i)
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| AppError::invalid("page_token", "is malformed"))
}

/// The most bytes of rows one page carries, as [`page_within`] weighs them: well under the
/// 4 MiB a default gRPC client reads in one message, whatever the page size.
pub const PAGE_BYTES: usize = 3 * 1024 * 1024;

/// Splits `size + 1` fetched rows into a page and the next token.
pub fn page<T>(rows: Vec<T>, size: u64, key: impl Fn(&T) -> Vec<Value>, fingerprint: &str) -> (Vec<T>, Option<String>) {
    page_within(rows, size, key, fingerprint, |_| 0)
}

/// Like [`page`], but the page also ends before its rows' `weight` (about their encoded
/// bytes) passes [`PAGE_BYTES`]: a page of long texts is shorter, and the next token
/// carries on from its last row (AIP-158 lets a page hold fewer rows than asked for).
/// A page always holds at least one row.
pub fn page_within<T>(
    mut rows: Vec<T>,
    size: u64,
    key: impl Fn(&T) -> Vec<Value>,
    fingerprint: &str,
    weight: impl Fn(&T) -> usize,
) -> (Vec<T>, Option<String>) {
    let mut keep = 0;
    let mut bytes = 0;
    for row in rows.iter().take(size as usize) {
        bytes += weight(row);
        if keep > 0 && bytes > PAGE_BYTES {
            break;
        }
        keep += 1;
    }
    let more = rows.len() > keep;
    rows.truncate(keep);
    let next = if more { rows.last().map(|last| encode(key(last), fingerprint)) } else { None };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_start_of_the_sha256_of_the_debug_form() {
        // Tokens issued before this form of the function must still be accepted: what it
        // gave for this query, `(Some(7), ["OPEN"], 3)` hashed with SHA-256.
        assert_eq!(fingerprint(&(Some(7), vec!["OPEN"], 3u8)), "e44da039c63651eb");
    }

    #[test]
    fn kept_fingerprints_are_the_fingerprints_and_stay_bounded() {
        let kept = Fingerprints::new();
        for round in 0..2 {
            for n in 0..KEPT_FINGERPRINTS as u64 + 10 {
                assert_eq!(kept.of((n, "open")), fingerprint(&(n, "open")), "round {round}, query {n}");
                assert!(kept.0.len() <= KEPT_FINGERPRINTS);
            }
        }
    }

    #[test]
    fn tokens_round_trip_and_bind_their_filters() {
        let t = encode(vec![Value::from(7)], "abc");
        assert_eq!(int(&decode(&t, "abc").unwrap(), 0).unwrap(), 7);
        assert!(decode(&t, "abd").is_err());
        assert!(decode("not a token!", "abc").is_err());
    }

    #[test]
    fn a_page_ends_before_its_byte_budget() {
        let rows: Vec<i64> = (1..=11).collect();
        let (first, next) = page_within(rows.clone(), 10, |r| vec![Value::from(*r)], "f", |_| PAGE_BYTES / 4);
        assert_eq!(first, [1, 2, 3, 4]);
        assert_eq!(int(&decode(&next.unwrap(), "f").unwrap(), 0).unwrap(), 4);
        let (huge, _) = page_within(rows.clone(), 10, |r| vec![Value::from(*r)], "f", |_| PAGE_BYTES * 2);
        assert_eq!(huge, [1], "one row however large");
        let (plain, next) = page(rows, 10, |r: &i64| vec![Value::from(*r)], "f");
        assert_eq!((plain.len(), next.is_some()), (10, true));
    }
}
