//! Access tokens: HS256 JWTs carrying the principal, signed with the configured secret.
//! Token times are real (system) time, never the injectable clock of the workflow.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::access::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::kept::Kept;

/// The `iss` of every token this service mints.
const ISSUER: &str = "support-service";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    department_id: Option<i64>,
    iss: String,
    iat: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    /// The account's token generation when minted: a token older than the account's
    /// current generation (after a password change, a demotion, a move or a disable) is
    /// refused. Absent (0) for operators' and services' tokens.
    #[serde(default, skip_serializing_if = "is_zero")]
    generation: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The longest lifetime (exp - iat) a token may claim unless configured otherwise.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Mints and verifies access tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    max_lifetime: Duration,
    /// Tokens verified before, by their exact text: a caller sends the same token with
    /// every call, and checking its signature and decoding its claims again cost about a
    /// tenth of a GetTicket's instructions. A changed byte is another key, so only a token
    /// that verified is ever found here; its times are checked again on every use.
    verified: Kept<Box<str>, Verified>,
}

/// What a verified token said, as far as later uses need it.
#[derive(Debug, Clone)]
struct Verified {
    who: Principal,
    generation: i64,
    exp: u64,
    nbf: Option<u64>,
}

/// At most this many tokens are remembered ([`Kept`]).
const VERIFIED_CAPACITY: usize = 4096;

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("access_ttl", &self.access_ttl).finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret`, living `access_ttl` unless minted otherwise.
    pub fn new(secret: &SecretString, access_ttl: Duration) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            access_ttl,
            max_lifetime: DEFAULT_MAX_LIFETIME.max(access_ttl),
            verified: Kept::new(VERIFIED_CAPACITY),
        }
    }

    /// Refuses tokens that claim to live longer than `max` (and mints none).
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max.max(self.access_ttl);
        self
    }

    /// How long an access token lives.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// An access token for `who`, living the configured time.
    pub fn mint(&self, who: &Principal) -> AppResult<String> {
        self.mint_at(who, 0, self.access_ttl)
    }

    /// An access token for `who` at the account's token `generation`.
    pub fn mint_generation(&self, who: &Principal, generation: i64) -> AppResult<String> {
        self.mint_at(who, generation, self.access_ttl)
    }

    /// An access token for `who`, living `ttl` (at most the maximum lifetime).
    pub fn mint_for(&self, who: &Principal, ttl: Duration) -> AppResult<String> {
        self.mint_at(who, 0, ttl)
    }

    fn mint_at(&self, who: &Principal, generation: i64, ttl: Duration) -> AppResult<String> {
        if ttl > self.max_lifetime {
            return Err(AppError::invalid(
                "ttl",
                format!(
                    "is {} s; tokens live at most {} s (SUPPORT_MAX_TOKEN_LIFETIME_SECS)",
                    ttl.as_secs(),
                    self.max_lifetime.as_secs()
                ),
            ));
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: who.subject.clone(),
            role: who.role.as_str().to_owned(),
            customer_id: who.customer_id,
            agent_id: who.agent_id,
            department_id: who.department_id,
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
            nbf: None,
            generation,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a token failed: {e}")))
    }

    /// The principal of a valid token; UNAUTHENTICATED saying why otherwise.
    pub fn verify(&self, token: &str) -> AppResult<Principal> {
        self.verify_generation(token).map(|(who, _)| who)
    }

    /// The principal of a valid token and the token generation it was minted at.
    pub fn verify_generation(&self, token: &str) -> AppResult<(Principal, i64)> {
        let now = jsonwebtoken::get_current_timestamp();
        let leeway = self.validation.leeway;
        if let Some(v) = self.verified.get(token) {
            if v.exp.saturating_add(leeway) >= now && v.nbf.is_none_or(|nbf| nbf <= now.saturating_add(leeway)) {
                return Ok((v.who, v.generation));
            }
            // Expired (or not yet valid): the full check below says which.
            self.verified.remove(token);
        }
        let v = self.verify_claims(token)?;
        self.verified.insert(token.into(), v.clone());
        Ok((v.who, v.generation))
    }

    /// Checks a token's signature and claims.
    fn verify_claims(&self, token: &str) -> AppResult<Verified> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            AppError::Unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => {
                    "the access token has expired; get a new one with Refresh or Login".into()
                }
                ErrorKind::InvalidSignature => "the access token's signature is not valid".into(),
                ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)".into(),
                _ => "the access token is not a valid token of this service".into(),
            })
        })?;
        let c = data.claims;
        if c.exp.saturating_sub(c.iat) > self.max_lifetime.as_secs() + self.validation.leeway {
            return Err(AppError::Unauthenticated(format!(
                "the access token claims to live longer than this service allows ({} s); get a new one",
                self.max_lifetime.as_secs()
            )));
        }
        let role = Role::parse(&c.role)
            .ok_or_else(|| AppError::Unauthenticated(format!("the access token names an unknown role {:?}", c.role)))?;
        let complete = match role {
            Role::Customer => c.customer_id.is_some(),
            Role::Agent | Role::Supervisor => c.agent_id.is_some() && c.department_id.is_some(),
            Role::Admin | Role::Service => true,
        };
        if !complete {
            return Err(AppError::Unauthenticated(format!("the access token lacks the ids a {role} needs")));
        }
        let who = Principal {
            role,
            subject: c.sub,
            customer_id: c.customer_id,
            agent_id: c.agent_id,
            department_id: c.department_id,
        };
        Ok(Verified { who, generation: c.generation, exp: c.exp, nbf: c.nbf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentRole;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(&SecretString::from(secret.to_owned()), Duration::from_secs(60))
    }

    #[test]
    fn a_minted_token_verifies_to_its_principal() {
        let t = tokens("0123456789abcdef0123456789abcdef-test");
        for who in [
            Principal::customer(7),
            Principal::agent(3, AgentRole::Supervisor, 2),
            Principal::named(Role::Service, "billing"),
        ] {
            assert_eq!(t.verify(&t.mint(&who).unwrap()).unwrap(), who);
        }
    }

    #[test]
    fn foreign_expired_and_garbage_tokens_are_unauthenticated() {
        let ours = tokens("0123456789abcdef0123456789abcdef-ours");
        let theirs = tokens("0123456789abcdef0123456789abcdef-theirs");
        let who = Principal::customer(1);
        for bad in [theirs.mint(&who).unwrap(), "not.a.jwt".to_owned(), String::new()] {
            assert!(matches!(ours.verify(&bad), Err(AppError::Unauthenticated(_))), "{bad}");
        }
        let claims = Claims {
            sub: "customer:1".into(),
            role: "customer".into(),
            customer_id: Some(1),
            agent_id: None,
            department_id: None,
            iss: ISSUER.into(),
            iat: 1,
            exp: 2,
            nbf: None,
            generation: 0,
        };
        let old = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &ours.encoding).unwrap();
        let Err(AppError::Unauthenticated(m)) = ours.verify(&old) else { panic!("expired token accepted") };
        assert!(m.contains("expired"), "{m}");
    }

    #[test]
    fn a_token_living_too_long_or_not_yet_valid_is_refused() {
        let t = tokens("0123456789abcdef0123456789abcdef-life");
        let now = jsonwebtoken::get_current_timestamp();
        let claims = |iat: u64, exp: u64, nbf: Option<u64>| Claims {
            sub: "customer:1".into(),
            role: "customer".into(),
            customer_id: Some(1),
            agent_id: None,
            department_id: None,
            iss: ISSUER.into(),
            iat,
            exp,
            nbf,
            generation: 0,
        };
        let sign = |c: &Claims| jsonwebtoken::encode(&Header::new(Algorithm::HS256), c, &t.encoding).unwrap();
        let century = sign(&claims(now, now + 100 * 365 * 24 * 3600, None));
        let Err(AppError::Unauthenticated(m)) = t.verify(&century) else { panic!("a century-long token accepted") };
        assert!(m.contains("longer"), "{m}");
        let later = sign(&claims(now, now + 600, Some(now + 300)));
        let Err(AppError::Unauthenticated(m)) = t.verify(&later) else { panic!("a token before its nbf accepted") };
        assert!(m.contains("nbf"), "{m}");
        assert!(t.verify(&sign(&claims(now, now + 600, None))).is_ok());
        assert!(t.mint_for(&Principal::customer(1), Duration::from_secs(365 * 24 * 3600)).is_err());
    }

    #[test]
    fn a_remembered_token_is_checked_in_full_once_its_time_is_up_and_a_changed_one_is_never_found() {
        let t = tokens("0123456789abcdef0123456789abcdef-memo");
        let who = Principal::customer(4);
        let token = t.mint(&who).unwrap();
        assert_eq!(t.verify(&token).unwrap(), who);
        assert_eq!(t.verify(&token).unwrap(), who, "the remembered answer is the same");
        // The same text with its last signature character changed is another token.
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(t.verify(&forged), Err(AppError::Unauthenticated(_))));
        // A remembered entry past its time is never used: the token is checked in full again
        // (here it is still valid, so it is remembered anew with its real expiry).
        let stale = Verified { exp: 1, who: Principal::customer(99), ..t.verified.get(token.as_str()).unwrap() };
        t.verified.insert(token.as_str().into(), stale);
        assert_eq!(t.verify(&token).unwrap(), who, "an expired entry was used");
        assert!(t.verified.get(token.as_str()).unwrap().exp > jsonwebtoken::get_current_timestamp());
        // The memory is bounded.
        for i in 0..VERIFIED_CAPACITY + 10 {
            t.verify(&t.mint_for(&Principal::customer(i as i64 + 1), Duration::from_secs(60 + i as u64)).unwrap())
                .unwrap();
        }
        assert!(t.verified.len() <= VERIFIED_CAPACITY);
    }
}
