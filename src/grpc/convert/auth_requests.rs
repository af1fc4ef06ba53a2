//! AuthService requests to validated values, and tokens to the wire.

use crate::auth::accounts::TokenPair;
use crate::auth::password;
use crate::domain::validate::{self as v, Checker};
use crate::domain::{NewCustomer, Tier};
use crate::error::{AppError, AppResult};
use crate::pb;
use crate::repo::credentials::Account;

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

/// Credentials: the email, validated as Register validates it (so one account has one
/// spelling), and the password, whose presence only is checked so that a refusal says
/// nothing about which part was wrong.
pub fn login(r: pb::LoginRequest) -> AppResult<(String, String)> {
    let mut c = Checker::new();
    let email = c.take("email", v::email(&r.email));
    if r.password.is_empty() || r.password.chars().count() > password::MAX_CHARS {
        c.fail("password", format!("must be 1 to {} characters", password::MAX_CHARS));
    }
    c.finish()?;
    Ok((email.unwrap_or_default(), r.password))
}

/// A password change: the current password (presence only) and a valid new one.
pub fn change_password(r: pb::ChangePasswordRequest) -> AppResult<(String, String)> {
    let mut c = Checker::new();
    if r.current_password.is_empty() || r.current_password.chars().count() > password::MAX_CHARS {
        c.fail("current_password", format!("must be 1 to {} characters", password::MAX_CHARS));
    }
    c.take("new_password", password::check(&r.new_password));
    c.finish()?;
    Ok((r.current_password, r.new_password))
}

/// The account a request names: exactly one of a customer and an agent.
pub fn account(r: Option<pb::AccountRef>) -> AppResult<Account> {
    use pb::account_ref::Account as A;
    match r.and_then(|a| a.account) {
        Some(A::CustomerId(id)) => {
            Ok(Account::Customer(v::id(id).map_err(|e| AppError::invalid("account.customer_id", e))?))
        }
        Some(A::AgentId(id)) => Ok(Account::Agent(v::id(id).map_err(|e| AppError::invalid("account.agent_id", e))?)),
        None => Err(AppError::invalid("account", "is required: set customer_id or agent_id")),
    }
}

/// A set-password token and the password it sets.
pub fn set_password_with_token(r: pb::SetPasswordWithTokenRequest) -> AppResult<(String, String)> {
    let mut c = Checker::new();
    if r.token.is_empty() || r.token.len() > REFRESH_TOKEN_MAX {
        c.fail("token", "must be the token from IssueSetPasswordToken");
    }
    c.take("password", password::check(&r.password));
    c.finish()?;
    Ok((r.token, r.password))
}

/// A refresh token (of Refresh or Logout).
pub fn refresh_token(token: &str) -> AppResult<&str> {
    if token.is_empty() || token.len() > REFRESH_TOKEN_MAX {
        return Err(AppError::invalid("refresh_token", "must be the refresh token from Login, Register or Refresh"));
    }
    Ok(token)
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
