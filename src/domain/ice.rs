//! The ICE servers a call's browsers use: STUN and TURN URLs from the configuration, and
//! for TURN credentials per the TURN REST API (coturn's `use-auth-secret`): the username
//! is the expiry in Unix seconds and the caller, the credential base64(HMAC-SHA1(shared
//! secret, username)). The TURN server checks them with the shared secret alone, and one
//! that leaks stops working when it expires.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;

/// The configured servers.
#[derive(Debug, Clone, Default)]
pub struct IceSettings {
    stun: Vec<String>,
    turn: Vec<String>,
    secret: Option<SecretString>,
    ttl: chrono::Duration,
}

/// One RTCIceServer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// What a caller is given: the servers, and when their credentials expire (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServers {
    pub servers: Vec<IceServer>,
    pub expire: Option<DateTime<Utc>>,
}

impl IceSettings {
    /// The servers of `urls` (`stun:`, `stuns:`, `turn:` or `turns:`), TURN ones only with
    /// the TURN server's shared `secret`, credentials lasting `ttl_secs`.
    pub fn new(urls: &[String], secret: Option<SecretString>, ttl_secs: u64) -> Result<Self, String> {
        let (mut stun, mut turn) = (Vec::new(), Vec::new());
        for url in urls.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            let host = url.split_once(':').map_or("", |(_, rest)| rest);
            if host.is_empty() || url.len() > 500 || url.chars().any(char::is_whitespace) {
                return Err(format!(
                    "SUPPORT_ICE_URLS: {url:?} is not a STUN or TURN URL (e.g. turn:turn.example.com:3478)"
                ));
            }
            match scheme {
                "stun" | "stuns" => stun.push(url.to_owned()),
                "turn" | "turns" => turn.push(url.to_owned()),
                _ => {
                    return Err(format!(
                        "SUPPORT_ICE_URLS: {url:?} must start with stun:, stuns:, turn: or turns: (e.g. turn:turn.example.com:3478)"
                    ));
                }
            }
        }
        if !turn.is_empty() && secret.as_ref().is_none_or(|s| s.expose_secret().is_empty()) {
            return Err("SUPPORT_ICE_URLS names a TURN server: set SUPPORT_TURN_SECRET to its shared secret \
                        (coturn's static-auth-secret), so that each caller gets credentials of their own"
                .into());
        }
        if !(60..=7 * 86_400).contains(&ttl_secs) {
            return Err(format!("SUPPORT_TURN_TTL_SECS: must be between 60 and 604800 (got {ttl_secs})"));
        }
        Ok(Self { stun, turn, secret, ttl: chrono::Duration::seconds(ttl_secs as i64) })
    }

    /// The servers for the caller `subject` at `now`.
    pub fn servers(&self, subject: &str, now: DateTime<Utc>) -> IceServers {
        let mut servers = Vec::new();
        if !self.stun.is_empty() {
            servers.push(IceServer { urls: self.stun.clone(), username: String::new(), credential: String::new() });
        }
        let mut expire = None;
        if let (false, Some(secret)) = (self.turn.is_empty(), &self.secret) {
            let until = now + self.ttl;
            // The TURN REST API's username: the expiry, a colon, then the user (without
            // colons of its own, so the expiry is unambiguous).
            let username = format!("{}:{}", until.timestamp(), subject.replace(':', "."));
            let credential = credential(secret.expose_secret(), &username);
            servers.push(IceServer { urls: self.turn.clone(), username, credential });
            expire = Some(until);
        }
        IceServers { servers, expire }
    }
}

/// base64(HMAC-SHA1(secret, username)): what the TURN server computes to check it.
fn credential(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn turn_credentials_follow_the_turn_rest_api() {
        // RFC 2202's HMAC-SHA1 test case 2, as the TURN server would compute it.
        assert_eq!(credential("Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
        let ice = IceSettings::new(
            &urls(&["stun:stun.example.com:3478", "turns:turn.example.com:5349?transport=tcp"]),
            Some(SecretString::from("north")),
            3600,
        )
        .unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let got = ice.servers("customer:7", now);
        assert_eq!(got.expire, Some(now + chrono::Duration::hours(1)));
        assert_eq!(got.servers.len(), 2);
        assert_eq!(got.servers[0].urls, urls(&["stun:stun.example.com:3478"]));
        assert_eq!((got.servers[0].username.as_str(), got.servers[0].credential.as_str()), ("", ""));
        let turn = &got.servers[1];
        assert_eq!(turn.username, "1800003600:customer.7");
        assert_eq!(turn.credential, credential("north", "1800003600:customer.7"));
    }

    #[test]
    fn none_configured_gives_none() {
        let ice = IceSettings::new(&[], None, 86_400).unwrap();
        assert_eq!(ice.servers("agent:1", Utc::now()), IceServers { servers: vec![], expire: None });
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        let bad = |list: &[&str], secret: Option<&str>, ttl| {
            IceSettings::new(&urls(list), secret.map(SecretString::from), ttl).unwrap_err()
        };
        assert!(bad(&["https://turn.example.com"], None, 3600).starts_with("SUPPORT_ICE_URLS: "));
        assert!(bad(&["stun:"], None, 3600).starts_with("SUPPORT_ICE_URLS: "));
        assert!(bad(&["turn:turn.example.com"], None, 3600).contains("set SUPPORT_TURN_SECRET"));
        assert!(bad(&["turn:turn.example.com"], Some(""), 3600).contains("set SUPPORT_TURN_SECRET"));
        assert!(bad(&["stun:stun.example.com"], None, 10).starts_with("SUPPORT_TURN_TTL_SECS: "));
    }
}
