//! AuthService requests to validated values, and tokens to the wire.

use crate::auth::accounts::TokenPair;
use crate::auth::password;
use crate::domain::validate::{self as v, Checker};
use crate::domain::{NewCustomer, Tier};
use crate::error::{AppError, AppResult};
use crate::pb;

const NAME_MAX: usize = 100;
/// Longer "refresh tokens" are not ours; refuse them before hashing.
const REFRESH_TOKEN_MAX: usize = 256;

/// A sign-up: the new customer (FREE tier) and the password.
pub fn registration(r: pb::RegisterRequest) -> AppResult<(NewCustomer, String)> {
    let mut c = Checker::new();
    let first_name = c.take("first_name", v::required_text(&r.first_name, NAME_MAX));
    let last_name = c.take("last_name", v::required_text(&r.last_name, NAME_MAX));
    let email = c.take("email", v::email(&r.email));
    c.take("password", password::check(&r.password));
    c.finish()?;
    let new = NewCustomer {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        phone: String::new(),
        location: String::new(),
        tier: Tier::Free,
    };
    Ok((new, r.password))
}

/// Credentials: the lower-cased email and the password. Only their presence is checked,
/// so that a refusal says nothing about which part was wrong.
pub fn login(r: pb::LoginRequest) -> AppResult<(String, String)> {
    let mut c = Checker::new();
    if r.email.trim().is_empty() || r.email.len() > 254 {
        c.fail("email", "must be the email you signed up with");
    }
    if r.password.is_empty() || r.password.chars().count() > password::MAX_CHARS {
        c.fail("password", format!("must be 1 to {} characters", password::MAX_CHARS));
    }
    c.finish()?;
    Ok((r.email.trim().to_lowercase(), r.password))
}

/// A refresh token.
pub fn refresh_token(r: &pb::RefreshRequest) -> AppResult<&str> {
    if r.refresh_token.is_empty() || r.refresh_token.len() > REFRESH_TOKEN_MAX {
        return Err(AppError::invalid("refresh_token", "must be the refresh token from Login, Register or Refresh"));
    }
    Ok(&r.refresh_token)
}

/// An agent's new password.
pub fn agent_password(r: pb::SetAgentPasswordRequest) -> AppResult<(i64, String)> {
    let mut c = Checker::new();
    let id = c.take("agent_id", v::id(r.agent_id));
    c.take("password", password::check(&r.password));
    c.finish()?;
    Ok((id.unwrap_or_default(), r.password))
}

impl From<TokenPair> for pb::TokenPair {
    fn from(t: TokenPair) -> Self {
        pb::TokenPair {
            access_token: t.access_token,
            access_token_ttl: Some(prost_types::Duration { seconds: t.access_ttl.as_secs() as i64, nanos: 0 }),
            refresh_token: t.refresh_token,
        }
    }
}
